"""Transformer behaviour: the KV cache, causality, source padding, the length limit, the trace."""

import pytest
import torch
import torch.nn.functional as F

from models import ModelConfig, build_model

V_SRC, V_TGT, MAX_LEN = 11, 13, 16
FAMILIES = ["lm", "seq2seq"]


def tiny(family: str, **changes) -> ModelConfig:
    cfg = ModelConfig(family=family, cell="transformer", attention="none" if family == "lm" else "multihead",
                      src_vocab=0 if family == "lm" else V_SRC, tgt_vocab=V_TGT, hidden=16, heads=4,
                      layers=2, max_len=MAX_LEN)
    return cfg.with_(**changes)


def model_for(family: str, **changes):
    torch.manual_seed(0)
    return build_model(tiny(family, **changes)).eval()


def batch(family: str, B=3, S=7, T=6, seed=1):
    """(src, src_lengths, tgt_in); the source rows have lengths S, S-3 and 2, padded with pad_id."""
    g = torch.Generator().manual_seed(seed)
    tgt_in = torch.randint(1, V_TGT, (B, T), generator=g)
    if family == "lm":
        return None, None, tgt_in
    src_lengths = torch.tensor([S, S - 3, 2])[:B]
    src = torch.randint(1, V_SRC, (B, S), generator=g)
    src[torch.arange(S).unsqueeze(0) >= src_lengths.unsqueeze(1)] = 0
    return src, src_lengths, tgt_in


def unroll(model, src, src_lengths, tgt_in):
    """Step through tgt_in; return the stacked logits (B, T, V) and every step's output."""
    state = model.start(src, src_lengths, batch_size=tgt_in.shape[0])
    outs = []
    for t in range(tgt_in.shape[1]):
        outs.append(model.step(state, tgt_in[:, t]))
        state = outs[-1].state
    return torch.stack([o.logits for o in outs], 1), outs


@pytest.mark.parametrize("family", FAMILIES)
def test_cached_step_equals_recomputing_the_prefix(family):
    model = model_for(family)
    src, src_lengths, tgt_in = batch(family)
    with torch.no_grad():
        stepped, _ = unroll(model, src, src_lengths, tgt_in)
        for t in range(tgt_in.shape[1]):
            recomputed = model(src, src_lengths, tgt_in[:, : t + 1])[:, -1]  # (B, V)
            torch.testing.assert_close(stepped[:, t], recomputed, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_future_tokens_do_not_change_earlier_logits(family):
    model = model_for(family)
    src, src_lengths, tgt_in = batch(family)
    k = 3
    changed = tgt_in.clone()
    changed[:, k:] = (changed[:, k:] % (V_TGT - 1)) + 1  # every token from position k on is different
    with torch.no_grad():
        a, b = model(src, src_lengths, tgt_in), model(src, src_lengths, changed)
    torch.testing.assert_close(a[:, :k], b[:, :k], atol=1e-6, rtol=0)
    assert not torch.allclose(a[:, k], b[:, k], atol=1e-4)


def test_source_padding_does_not_change_outputs():
    model = model_for("seq2seq")
    src, src_lengths, tgt_in = batch("seq2seq")
    longer = torch.cat([src, torch.zeros(src.shape[0], 4, dtype=torch.long)], 1)  # 4 more pad columns
    garbage = src.clone()
    garbage[src == 0] = 5  # padded positions hold real-looking tokens; the lengths must win
    with torch.no_grad():
        ref = model(src, src_lengths, tgt_in)
        ref_steps, ref_outs = unroll(model, src, src_lengths, tgt_in)
        for other in (longer, garbage):
            torch.testing.assert_close(model(other, src_lengths, tgt_in), ref, atol=1e-5, rtol=1e-5)
            steps, outs = unroll(model, other, src_lengths, tgt_in)
            torch.testing.assert_close(steps, ref_steps, atol=1e-5, rtol=1e-5)
            S = src.shape[1]
            for o, r in zip(outs, ref_outs):
                torch.testing.assert_close(o.trace.cross_attention[..., :S], r.trace.cross_attention, atol=1e-6, rtol=0)
                assert (o.trace.cross_attention[..., S:] == 0).all()


def test_lengths_default_to_non_pad_tokens():
    model = model_for("seq2seq")
    src, src_lengths, tgt_in = batch("seq2seq")
    with torch.no_grad():
        torch.testing.assert_close(model(src, None, tgt_in), model(src, src_lengths, tgt_in))


@pytest.mark.parametrize("family", FAMILIES)
def test_cache_grows_by_one_position_per_step(family):
    model = model_for(family)
    src, src_lengths, tgt_in = batch(family)
    B, cfg = tgt_in.shape[0], model.config
    Dh = cfg.hidden // cfg.heads
    state = model.start(src, src_lengths, batch_size=B)
    assert state["k_self"].shape == state["v_self"].shape == (B, cfg.layers, cfg.heads, 0, Dh)
    with torch.no_grad():
        for t in range(1, tgt_in.shape[1] + 1):
            prev = state
            state = model.step(state, tgt_in[:, t - 1]).state
            assert state["k_self"].shape == state["v_self"].shape == (B, cfg.layers, cfg.heads, t, Dh)
            torch.testing.assert_close(state["k_self"][:, :, :, : t - 1], prev["k_self"], atol=0, rtol=0)
            assert state["pos"].tolist() == [t] * B
            if family == "seq2seq":  # projected once in start, never recomputed
                assert state["k_cross"] is prev["k_cross"] and state["v_cross"] is prev["v_cross"]


@pytest.mark.parametrize("family", FAMILIES)
def test_sequences_longer_than_max_len_are_a_clear_error(family):
    model = model_for(family)
    too_long = torch.ones(2, MAX_LEN + 1, dtype=torch.long)
    ok = torch.ones(2, MAX_LEN, dtype=torch.long)
    src = None if family == "lm" else ok
    with pytest.raises(ValueError, match=f"max_len={MAX_LEN}"):
        model(src, None, too_long)
    if family == "seq2seq":
        with pytest.raises(ValueError, match=f"max_len={MAX_LEN}"):
            model(too_long, None, ok)
        with pytest.raises(ValueError, match=f"max_len={MAX_LEN}"):
            model.start(too_long, None)
    with torch.no_grad():
        _, outs = unroll(model, src, None, ok)  # exactly max_len steps is fine
        with pytest.raises(ValueError, match=f"max_len={MAX_LEN}"):
            model.step(outs[-1].state, ok[:, 0])


@pytest.mark.parametrize("family", FAMILIES)
def test_trace_shapes_and_distributions(family):
    model = model_for(family)
    src, src_lengths, tgt_in = batch(family)
    B, cfg = tgt_in.shape[0], model.config
    L, H, D = cfg.layers, cfg.heads, cfg.hidden
    with torch.no_grad():
        _, outs = unroll(model, src, src_lengths, tgt_in)
    for t, out in enumerate(outs, start=1):
        tr = out.trace
        assert tr.self_attention.shape == (B, L, H, t)
        torch.testing.assert_close(tr.self_attention.sum(-1), torch.ones(B, L, H), atol=1e-5, rtol=0)
        assert tr.hidden.shape == (B, L, D)
        assert tr.cell is None and tr.gates is None
        # the top layer's hidden state is exactly what the logits are read from
        top = model.decoder.proj(model.decoder.norm(tr.hidden[:, -1]))
        torch.testing.assert_close(top, out.logits, atol=1e-6, rtol=0)
        if family == "lm":
            assert tr.cross_attention is None and tr.context is None
        else:
            assert tr.cross_attention.shape == (B, L, H, src.shape[1]) and tr.context.shape == (B, D)


def test_encoder_trace_from_start():
    from models import EncoderTrace

    model = model_for("seq2seq")
    src, src_lengths, _ = batch("seq2seq")
    B, S = src.shape
    cfg = model.config
    with torch.no_grad():
        enc = EncoderTrace.from_state(model.start(src, src_lengths))
        memory = model.encode(src, src != 0)
    assert enc.hidden.shape == (B, S, cfg.hidden)
    torch.testing.assert_close(enc.hidden, memory, atol=1e-5, rtol=1e-5)  # explicit path == fused path
    att = enc.self_attention
    assert att.shape == (B, cfg.layers, cfg.heads, S, S)
    torch.testing.assert_close(att.sum(-1), torch.ones(B, cfg.layers, cfg.heads, S), atol=1e-5, rtol=0)
    pad_keys = (src == 0)[:, None, None, None, :].expand_as(att)
    assert (att[pad_keys] == 0).all()


def test_dropout_only_in_training_and_tied_embeddings_share_weights():
    model = model_for("lm", dropout=0.3, tie_embeddings=True)
    _, _, tgt_in = batch("lm")
    assert model.decoder.proj.weight is model.decoder.embed.tokens.weight
    with torch.no_grad():
        assert torch.equal(model(None, None, tgt_in), model(None, None, tgt_in))
        model.train()
        assert not torch.equal(model(None, None, tgt_in), model(None, None, tgt_in))


def test_learns_to_copy():
    """A user would notice first: a tiny encoder-decoder fits a handful of copy examples."""
    model = model_for("seq2seq", hidden=32, layers=1).train()
    g = torch.Generator().manual_seed(0)
    src = torch.randint(3, V_SRC, (16, 5), generator=g)
    bos = torch.ones(16, 1, dtype=torch.long)
    tgt_in, tgt_out = torch.cat([bos, src[:, :-1]], 1), src
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(80):
        loss = F.cross_entropy(model(src, None, tgt_in).flatten(0, 1), tgt_out.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert (model(src, None, tgt_in).argmax(-1) == tgt_out).float().mean() > 0.95
