"""The dashboard's event log: evaluations, checkpoints, pauses, warnings, the end of training."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog


class EventLog(RichLog):
    """Shows a session's log entries, writing only the ones it has not shown yet."""

    DEFAULT_CSS = """
    EventLog {
        height: 8;
        min-height: 4;
        border: round $primary 40%;
        border-title-color: $text;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, **kwargs):
        super().__init__(max_lines=500, wrap=True, markup=False, highlight=False, **kwargs)
        self.border_title = "Events"
        self._shown = 0
        self._total = 0
        self._source = None

    def sync(self, entries: list[tuple[str, str]], total: int) -> None:
        """Show what is new: ``entries`` holds the session's latest lines, ``total`` counts all ever logged."""
        if entries is not self._source:  # another session: start over
            self._source, self._shown = entries, max(0, total - len(entries))
            self.clear()
        self._total = total
        self._flush()

    def on_resize(self) -> None:
        self._flush()

    def _flush(self) -> None:
        width = self.scrollable_content_region.width
        if self._source is None or width <= 0:  # lines are wrapped to the width, so wait for one
            return
        entries = self._source
        new = min(self._total - self._shown, len(entries))
        for style, text in entries[len(entries) - new:] if new > 0 else ():
            self.write(Text(text, style=style), width=width)
        self._shown = self._total
