"""The steppable decoding session: one driver over ``start/step/reorder`` for every architecture.

The session owns the loop; strategies (``strategies.py``) only pick tokens from log-probabilities.
Before every step it keeps a frame (model state, live and finished hypotheses, RNG state), so
``back()`` is a pop and ``step()`` after it recomputes exactly the same record. This relies on the
protocol's rule that ``step``/``reorder`` return new state tensors and never write into old ones.
Record fields are documented in ``records.py``.

The model should be in eval mode (dropout would make steps random); the session never changes its
mode, because the caller may share the model with other code (e.g. a training snapshot).

Beam search stops when no live hypothesis can still enter the n-best: log-probabilities only fall
as a sequence grows, so a live hypothesis can at best reach its current log-prob divided by the
length penalty at ``max_len``. With α = 0 this ends as soon as the n-th best finished hypothesis
beats every live one; with α > 0 it may run on towards ``max_len``.

Example::

    session = DecodeSession(model, src_ids, bos_id=1, eos_id=2, ban=(0, 1), itos=vocab.itos,
                            config=DecodeConfig(strategy="beam", beam=5, alpha=0.6, max_len=40))
    first = session.step()          # StepRecord for output position 0
    session.back()                  # undo it (no recomputation of earlier steps)
    session.force(2, token_id)      # what-if: the 3rd output token is token_id, continue from there
    session.run()                   # step until EOS / max length / beam stopping rule
    best = session.result()[0]      # Hypothesis: tokens, logprob, score
    json.dumps(session.to_json())     # every record, token text from itos
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Optional, Sequence

import torch
from torch import Tensor

from models.base import EncoderTrace, SeqModel, State, intervening
from models.hard_attention import sampling_positions

from ..errors import UserError
from .records import Candidate, Hypothesis, StepRecord, encoder_to_json
from .strategies import Selection, beam_step, greedy_step, length_penalty, mask_tokens, ranks_of, sample_step

STRATEGIES = ("greedy", "beam", "sample")


@dataclass
class DecodeConfig:
    """How to decode; every field has a safe default."""

    strategy: str = "greedy"  # greedy | beam | sample
    beam: int = 5  # beam width k (beam only)
    n_best: int = 0  # hypotheses in the result, best first (0: the beam width; greedy/sample: 1)
    alpha: float = 0.0  # GNMT length penalty exponent α >= 0 (0: rank by raw log-probability)
    max_len: int = 50  # most tokens generated, EOS included
    temperature: float = 1.0  # sampling temperature T (0: greedy)
    top_k: int = 0  # sample only among the k most probable tokens (0: all)
    top_p: float = 1.0  # sample only within the smallest set covering probability p (1: all)
    seed: int = 0  # seed of the sampling generator (and of hard_sample's)
    hard_sample: bool = False  # hard attention: draw each step's source position z_t ~ a_t, not the argmax
    show_k: int = 5  # size of the next-token distribution kept in each record

    def validate(self) -> None:
        """Raise UserError naming the first bad field."""
        checks = [
            (self.strategy in STRATEGIES, f"unknown strategy {self.strategy!r}; choose one of: {', '.join(STRATEGIES)}"),
            (self.beam >= 1, f"beam width must be at least 1 (got {self.beam})"),
            (self.n_best >= 0, f"n_best must be >= 0 (got {self.n_best})"),
            (self.alpha >= 0, f"length penalty alpha must be >= 0 (got {self.alpha})"),
            (self.max_len >= 1, f"max length must be at least 1 (got {self.max_len})"),
            (self.temperature >= 0, f"temperature must be >= 0 (got {self.temperature})"),
            (self.top_k >= 0, f"top-k must be >= 0 (got {self.top_k})"),
            (0 < self.top_p <= 1, f"top-p must be in (0, 1] (got {self.top_p})"),
            (self.show_k >= 1, f"show_k must be at least 1 (got {self.show_k})"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(message)


@dataclass
class _Frame:
    """The decoder's position before a step: everything ``step`` reads, nothing it mutates."""

    state: State  # model state, one row per live hypothesis
    live: list[Hypothesis]  # in state row order
    inputs: Tensor  # (R,) last token of each live hypothesis, fed next
    cum: Tensor  # (R,) cumulative log-probability of each live hypothesis
    finished: list[Hypothesis] = field(default_factory=list)  # best score first
    next_id: int = 1
    rng: tuple[Tensor, ...] = ()  # states of the session's generators (token and position sampling) before this step


class DecodeSession:
    """Step-by-step decoding of one source (encoder-decoder) or one prompt (language model)."""

    def __init__(
        self,
        model: SeqModel,
        src: Optional[Sequence[int]] = None,
        *,
        bos_id: int,
        eos_id: int,
        config: Optional[DecodeConfig] = None,
        prompt: Sequence[int] = (),
        ban: Sequence[int] = (),
        forced: Optional[dict[int, int]] = None,
        itos: Optional[Sequence[str]] = None,
        src_itos: Optional[Sequence[str]] = None,
        history: bool = True,
        interventions: Sequence[tuple[int, Any]] = (),
    ):
        """``history=False`` keeps only the latest model state (``back()`` is then unavailable): a
        Transformer's cache grows with every step, so keeping one per step costs O(steps²) memory,
        which a run to the end (``seqbench decode``) does not need. ``interventions``: (first output
        step, ``models.interventions.Edit``) pairs applied from that step on (``interventions.py``)."""
        self.model = model
        self.history = history
        self.config = config or DecodeConfig()
        self.config.validate()
        self.bos_id, self.eos_id = bos_id, eos_id
        self.itos, self.src_itos = itos, src_itos  # target / source id -> token text, for JSON
        self.interventions = list(interventions)
        self.forced: dict[int, int] = dict(forced or {})
        for step, token in self.forced.items():
            self._check_forcing(step, token)
        self._ban = torch.tensor(sorted(set(ban)), dtype=torch.long, device=model.device)
        if self.config.hard_sample and not model.capabilities.hard_attention:
            raise UserError("sampling hard attention's positions needs a model with hard attention "
                            "(model.hard_attention = gumbel or reinforce)")
        self._generator = torch.Generator().manual_seed(self.config.seed) if self.config.strategy == "sample" else None
        self._positions = torch.Generator().manual_seed(self.config.seed) if self.config.hard_sample else None
        self.reset(src=src, prompt=prompt)

    # ---- the session's input -------------------------------------------------------------------

    @property
    def max_len(self) -> int:
        """Most tokens this session generates: the config's, capped by the model's positions."""
        positions = self.model.capabilities.max_positions
        if positions is not None:
            return max(1, min(self.config.max_len, positions - len(self.prompt)))
        return self.config.max_len

    def reset(self, src: Optional[Sequence[int]] = None, prompt: Optional[Sequence[int]] = None) -> None:
        """Back to before the first step; a new ``src`` / ``prompt`` re-encodes (an edited input)."""
        if src is not None or not hasattr(self, "src"):
            self.src = list(src) if src is not None else None
        if prompt is not None or not hasattr(self, "prompt"):
            self.prompt = list(prompt or ())
        if self.model.is_lm == (self.src is not None):
            raise UserError("a language model decodes from a prompt, an encoder-decoder from a source")
        if self.src is not None and not self.src:
            raise UserError("the source is empty")
        for generator in self._generators():
            generator.manual_seed(self.config.seed)
        self.records: list[StepRecord] = []
        self._frames = [self._first_frame()]

    def _first_frame(self) -> _Frame:
        device = self.model.device
        with torch.no_grad():
            if self.src is None:
                state = self.model.start(None, None, batch_size=1)
            else:
                src = torch.tensor([self.src], dtype=torch.long, device=device)  # (1, S)
                state = self.model.start(src, torch.tensor([len(self.src)], device=device))
            self.encoder = EncoderTrace.from_state(state)
            fed = [self.bos_id] + self.prompt
            for token in fed[:-1]:
                state = self._model_step(-1, state, torch.tensor([token], device=device)).state
        root = Hypothesis(0, None, (), 0.0, 0.0)
        return _Frame(state, [root], torch.tensor([fed[-1]], device=device), torch.zeros(1, device=device),
                      rng=self._rng_state())

    def _generators(self) -> list[torch.Generator]:
        return [g for g in (self._generator, self._positions) if g is not None]

    def _rng_state(self) -> tuple[Tensor, ...]:
        return tuple(g.get_state() for g in self._generators())

    # ---- stepping -------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return bool(self.records) and self.records[-1].done

    def step(self) -> Optional[StepRecord]:
        """Decode one more token (one beam expansion); None when decoding has already ended."""
        if self.done:
            return None
        frame = self._frames[-1]
        t = len(self.records)
        with torch.no_grad():
            out = self._model_step(t, frame.state, frame.inputs)
            lprobs = out.logits.float().log_softmax(dim=-1)  # (R, V)
            allowed = mask_tokens(lprobs, self._ban, None)
            forced = self.forced.get(t)
            selection = self._select(frame, allowed if forced is None else mask_tokens(lprobs, None, forced))
            ranks = ranks_of(allowed, selection.parents, selection.tokens)  # (C,)
            top_lp, top_ids = allowed.topk(min(self.config.show_k, allowed.shape[1]), dim=-1)  # (R, K)
        candidates, live, live_rows, finished = self._expand(frame, selection, ranks)
        done = self._finished_search(t, live, finished)
        if done and live and t + 1 >= self.max_len:
            finished = _by_score(finished + [replace(h, status="max_len") for h in live])
            live = []
        record = StepRecord(
            step=t, strategy=self.config.strategy, rows=[h.id for h in frame.live], inputs=frame.inputs.tolist(),
            forced=forced, topk_ids=top_ids, topk_probs=top_lp.exp(), candidates=candidates, live=live,
            finished=finished, trace=out.trace, done=done,
        )
        self.records.append(record)
        self._frames.append(self._next_frame(out.state, frame, live, live_rows, finished, candidates))
        if not self.history:
            del self._frames[:-1]
        return record

    def _model_step(self, t: int, state: State, inputs: Tensor):
        """``model.step`` with the edits active from output step ``t`` and hard attention sampled if asked."""
        edits = [edit for start, edit in self.interventions if t >= start]
        with contextlib.ExitStack() as stack:
            if edits:
                stack.enter_context(intervening(self.model, edits))
            if self._positions is not None:
                stack.enter_context(sampling_positions(self.model, self._positions))
            return self.model.step(state, inputs)

    def _select(self, frame: _Frame, lprobs: Tensor) -> Selection:
        cfg = self.config
        if cfg.strategy == "beam":
            return beam_step(frame.cum, lprobs, width=cfg.beam, eos_id=self.eos_id)
        if cfg.strategy == "sample":
            return sample_step(frame.cum, lprobs, temperature=cfg.temperature, top_k=cfg.top_k, top_p=cfg.top_p,
                               generator=self._generator)
        return greedy_step(frame.cum, lprobs)

    def _expand(self, frame: _Frame, sel: Selection, ranks: Tensor):
        """Turn a selection into candidates and new hypotheses (ids are handed out in rank order)."""
        alpha, next_id = self.config.alpha, frame.next_id
        candidates, live, live_rows, new_finished = [], [], [], []
        rows = zip(sel.parents.tolist(), sel.tokens.tolist(), sel.token_logprobs.tolist(), sel.logprobs.tolist(),
                   sel.survived.tolist(), ranks.tolist())
        for row, token, token_lp, logprob, survived, rank in rows:
            parent = frame.live[row]
            score = logprob / length_penalty(len(parent.tokens) + 1, alpha)
            hyp_id = None
            if survived:
                hyp_id, next_id = next_id, next_id + 1
                ended = token == self.eos_id
                hyp = Hypothesis(hyp_id, parent.id, parent.tokens + (token,), logprob, score, "eos" if ended else "live")
                (new_finished if ended else live).append(hyp)
                if not ended:
                    live_rows.append(row)
            candidates.append(Candidate(parent.id, token, token_lp, logprob, score, rank, survived, hyp_id))
        finished = _by_score(frame.finished + new_finished) if new_finished else frame.finished
        return candidates, live, live_rows, finished

    def _finished_search(self, t: int, live: list[Hypothesis], finished: list[Hypothesis]) -> bool:
        """True when no further step can change the n-best result (exact, not a heuristic)."""
        if not live or t + 1 >= self.max_len:
            return True
        if self.config.strategy != "beam":
            return False
        n_best = self.n_best
        if len(finished) < n_best:
            return False
        # Log-probabilities only fall as a sequence grows, so a live hypothesis ends at best with its
        # current log-prob divided by the largest length penalty it can still reach.
        bound = max(h.logprob for h in live) / length_penalty(self.max_len, self.config.alpha)
        return finished[n_best - 1].score >= bound

    def _next_frame(self, state: State, frame: _Frame, live, live_rows, finished, candidates) -> _Frame:
        next_id = frame.next_id + sum(c.survived for c in candidates)
        if not live:
            return _Frame(state, [], frame.inputs[:0], frame.cum[:0], finished, next_id, self._rng_state())
        device = frame.inputs.device
        if live_rows != list(range(len(frame.live))):
            state = self.model.reorder(state, torch.tensor(live_rows, device=device))
        inputs = torch.tensor([h.tokens[-1] for h in live], device=device)  # (R',)
        cum = torch.tensor([h.logprob for h in live], device=device)  # (R',)
        return _Frame(state, live, inputs, cum, finished, next_id, self._rng_state())

    def back(self) -> Optional[StepRecord]:
        """Undo the last step; returns the record now last (None at the start). Nothing is recomputed."""
        if not self.records:
            return None
        if not self.history:
            raise UserError("this decoding session keeps no history to go back to (history=False)")
        self.records.pop()
        self._frames.pop()
        for generator, rng in zip(self._generators(), self._frames[-1].rng):
            generator.set_state(rng)
        return self.records[-1] if self.records else None

    def run(self) -> list[StepRecord]:
        """Step until decoding ends; returns every record of the session."""
        while self.step() is not None:
            pass
        return self.records

    def force(self, step: int, token: Optional[int]) -> None:
        """What-if: make output position ``step`` be ``token`` (None: un-force) and drop later history.

        Steps from ``step`` on are undone and forcings after it are dropped (they belonged to the
        old continuation); call ``step()`` / ``run()`` to see the new continuation.
        """
        self._check_forcing(step, token)
        while len(self.records) > step:
            self.back()
        self.forced = {s: tok for s, tok in self.forced.items() if s < step}
        if token is not None:
            self.forced[step] = token

    def _check_forcing(self, step: int, token: Optional[int]) -> None:
        if step < 0:
            raise UserError(f"cannot force step {step}: steps count from 0")
        vocab = self.model.config.tgt_vocab
        if token is not None and not 0 <= token < vocab:
            raise UserError(f"cannot force token id {token}: the vocabulary has ids 0..{vocab - 1}")

    # ---- results ---------------------------------------------------------------------------------

    @property
    def n_best(self) -> int:
        if self.config.strategy != "beam":
            return 1
        return min(self.config.n_best or self.config.beam, self.config.beam)

    def result(self) -> list[Hypothesis]:
        """The n-best hypotheses so far, best first: finished ones, or the live ones before any finished."""
        if not self.records:
            return []
        last = self.records[-1]
        pool = last.finished or _by_score(last.live)
        return pool[: self.n_best]

    def to_json(self, with_trace: bool = True) -> dict[str, Any]:
        """The whole session as JSON-ready data (schema in ``records.py``)."""
        itos = self.itos
        return {
            "schema": "seqbench.decode/1",
            "family": self.model.config.family,
            "config": {**asdict(self.config), "forced": {str(k): v for k, v in sorted(self.forced.items())},
                       "interventions": [{"from_step": start, **asdict(edit)} for start, edit in self.interventions]},
            "source": self.src,
            "source_tokens": [self.src_itos[i] for i in self.src] if self.src_itos and self.src is not None else None,
            "prompt": self.prompt,
            "encoder": encoder_to_json(self.encoder),
            "steps": [r.to_json(itos, with_trace) for r in self.records],
            "result": [h.to_json(itos) for h in self.result()],
            "done": self.done,
        }


def _by_score(hyps: list[Hypothesis]) -> list[Hypothesis]:
    return sorted(hyps, key=lambda h: h.score, reverse=True)


def beam_decode_rows(model: SeqModel, sources: Sequence[Sequence[int]], *, bos_id: int | Sequence[int], eos_id: int,
                     max_len: int, beam: int, alpha: float = 0.0, ban: Sequence[int] = ()) -> list[list[int]]:
    """The best beam-search hypothesis (token ids, EOS dropped) for each source, one session each.

    What ``seqbench decode --beam K`` gives for each line, so a run's final evaluation scores the
    decoding its users get. ``bos_id`` may give each source its own first input (skip-thought)."""
    config = DecodeConfig(strategy="beam", beam=beam, n_best=1, alpha=alpha, max_len=max_len)
    starts = [bos_id] * len(sources) if isinstance(bos_id, int) else list(bos_id)
    out = []
    for src, start in zip(sources, starts):
        session = DecodeSession(model, list(src), bos_id=start, eos_id=eos_id, config=config,
                                ban=tuple(dict.fromkeys((*ban, start))), history=False)
        session.run()
        best = session.result()
        out.append([t for t in best[0].tokens if t != eos_id] if best else [])
    return out
