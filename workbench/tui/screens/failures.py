"""Where decoding goes wrong, in the app: ``seqbench errors`` over a split, and a row per failed example
that opens it in the inspector at the step where greedy decoding first leaves the reference.

The report is the engine's (``decoding.failures.failure_report``, computed in a thread worker) and its
histograms are drawn by the same ``failures_cli.draw`` the command prints with.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from workbench.errors import UserError

from ..widgets.inspector import palette as P
from ..widgets.rich_lines import Lines

BEAM = 4  # width b compares greedy with
BEAM_SAYS = {"same": "same answer", "fixed": "fixed", "broke": "broke", "changed": "changed, still wrong"}


class ReportReady(Message):
    """The worker's report (or the one-line error that stopped it)."""

    def __init__(self, report: Any = None, error: str = "") -> None:
        super().__init__()
        self.report, self.error = report, error


def default_split(task: Any) -> str:
    """The split most worth reading: the held-out longer inputs when the task has them."""
    names = task.split_names
    return "long" if "long" in names else ("test" if "test" in names else names[-1])


class FailuresScreen(Screen):
    """Failures of greedy decoding over one split; Enter opens the highlighted example in the inspector."""

    DEFAULT_CSS = """
    FailuresScreen { layout: vertical; }
    FailuresScreen #fail-title { height: 1; padding: 0 1; }
    FailuresScreen #fail-summary { height: 1fr; border: round $primary 40%; padding: 0 1; }
    FailuresScreen DataTable { height: 1fr; border: round $primary 40%; }
    """
    BINDINGS = [
        Binding("s", "split", "Split"),
        Binding("b", "beam", f"Beam {BEAM} vs greedy"),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, model: Any, task: Any, opened: Callable[..., None], split: Optional[str] = None):
        super().__init__()
        self.model, self.seq_task, self.opened = model, task, opened
        self.split = split or default_split(task)
        self.beam: Optional[int] = None
        self.report = None
        self.rows: list[tuple] = []

    def compose(self) -> ComposeResult:
        yield Static(id="fail-title")
        with VerticalScroll(id="fail-summary"):
            yield Static(id="fail-text")
        yield DataTable(id="fail-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#fail-summary").border_title = "where greedy decoding first leaves the reference"
        table = self.query_one(DataTable)
        table.border_title = "failed examples · Enter opens one in the inspector at its first wrong step"
        table.add_columns("example", "length", "wrong at step", "rank", "reference → greedy", "beam")
        self._start()

    def _start(self) -> None:
        self.report = None
        beam = f", and beam {self.beam} against greedy" if self.beam else ""
        self.query_one("#fail-title", Static).update(Text(f"decoding the {self.split} split{beam}…", style=P.BOLD))
        self.query_one(DataTable).loading = True
        self._compute(self.split, self.beam)

    @work(thread=True, exclusive=True, group="failures", exit_on_error=False)
    def _compute(self, split: str, beam: Optional[int]) -> None:
        from workbench.decoding.failures import failure_report
        from workbench.device import one_thread_here

        one_thread_here()
        try:
            self.post_message(ReportReady(failure_report(self.model, self.seq_task, split, beam=beam)))
        except UserError as exc:
            self.post_message(ReportReady(error=str(exc)))

    @on(ReportReady)
    def _show(self, message: ReportReady) -> None:
        table = self.query_one(DataTable)
        table.loading = False
        if message.error:
            self.query_one("#fail-title", Static).update(Text(message.error, style="bold red"))
            return
        from workbench.failures_cli import draw

        report = self.report = message.report
        itos = self.seq_task.tgt_vocab.itos
        lines = Lines()
        draw(lines, report, itos)
        self.query_one("#fail-title", Static).update(lines.items.pop(0))  # the headline: failed of examples
        self.query_one("#fail-text", Static).update(lines.group())
        table.clear()
        self.rows = []  # (example, greedy's first wrong step or None, beam width to open it with or None)
        for o in report.failed:
            ref, got = report.confusion(o)
            beam = BEAM_SAYS.get(report.beam.outcome(o.index), "") if report.beam is not None else ""
            table.add_row(str(o.index), str(o.src_len), str(o.divergence), str(o.ref_rank),
                          Text(f"{P.label(itos[ref])} → {P.label(itos[got])}"), beam, key=str(o.index))
            self.rows.append((o.index, o.divergence, None))
        broke = report.beam.broke if report.beam is not None else []
        lengths = {o.index: o.src_len for o in report.outcomes}
        for index in broke:  # greedy right, beam wrong: opened with beam search, decoded to the end
            table.add_row(str(index), str(lengths.get(index, "")), "greedy right", "", "", BEAM_SAYS["broke"],
                          key=f"broke-{index}")
            self.rows.append((index, None, report.beam.width))
        if self.rows:
            table.focus()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if self.report is None or not self.rows or table.row_count == 0:
            return
        index, step, beam = self.rows[table.cursor_row]
        self.opened(self.split, index, step, beam)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_split(self) -> None:
        names = [n for n in self.seq_task.split_names if n != "train"]
        self.split = names[(names.index(self.split) + 1) % len(names)] if self.split in names else names[0]
        self._start()

    def action_beam(self) -> None:
        self.beam = None if self.beam else BEAM
        self._start()

    def action_close(self) -> None:
        self.workers.cancel_group(self, "failures")
        self.app.pop_screen()
