"""The moment a task is solved: the first evaluation that reaches the task's target, said in one line.

A classroom needs that moment when it happens, not at the end of a schedule that runs long past it.
The target lives with the task (``TaskInfo.solved_at`` in the catalogue, e.g. 99% exact match on the
validation split); a language model or your own data has none and never shows the banner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rich.text import Text
from textual.widgets import Static

from .run_stats import duration


@dataclass
class Solved:
    """Where the target was first reached."""

    metric: str
    target: float
    step: int
    value: float
    seconds: Optional[float] = None  # training seconds at that step (None: not known)


def find_solved(val: dict, target: Optional[tuple[str, float]]) -> Optional[Solved]:
    """The first evaluation at or above ``target`` (metric, value) in ``val`` (metric -> [(step, value)])."""
    if target is None:
        return None
    metric, value = target
    for step, reached in val.get(metric, []):
        if reached >= value:
            return Solved(metric, value, step, reached)
    return None


def seconds_at(step: int, now_step: int, now_elapsed: float) -> float:
    """Training seconds at ``step``, read off the run's average pace when it was not seen live."""
    return now_elapsed * step / now_step if now_step else 0.0


class SolvedBanner(Static):
    """One line that appears once the target is reached, offering to stop and to inspect."""

    DEFAULT_CSS = """
    SolvedBanner { display: none; height: 1; padding: 0 1; background: $success 25%; text-wrap: nowrap;
                   text-overflow: ellipsis; }
    SolvedBanner.-shown { display: block; }
    """

    def show(self, solved: Optional[Solved], live: bool, head: Optional[str] = None) -> None:
        """``head``: an encoder task's head, which names what its accuracy counts (tag acc, masked acc)."""
        from workbench.metric_names import metric_label

        self.set_class(solved is not None, "-shown")
        if solved is None:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        when = f" after {duration(solved.seconds)}" if solved.seconds is not None else ""
        text.append(f"✔ solved at step {solved.step:,}{when}", style="bold green")
        name = metric_label(solved.metric, head)
        text.append(f": val {name} {100 * solved.value:.1f}% ≥ {100 * solved.target:g}%  ")
        text.append("x stop now · i inspect the model" if live else "i inspect the model", style="bold")
        self.update(text)
