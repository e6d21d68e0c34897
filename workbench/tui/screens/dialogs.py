"""Small modal questions: quit while training, resume to how many steps, which run to compare."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ..messages import RunsListed

DIALOG_CSS = """
    {name} {{ align: center middle; }}
    {name} > Vertical {{
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 1 2;
    }}
    {name} Horizontal {{ height: auto; margin-top: 1; }}
    {name} Button {{ margin-right: 1; }}
"""


class QuitScreen(ModalScreen[str]):
    """Training is running: save and quit, quit without saving, or cancel."""

    DEFAULT_CSS = DIALOG_CSS.format(name="QuitScreen")
    BINDINGS = [Binding("escape", "dismiss('cancel')", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Training is running.", style="bold"))
            yield Static("Save a checkpoint before quitting? Either way the thread stops now; "
                         "the run can be resumed from its last checkpoint.")
            with Horizontal():
                yield Button("Save and quit", id="save", variant="primary")
                yield Button("Quit without saving", id="quit", variant="error")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#save", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)


class ResumeScreen(ModalScreen[Optional[int]]):
    """Resume a run: up to how many steps in total (prefilled; more than done for a finished run)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ResumeScreen") + """
    ResumeScreen Input { width: 20; }
    ResumeScreen #resume-msg { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, run_name: str, step: int, total: int):
        super().__init__()
        self.run_name, self.step, self.total = run_name, step, total

    def compose(self) -> ComposeResult:
        suggested = self.total if self.step < self.total else max(self.total * 2, self.step + 100)
        with Vertical():
            yield Label(Text(f"Resume {self.run_name}", style="bold"))
            yield Static(f"It is at step {self.step:,} of {self.total:,}. Train up to (total steps):")
            yield Input(str(suggested), id="resume-steps", type="integer")
            yield Static("", id="resume-msg")
            with Horizontal():
                yield Button("Resume", id="resume", variant="primary")
                yield Button("Cancel", id="cancel")

    def _submit(self) -> None:
        text = self.query_one("#resume-steps", Input).value.strip()
        if not text.isdigit() or int(text) <= self.step:
            self.query_one("#resume-msg", Static).update(f"enter a whole number above {self.step:,}")
            return
        self.dismiss(int(text))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "resume":
            self._submit()
        else:
            self.dismiss(None)


class RunPickerScreen(ModalScreen[Optional[Path]]):
    """Pick a finished run whose curves are overlaid on the dashboard's (or none to clear).

    With ``several=True`` space marks runs and Enter returns the list of marked runs (the highlighted
    one alone when none is marked)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="RunPickerScreen") + """
    RunPickerScreen > Vertical { width: 90; }
    RunPickerScreen OptionList { height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("space", "mark", "Mark", show=False)]
    MARK = "✓ "

    def __init__(self, runs_dir: Path, exclude: Optional[Path] = None, has_overlay: bool = False,
                 note: str = "Its curves are drawn in grey and pink under this run's.",
                 skip: tuple[str, ...] = ("running", "new"), title: str = "Compare with a finished run",
                 several: bool = False):
        super().__init__()
        self.note, self.skip, self.title = note, skip, title  # skip: statuses not offered (no curves yet, by default)
        self.runs_dir, self.exclude, self.has_overlay = runs_dir, exclude, has_overlay
        self.paths: dict[str, Optional[Path]] = {}
        self.several, self.marked = several, []  # option ids in the order they were marked
        self.names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title, style="bold"))
            yield Static(self.note, classes="dim")
            yield OptionList(id="run-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).loading = True
        self.app.run_worker(self._scan, thread=True, group="runs", name="listing runs", exit_on_error=False)

    def _scan(self) -> None:
        from workbench.runs import list_runs

        self.post_message(RunsListed(list_runs(self.runs_dir)))

    @on(RunsListed)
    def show_runs(self, message: RunsListed) -> None:
        runs = message.runs
        options = self.query_one(OptionList)
        options.loading = False
        items = []
        if self.has_overlay:
            items.append(Option(Text("(no comparison)", style="italic"), id="none"))
            self.paths["none"] = None
        for run in runs:
            if run.status in self.skip or (self.exclude and run.path.resolve() == Path(self.exclude).resolve()):
                continue
            key = str(run.path)
            self.paths[key] = run.path
            self.names[key] = f"{run.path.name}  {run.step:,}/{run.total_steps:,} {run.status}"
            items.append(Option(self._prompt(key), id=key))
        if not items:
            items.append(Option(Text("no finished runs yet", style="dim"), id="empty", disabled=True))
        options.add_options(items)
        options.highlighted = 1 if self.has_overlay and len(items) > 1 else 0
        options.focus()

    def _prompt(self, key: str) -> Text:
        if not self.several:
            return Text(self.names[key])
        marked = key in self.marked
        return Text.assemble((self.MARK if marked else "  ", "bold green"), (self.names[key], "bold" if marked else ""))

    def action_mark(self) -> None:
        """Space: mark or unmark the highlighted run (``several`` only)."""
        options = self.query_one(OptionList)
        if not self.several or options.highlighted is None:
            return
        key = options.get_option_at_index(options.highlighted).id
        if key not in self.names:
            return
        self.marked.remove(key) if key in self.marked else self.marked.append(key)
        options.replace_option_prompt(key, self._prompt(key))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id not in self.paths:
            return
        if not self.several:
            self.dismiss(self.paths[event.option.id])
            return
        self.dismiss([self.paths[key] for key in self.marked] or [self.paths[event.option.id]])

    def action_cancel(self) -> None:
        self.app.pop_screen()  # no result: the overlay stays as it was
