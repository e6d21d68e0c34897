"""The output panel: the input, the reference and the decoded tokens coloured by their probability."""

from __future__ import annotations

import math
from typing import Optional, Sequence

from rich.text import Text
from textual.widgets import Static

from workbench.decoding import Hypothesis

from . import palette as P


def legend() -> Text:
    """The confidence colours, for the panel's border."""
    text = Text("Output  ", style=P.BOLD)
    lower = 0.0
    for bound, style in P.CONFIDENCE:
        text.append("■", style=style)
        text.append(f"p≥{lower:g} " if bound > 1 else f"<{bound:g} ", style=P.DIM)
        lower = bound
    text.append("■", style=P.FORCED)
    text.append(" forced", style=P.DIM)
    return text


class OutputView(Static):
    """Source (or prompt), reference and the focus hypothesis's tokens with per-token confidence."""

    DEFAULT_CSS = """
    OutputView { height: auto; max-height: 8; }
    """

    def __init__(self, *, id: Optional[str] = None, classes: Optional[str] = None):
        super().__init__("", id=id, classes=classes)
        self.border_title = legend()
        self.tokens: list[str] = []
        self.probs: list[float] = []

    def show(self, *, source: Sequence[str], source_name: str, reference: Optional[Sequence[str]],
             hyp: Optional[Hypothesis], tokens: Sequence[str], logprobs: Sequence[float], forced: set[int],
             divergence: Optional[int] = None, joiner: str = "", sentence: str = "") -> None:
        self.tokens = list(tokens)
        self.probs = [math.exp(lp) if math.isfinite(lp) else 0.0 for lp in logprobs]
        text = Text(no_wrap=False)
        self._row(text, source_name, source, joiner)
        if reference is not None:
            self._row(text, "ref", list(reference) + ["<eos>"], joiner)
        text.append("out  ".rjust(8), style=P.DIM)
        if not tokens:
            text.append("(nothing decoded yet)", style=P.MUTED)
        for i, (tok, p) in enumerate(zip(tokens, self.probs)):
            if i and joiner:
                text.append(joiner)
            style = P.FORCED if i in forced else P.confidence_style(p)
            if divergence is not None and i == divergence:
                text.append("▲", style=P.BAD)
            text.append(P.label(tok), style=style)
        if hyp is not None and tokens:
            text.append(f"    log p {hyp.logprob:.2f} · score {hyp.score:.2f} · {len(tokens)} tokens · {hyp.status}",
                        style=P.DIM)
            if reference is not None and hyp.status == "eos":
                same = list(tokens[:-1]) == list(reference)
                text.append(" · matches the reference" if same else " · differs from the reference",
                            style=P.GOOD if same else P.BAD)
        if sentence:  # ties the panels together: what the step looked at and what it emitted
            text.append("\n" + "why  ".rjust(8), style=P.DIM)
            text.append(sentence, style=P.ACCENT)
        self.update(text)

    @staticmethod
    def _row(text: Text, name: str, tokens: Sequence[str], joiner: str) -> None:
        text.append(f"{name}  ".rjust(8), style=P.DIM)
        text.append(joiner.join(P.label(t) for t in tokens) or "(empty)")
        text.append("\n")
