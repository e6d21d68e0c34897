"""What a decoding session reports: one ``StepRecord`` per step, ``Hypothesis`` and ``Candidate``.

These are the fields the inspector (TUI) and ``seqbench decode`` render. Token ids are plain ints;
tensors (distribution, trace) stay tensors on the model's device until ``to_json`` converts them.

Hypothesis (a partial or complete output sequence; ids are unique within a session)
    id        int            unique id; the root (empty output) is 0
    parent    int | None     id of the hypothesis this one extends by one token (None for the root)
    tokens    tuple[int]     generated ids (BOS and prompt excluded; EOS included if it ended so)
    logprob   float          cumulative log P(tokens | source / prompt) under the model
    score     float          logprob / lp(len(tokens)), lp the GNMT length penalty ((5+|Y|)/6)^α
    status    str            "live" (still growing), "eos" (ended by EOS), "max_len" (cut at max length)

Candidate (one expansion considered at a step; beam: the 2k best, greedy/sampling: the one taken)
    parent         int         id of the hypothesis expanded
    token          int         token appended
    token_logprob  float       log p(token | parent)
    logprob        float       parent.logprob + token_logprob
    score          float       length-normalised score of the extended sequence
    rank           int         rank of ``token`` in the parent's distribution (1 = most probable; banned
                               tokens not counted); rank > 1 under greedy means the token was forced
    survived       bool        it became a hypothesis (live, or finished if token is EOS)
    id             int | None  id of that hypothesis when it survived

StepRecord (step t chooses the (t+1)-th output token)
    step        int                 t, 0-based
    strategy    str                 "greedy" | "beam" | "sample"
    rows        list[int]           hypothesis id fed in each model row this step (the trace's batch order)
    inputs      list[int]           token fed in each row (BOS at step 0 without a prompt)
    forced      int | None          token forced at this step (what-if, teacher forcing), else None
    topk_ids    Tensor (R, K) long  the K most probable next tokens per row (banned tokens left out)
    topk_probs  Tensor (R, K)       their probabilities under the model (softmax of the logits, T = 1)
    candidates  list[Candidate]     expansions considered, best cumulative log-prob first
    live        list[Hypothesis]    hypotheses still growing after this step (their row order next step)
    finished    list[Hypothesis]    every finished hypothesis so far, best score first
    trace       Trace               the model's trace for this step, batch = ``rows``
                                    (cross_attention (R, L, H, S), self_attention (R, L, H, t+P+1),
                                    hidden/cell (R, L, D), gates name -> (R, L, D), context (R, Dc),
                                    local_center (R,), chosen (R,) hard attention's source
                                    position); fields the model lacks are None
    done        bool                decoding ended with this step
    chosen      (property) list[int]  tokens of the surviving candidates (greedy/sampling: one)
    best        (property) Hypothesis the best finished hypothesis, else the best live one

JSON (``StepRecord.to_json(itos)``; ``DecodeSession.to_json()`` wraps the whole session)::

    session: {"schema": "seqbench.decode/1", "family": "seq2seq" | "lm",
              "config": {DecodeConfig fields, "forced": {"step": token id}},
              "source": [ids] | null, "source_tokens": [str] | null, "prompt": [ids],
              "encoder": {"hidden": (S, De) nested lists | null, "self_attention": (L, H, S, S) | null},
              "steps": [record, ...], "result": [hypothesis, ...]  (n-best, best first), "done": bool}
    record:  {"step", "strategy", "rows", "inputs", "forced", "done",
              "topk": [[{"id", "token", "prob"}, ...] per row],
              "candidates": [candidate, ...], "live": [hypothesis, ...], "finished": [hypothesis, ...],
              "trace": {"cross_attention", "self_attention", "hidden", "cell", "context",
                        "local_center": nested lists | null, "chosen": [int] per row | null,
                        "gates": {name: nested lists} | null}}
    hypothesis: {"id", "parent", "tokens": [ids], "text": [str], "logprob", "score", "status"}
    candidate:  {"parent", "token", "text", "token_logprob", "logprob", "score", "rank", "survived", "id"}

``seqbench decode --json`` adds "run" (the run directory), "warnings" (list of str) and "reference"
(``ReferenceScore.to_json``: tokens, text, logprobs, ranks, argmax, argmax_text, divergence, logprob,
perplexity; null without a reference).

``text`` / ``token`` strings appear when the vocabulary (``itos``) is known, else they are null.
Non-finite floats (a -inf log-prob of a forced impossible token) are written as null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Optional, Sequence

from torch import Tensor

from models.base import EncoderTrace, Trace


@dataclass(frozen=True)
class Hypothesis:
    """A partial or complete output sequence with its scores (fields: see module docstring)."""

    id: int
    parent: Optional[int]
    tokens: tuple[int, ...]
    logprob: float
    score: float
    status: str = "live"

    def to_json(self, itos: Optional[Sequence[str]] = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "tokens": list(self.tokens),
            "text": [itos[i] for i in self.tokens] if itos else None,
            "logprob": _num(self.logprob),
            "score": _num(self.score),
            "status": self.status,
        }


@dataclass(frozen=True)
class Candidate:
    """One expansion considered at a step (fields: see module docstring)."""

    parent: int
    token: int
    token_logprob: float
    logprob: float
    score: float
    rank: int
    survived: bool
    id: Optional[int] = None

    def to_json(self, itos: Optional[Sequence[str]] = None) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("token_logprob", "logprob", "score"):
            out[key] = _num(out[key])
        out["text"] = itos[self.token] if itos else None
        return out


@dataclass
class StepRecord:
    """Everything one decoding step computed and decided (fields: see module docstring)."""

    step: int
    strategy: str
    rows: list[int]
    inputs: list[int]
    forced: Optional[int]
    topk_ids: Tensor
    topk_probs: Tensor
    candidates: list[Candidate]
    live: list[Hypothesis]
    finished: list[Hypothesis]
    trace: Trace
    done: bool

    @property
    def chosen(self) -> list[int]:
        return [c.token for c in self.candidates if c.survived]

    @property
    def best(self) -> Optional[Hypothesis]:
        if self.finished:
            return self.finished[0]
        return max(self.live, key=lambda h: h.score, default=None)

    def topk(self, row: int = 0) -> list[tuple[int, float]]:
        """(token id, probability) pairs of the next-token distribution of ``row``, best first."""
        return list(zip(self.topk_ids[row].tolist(), self.topk_probs[row].tolist()))

    def to_json(self, itos: Optional[Sequence[str]] = None, with_trace: bool = True) -> dict[str, Any]:
        topk = [
            [{"id": i, "token": itos[i] if itos else None, "prob": _num(p)} for i, p in zip(ids, probs)]
            for ids, probs in zip(self.topk_ids.tolist(), self.topk_probs.tolist())
        ]
        return {
            "step": self.step,
            "strategy": self.strategy,
            "rows": self.rows,
            "inputs": self.inputs,
            "forced": self.forced,
            "done": self.done,
            "topk": topk,
            "candidates": [c.to_json(itos) for c in self.candidates],
            "live": [h.to_json(itos) for h in self.live],
            "finished": [h.to_json(itos) for h in self.finished],
            "trace": trace_to_json(self.trace) if with_trace else None,
        }


def tensor_to_json(x: Optional[Tensor]) -> Any:
    """A tensor as nested lists of Python numbers (None stays None)."""
    if x is None:
        return None
    if not (x.is_floating_point() or x.is_complex()):  # positions and ids stay integers
        return x.detach().cpu().tolist()
    return _clean(x.detach().float().cpu().tolist())


def trace_to_json(trace: Trace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(trace):
        value = getattr(trace, f.name)
        if isinstance(value, dict):
            out[f.name] = {k: tensor_to_json(v) for k, v in value.items()}
        else:
            out[f.name] = tensor_to_json(value)
    return out


def encoder_to_json(encoder: Optional[EncoderTrace]) -> dict[str, Any]:
    """The encoder trace of a single source, batch dimension dropped."""
    if encoder is None:
        return {"hidden": None, "self_attention": None}
    return {
        "hidden": tensor_to_json(encoder.hidden[0]) if encoder.hidden is not None else None,
        "self_attention": tensor_to_json(encoder.self_attention[0]) if encoder.self_attention is not None else None,
    }


def _num(x: float) -> Optional[float]:
    return x if math.isfinite(x) else None


def _clean(x: Any) -> Any:
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return _num(x) if isinstance(x, float) else x
