"""Runs in lockstep: the same input through each run, outputs aligned token by token, where they part.

    runs = [load_run(a), load_run(b)]
    check_same_task(runs)
    cmp = compare_input(runs, example=3)          # or text="abc"
    cmp.divergence                                # first output position where the runs disagree, or None
    cmp.at_divergence                             # per run: its top candidates and where it attended there
    split = compare_split(runs, "long")           # which examples one run gets right and another not

Outputs are compared by token *text*, so runs with different vocabularies (but one task) still line
up token by token. Every run decodes greedily, with the engine's ``InspectionJob`` and session, so
what is compared is exactly what ``seqbench decode`` shows for each run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..errors import UserError
from .job import prepare
from .records import StepRecord
from .session import DecodeConfig
from .splitwise import check_split, split_outcomes

END = "<end>"  # stands for "no token here": the output already ended


def run_labels(runs: Sequence[Any]) -> list[str]:
    """A short unique name per run: its directory name (``#2`` on repeats)."""
    labels: list[str] = []
    for r in runs:
        name = r.path.name
        labels.append(name if name not in labels else f"{name}#{labels.count(name) + 1}")
    return labels


def check_same_task(runs: Sequence[Any], *, same_examples: bool = False) -> None:
    """UserError (one line) unless every run was trained on the same task (and, if asked, the same splits)."""
    first = runs[0].task
    for r in runs[1:]:
        if r.task.name != first.name or r.task.family != first.family:
            raise UserError(f"cannot compare: {runs[0].path.name} is a {first.name} run and {r.path.name} a "
                            f"{r.task.name} run; compared runs must share the task")
        if same_examples:
            a, b = first.config.to_dict(), r.task.config.to_dict()
            differ = sorted(k for k in a if a.get(k) != b.get(k) and k not in ("data",))
            if differ:
                raise UserError(f"cannot compare examples: {runs[0].path.name} and {r.path.name} were trained with "
                                f"different task options ({', '.join(differ)}), so example numbers differ")


@dataclass
class RunOutput:
    """One run's greedy output for the compared input."""

    label: str
    tokens: list[str]  # output token texts, <eos> excluded
    status: str  # "eos" or "max_len"
    logprob: float
    records: list[StepRecord]
    src_tokens: Optional[list[str]]  # the source as this run's vocabulary spells it
    itos: list[str] = field(default_factory=list, repr=False)  # this run's target vocabulary

    def token_at(self, t: int) -> str:
        if t < len(self.tokens):
            return self.tokens[t]
        return "<eos>" if t == len(self.tokens) and self.status == "eos" else END


@dataclass
class StepView:
    """What one run weighed at the divergence step."""

    label: str
    chosen: str
    top: list[tuple[str, float]]  # most probable next tokens, best first
    attended: Optional[tuple[int, str, float]] = None  # (source position counted from 1, as the heatmap's
    # columns, its token, weight): argmax of the last attention layer's mean over heads; None without cross-attention

    def to_json(self) -> dict[str, Any]:
        return {"run": self.label, "chosen": self.chosen,
                "top": [{"token": t, "prob": p} for t, p in self.top],
                "attended": None if self.attended is None else dict(zip(("position", "token", "weight"), self.attended))}


@dataclass
class InputComparison:
    """The runs' outputs for one input, aligned by position."""

    input_text: str
    outputs: list[RunOutput]
    reference: Optional[list[str]] = None
    warnings: list[str] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Positions to align: the longest output, plus its <eos>."""
        return max(len(o.tokens) + (o.status == "eos") for o in self.outputs)

    def column(self, t: int) -> list[str]:
        return [o.token_at(t) for o in self.outputs]

    @property
    def divergence(self) -> Optional[int]:
        """First output position where the runs' tokens differ (None: identical outputs)."""
        return next((t for t in range(self.length) if len(set(self.column(t))) > 1), None)

    @property
    def at_divergence(self) -> list[StepView]:
        t = self.divergence
        return [] if t is None else [step_view(o, t) for o in self.outputs if t < len(o.records)]

    def to_json(self) -> dict[str, Any]:
        t = self.divergence
        return {
            "input": self.input_text, "reference": self.reference, "warnings": self.warnings,
            "runs": [{"run": o.label, "tokens": o.tokens, "status": o.status,
                      "logprob": o.logprob if math.isfinite(o.logprob) else None,
                      "source_tokens": o.src_tokens} for o in self.outputs],
            "aligned": [self.column(i) for i in range(self.length)],
            "divergence": t, "at_divergence": [v.to_json() for v in self.at_divergence],
        }


def attention_row(record: StepRecord) -> Optional[Any]:
    """(S,) the step's attention over the source: last layer, mean over heads; None without cross-attention."""
    cross = record.trace.cross_attention
    return None if cross is None else cross[0, -1].float().mean(0)  # (L, H, S) -> (H, S) -> (S,)


def attention_rows(out: RunOutput, upto: int) -> Optional[Any]:
    """(t, S) ``attention_row`` of each step up to ``upto`` (included), as numpy; None without cross-attention."""
    rows = [attention_row(r) for r in out.records[: upto + 1]]
    if not rows or rows[0] is None:
        return None
    import torch

    return torch.stack(rows).cpu().numpy()


def step_view(out: RunOutput, t: int) -> StepView:
    """What run ``out`` weighed at step ``t``: the token it chose, its top candidates, where it attended."""
    record = out.records[t]
    itos = out.itos
    top = [(itos[i], p) for i, p in record.topk(0)]
    attended = None
    weights = attention_row(record)
    if weights is not None:
        pos = int(weights.argmax())
        src = out.src_tokens or []
        attended = (pos + 1, src[pos] if pos < len(src) else "?", float(weights[pos]))
    return StepView(out.label, itos[record.candidates[0].token], top, attended)


def compare_input(runs: Sequence[Any], *, text: Optional[str] = None, example: Optional[int] = None,
                  max_len: Optional[int] = None, show_k: int = 5, split: Optional[str] = None) -> InputComparison:
    """Greedy-decode one input (typed ``text`` or example ``example`` of ``split``, test by default) with
    every run, in lockstep."""
    labels = run_labels(runs)
    outputs, warnings, reference, shown = [], [], None, None
    for label, run in zip(labels, runs):
        task, model = run.task, run.model
        job = prepare(task, model.capabilities, text=text, example=example, max_len=max_len, split=split)
        warnings += [f"{label}: {w}" for w in job.warnings]
        config = DecodeConfig(strategy="greedy", max_len=job.max_len(task, max_len), show_k=show_k)
        session = job.session(model, task, config)
        session.run()
        best = session.result()[0]
        itos = list(task.tgt_vocab.itos)
        tokens = [itos[i] for i in best.tokens]
        if best.status == "eos":
            tokens = tokens[:-1]
        src_itos = task.src_vocab.itos if task.src_vocab is not None else itos
        outputs.append(RunOutput(label, tokens, best.status, best.logprob, session.records,
                                 [src_itos[i] for i in job.input.ids], itos))
        if reference is None and job.reference is not None:
            reference = list(job.reference)
        if shown is None:
            shown = task.detokenize_src(job.input.tokens) if task.family != "lm" else task.detokenize(job.input.tokens)
    return InputComparison(shown or "", outputs, reference, warnings)


# ---- over a split ----------------------------------------------------------------------------------


@dataclass
class SplitComparison:
    """Which examples of a split each run gets exactly right, and where the runs disagree."""

    split: str
    labels: list[str]
    correct: list[set[int]]  # per run: indices of examples it gets exactly right
    total: int
    show: int = 5

    def only(self, a: int, b: int) -> list[int]:
        """Examples run ``a`` gets right and run ``b`` does not, in split order."""
        return sorted(self.correct[a] - self.correct[b])

    def pairs(self) -> list[tuple[int, int]]:
        n = len(self.labels)
        return [(a, b) for a in range(n) for b in range(n) if a != b]

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split, "examples": self.total,
            "runs": [{"run": l, "exact": len(c), "exact_match": len(c) / max(self.total, 1)}
                     for l, c in zip(self.labels, self.correct)],
            "only": [{"right": self.labels[a], "wrong": self.labels[b], "count": len(self.only(a, b)),
                      "first": self.only(a, b)[: self.show]} for a, b in self.pairs()],
        }


def compare_split(runs: Sequence[Any], split: str, *, limit: Optional[int] = None, show: int = 5) -> SplitComparison:
    """Exact match of every run on ``split`` (greedy), example by example."""
    check_same_task(runs, same_examples=True)
    for r in runs:
        check_split(r.task, split)
    correct, total = [], 0
    for r in runs:
        outcomes = split_outcomes(r.model, r.task, split, limit=limit)
        correct.append({o.index for o in outcomes if o.correct})
        total = len(outcomes)
    return SplitComparison(split, run_labels(runs), correct, total, show)
