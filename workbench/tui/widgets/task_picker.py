"""The launcher's task list, with the data file the file tasks take and, for parallel files, how to read it.

The path is checked as you type; for dates, numbers and tsv the columns, tokens and vocabulary
options sit under it (checked by ``workbench.launch.check_field``, the CLI's words), and the data
report (``workbench.launch.preview_data``: pairs read, kept, dropped and why, lengths, vocabularies)
is computed in a thread worker a moment after the path or an option changes. Only the newest
report is drawn.
"""

from __future__ import annotations

from typing import Optional

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from workbench.launch import DATA_FIELDS, check_data_path, check_field, preview_data
from workbench.tasks import TASKS
from workbench.tasks.config import PARALLEL, TOKEN_UNITS
from workbench.tasks.file_tasks import NATURAL_UNIT
from workbench.tasks.subword import DEFAULT_VOCAB_SIZE

DEFAULT_TASK = "reverse"
PLACEHOLDER = {
    "charlm": "any UTF-8 text file (empty: Python's docs)",
    "dates": "source<TAB>target file (empty: sample_data/dates.tsv)",
    "numbers": "source<TAB>target file (empty: sample_data/numbers.tsv)",
    "tsv": "path/to/file.tsv  (source<TAB>target per line)",
    "conll": "path/to/file  (token<TAB>tag per line, blank line between sentences)",
    "labels": "path/to/file.tsv  (text<TAB>label per line)",
    "mlm": "any UTF-8 text file (empty: Python's docs)",
    "skipthought": "any UTF-8 text, cut into sentences (empty: the toy stories)",
}
DEFAULT_UNIT = "default"  # the tokens selector's value for "the task's natural unit" (task.tokens = none)
SETTLE = 0.35  # seconds without typing before the data is read again


def task_prompt(name: str) -> Table:
    """'reverse   Reverse a random string: ...' (the description wraps under itself when narrow)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=max(len(n) for n in TASKS), no_wrap=True)  # every description starts in one column
    grid.add_column(ratio=1)
    grid.add_row(Text(name, style="bold"), Text(TASKS[name].description, style="dim"))
    return grid


class TaskPicker(Vertical):
    """Pick a task; file tasks show a path input whose message says whether the file will do."""

    DEFAULT_CSS = """
    TaskPicker { height: auto; }
    TaskPicker OptionList, TaskPicker OptionList:focus { height: auto; border: none; padding: 0; }
    TaskPicker #data-box { height: auto; margin-top: 1; }
    TaskPicker #data-box.-hidden, TaskPicker #data-options.-hidden { display: none; }
    TaskPicker #data { border: none; height: 1; background: $boost; }
    TaskPicker #data-msg { height: auto; color: $text-muted; }
    TaskPicker .-error { color: $error; }
    TaskPicker #data-options { height: auto; margin-top: 1; }
    TaskPicker .field { height: auto; }
    TaskPicker .field.-hidden { display: none; }
    TaskPicker .field > Label { width: 13; color: $text-muted; }
    TaskPicker .field > Input { width: 10; border: none; height: 1; background: $boost; padding: 0 1; }
    TaskPicker .field > Input.-invalid { background: $error 30%; }
    TaskPicker .field > Select { width: 24; }
    TaskPicker .field > .msg { width: 1fr; padding-left: 1; color: $text-disabled; }
    TaskPicker .field > .msg.-error { color: $error; }
    TaskPicker #data-report { height: auto; margin-top: 1; }
    TaskPicker #data-report > Static { height: auto; }
    TaskPicker #data-report > .-sub { padding-left: 2; }
    TaskPicker #data-report > .-muted { color: $text-muted; }
    TaskPicker #data-report > .-warning { color: $warning; }
    TaskPicker #data-report > .-error { color: $error; text-style: bold; }
    """

    class Changed(Message):
        """The chosen task changed."""

        def __init__(self, task: str) -> None:
            super().__init__()
            self.task = task

    class DataChecked(Message):
        """The data report of request ``generation`` (a ``workbench.launch.DataPreview``) is ready."""

        def __init__(self, generation: int, preview) -> None:
            super().__init__()
            self.generation = generation
            self.preview = preview

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.task_name = DEFAULT_TASK
        self.ready = False  # the data is read only once the engine (torch) has loaded
        self._generation = 0  # the newest report asked for; older ones are dropped when they arrive
        self._timer: Optional[Timer] = None

    def compose(self) -> ComposeResult:
        yield OptionList(*[Option(task_prompt(name), id=name) for name in TASKS], id="task-list")
        with Vertical(id="data-box", classes="-hidden"):
            yield Label("data file")
            yield Input(id="data", compact=True)
            yield Static("", id="data-msg")
            with Vertical(id="data-options"):
                for field in DATA_FIELDS[:1]:
                    yield from self._field_row(field)
                with Horizontal(classes="field", id="row-tokens"):
                    yield Label("tokens")
                    yield Select([(unit, unit) for unit in TOKEN_UNITS], allow_blank=False, compact=True,
                                 id="data-tokens")
                for field in DATA_FIELDS[1:]:
                    yield from self._field_row(field)
            yield Vertical(id="data-report")

    @staticmethod
    def _field_row(field) -> ComposeResult:
        with Horizontal(classes="field", id=f"row-{field.key}"):
            yield Label(field.label)
            yield Input(id=f"data-{field.key}", compact=True, name=field.key)
            yield Static(field.hint, classes="msg", id=f"data-msg-{field.key}")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = options.get_option_index(DEFAULT_TASK)

    @property
    def data(self) -> str:
        return self.query_one("#data", Input).value if self.uses_data else ""

    @property
    def uses_data(self) -> bool:
        return self.task_name in PLACEHOLDER

    @property
    def reads_pairs(self) -> bool:
        """The task reads a parallel file, so columns, tokens and vocabulary apply."""
        return self.task_name in PARALLEL

    # ----- the task and its defaults -----
    @on(OptionList.OptionHighlighted, "#task-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id == self.task_name and self.query_one("#data", Input).placeholder:
            return
        self.task_name = event.option.id
        self.query_one("#data-box").set_class(not self.uses_data, "-hidden")
        self.query_one("#data-options").set_class(not self.reads_pairs, "-hidden")
        if self.uses_data:
            self.query_one("#data", Input).placeholder = PLACEHOLDER[self.task_name]
        self.check_data()
        self.post_message(self.Changed(self.task_name))

    def load(self, task_cfg) -> None:
        """Fill the data options from the task's defaults (a TaskConfig); the engine is loaded from now on."""
        self.ready = True
        if self.reads_pairs:
            natural = NATURAL_UNIT[self.task_name]
            select = self.query_one("#data-tokens", Select)
            select.set_options([(f"{natural} (default)", DEFAULT_UNIT)] + [(u, u) for u in TOKEN_UNITS])
            select.value = task_cfg.tokens or DEFAULT_UNIT
            for field in DATA_FIELDS:
                value = getattr(task_cfg, field.key)
                self.query_one(f"#data-{field.key}", Input).value = "" if value is None else str(value)
        self._request_report()

    def values(self) -> dict[tuple[str, str], str]:
        """(section, key) -> text of the data options (empty for tasks that take none)."""
        if not self.reads_pairs:
            return {}
        out = {("task", field.key): self.query_one(f"#data-{field.key}", Input).value for field in DATA_FIELDS
               if not self.query_one(f"#row-{field.key}").has_class("-hidden")}
        tokens = self.query_one("#data-tokens", Select).value
        out[("task", "tokens")] = "" if tokens in (DEFAULT_UNIT, Select.NULL) else str(tokens)
        return out

    @property
    def unit(self) -> str:
        """The tokens training would use (the selector's, or the task's natural unit)."""
        tokens = self.query_one("#data-tokens", Select).value
        return NATURAL_UNIT.get(self.task_name, "char") if tokens in (DEFAULT_UNIT, Select.NULL) else str(tokens)

    # ----- checking as you type -----
    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.id == "data":
            self.check_data()
        elif self.ready and event.input.name:
            self._check_option(event.input.name)
        self._request_report()

    @on(Select.Changed, "#data-tokens")
    def _tokens_changed(self, event: Select.Changed) -> None:
        event.stop()
        subword = self.unit == "subword"
        self.query_one("#row-min_freq").set_class(subword, "-hidden")  # pieces are learnt, not counted
        if self.ready:
            self._check_option("vocab_size")
            self._request_report()

    def check_data(self) -> bool:
        """Show whether the typed path will do; returns that."""
        if not self.uses_data:
            return True
        ok, message = check_data_path(self.task_name, self.query_one("#data", Input).value)
        self.show_message(("✓ " if ok else "✗ ") + message, error=not ok)
        return ok

    def problems(self) -> list[str]:
        """The CLI's message for each visible data option that does not pass its check."""
        if not self.reads_pairs:
            return []
        return [p for p in (self._check_option(f.key) for f in DATA_FIELDS
                            if not self.query_one(f"#row-{f.key}").has_class("-hidden")) if p]

    def _check_option(self, key: str) -> Optional[str]:
        field = next(f for f in DATA_FIELDS if f.key == key)
        box = self.query_one(f"#data-{key}", Input)
        problem = check_field("task", key, box.value)
        hint = field.hint
        if key == "vocab_size":  # what 0 means depends on the tokens
            hint += f", 0 = {DEFAULT_VOCAB_SIZE} pieces" if self.unit == "subword" else ", 0 = all"
        msg = self.query_one(f"#data-msg-{key}", Static)
        # the row names the field, so the message drops its "task.key: " prefix
        msg.update(Text(f"✗ {problem.split(': ', 1)[-1]}" if problem else hint))
        msg.set_class(problem is not None, "-error")
        box.set_class(problem is not None, "-invalid")
        return problem

    def show_message(self, message: str, error: bool = True) -> None:
        msg = self.query_one("#data-msg", Static)
        msg.update(Text(message))
        msg.set_class(error, "-error")

    # ----- the data report, off the UI thread -----
    def _request_report(self) -> None:
        """Read the data again once typing settles (every keystroke would start a read of the whole file)."""
        self._generation += 1
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SETTLE, self._start_report)

    def _start_report(self) -> None:
        if not (self.ready and self.reads_pairs) or not check_data_path(self.task_name, self.data)[0]:
            self._show_report([])
            return
        if self.problems():
            self._show_report([("the data report waits for the options above", "-muted")])
            return
        generation, task, data = self._generation, self.task_name, self.data
        options = {key: text for (_, key), text in self.values().items()}
        self._show_report([("reading the data as training would…", "-muted")])

        def read() -> None:
            self.post_message(self.DataChecked(generation, preview_data(task, data, options)))

        self.run_worker(read, thread=True, group="data-report", exclusive=True, name="reading the data",
                        exit_on_error=False)

    @on(DataChecked)
    def _data_checked(self, message: DataChecked) -> None:
        if message.generation != self._generation or message.preview is None:
            return  # the path or an option changed since: a newer report is coming
        preview = message.preview
        rows = [(f"✗ {preview.hint or preview.problem}", "-error")] if preview.hint or preview.problem else []
        for line in preview.lines:
            kind = "-warning" if line.startswith("warning:") else "-sub" if line.startswith(" ") else ""
            rows.append((line.strip(), kind))
        self._show_report(rows)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "data-report" and event.state.name == "ERROR":
            error = event.worker.error
            self._show_report([(f"✗ could not read the data: {type(error).__name__}: {error}", "-error")])

    def _show_report(self, rows: list[tuple[str, str]]) -> None:
        """Draw the report: one Static per line, so a wrapped line keeps its indent."""
        box = self.query_one("#data-report")
        box.remove_children()
        box.mount_all([Static(Text(line), classes=kind) for line, kind in rows])

    @property
    def report_text(self) -> str:
        """The report as shown, one line per row (for tests and screen readers of the log)."""
        return "\n".join(str(row.content) for row in self.query("#data-report > Static"))
