"""ConvS2S's encoder under the RNN decoders: gated convolutions, residuals, a receptive field a student can count."""

import math

import pytest
import torch
import torch.nn.functional as F

from models import ConfigError, ModelConfig, build_model, capabilities, validate_config

TINY = dict(family="seq2seq", cell="gru", attention="general", encoder="conv", emb_dim=8, hidden=12,
            src_vocab=11, tgt_vocab=13, max_len=32, layers=2, kernel=3)


def test_a_layer_is_a_gated_linear_unit_with_a_scaled_residual():
    torch.manual_seed(0)
    enc = build_model(ModelConfig(**TINY)).encoder
    layer = enc.layers[0]
    h = torch.randn(1, 5, 12)
    keep = torch.ones(1, 5, 1)
    with torch.no_grad():
        out = layer(h, keep)
        W, b = layer.conv.weight, layer.conv.bias  # (2D, D, k), (2D,)
        padded = F.pad(h[0], (0, 0, 1, 1))  # (S + 2, D): one zero either side for k = 3
        for s in range(5):
            window = padded[s: s + 3]  # (k, D)
            ab = torch.einsum("okd,kd->o", W.permute(0, 2, 1), window) + b  # (2D,)
            a, g = ab[:12], ab[12:]
            torch.testing.assert_close(out[0, s], (a * torch.sigmoid(g) + h[0, s]) * math.sqrt(0.5), atol=1e-5, rtol=1e-5)


def test_each_state_sees_exactly_its_receptive_field():
    torch.manual_seed(0)
    cfg = ModelConfig(**TINY)
    model = build_model(cfg).eval()
    field = capabilities(cfg).receptive_field
    assert field == 1 + 2 * 2  # L = 2 layers of k = 3: two tokens either side
    src = torch.randint(1, 11, (1, 9))
    lengths = torch.tensor([9])
    with torch.no_grad():
        base, _ = model.encoder(src, lengths)
        changed = src.clone()
        changed[0, 0] = 1 + changed[0, 0] % 10  # a different token at position 0
        after, _ = model.encoder(changed, lengths)
    moved = (after - base).abs().amax(-1)[0] > 1e-6  # (S,)
    assert moved.tolist() == [True] * 3 + [False] * 6  # positions 0..2 read position 0; 3.. do not


def test_padding_never_reaches_real_positions():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY)).eval()
    src = torch.tensor([[3, 4, 5, 0, 0], [3, 4, 5, 7, 8]])
    with torch.no_grad():
        memory, c = model.encoder(src, torch.tensor([3, 5]))
        alone, c_alone = model.encoder(src[:1, :3], torch.tensor([3]))
    torch.testing.assert_close(memory[0, :3], alone[0])
    assert memory[0, 3:].abs().sum() == 0
    torch.testing.assert_close(c[0], c_alone[0])


@pytest.mark.parametrize("changes,key", [(dict(bidirectional=True), "model.encoder"), (dict(kernel=4), "model.kernel")])
def test_refusals_name_the_key(changes, key):
    with pytest.raises(ConfigError, match=key):
        validate_config(ModelConfig(**{**TINY, **changes}))


def test_the_inspector_says_what_each_encoder_state_read():
    from types import SimpleNamespace

    from workbench.decoding.panels import receptive_fields

    model = build_model(ModelConfig(**TINY))
    notes = receptive_fields(SimpleNamespace(model=model, input_tokens=list("abcdef")))
    assert "±2 tokens (receptive field 5)" in notes[0]
    assert notes[1].startswith("1:a ← 1–3 · 2:b ← 1–4 · 3:c ← 1–5") and notes[1].endswith("6:f ← 4–6")
    rnn = build_model(ModelConfig(**{**TINY, "encoder": "rnn"}))
    assert receptive_fields(SimpleNamespace(model=rnn, input_tokens=list("abc"))) == []
