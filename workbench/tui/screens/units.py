"""Units across a corpus in the app (LSTMVis's idea): where in a split the hidden unit the inspector
follows is most on, with the tokens around each peak coloured by the unit's value.

The peaks are the engine's (``decoding.units.unit_peaks``, in a thread worker) and are drawn by the
same ``units_cli.draw`` that ``seqbench units`` prints with.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from workbench.decoding.units import UnitRef
from workbench.errors import UserError

from ..widgets.inspector import palette as P
from ..widgets.rich_lines import Lines
from .failures import ReportReady

TOP = 20  # peaks listed
CONTEXT = 12  # tokens either side of a peak


class UnitsScreen(Screen):
    """One hidden unit over a split: , . the previous / next unit, s the split, Esc back."""

    DEFAULT_CSS = """
    UnitsScreen { layout: vertical; }
    UnitsScreen #units-title { height: 1; padding: 0 1; }
    UnitsScreen VerticalScroll { height: 1fr; border: round $primary 40%; padding: 0 1; }
    """
    BINDINGS = [
        Binding("full_stop", "unit(1)", "Unit +1"),
        Binding("comma", "unit(-1)", "Unit -1"),
        Binding("s", "split", "Split"),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, model: Any, task: Any, unit: UnitRef, split: str = "val"):
        super().__init__()
        self.model, self.seq_task, self.unit = model, task, unit
        self.split = split if split in task.split_names else task.split_names[-1]
        self.found = None

    def compose(self) -> ComposeResult:
        yield Static(id="units-title")
        with VerticalScroll():
            yield Static(id="units-text")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "where the unit is most on (the token just read underlined)"
        self._start()

    def _start(self) -> None:
        self.found = None
        self.query_one("#units-title", Static).update(
            Text(f"reading the {self.split} split teacher-forced for {self.unit.label}…", style=P.BOLD))
        self.query_one(VerticalScroll).loading = True
        self._compute(self.unit, self.split)

    @work(thread=True, exclusive=True, group="units", exit_on_error=False)
    def _compute(self, unit: UnitRef, split: str) -> None:
        from workbench.decoding.units import unit_peaks
        from workbench.device import one_thread_here

        one_thread_here()
        try:
            found = unit_peaks(self.model, self.seq_task, [unit], split=split, top=TOP, context=CONTEXT)
            self.post_message(ReportReady(found[0]))
        except UserError as exc:
            self.post_message(ReportReady(error=str(exc)))

    @on(ReportReady)
    def _show(self, message: ReportReady) -> None:
        self.query_one(VerticalScroll).loading = False
        if message.error:
            self.query_one("#units-title", Static).update(Text(message.error, style="bold red"))
            return
        from workbench.units_cli import draw

        self.found = message.report
        lines = Lines()
        draw(lines, self.found, self.split)
        self.query_one("#units-title", Static).update(lines.items.pop(0))
        self.query_one("#units-text", Static).update(lines.group())

    def action_unit(self, delta: int) -> None:
        width = self.model.config.hidden
        self.unit = UnitRef(self.unit.layer, (self.unit.unit + delta) % width)
        self._start()

    def action_split(self) -> None:
        names = [n for n in self.seq_task.split_names if n != "train"] or list(self.seq_task.split_names)
        self.split = names[(names.index(self.split) + 1) % len(names)] if self.split in names else names[0]
        self._start()

    def action_close(self) -> None:
        self.workers.cancel_group(self, "units")
        self.app.pop_screen()
