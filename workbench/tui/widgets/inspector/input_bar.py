"""The input row: which test example is decoded (↑/↓ to change) and a box to type your own input."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from . import palette as P


class InputBar(Horizontal):
    """Example picker label plus an ``Input``; Enter decodes the typed text, Escape leaves the box."""

    DEFAULT_CSS = """
    InputBar { height: 1; }
    InputBar > #example-label { width: auto; max-width: 50%; padding-right: 1; }
    InputBar > Input { width: 1fr; height: 1; border: none; padding: 0 1; background: $boost; }
    InputBar > Input:focus { border: none; background: $surface-lighten-1; }
    """
    BINDINGS = [Binding("escape", "leave", "Leave input", show=False)]

    class Submitted(Message):
        """The user typed an input and pressed Enter."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, placeholder: str, *, id: Optional[str] = None):
        super().__init__(id=id)
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Static("", id="example-label")
        yield Input(placeholder=self._placeholder, id="typed-input")

    def show(self, example: Optional[int], total: int, split: str) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if example is None:
            text.append("typed input", style=P.ACCENT)
            text.append(f" · ↑↓ {split} examples", style=P.DIM)
        else:
            text.append(f"{split} example {example + 1}/{total}", style=P.ACCENT)
            text.append(" ↑↓", style=P.DIM)
        self.query_one("#example-label", Static).update(text)

    def focus_input(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))
        self.screen.set_focus(None)

    def action_leave(self) -> None:
        self.screen.set_focus(None)
