"""The next-token distribution at the current step: top-k tokens with probability bars.

In teacher-forced mode it also shows the reference token's probability, its rank and the
per-token loss, and marks the step where free-running greedy decoding first leaves the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from rich.text import Text
from textual.widgets import Static

from . import palette as P

MAX_BAR = 32


@dataclass
class TeacherInfo:
    """What the engine's teacher-forced scoring says about the current step (``ReferenceScore``)."""

    token: int  # the reference token at this step
    prob: float  # its probability under the model
    rank: int  # its rank (1 = the model's top choice)
    loss: float  # -log p, in nats
    argmax: int  # the model's top choice here
    divergence: Optional[int]  # first step where greedy leaves the reference (None: never)
    step: int
    total_logprob: float
    perplexity: float

    @classmethod
    def at(cls, score: Any, step: int) -> "TeacherInfo":
        """Step ``step`` of the engine's ``ReferenceScore``."""
        return cls(token=score.tokens[step], prob=math.exp(score.logprobs[step]), rank=score.ranks[step],
                   loss=-score.logprobs[step], argmax=score.argmax[step], divergence=score.divergence, step=step,
                   total_logprob=score.logprob, perplexity=score.perplexity)


class NextTokenPanel(Static):
    """Top-k next tokens of the focus hypothesis's row, the chosen ones marked."""

    DEFAULT_CSS = """
    NextTokenPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: Optional[str] = None, classes: Optional[str] = None):
        super().__init__("", id=id, classes=classes)
        self.topk: list[tuple[int, float]] = []
        self.teacher: Optional[TeacherInfo] = None
        self._args: Optional[tuple] = None

    def show(self, topk: list[tuple[int, float]], chosen: set[int], itos: Sequence[str], *, step: Optional[int],
             row_label: str = "", teacher: Optional[TeacherInfo] = None) -> None:
        self.topk, self.teacher = list(topk), teacher
        self._args = (topk, chosen, itos, step, row_label, teacher)
        self._draw()

    def on_resize(self) -> None:
        if self._args is not None:
            self._draw()

    def _draw(self) -> None:
        topk, chosen, itos, step, row_label, teacher = self._args
        text = Text(no_wrap=True, overflow="ellipsis")
        if step is None:
            text.append("no step decoded yet: press →", style=P.MUTED)
            self.update(text)
            return
        text.append(f"next token at step {step}", style=P.ACCENT)
        text.append(f" {row_label}\n" if row_label else "\n", style=P.DIM)
        width = self.content_size.width or 40
        label_w = min(10, max((len(P.label(itos[i])) for i, _ in topk), default=1))
        bar_w = max(4, min(MAX_BAR, width - label_w - 14))
        for token, p in topk:
            mark = token in chosen
            ref = teacher is not None and token == teacher.token
            text.append("▶ " if mark else "  ", style=P.ACCENT)
            text.append(P.label(itos[token], label_w).ljust(label_w) + " ", style=P.FORCED if ref else P.BOLD)
            text.append(P.bar(p, bar_w), style=P.confidence_style(p))
            text.append(f" {P.prob(p)}", style=P.BOLD if mark else P.MUTED)
            text.append(" ref\n" if ref else "\n", style=P.FORCED)
        text.append("▶ taken" + (" · ref: the reference token" if teacher else "") + "\n", style=P.DIM)
        if teacher is not None:
            self._teacher(text, teacher, itos, topk)
        text.rstrip()
        self.update(text)

    @staticmethod
    def _teacher(text: Text, tf: TeacherInfo, itos: Sequence[str], topk) -> None:
        text.append("reference ", style=P.DIM)
        text.append(P.label(itos[tf.token]), style=P.FORCED)
        text.append(f"  p {P.prob(tf.prob)} · rank {tf.rank}\n", style=P.GOOD if tf.rank == 1 else P.BAD)
        text.append(f"loss here -log p = {tf.loss:.3f}\n", style=P.DIM)
        if tf.divergence is None:
            text.append("greedy decoding never leaves the reference", style=P.GOOD)
        elif tf.divergence == tf.step:
            text.append(f"▲ first divergence: the model prefers ", style=P.BAD)
            text.append(P.label(itos[tf.argmax]), style=P.BOLD)
        else:
            where = "before" if tf.divergence < tf.step else "after"
            text.append(f"first divergence at step {tf.divergence} ({where} this one)", style=P.MUTED)
        text.append(f"\nwhole reference: log p {tf.total_logprob:.2f}\nperplexity {tf.perplexity:.3f}", style=P.DIM)
