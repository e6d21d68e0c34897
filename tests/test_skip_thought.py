"""Skip-thought: both decoders read the one sentence vector, and each row keeps to its own decoder."""

import torch

from models import ModelConfig, build_model

PREV, BOS = 4, 1


def _model(cell="gru", bidirectional=False, layers=1):
    cfg = ModelConfig(family="seq2seq", cell=cell, attention="none", context="every-step", decoders="skip-thought",
                      prev_id=PREV, bidirectional=bidirectional, layers=layers, emb_dim=8, hidden=12,
                      src_vocab=11, tgt_vocab=13)
    torch.manual_seed(0)
    return build_model(cfg).eval()


def _source(B=2, S=5):
    src = torch.randint(5, 11, (1, S), generator=torch.Generator().manual_seed(1)).expand(B, S).clone()  # one sentence, twice
    return src, torch.full((B,), S)


def _unroll(model, src, lengths, tgt_in):
    state = model.start(src, lengths)
    outs = []
    for t in range(tgt_in.shape[1]):
        out = model.step(state, tgt_in[:, t])
        state = out.state
        outs.append(out)
    return outs


def test_both_decoders_read_the_same_sentence_vector():
    model = _model()
    src, lengths = _source()
    tgt_in = torch.tensor([[PREV, 7, 8, 9], [BOS, 7, 8, 9]])  # row 0: sentence i-1, row 1: sentence i+1
    with torch.no_grad():
        outs = _unroll(model, src, lengths, tgt_in)
        vector = model.sentence_vectors(src[:1], lengths[:1])[0]
    for out in outs:
        assert out.trace.decoder.tolist() == [0, 1]
        torch.testing.assert_close(out.trace.context[0], vector)
        torch.testing.assert_close(out.trace.context[1], vector)
    # the same inputs through the two decoders give different outputs: they are two decoders, not one
    assert not torch.allclose(outs[-1].logits[0], outs[-1].logits[1])


def test_one_decoders_input_does_not_reach_the_other():
    model = _model(cell="lstm", bidirectional=True, layers=2)
    src, lengths = _source()
    a = torch.tensor([[PREV, 7, 8, 9], [BOS, 7, 8, 9]])
    b = a.clone()
    b[0, 1:] = torch.tensor([10, 5, 6])  # perturb only what the previous-sentence decoder reads
    with torch.no_grad():
        fa, fb = model(src, lengths, a), model(src, lengths, b)
    torch.testing.assert_close(fa[1], fb[1])  # the next-sentence decoder's logits are untouched
    assert not torch.allclose(fa[0, 1:], fb[0, 1:])


def test_perturbing_one_decoders_weights_leaves_the_other_alone():
    model = _model()
    src, lengths = _source()
    tgt_in = torch.tensor([[PREV, 7, 8], [BOS, 7, 8]])
    with torch.no_grad():
        before = model(src, lengths, tgt_in)
        model.decoders[0].weight_hh_l0.add_(0.5)  # the previous-sentence decoder only
        after = model(src, lengths, tgt_in)
    torch.testing.assert_close(after[1], before[1])
    assert not torch.allclose(after[0], before[0])


def test_the_route_is_kept_after_the_first_token():
    model = _model()
    src, lengths = _source()
    with torch.no_grad():
        state = model.start(src, lengths)
        assert state["route"].tolist() == [-1, -1]
        state = model.step(state, torch.tensor([PREV, BOS])).state
        out = model.step(state, torch.tensor([PREV, PREV]))  # a later <prev> token does not switch decoders
    assert out.trace.decoder.tolist() == [0, 1]
