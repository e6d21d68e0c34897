"""Fidelity: for every registered architecture, step unrolled == forward, and attention is a distribution."""

import pytest
import torch

from models import build_model, variants

VARIANTS = [v for v in variants() if v[1].family != "encoder"]  # the encoder family has no step: test_encoder_fidelity.py


def _batch(cfg, B=3, S=6, T=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    tgt_in = torch.randint(1, cfg.tgt_vocab, (B, T), generator=g)
    if cfg.decoders == "skip-thought":  # row 0 starts the previous-sentence decoder, the others the next one
        tgt_in[0, 0], tgt_in[1:, 0] = cfg.prev_id, 1
    if cfg.family == "lm":
        return None, None, tgt_in
    src_lengths = torch.tensor([S, S - 2, 1][:B])
    src = torch.randint(1, cfg.src_vocab, (B, S), generator=g)
    src[torch.arange(S).unsqueeze(0) >= src_lengths.unsqueeze(1)] = cfg.pad_id
    return src, src_lengths, tgt_in


@pytest.mark.parametrize("name,cfg", VARIANTS, ids=[n for n, _ in VARIANTS])
def test_step_unrolled_equals_forward(name, cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    src, src_lengths, tgt_in = _batch(cfg)
    B, T = tgt_in.shape
    with torch.no_grad():
        fused = model(src, src_lengths, tgt_in)  # (B, T, V)
        state = model.start(src, src_lengths, batch_size=B)
        stepped = []
        for t in range(T):
            out = model.step(state, tgt_in[:, t])
            state = out.state
            stepped.append(out.logits)
    assert fused.shape == (B, T, cfg.tgt_vocab)
    torch.testing.assert_close(torch.stack(stepped, 1), fused, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,cfg", [v for v in VARIANTS if v[1].family == "seq2seq" and v[1].attention != "none"],
                         ids=[n for n, c in VARIANTS if c.family == "seq2seq" and c.attention != "none"])
def test_attention_is_a_distribution_over_unpadded_source(name, cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    src, src_lengths, tgt_in = _batch(cfg)
    with torch.no_grad():
        state = model.start(src, src_lengths)
        for t in range(tgt_in.shape[1]):
            out = model.step(state, tgt_in[:, t])
            state = out.state
            att = out.trace.cross_attention  # (B, L, H, S)
            assert att is not None and att.dim() == 4 and att.shape[0] == src.shape[0]
            assert att.shape[-1] == src.shape[1]
            torch.testing.assert_close(att.sum(-1), torch.ones_like(att.sum(-1)), atol=1e-5, rtol=0)
            pad = ~(torch.arange(src.shape[1]).unsqueeze(0) < src_lengths.unsqueeze(1))  # (B, S)
            assert att.masked_select(pad[:, None, None, :].expand_as(att)).abs().max().item() == 0 if pad.any() else True


@pytest.mark.parametrize("name,cfg", VARIANTS, ids=[n for n, _ in VARIANTS])
def test_reorder_selects_rows(name, cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    src, src_lengths, tgt_in = _batch(cfg)
    with torch.no_grad():
        state = model.start(src, src_lengths, batch_size=tgt_in.shape[0])
        state = model.step(state, tgt_in[:, 0]).state
        index = torch.tensor([2, 0, 0])
        a = model.step(model.reorder(state, index), tgt_in[index, 1]).logits
        b = model.step(state, tgt_in[:, 1]).logits[index]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,cfg", VARIANTS, ids=[n for n, _ in VARIANTS])
def test_trace_hidden_has_documented_shape(name, cfg):
    model = build_model(cfg).eval()
    src, src_lengths, tgt_in = _batch(cfg)
    with torch.no_grad():
        state = model.start(src, src_lengths, batch_size=tgt_in.shape[0])
        trace = model.step(state, tgt_in[:, 0]).trace
    assert trace.hidden is not None and trace.hidden.dim() == 3
    assert trace.hidden.shape[:2] == (tgt_in.shape[0], cfg.layers)
    if cfg.cell == "lstm":
        assert trace.cell is not None and set(trace.gates) == {"input", "forget", "output", "candidate"}
    if cfg.cell == "gru":
        assert {"reset", "update"} <= set(trace.gates)


@pytest.mark.parametrize("name,cfg", VARIANTS, ids=[n for n, _ in VARIANTS])
def test_capabilities_match_the_trace(name, cfg):
    """What a model declares is exactly what its step and start fill in: views can trust it."""
    from models import EncoderTrace, capabilities

    torch.manual_seed(0)
    model = build_model(cfg).eval()
    caps = capabilities(cfg)
    assert model.capabilities == caps and caps.family == cfg.family
    src, src_lengths, tgt_in = _batch(cfg)
    with torch.no_grad():
        state = model.start(src, src_lengths, batch_size=tgt_in.shape[0])
        state = model.step(state, tgt_in[:, 0]).state
        trace = model.step(state, tgt_in[:, 1]).trace
    assert (trace.cross_attention is not None) == caps.cross_attention
    assert (trace.self_attention is not None) == caps.self_attention
    assert (EncoderTrace.from_state(state).self_attention is not None) == caps.encoder_self_attention
    assert (trace.cell is not None) == caps.cell_state
    assert (trace.context is not None) == caps.context
    assert tuple(trace.gates or ()) == caps.gates
    assert (trace.chosen is not None) == caps.hard_attention
    assert (trace.decoder is not None) == bool(caps.decoders)
    assert trace.hidden.shape[1] == caps.layers
    for att in (trace.cross_attention, trace.self_attention):
        if att is not None:
            assert att.shape[2] == caps.heads
    if trace.cross_attention is not None:
        assert trace.cross_attention.shape[1] == caps.attention_layers
