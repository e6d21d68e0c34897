"""Where decoding goes wrong over a split: the step free-running greedy decoding first leaves the
reference, by position and by input length, the reference token's rank there, the commonest
confusions, and (with a beam) where beam search changes greedy's answer and whether for the better.

    report = failure_report(model, task, "long", beam=5)
    report.by_position        # {step: examples that first go wrong there}
    report.to_json(itos)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from .session import DecodeConfig, DecodeSession
from .splitwise import ExampleOutcome, split_outcomes

RANK_BUCKETS = ((2, 2), (3, 3), (4, 5), (6, 10), (11, None))  # rank ranges of the reference token


@dataclass
class BeamComparison:
    """Beam search against greedy, example by example (indices in split order)."""

    width: int
    same: list[int] = field(default_factory=list)  # beam gives greedy's answer
    fixed: list[int] = field(default_factory=list)  # beam right, greedy wrong
    broke: list[int] = field(default_factory=list)  # greedy right, beam wrong
    other: list[int] = field(default_factory=list)  # both wrong, differently

    def outcome(self, index: int) -> str:
        """What beam search did to example ``index``: same, fixed, broke, changed (both wrong)."""
        for name, found in (("same", self.same), ("fixed", self.fixed), ("broke", self.broke), ("changed", self.other)):
            if index in found:
                return name
        return ""

    def to_json(self, show: int) -> dict[str, Any]:
        return {"width": self.width, **{k: {"count": len(v), "first": v[:show]} for k, v in
                                        (("same", self.same), ("fixed", self.fixed), ("broke", self.broke),
                                         ("changed_both_wrong", self.other))}}


@dataclass
class FailureReport:
    """Greedy failures over one split (see the module docstring)."""

    split: str
    outcomes: list[ExampleOutcome]
    beam: Optional[BeamComparison] = None
    show: int = 5  # example ids listed per category
    eos_id: int = 2  # the target vocabulary's <eos>: the reference token just past its end

    @property
    def failed(self) -> list[ExampleOutcome]:
        return [o for o in self.outcomes if o.divergence is not None]

    @property
    def by_position(self) -> dict[int, int]:
        """First wrong step -> number of examples, in step order."""
        return dict(sorted(Counter(o.divergence for o in self.failed).items()))

    @property
    def by_length(self) -> dict[int, tuple[int, int]]:
        """Source length -> (examples that fail, examples), in length order."""
        total = Counter(o.src_len for o in self.outcomes)
        failed = Counter(o.src_len for o in self.failed)
        return {n: (failed[n], total[n]) for n in sorted(total)}

    @property
    def ranks(self) -> dict[str, int]:
        """Rank of the reference token where greedy leaves it, in buckets "2", "3", "4-5", "6-10", "11+"."""
        out = {}
        for lo, hi in RANK_BUCKETS:
            label = f"{lo}+" if hi is None else str(lo) if lo == hi else f"{lo}-{hi}"
            out[label] = sum(1 for o in self.failed if o.ref_rank >= lo and (hi is None or o.ref_rank <= hi))
        return out

    def confusion(self, o: ExampleOutcome) -> tuple[int, int]:
        """(reference token, greedy's token) ids where a failed example first goes wrong."""
        return _at(o.ref, o.divergence, self.eos_id), o.predicted

    def confusions(self, itos: Sequence[str], n: int = 10) -> list[tuple[str, str, int]]:
        """The commonest (reference token, greedy's token) pairs where greedy first goes wrong."""
        pairs = Counter(tuple(itos[i] for i in self.confusion(o)) for o in self.failed)
        return [(a, b, c) for (a, b), c in pairs.most_common(n)]

    def to_json(self, itos: Sequence[str]) -> dict[str, Any]:
        failed = self.failed
        return {
            "split": self.split, "examples": len(self.outcomes), "failed": len(failed),
            "by_position": {str(k): v for k, v in self.by_position.items()},
            "by_length": {str(k): {"failed": f, "examples": t} for k, (f, t) in self.by_length.items()},
            "reference_rank": self.ranks,
            "confusions": [{"reference": a, "predicted": b, "count": c} for a, b, c in self.confusions(itos)],
            "first_failures": [{"example": o.index, "step": o.divergence, "rank": o.ref_rank}
                               for o in failed[: self.show]],
            "examples_detail": [{"example": o.index, "source_length": o.src_len, "step": o.divergence,
                                 "rank": o.ref_rank} for o in self.outcomes],
            "beam": self.beam.to_json(self.show) if self.beam else None,
        }


def _at(ref: list[int], t: int, eos_id: int) -> int:
    """The reference token at step ``t`` (<eos> just past its end)."""
    return ref[t] if t < len(ref) else eos_id


def failure_report(model: Any, task: Any, split: str, *, limit: Optional[int] = None, beam: Optional[int] = None,
                   show: int = 5) -> FailureReport:
    """Greedy failures on ``split`` and, with ``beam``, beam search against greedy."""
    outcomes = split_outcomes(model, task, split, limit=limit)
    report = FailureReport(split, outcomes, show=show, eos_id=task.tgt_vocab.eos_id)
    if beam:
        report.beam = compare_beam(model, task, split, outcomes, beam)
    return report


def compare_beam(model: Any, task: Any, split: str, outcomes: list[ExampleOutcome], width: int) -> BeamComparison:
    """Beam-decode each example and sort it by how the answer changed against greedy."""
    v = task.tgt_vocab
    examples = task.examples(split)
    max_len = int(task.max_target_len(split) * 1.5) + 5
    config = DecodeConfig(strategy="beam", beam=width, max_len=max_len, show_k=1)
    out = BeamComparison(width)
    for o in outcomes:
        src = task.src_vocab.encode(examples[o.index].src)
        start = task.example_start(split, o.index)  # skip-thought: the decoder of the example's neighbour
        session = DecodeSession(model, src, bos_id=start, eos_id=v.eos_id, ban=(v.pad_id, v.bos_id, start),
                                config=config, history=False)
        session.run()
        tokens = list(session.result()[0].tokens)
        tokens = tokens[:-1] if tokens and tokens[-1] == v.eos_id else tokens
        right, greedy_right = tokens == o.ref, o.correct
        if tokens == o.pred:
            out.same.append(o.index)
        elif right:
            out.fixed.append(o.index)
        elif greedy_right:
            out.broke.append(o.index)
        else:
            out.other.append(o.index)
    return out
