"""Transformer positions: relative and rotary attention equal their papers' formulas, written out here."""

import cmath
import math

import pytest
import torch

from models import ConfigError, ModelConfig, build_model, validate_config
from models.positions import BUCKETS, MAX_DISTANCE, Rotary
from models.transformer import MultiHeadAttention, self_positions

TINY = dict(family="seq2seq", cell="transformer", attention="multihead", emb_dim=8, hidden=12, heads=2,
            src_vocab=11, tgt_vocab=13, max_len=64, layers=1)


def t5_bucket(offset: int, bidirectional: bool) -> int:
    """Raffel et al. 2020's bucket of offset j - i, one pair at a time, in plain Python."""
    n, out = BUCKETS, 0
    if bidirectional:
        n //= 2
        out = n if offset > 0 else 0
        distance = abs(offset)
    else:
        distance = max(-offset, 0)
    exact = n // 2
    if distance < exact:
        return out + distance
    far = exact + int(math.log(distance / exact) / math.log(MAX_DISTANCE / exact) * (n - exact))
    return out + min(far, n - 1)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_relative_attention_equals_the_t5_formula(bidirectional):
    torch.manual_seed(0)
    cfg = ModelConfig(**TINY, positions="relative")
    attn = MultiHeadAttention(cfg.hidden, cfg.heads, self_positions(cfg, bidirectional))
    torch.nn.init.normal_(attn.positions.relative.bias.weight)  # visible biases
    T = 40  # reaches the log-spaced and the last (shared) buckets
    x = torch.randn(1, T, cfg.hidden)
    pos = torch.arange(T)
    _, weights = attn.explicit(x, *attn.keys_values(x, pos), q_pos=pos, k_pos=pos)  # (1, H, T, T)
    q = attn.split(attn.q(x))[0].detach()  # (H, T, Dh)
    k = attn.split(attn.kv(x).chunk(2, -1)[0])[0].detach()
    table = attn.positions.relative.bias.weight.detach()  # (buckets, H)
    for h in range(cfg.heads):
        for i in range(T):
            scores = torch.tensor([float(q[h, i] @ k[h, j]) / math.sqrt(attn.head_dim)
                                   + float(table[t5_bucket(j - i, bidirectional), h]) for j in range(T)])
            torch.testing.assert_close(weights[0, h, i], scores.softmax(-1), atol=1e-5, rtol=1e-4)


def test_rotary_scores_equal_the_complex_rotation_formula():
    torch.manual_seed(0)
    Dh, T = 8, 7
    rotary = Rotary(Dh, 64)
    q, k = torch.randn(1, 1, T, Dh), torch.randn(1, 1, T, Dh)
    pos = torch.arange(T)
    scores = rotary(q, pos) @ rotary(k, pos).transpose(-2, -1)  # (1, 1, T, T)
    thetas = [10000.0 ** (-2 * i / Dh) for i in range(Dh // 2)]
    for m in range(T):
        for n in range(T):
            direct = sum(complex(q[0, 0, m, 2 * i], q[0, 0, m, 2 * i + 1]) * cmath.exp(1j * m * th)
                         * (complex(k[0, 0, n, 2 * i], k[0, 0, n, 2 * i + 1]) * cmath.exp(1j * n * th)).conjugate()
                         for i, th in enumerate(thetas)).real
            assert abs(float(scores[0, 0, m, n]) - direct) < 1e-4


def test_a_rotary_models_attention_scores_depend_only_on_relative_offsets():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, positions="rotary")).eval()
    attn = model.encoder[0].attn
    x = torch.randn(1, 6, 12)
    pos = torch.arange(6)
    with torch.no_grad():
        def scores(shift: int):
            return attn.queries(x, pos + shift) @ attn.keys_values(x, pos + shift)[0].transpose(-2, -1)  # (1, H, T, T)

        base = scores(0)
        for shift in (1, 5, 30):
            torch.testing.assert_close(scores(shift), base, atol=1e-4, rtol=1e-4)
        # and they do depend on the offset: swapping two positions changes them
        swapped = attn.queries(x, pos.flip(0)) @ attn.keys_values(x, pos)[0].transpose(-2, -1)
        assert not torch.allclose(swapped, base, atol=1e-3)


@pytest.mark.parametrize("positions", ["relative", "rotary"])
def test_no_absolute_table_is_added_for_relative_schemes(positions):
    model = build_model(ModelConfig(**TINY, positions=positions))
    assert model.src_embed.positions is None and model.decoder.embed.positions is None
    learned = build_model(ModelConfig(**TINY, positions="learned"))
    assert learned.src_embed.positions.learned.requires_grad


def test_positions_are_refused_for_recurrent_cells_and_odd_rotary_heads():
    with pytest.raises(ConfigError, match="model.positions"):
        validate_config(ModelConfig(**{**TINY, "cell": "gru", "attention": "general"}, positions="rotary"))
    with pytest.raises(ConfigError, match="odd head width"):
        validate_config(ModelConfig(**{**TINY, "hidden": 10}, positions="rotary"))
