"""The inspector's top line: decoding mode and options, the step, and which model is inspected."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from . import palette as P


def mode_text(ins: Any) -> str:
    """"beam k=5 α=0.6", "sample T=0.8 top-p=0.9 seed=0", "greedy", "teacher-forced"; hard attention's
    positions drawn rather than the argmax add " · z~a seed=0"."""
    from workbench.decoding.inspection import TEACHER

    c = ins.config
    hard = f" · z~a seed={c.seed}" if c.hard_sample and ins.mode != TEACHER else ""
    if ins.mode == "beam":
        return f"beam k={c.beam}" + (f" α={c.alpha:g}" if c.alpha else "") + hard
    if ins.mode == "sample":
        return (f"sample T={c.temperature:g}" + (f" top-k={c.top_k}" if c.top_k else "")
                + (f" top-p={c.top_p:g}" if c.top_p < 1 else "") + f" seed={c.seed}" + hard)
    return ins.mode + hard


class StatusLine(Static):
    """One line: mode · step t/max · done, then task · architecture · where the weights come from."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    _last: Any = None

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def show(self, ins: Any, task_name: str, heading: str = "", replaying: bool = False) -> None:
        from models import describe

        self._last = (ins, task_name, heading, replaying)
        # (text, style, keep): pieces with keep=False are left out, longest first, rather than cut mid-word
        pieces: list[tuple[str, Any, bool]] = [(mode_text(ins), P.BOLD, True)]
        if ins.decoder is not None:  # skip-thought: which of its decoders this is
            pieces.append((f" · decoder {ins.decoder} (sentence i{'−' if ins.decoder == 'prev' else '+'}1)", P.BOLD,
                           True))
        # the step of the last decoded token, counted from 0 as every panel counts it
        pieces.append((f" · step {ins.t - 1}" if ins.t else " · no step yet", None, True))
        pieces.append((f" · {ins.t}/{ins.session.max_len} tokens", P.DIM, False))
        if ins.done:
            pieces.append((" · done", P.GOOD, True))
        if replaying:
            pieces.append((" · replaying training", P.FORCED, True))
        pieces.append((f"   {task_name}", P.ACCENT, True))
        pieces.append((f" · {describe(ins.model.config)}", P.ACCENT, False))
        if heading:
            pieces.append((f" · {heading}", P.DIM, True))
        room = (self.size.width - 2) if self.size.width else 10_000
        optional = sorted((p for p in pieces if not p[2]), key=lambda p: -len(p[0]))
        while optional and sum(len(p[0]) for p in pieces) > room:
            pieces.remove(optional.pop(0))
        text = Text(no_wrap=True, overflow="ellipsis")
        for piece, style, _ in pieces:
            text.append(piece, style=style)
        self.update(text)
