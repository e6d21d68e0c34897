"""RNN encoder-decoders and language models: padding, context modes, local window, training."""

import pytest
import torch

from models import ModelConfig, build_model
from models.layers import LocalAttention

TINY = dict(emb_dim=8, hidden=12, heads=2, src_vocab=11, tgt_vocab=13)


def _cfg(**kw):
    return ModelConfig(family="seq2seq", **{**TINY, **kw})


def _src(B=3, S=6, lengths=(6, 4, 1), seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(1, TINY["src_vocab"], (B, S), generator=g)
    lengths = torch.tensor(lengths)
    src[torch.arange(S).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
    return src, lengths


@pytest.mark.parametrize("attention,bi", [("none", True), ("additive", False), ("dot", True), ("local", True),
                                          ("multihead", False)])
def test_extra_padding_changes_nothing(attention, bi):
    torch.manual_seed(0)
    model = build_model(_cfg(cell="gru", attention=attention, bidirectional=bi, layers=2)).eval()
    src, lengths = _src()
    padded = torch.cat([src, torch.zeros(3, 4, dtype=torch.long)], 1)  # (B, S + 4)
    tgt = torch.randint(1, 13, (3, 5))
    with torch.no_grad():
        torch.testing.assert_close(model(src, lengths, tgt), model(padded, lengths, tgt), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_context_is_each_rows_true_final_state(cell):
    torch.manual_seed(0)
    model = build_model(_cfg(cell=cell, attention="none", bidirectional=True, layers=2)).eval()
    src, lengths = _src()
    with torch.no_grad():
        state = model.start(src, lengths)
    memory, context, D = state["enc_hidden"], state["context"], 12
    for row, n in enumerate(lengths.tolist()):
        # forward direction ends on the last real token, backward direction on the first
        torch.testing.assert_close(context[row, :D], memory[row, n - 1, :D])
        torch.testing.assert_close(context[row, D:], memory[row, 0, D:])
        assert memory[row, n:].abs().max().item() == 0 if n < src.shape[1] else True


def test_init_and_every_step_use_the_context_differently():
    src, lengths = _src()
    tokens = torch.tensor([1, 2, 3])
    for context, uses_each_step in (("init", False), ("every-step", True)):
        torch.manual_seed(0)
        model = build_model(_cfg(cell="lstm", attention="none", context=context)).eval()
        with torch.no_grad():
            state = model.start(src, lengths)
            a = model.step(state, tokens)
            b = model.step(dict(state, context=torch.randn_like(state["context"])), tokens)
        assert (not torch.allclose(a.logits, b.logits)) == uses_each_step
        assert (state["h"].abs().sum().item() == 0) == uses_each_step  # every-step starts from zeros
        torch.testing.assert_close(a.trace.context, state["context"])


def test_local_attention_stays_in_its_window():
    torch.manual_seed(0)
    att = LocalAttention(query_dim=6, memory_dim=5, window=2)
    memory = torch.randn(3, 9, 5)
    lengths = torch.tensor([9, 5, 1])
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)  # (B, S)
    keys, values = att.prepare(memory)
    out = att(torch.randn(3, 4, 6) * 5, keys, values, mask, lengths)  # four queries per row
    assert out.weights.shape == (3, 4, 1, 9) and out.center.shape == (3, 4)
    assert (out.center >= 0).all() and (out.center <= lengths.unsqueeze(1)).all()
    outside = (torch.arange(9).view(1, 1, 9) - out.center.unsqueeze(-1)).abs() > 2  # (B, T, S)
    assert out.weights.squeeze(2)[outside].abs().max().item() == 0
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(3, 4, 1))
    torch.testing.assert_close(out.weights[2, :, 0, 0], torch.ones(4))  # a one-token source


def test_multihead_trace_has_one_row_per_head():
    torch.manual_seed(0)
    model = build_model(_cfg(cell="gru", attention="multihead", heads=3)).eval()
    src, lengths = _src()
    with torch.no_grad():
        trace = model.step(model.start(src, lengths), torch.tensor([1, 2, 3])).trace
    assert trace.cross_attention.shape == (3, 1, 3, 6)
    assert trace.context.shape == (3, 12)


@pytest.mark.parametrize("attention", ["none", "additive", "local"])
def test_training_reaches_the_encoder(attention):
    torch.manual_seed(0)
    model = build_model(_cfg(cell="lstm", attention=attention, bidirectional=True, layers=2, dropout=0.2)).train()
    src, lengths = _src()
    tgt = torch.randint(1, 13, (3, 5))
    model(src, lengths, tgt).logsumexp(-1).mean().backward()
    assert model.encoder.embed.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())


def test_tied_embeddings_share_one_matrix_and_need_equal_widths():
    model = build_model(ModelConfig(family="lm", cell="gru", attention="none", tgt_vocab=13, emb_dim=12, hidden=12,
                                    tie_embeddings=True))
    assert model.out.weight is model.embed.weight
    with pytest.raises(ValueError, match="emb_dim"):
        build_model(_cfg(cell="gru", attention="dot", tie_embeddings=True))


def test_language_model_starts_empty_on_its_device():
    model = build_model(ModelConfig(family="lm", cell="lstm", attention="none", layers=2, **{**TINY, "src_vocab": 0}))
    state = model.start(None, None, batch_size=4)
    assert set(state) == {"h", "c"} and state["h"].shape == (4, 2, 12)
    assert state["h"].device == model.device and state["h"].abs().sum().item() == 0
