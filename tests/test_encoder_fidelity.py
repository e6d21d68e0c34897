"""Fidelity of the encoder family: what the inspector reads (``encode``) is what training computes (``forward``)."""

import pytest
import torch

from models import build_model, capabilities, variants

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ENCODERS = [v for v in variants() if v[1].family == "encoder"]
IDS = [n for n, _ in ENCODERS]
LENGTHS = torch.tensor([7, 4, 1])


def _src(cfg, seed=0, S=7):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, cfg.src_vocab, (len(LENGTHS), S), generator=g)  # (B, S)
    src[torch.arange(S).unsqueeze(0) >= LENGTHS.unsqueeze(1)] = cfg.pad_id
    return src


def _real(cfg, logits):
    """Logits at real positions only (a classifier has one row per sequence)."""
    if cfg.head == "classify":
        return logits[:, 0]
    return logits[torch.arange(logits.shape[1]).unsqueeze(0) < LENGTHS.unsqueeze(1)]  # (n_real, V)


@pytest.mark.parametrize("name,cfg", ENCODERS, ids=IDS)
def test_inspector_path_equals_the_fused_training_path(name, cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    src = _src(cfg)
    with torch.no_grad():
        fused = model(src, LENGTHS, None)
        enc = model.encode(src, LENGTHS)
    V = cfg.tgt_vocab
    assert fused.shape == ((3, 1, V) if cfg.head == "classify" else (3, src.shape[1], V))
    torch.testing.assert_close(_real(cfg, enc.logits), _real(cfg, fused), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,cfg", ENCODERS, ids=IDS)
def test_the_trace_has_what_the_capabilities_declare(name, cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    caps = capabilities(cfg)
    with torch.no_grad():
        enc = model.encode(_src(cfg), LENGTHS)
    B, S = 3, 7 + enc.prefix
    assert enc.hidden.shape[:4] == (B, cfg.layers, caps.directions, S)
    assert (enc.cell is not None) == caps.cell_state
    assert tuple(enc.gates or ()) == caps.gates
    assert (enc.self_attention is not None) == caps.encoder_self_attention
    if enc.self_attention is not None:
        assert enc.self_attention.shape == (B, caps.attention_layers, caps.heads, S, S)
        torch.testing.assert_close(enc.self_attention.sum(-1)[enc.mask[:, None, None, :].expand(-1, cfg.layers, caps.heads, -1)],
                                   torch.ones(cfg.layers * caps.heads * int(enc.mask.sum())), atol=1e-5, rtol=0)
    assert (enc.pooling is not None) == (caps.pooling is not None)
    if enc.pooling is not None:
        torch.testing.assert_close(enc.pooling.sum(-1), torch.ones(B), atol=1e-5, rtol=0)
        assert enc.pooling.masked_select(~enc.mask).abs().max().item() == 0 if (~enc.mask).any() else True


@pytest.mark.parametrize("name,cfg", ENCODERS, ids=IDS)
def test_padding_never_leaks_into_real_positions(name, cfg):
    """Whatever sits on padded positions (a masked-out token's identity), real outputs do not change."""
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    src = _src(cfg)
    other = src.clone()
    pad = torch.arange(src.shape[1]).unsqueeze(0) >= LENGTHS.unsqueeze(1)
    other[pad] = torch.randint(4, cfg.src_vocab, (int(pad.sum()),))
    with torch.no_grad():
        a, b = model(src, LENGTHS, None), model(other, LENGTHS, None)
        ea, eb = model.encode(src, LENGTHS), model.encode(other, LENGTHS)
    torch.testing.assert_close(_real(cfg, a), _real(cfg, b), atol=1e-6, rtol=0)
    torch.testing.assert_close(_real(cfg, ea.logits), _real(cfg, eb.logits), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name,cfg", [v for v in ENCODERS if capabilities(v[1]).directions == 1
                                      and v[1].cell != "transformer" and v[1].head != "classify"],
                         ids=[n for n, c in ENCODERS if capabilities(c).directions == 1
                              and c.cell != "transformer" and c.head != "classify"])
def test_a_unidirectional_encoder_never_sees_the_future(name, cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    src = torch.randint(4, cfg.src_vocab, (2, 8))
    lengths = torch.tensor([8, 8])
    for t in range(7):
        changed = src.clone()
        changed[:, t + 1:] = torch.randint(4, cfg.src_vocab, (2, 7 - t))
        with torch.no_grad():
            a, b = model(src, lengths, None)[:, : t + 1], model.encode(changed, lengths).logits[:, : t + 1]
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,cfg", [v for v in ENCODERS if capabilities(v[1]).directions == 2],
                         ids=[n for n, c in ENCODERS if capabilities(c).directions == 2])
def test_a_bidirectional_encoder_sees_both_sides(name, cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    src = torch.randint(4, cfg.src_vocab, (1, 8))
    changed = src.clone()
    changed[0, -1] = 4 if src[0, -1] != 4 else 5
    with torch.no_grad():
        hidden = model.encode(src, None).hidden, model.encode(changed, None).hidden  # (1, L, 2, S, D)
    backward_moved = (hidden[0][0, 0, 1, 0] - hidden[1][0, 0, 1, 0]).abs().max()
    forward_same = (hidden[0][0, 0, 0, 0] - hidden[1][0, 0, 0, 0]).abs().max()
    assert backward_moved > 0 and forward_same == 0


def test_the_masked_lm_head_shares_the_input_embedding():
    for name, cfg in ENCODERS:
        if cfg.head == "mlm":
            model = build_model(cfg)
            embedding = getattr(model, "encoder", model).embed
            assert model.head.embedding.weight is getattr(embedding, "tokens", embedding).weight, name


TRANSFORMERS = [v for v in ENCODERS if v[1].cell == "transformer"]


def test_every_offered_position_scheme_is_registered_for_the_transformer_encoder():
    from models import POSITIONS

    for head in ("tag", "mlm", "classify"):
        assert {c.positions for _, c in TRANSFORMERS if c.head == head} == set(POSITIONS), head
    assert {c.positions for _, c in TRANSFORMERS if c.pooling == "cls" and c.head == "classify"} == set(POSITIONS)


@pytest.mark.parametrize("name,cfg", TRANSFORMERS, ids=[n for n, _ in TRANSFORMERS])
def test_the_transformer_encoder_knows_where_each_token_is(name, cfg):
    """Without positions self-attention is order-blind; every scheme must make swapping two tokens visible
    at a third, unchanged position, in the fused path and the inspector's path alike."""
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    src = torch.tensor([[4, 5, 6, 7, 8, 9]])
    swapped = torch.tensor([[5, 4, 6, 7, 8, 9]])
    lengths = torch.tensor([6])
    with torch.no_grad():
        a, b = model(src, lengths, None), model(swapped, lengths, None)
        ea, eb = model.encode(src, lengths), model.encode(swapped, lengths)
    at = 0 if cfg.head == "classify" else 3  # a classifier: its one row; otherwise an untouched position
    assert (a[0, at] - b[0, at]).abs().max() > 1e-4
    torch.testing.assert_close(ea.logits, a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(eb.logits, b, atol=1e-5, rtol=1e-5)
