"""Decoding engine: strategies agree where theory says they must, traces are the model's, history is exact."""

import itertools
import json
import math

import pytest
import torch

from models import ModelConfig, build_model
from workbench.decoding import (
    DecodeConfig,
    DecodeSession,
    greedy_decode_batch,
    length_penalty,
    score_reference,
)
from workbench.decoding.strategies import beam_step, filter_logits
from workbench.decoding.views import alignment, hidden_path, self_attention_matrix
from workbench.errors import UserError

PAD, BOS, EOS, UNK = 0, 1, 2, 3
BAN = (PAD, BOS, UNK)
TINY = dict(emb_dim=8, hidden=12, heads=2, max_len=64)
ARCHS = {
    "gru-additive": ModelConfig(family="seq2seq", cell="gru", attention="additive", src_vocab=9, tgt_vocab=9, **TINY),
    "lstm-general-bi": ModelConfig(family="seq2seq", cell="lstm", attention="general", bidirectional=True, layers=2,
                                   src_vocab=9, tgt_vocab=9, **TINY),
    "rnn-none": ModelConfig(family="seq2seq", cell="rnn", attention="none", src_vocab=9, tgt_vocab=9, **TINY),
    "transformer": ModelConfig(family="seq2seq", cell="transformer", attention="multihead", src_vocab=9, tgt_vocab=9,
                               **TINY),
    "lm-lstm": ModelConfig(family="lm", cell="lstm", attention="none", tgt_vocab=9, **TINY),
    "lm-transformer": ModelConfig(family="lm", cell="transformer", attention="none", tgt_vocab=9, **TINY),
}
SRC = [4, 5, 6, 7, 8, 4]



pytestmark = pytest.mark.usefixtures("one_torch_thread")

def make(name, seed=0, scale=3.0):
    """A random tiny model with sharpened logits (random models are otherwise near-uniform)."""
    torch.manual_seed(seed)
    model = build_model(ARCHS[name]).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model


def session(model, strategy="greedy", src=SRC, **kw):
    forced = kw.pop("forced", None)
    prompt = kw.pop("prompt", ())
    ban = kw.pop("ban", BAN)
    history = kw.pop("history", True)
    src = None if model.is_lm else src
    return DecodeSession(model, src, bos_id=BOS, eos_id=EOS, ban=ban, forced=forced, prompt=prompt, history=history,
                         config=DecodeConfig(strategy=strategy, **kw))


def best(s):
    s.run()
    return s.result()[0]


# ---- batched evaluation decoding -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gru-additive", "transformer"])
def test_batched_greedy_equals_one_by_one(name):
    model = make(name)
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([6, 3, 1, 5])
    src = torch.randint(4, 9, (4, 6), generator=g)
    src[torch.arange(6).unsqueeze(0) >= lengths.unsqueeze(1)] = PAD
    batched = greedy_decode_batch(model, src, lengths, bos_id=BOS, eos_id=EOS, max_len=12, ban=BAN)
    for row in range(4):
        one = best(session(model, src=src[row, : lengths[row]].tolist(), max_len=12))
        assert batched[row] == [t for t in one.tokens if t != EOS]


def test_batched_greedy_lm_with_prompt_matches_session():
    model = make("lm-lstm")
    prompt = torch.tensor([[4, 5, 6], [7, 7, 8]])
    out = greedy_decode_batch(model, None, None, bos_id=BOS, eos_id=EOS, max_len=10, prompt=prompt, ban=BAN)
    for row in range(2):
        one = best(session(model, prompt=prompt[row].tolist(), max_len=10))
        assert out[row] == [t for t in one.tokens if t != EOS]
    assert len(greedy_decode_batch(model, None, None, bos_id=BOS, eos_id=EOS, max_len=5, batch_size=3)) == 3


# ---- strategies agree ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ARCHS))
def test_beam_width_one_is_greedy(name):
    model = make(name)
    greedy, beam = best(session(model, max_len=15)), best(session(model, "beam", beam=1, max_len=15))
    assert beam.tokens == greedy.tokens
    assert beam.logprob == pytest.approx(greedy.logprob, abs=1e-5)


@pytest.mark.parametrize("name", ["gru-additive", "lm-transformer"])
def test_sampling_at_temperature_near_zero_is_greedy(name):
    model = make(name)
    greedy = best(session(model, max_len=15))
    for seed in range(3):
        assert best(session(model, "sample", temperature=1e-4, seed=seed, max_len=15)).tokens == greedy.tokens
    assert best(session(model, "sample", temperature=0.0, max_len=15)).tokens == greedy.tokens


def test_seeded_sampling_repeats_and_seeds_differ():
    model = make("gru-additive", scale=1.0)
    runs = {seed: [best(session(model, "sample", seed=seed, max_len=20)).tokens for _ in range(2)] for seed in range(4)}
    assert all(a == b for a, b in runs.values())
    assert len({r[0] for r in runs.values()}) > 1


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", ["gru-additive", "transformer", "lm-lstm"])
def test_beam_with_alpha_zero_never_scores_below_greedy(name, seed):
    model = make(name, seed=seed)
    greedy = best(session(model, max_len=12))
    for k in (2, 3, 5):
        assert best(session(model, "beam", beam=k, alpha=0.0, max_len=12)).logprob >= greedy.logprob - 1e-5


def _all_outputs(allowed, max_len):
    """Every complete output: ends in EOS within max_len, or is cut at max_len."""
    for n in range(1, max_len + 1):
        for body in itertools.product(allowed, repeat=n - 1):
            yield body + (EOS,)
        if n == max_len:
            yield from itertools.product(allowed, repeat=n)


def _sequence_logprobs(model, seqs):
    """Log P of each sequence from the fused forward pass (independent of the step path)."""
    T = max(len(s) for s in seqs)
    tgt_in = torch.full((len(seqs), T), PAD)
    for i, s in enumerate(seqs):
        tgt_in[i, : len(s)] = torch.tensor((BOS,) + s[:-1])
    src = torch.tensor([SRC] * len(seqs))
    with torch.no_grad():
        lp = model(src, torch.full((len(seqs),), len(SRC)), tgt_in).log_softmax(-1)  # (N, T, V)
    return [sum(lp[i, t, tok].item() for t, tok in enumerate(s)) for i, s in enumerate(seqs)]


@pytest.mark.parametrize("alpha", [0.0, 0.8])
@pytest.mark.parametrize("seed", range(3))
def test_wide_beam_finds_the_exhaustive_optimum(alpha, seed):
    cfg = ModelConfig(family="seq2seq", cell="gru", attention="dot", src_vocab=9, tgt_vocab=6, **TINY)
    torch.manual_seed(seed)
    model = build_model(cfg).eval()
    max_len, allowed = 4, (EOS, 4, 5)  # pad, bos, unk banned: 3 choices per step
    seqs = list(_all_outputs((4, 5), max_len))
    scores = [lp / length_penalty(len(s), alpha) for s, lp in zip(seqs, _sequence_logprobs(model, seqs))]
    optimum = max(scores)
    found = best(session(model, "beam", beam=len(allowed) ** max_len, alpha=alpha, max_len=max_len))
    assert found.score == pytest.approx(optimum, abs=1e-5)
    assert found.tokens == seqs[scores.index(optimum)]


# ---- records are the model's computation -----------------------------------------------------------


def _replay(model, src, prefix):
    """Trace of the model's step after feeding BOS + ``prefix``, computed outside the session."""
    with torch.no_grad():
        if model.is_lm:
            state = model.start(None, None, batch_size=1)
        else:
            state = model.start(torch.tensor([src]), torch.tensor([len(src)]))
        for tok in (BOS,) + tuple(prefix):
            out = model.step(state, torch.tensor([tok]))
            state = out.state
    return out


@pytest.mark.parametrize("name", ["gru-additive", "lstm-general-bi", "transformer"])
def test_beam_trace_rows_are_what_the_model_computed(name):
    model = make(name)
    s = session(model, "beam", beam=3, max_len=6)
    records = s.run()
    tokens_of = {0: ()}
    for r in records:
        tokens_of.update({h.id: h.tokens for h in r.live + r.finished})
    for r in records:
        att = r.trace.cross_attention  # (R, L, H, S)
        torch.testing.assert_close(att.sum(-1), torch.ones_like(att.sum(-1)), atol=1e-5, rtol=0)
        for row, hyp_id in enumerate(r.rows):
            ref = _replay(model, SRC, tokens_of[hyp_id])
            torch.testing.assert_close(r.trace.hidden[row], ref.trace.hidden[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(att[row], ref.trace.cross_attention[0], atol=1e-5, rtol=1e-5)
            probs = ref.logits[0].softmax(-1)
            torch.testing.assert_close(r.topk_probs[row], probs[r.topk_ids[row]], atol=1e-5, rtol=1e-5)


def test_recorded_hidden_state_produces_the_recorded_distribution():
    model = make("lm-lstm")
    for r in session(model, max_len=8).run():
        logits = model.out(r.trace.hidden[:, -1])  # top layer -> output projection, (R, V)
        torch.testing.assert_close(r.topk_probs, logits.softmax(-1).gather(1, r.topk_ids), atol=1e-5, rtol=1e-5)


def test_views_follow_the_best_hypothesis_through_the_beam():
    model = make("transformer")
    s = session(model, "beam", beam=4, max_len=7)
    s.run()
    hyp = s.result()[0]
    matrix = alignment(s.records, hyp, layer=0, head=1)  # (T, S)
    assert matrix.shape == (len(hyp.tokens), len(SRC))
    for t in range(len(hyp.tokens)):
        ref = _replay(model, SRC, hyp.tokens[:t]).trace
        torch.testing.assert_close(matrix[t], ref.cross_attention[0, 0, 1], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(hidden_path(s.records, hyp)[t], ref.hidden[0, -1], atol=1e-5, rtol=1e-5)


def test_lm_self_attention_covers_bos_prompt_and_outputs():
    s = session(make("lm-transformer"), prompt=[4, 5, 6], max_len=4, ban=BAN + (EOS,))
    records = s.run()
    assert len(records) == 4
    for t, r in enumerate(records):
        assert r.trace.self_attention.shape[-1] == t + 3 + 1  # BOS + prompt + t outputs
    assert self_attention_matrix(records, s.result()[0]).shape == (4, 7)


def test_encoder_trace_once_per_session():
    model = make("transformer")
    s = session(model, max_len=3)
    assert s.encoder.hidden.shape[:2] == (1, len(SRC))
    assert s.encoder.self_attention.shape[-2:] == (len(SRC), len(SRC))


# ---- history, forcing, editing ---------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample"])
def test_back_then_step_reproduces_the_record(strategy):
    model = make("gru-additive", scale=1.0)
    s = session(model, strategy, beam=3, max_len=10, seed=7)
    for _ in range(4):
        s.step()
    before = json.dumps(s.records[-1].to_json())
    s.back()
    assert len(s.records) == 3
    assert json.dumps(s.step().to_json()) == before
    full = [json.dumps(r.to_json()) for r in s.run()]
    while s.back() is not None:
        pass
    assert s.records == [] and [json.dumps(r.to_json()) for r in s.run()] == full


@pytest.mark.parametrize("name", ["transformer", "lm-transformer"])
def test_a_session_without_history_keeps_one_state_and_decodes_the_same(name):
    model = make(name, scale=1.0)
    kept, lean = session(model, "beam", beam=3, max_len=8), session(model, "beam", beam=3, max_len=8, history=False)
    assert [json.dumps(r.to_json()) for r in lean.run()] == [json.dumps(r.to_json()) for r in kept.run()]
    assert len(lean._frames) == 1 and len(kept._frames) == len(kept.records) + 1
    with pytest.raises(UserError, match="no history"):
        lean.back()


def test_forcing_a_token_changes_the_continuation():
    model = make("gru-additive")
    free = best(session(model, max_len=10)).tokens
    other = next(t for t in (4, 5, 6, 7, 8) if t != free[1])
    s = session(model, max_len=10)
    s.run()
    s.force(1, other)
    assert len(s.records) == 1  # history up to the forced step is kept
    records = s.run()
    assert records[1].forced == other and records[1].chosen == [other]
    assert records[1].candidates[0].rank > 1
    assert s.result()[0].tokens[:2] == (free[0], other)
    assert s.result()[0].tokens != free


def test_forced_eos_in_beam_ends_every_hypothesis():
    s = session(make("gru-additive"), "beam", beam=3, max_len=10, forced={2: EOS})
    records = s.run()
    assert len(records) == 3 and records[-1].done and records[-1].live == []
    ended_now = [h for h in records[-1].finished if len(h.tokens) == 3]
    assert len(ended_now) == 3 and all(h.tokens[-1] == EOS for h in ended_now)


def test_reset_with_an_edited_input_equals_a_fresh_session():
    model = make("gru-additive")
    s = session(model, max_len=10)
    s.run()
    edited = [8, 7, 6]
    s.reset(src=edited)
    assert not s.records
    assert best(s) == best(session(model, src=edited, max_len=10))


def test_max_len_cuts_hypotheses():
    s = session(make("lm-lstm", scale=0.1), "beam", beam=2, max_len=3)
    s.run()
    assert len(s.records) <= 3 and s.done
    assert all(len(h.tokens) <= 3 for h in s.result())
    assert any(h.status == "max_len" for h in s.records[-1].finished) or all(h.status == "eos" for h in s.result())


def test_beam_keeps_k_live_hypotheses_when_some_end():
    lprobs = torch.log(torch.tensor([[0.05, 0.6, 0.2, 0.15], [0.7, 0.1, 0.1, 0.1]]))  # EOS = 0 here
    sel = beam_step(torch.zeros(2), lprobs, width=2, eos_id=0)
    kept = sel.tokens[sel.survived].tolist(), sel.parents[sel.survived].tolist()
    assert kept == ([0, 1, 2], [1, 0, 0])  # the EOS of row 1 finishes, two live ones remain


def test_filter_logits_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(filter_logits(logits, top_k=2)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.7)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.01)).tolist() == [[True, False, False, False]]


# ---- teacher-forced scoring ------------------------------------------------------------------------


def test_reference_scoring_matches_forward_and_finds_divergence():
    model = make("gru-additive")
    greedy = best(session(model, max_len=8))
    body = [t for t in greedy.tokens if t != EOS]
    own = score_reference(model, SRC, body, bos_id=BOS, eos_id=EOS, ban=BAN)
    assert set(own.ranks[: len(greedy.tokens)]) == {1}
    assert own.divergence == (None if greedy.status == "eos" else len(body))
    assert sum(own.logprobs[: len(greedy.tokens)]) == pytest.approx(greedy.logprob, abs=1e-5)
    ref = list(greedy.tokens[:2]) + [next(t for t in (4, 5, 6) if t != greedy.tokens[2])]
    scored = score_reference(model, SRC, ref, bos_id=BOS, eos_id=EOS, ban=BAN)
    assert scored.divergence == 2 and scored.ranks[2] > 1 and scored.argmax[2] == greedy.tokens[2]
    expected = _sequence_logprobs(model, [tuple(ref) + (EOS,)])[0]
    assert scored.logprob == pytest.approx(expected, abs=1e-4)
    assert len(scored.records) == 4 and scored.records[0].trace.cross_attention is not None


def test_lm_reference_is_scored_without_an_appended_eos():
    model = make("lm-lstm")
    prompt, ref = [4, 5], [6, 7, 8]
    scored = score_reference(model, None, ref, bos_id=BOS, eos_id=EOS, prompt=prompt, ban=BAN)
    assert scored.tokens == ref and len(scored.records) == 3
    with torch.no_grad():
        logits = model(None, None, torch.tensor([[BOS] + prompt + ref[:-1]]))  # (1, T, V)
    logp = torch.log_softmax(logits[0, len(prompt):], -1)  # predictions of ref's tokens
    expected = [float(logp[t, tok]) for t, tok in enumerate(ref)]
    assert scored.logprobs == pytest.approx(expected, abs=1e-5)


# ---- JSON and validation ---------------------------------------------------------------------------


def test_session_json_is_valid_and_names_tokens():
    itos = ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c", "d", "e"]
    model = make("gru-additive")
    s = DecodeSession(model, SRC, bos_id=BOS, eos_id=EOS, ban=BAN, itos=itos, src_itos=itos,
                      config=DecodeConfig(strategy="beam", beam=2, max_len=5))
    s.run()
    data = json.loads(json.dumps(s.to_json(), allow_nan=False))
    assert data["schema"] == "seqbench.decode/1" and data["source_tokens"] == [itos[i] for i in SRC]
    step = data["steps"][0]
    assert {"topk", "candidates", "live", "finished", "trace", "rows", "inputs", "forced", "done"} <= set(step)
    assert step["inputs"] == [BOS] and step["topk"][0][0]["token"] in itos
    assert len(step["trace"]["cross_attention"][0][0][0]) == len(SRC)
    assert data["result"][0]["text"] == [itos[i] for i in data["result"][0]["tokens"]]


@pytest.mark.parametrize("bad", [dict(strategy="nope"), dict(beam=0), dict(top_p=0.0), dict(temperature=-1.0),
                                 dict(alpha=-0.5), dict(max_len=0)])
def test_bad_config_is_a_user_error(bad):
    with pytest.raises(UserError):
        session(make("gru-additive"), **bad)


def test_bad_session_inputs_are_user_errors():
    model = make("gru-additive")
    with pytest.raises(UserError, match="empty"):
        session(model, src=[])
    with pytest.raises(UserError, match="vocabulary"):
        session(model).force(0, 99)
    with pytest.raises(UserError):
        DecodeSession(make("lm-lstm"), SRC, bos_id=BOS, eos_id=EOS)
    assert math.isfinite(best(session(model, max_len=3)).score)
