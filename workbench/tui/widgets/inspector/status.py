"""The inspector's top line: decoding mode and options, the step, and which model is inspected."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from . import palette as P


def mode_text(ins: Any) -> str:
    """"beam k=5 α=0.6", "sample T=0.8 top-p=0.9 seed=0", "greedy", "teacher-forced"."""
    c = ins.config
    if ins.mode == "beam":
        return f"beam k={c.beam}" + (f" α={c.alpha:g}" if c.alpha else "")
    if ins.mode == "sample":
        return (f"sample T={c.temperature:g}" + (f" top-k={c.top_k}" if c.top_k else "")
                + (f" top-p={c.top_p:g}" if c.top_p < 1 else "") + f" seed={c.seed}")
    return ins.mode


class StatusLine(Static):
    """One line: mode · step t/max · done, then task · architecture · where the weights come from."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def show(self, ins: Any, task_name: str, heading: str = "", replaying: bool = False) -> None:
        from models import describe

        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(mode_text(ins), style=P.BOLD)
        # the step of the last decoded token, counted from 0 as every panel counts it
        text.append(f" · step {ins.t - 1}" if ins.t else " · no step yet")
        text.append(f" · {ins.t}/{ins.session.max_len} tokens", style=P.DIM)
        if ins.done:
            text.append(" · done", style=P.GOOD)
        if replaying:
            text.append(" · replaying training", style=P.FORCED)
        text.append(f"   {task_name} · {describe(ins.model.config)}", style=P.ACCENT)
        if heading:
            text.append(f" · {heading}", style=P.DIM)
        self.update(text)
