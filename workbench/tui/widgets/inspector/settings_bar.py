"""Decoding options as a row of small inputs (beam width, α, temperature, top-k, top-p, seed, max length)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.widgets import Input, Label

# DecodeConfig field -> (label, type)
FIELDS: dict[str, tuple[str, type]] = {
    "beam": ("beam", int), "alpha": ("α", float), "temperature": ("temp", float), "top_k": ("top-k", int),
    "top_p": ("top-p", float), "seed": ("seed", int), "max_len": ("max len (0: auto)", int),
}


class SettingsBar(Container):
    """Hidden until asked for; Enter in any box applies every value, Escape closes the bar."""

    DEFAULT_CSS = """
    SettingsBar { height: auto; display: none; background: $boost; layout: grid; grid-size: 14;
                  grid-columns: auto 7; grid-rows: 1; }
    SettingsBar.-open { display: block; }
    SettingsBar.-narrow { grid-size: 8; }
    SettingsBar > Label { padding: 0 0 0 1; color: $text-muted; }
    SettingsBar > Input { height: 1; border: none; padding: 0 1; }
    SettingsBar > Input:focus { border: none; }
    """
    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    class Changed(Message):
        """New option values, parsed to their types."""

        def __init__(self, values: dict[str, Any]) -> None:
            super().__init__()
            self.values = values

    class Invalid(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def compose(self) -> ComposeResult:
        for key, (label, _) in FIELDS.items():
            yield Label(label)
            yield Input(id=f"opt-{key.replace('_', '-')}")

    def open(self, config: Any, auto_max_len: bool) -> None:
        for key in FIELDS:
            value = 0 if key == "max_len" and auto_max_len else getattr(config, key)
            self.query_one(f"#opt-{key.replace('_', '-')}", Input).value = f"{value:g}" if isinstance(value, float) \
                else str(value)
        self.add_class("-open")
        self.query_one(Input).focus()

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def values(self) -> dict[str, Any]:
        out = {}
        for key, (label, kind) in FIELDS.items():
            raw = self.query_one(f"#opt-{key.replace('_', '-')}", Input).value.strip()
            try:
                out[key] = kind(raw)
            except ValueError:
                raise ValueError(f"{label}: {raw!r} is not {'an integer' if kind is int else 'a number'}") from None
        return out

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.post_message(self.Changed(self.values()))
        except ValueError as exc:
            self.post_message(self.Invalid(str(exc)))

    def action_close(self) -> None:
        self.remove_class("-open")
        self.screen.set_focus(None)
