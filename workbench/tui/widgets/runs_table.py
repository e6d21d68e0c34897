"""Recent runs from the runs directory: open a run's dashboard, resume it, or inspect it."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from .run_stats import status_text

COLUMNS = ("status", "run", "task", "architecture", "steps", "best", "updated")


def ago(timestamp: float, now: float | None = None) -> str:
    seconds = max(0, (now or time.time()) - timestamp)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def best_text(run) -> str:
    if run.best_value is None:
        return ""
    if run.best_name in ("accuracy", "exact_match"):  # an encoder's accuracy says what it counts (tag acc)
        from workbench.metric_names import metric_label
        from workbench.tasks.catalog import task_head

        return f"{metric_label(run.best_name, task_head(run.task))} {100 * run.best_value:.1f}%"
    return f"{run.best_name} {run.best_value:.4g}"


class RunsTable(DataTable):
    """One row per run (``workbench.runs.RunSummary``), newest first; the live run is marked."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; min-height: 5; }
    """
    BINDINGS = [
        Binding("o", "act('open')", "Open"),
        Binding("r", "act('resume')", "Resume"),
        Binding("i", "act('inspect')", "Inspect"),
    ]

    class Action(Message):
        """The user asked to open, resume or inspect the run at ``path``."""

        def __init__(self, kind: str, path: Path) -> None:
            super().__init__()
            self.kind = kind
            self.path = path

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.paths: dict[str, Path] = {}

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, runs: list, live: dict[Path, str]) -> None:
        """Fill the table; ``live`` maps resolved run paths to the status of a session training them."""
        selected = self.selected_path
        self.clear()
        self.paths.clear()
        for run in runs:
            key = str(run.path)
            self.paths[key] = run.path
            status = live.get(run.path.resolve(), run.status)  # summarize reads a dead writer as interrupted
            steps = f"{run.step:,}/{run.total_steps:,}"
            self.add_row(status_text(status), Text(run.path.name), run.task, run.architecture, steps,
                         best_text(run), ago(run.modified), key=key)
        if selected is not None and str(selected) in self.paths:
            self.move_cursor(row=self.get_row_index(str(selected)))

    @property
    def selected_path(self) -> Path | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
        return self.paths.get(key)

    def action_act(self, kind: str) -> None:
        path = self.selected_path
        if path is not None:
            self.post_message(self.Action(kind, path))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        path = self.paths.get(event.row_key.value)
        if path is not None:
            self.post_message(self.Action("open", path))
