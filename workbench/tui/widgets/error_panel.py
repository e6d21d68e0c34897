"""A red panel with the message of a failed or diverged run, shown above the dashboard's curves."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static


class ErrorPanel(Static):
    """Hidden until ``show`` gets a message; the text never goes through markup."""

    DEFAULT_CSS = """
    ErrorPanel {
        display: none;
        height: auto;
        max-height: 8;
        border: heavy $error;
        background: $error 15%;
        padding: 0 1;
    }
    ErrorPanel.-visible { display: block; }
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.border_title = "Training failed"
        self._message: Optional[str] = None

    def show(self, message: Optional[str], checkpoint_step: Optional[int], run_dir: Optional[str],
             title: str = "Training failed") -> None:
        if message == self._message:
            return
        self._message = message
        self.border_title = title
        self.set_class(message is not None, "-visible")
        if message is None:
            return
        text = Text(message, style="bold")
        if run_dir:
            kept = f" (step {checkpoint_step:,})" if checkpoint_step is not None else ""
            text.append(f"\nThe last checkpoint{kept} is kept in {run_dir}.", style="")
            text.append("\nr resume from it · i inspect it · escape back to the launcher", style="dim")
        self.update(text)
