"""The beam panel: live and finished hypotheses with their scores, and this step's candidate expansions.

For greedy and sampling there is one hypothesis and one candidate per step; the panel still shows
the chosen token's log-probability and rank (rank > 1 means it was forced or sampled).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.decoding import Candidate, Hypothesis

from . import palette as P

MAX_FINISHED = 8


def tokens_text(ids: Sequence[int], itos: Sequence[str], joiner: str) -> str:
    return joiner.join(P.label(itos[i]) for i in ids) or "∅"


class BeamPanel(VerticalScroll):
    """Hypotheses (focus marked ▶) and candidate expansions (✓ kept, ✗ pruned) at the current step."""

    DEFAULT_CSS = """
    BeamPanel { height: 1fr; scrollbar-size-vertical: 1; }
    BeamPanel > Static { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: Optional[str] = None, classes: Optional[str] = None):
        super().__init__(id=id, classes=classes)
        self.hypotheses: list[Hypothesis] = []
        self.candidates: list[Candidate] = []

    def compose(self):
        yield Static("", id="beam-text")

    def update(self, text: Text) -> None:
        self.query_one("#beam-text", Static).update(text)

    def show(self, hyps: list[Hypothesis], candidates: list[Candidate], *, step: Optional[int], focus: Optional[int],
             itos: Sequence[str], joiner: str = "", alpha: float = 0.0) -> None:
        """``hyps``: the engine's hypotheses at the current step; ``focus``: id of the one the panels follow."""
        self.hypotheses, self.candidates = list(hyps), list(candidates)
        text = Text(no_wrap=True, overflow="ellipsis")
        if step is None:
            text.append("no step decoded yet: press →", style=P.MUTED)
            self.update(text)
            return
        live = [h for h in hyps if h.status == "live"]
        done = [h for h in hyps if h.status != "live"]
        text.append(f"after step {step}: {len(live)} live, {len(done)} finished\n", style=P.ACCENT)
        text.append(f"score = log p / lp(length), α={alpha:g}" if alpha else "α = 0: score = log p", style=P.DIM)
        scored = bool(alpha)  # with α = 0 the score is the log-probability: one column
        text.append("\n    id   log p" + ("   score" if scored else "") + "  end   output\n", style=P.DIM)
        for h in (live + done[:MAX_FINISHED]):
            self._hyp_line(text, h, h.id == focus, itos, joiner, scored)
        if len(done) > MAX_FINISHED:
            text.append(f"    … {len(done) - MAX_FINISHED} more finished\n", style=P.DIM)
        kept = sum(c.survived for c in candidates)
        text.append(f"candidates at step {step}: {len(candidates)} considered, {kept} kept\n", style=P.ACCENT)
        text.append("  from  token     p   Σlogp" + ("   score" if scored else "") + "  rk\n", style=P.DIM)
        for c in candidates:
            self._candidate_line(text, c, itos, scored)
        text.append("▶ followed · ✓ kept ✗ pruned · rk: rank\n", style=P.DIM)
        text.append("among the parent's next tokens", style=P.DIM)
        text.rstrip()
        self.update(text)

    @staticmethod
    def _hyp_line(text: Text, h: Hypothesis, focused: bool, itos: Sequence[str], joiner: str, scored: bool) -> None:
        style = P.BOLD if focused else (P.MUTED if h.status != "live" else None)
        text.append("▶ " if focused else "  ", style=P.ACCENT)
        score = P.num(h.score, 8) if scored else ""
        text.append(f"{h.id:>4} {P.num(h.logprob, 7)}{score}  ", style=style)
        text.append(f"{h.status:<5} ", style=P.GOOD if h.status == "eos" else P.DIM)
        text.append(tokens_text(h.tokens, itos, joiner) + "\n", style=style)

    @staticmethod
    def _candidate_line(text: Text, c: Candidate, itos: Sequence[str], scored: bool) -> None:
        style = None if c.survived else P.DIM
        text.append("✓ " if c.survived else "✗ ", style=P.GOOD if c.survived else P.BAD)
        text.append(f"#{c.parent:<4} ", style=style)
        text.append(P.label(itos[c.token], 6).ljust(6), style=P.BOLD if c.survived else P.DIM)
        p = math.exp(c.token_logprob) if math.isfinite(c.token_logprob) else 0.0
        score = P.num(c.score, 8) if scored else ""
        text.append(f" {P.prob(p)} {P.num(c.logprob, 7)}{score} {c.rank:>3}", style=style)
        text.append(f" →#{c.id}\n" if c.id is not None else "\n", style=P.DIM)
