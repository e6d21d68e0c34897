"""The launcher's task list, with the data-file input the file tasks take (checked as you type)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from workbench.tasks import TASKS

from workbench.launch import check_data_path

DEFAULT_TASK = "reverse"
PLACEHOLDER = {
    "charlm": "any UTF-8 text file (empty: Python's docs)",
    "dates": "source<TAB>target file (empty: sample_data/dates.tsv)",
    "numbers": "source<TAB>target file (empty: sample_data/numbers.tsv)",
    "tsv": "path/to/file.tsv  (source<TAB>target per line)",
}


def task_prompt(name: str) -> Text:
    """'reverse   Reverse a random string: ...' (the description wraps under itself when narrow)."""
    text = Text()
    text.append(name.ljust(9), style="bold")
    text.append(TASKS[name].description, style="dim")
    return text


class TaskPicker(Vertical):
    """Pick a task; file tasks show a path input whose message says whether the file will do."""

    DEFAULT_CSS = """
    TaskPicker { height: auto; }
    TaskPicker OptionList, TaskPicker OptionList:focus { height: auto; border: none; padding: 0; }
    TaskPicker #data-box { height: auto; margin-top: 1; }
    TaskPicker #data-box.-hidden { display: none; }
    TaskPicker #data { border: none; height: 1; background: $boost; }
    TaskPicker #data-msg { height: auto; color: $text-muted; }
    TaskPicker #data-msg.-error { color: $error; }
    """

    class Changed(Message):
        """The chosen task changed."""

        def __init__(self, task: str) -> None:
            super().__init__()
            self.task = task

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.task_name = DEFAULT_TASK

    def compose(self) -> ComposeResult:
        yield OptionList(*[Option(task_prompt(name), id=name) for name in TASKS], id="task-list")
        with Vertical(id="data-box", classes="-hidden"):
            yield Label("data file")
            yield Input(id="data", compact=True)
            yield Static("", id="data-msg")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = options.get_option_index(DEFAULT_TASK)

    @property
    def data(self) -> str:
        return self.query_one("#data", Input).value if self.uses_data else ""

    @property
    def uses_data(self) -> bool:
        return self.task_name in PLACEHOLDER

    @on(OptionList.OptionHighlighted, "#task-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id == self.task_name and self.query_one("#data", Input).placeholder:
            return
        self.task_name = event.option.id
        box = self.query_one("#data-box")
        box.set_class(not self.uses_data, "-hidden")
        if self.uses_data:
            self.query_one("#data", Input).placeholder = PLACEHOLDER[self.task_name]
        self.check_data()
        self.post_message(self.Changed(self.task_name))

    @on(Input.Changed, "#data")
    def _data_changed(self) -> None:
        self.check_data()

    def check_data(self) -> bool:
        """Show whether the typed path will do; returns that."""
        if not self.uses_data:
            return True
        ok, message = check_data_path(self.task_name, self.query_one("#data", Input).value)
        self.show_message(("✓ " if ok else "✗ ") + message, error=not ok)
        return ok

    def show_message(self, message: str, error: bool = True) -> None:
        msg = self.query_one("#data-msg", Static)
        msg.update(Text(message))
        msg.set_class(error, "-error")
