"""What-if forcing: pick any candidate of the current step (or type a token) and continue from it."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from . import palette as P


class ForceBar(Horizontal):
    """Candidates as an option list plus a box for any token; Enter forces it, Escape closes.

    The list has the focus (↑↓ Enter pick a candidate); any character typed goes to the token box,
    where Enter forces exactly what was typed (an empty box forces the highlighted candidate).
    Keys that a terminal delivers in the same read as ``f`` are queued before the bar has the focus:
    the screen hands them to ``take_key`` so none is lost or taken for an inspector key.
    """

    DEFAULT_CSS = """
    ForceBar { height: auto; max-height: 11; display: none; background: $boost; padding: 0 1; }
    ForceBar.-open { display: block; }
    ForceBar > #force-list { width: 34; height: auto; max-height: 10; border: none; }
    ForceBar > Vertical { width: 1fr; height: auto; }
    ForceBar #force-title { height: auto; }
    ForceBar Input { height: 1; border: none; padding: 0 1; margin-top: 1; }
    ForceBar Input:focus { border: none; }
    """
    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    class Picked(Message):
        """A token to force: an id from the list, or text typed by the user."""

        def __init__(self, token: Optional[int] = None, text: Optional[str] = None) -> None:
            super().__init__()
            self.token, self.text = token, text

    def compose(self) -> ComposeResult:
        yield OptionList(id="force-list")
        with Vertical():
            yield Static("", id="force-title")
            yield Input(placeholder="type any output token here, Enter forces it", id="force-input", select_on_focus=False)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, position: int, choices: list[tuple[int, str, float]], what: str = "output token",
             then: str = "decoding continues from it", hint: str = "type any output token here, Enter forces it") -> None:
        """Offer ``choices`` (token id, text, probability) for ``what`` (output token, or a masked LM's mask)
        at ``position``; ``then`` says what happens next, ``hint`` is the token box's placeholder."""
        title = Text(f"force {what} {position}", style=P.ACCENT)
        title.append(f": pick a candidate (↑↓ Enter) or just type a token and press Enter; {then}. Esc closes.",
                     style=P.DIM)
        self.query_one(Input).placeholder = hint
        self.query_one("#force-title", Static).update(title)
        options = self.query_one(OptionList)
        options.clear_options()
        for token, text, p in choices:
            label = Text(P.label(text, 12).ljust(13))
            label.append(f"{P.prob(p)}  ", style=P.MUTED)
            label.append(P.bar(p, 12), style=P.confidence_style(p))
            options.add_option(Option(label, id=str(token)))
        self.query_one(Input).value = ""
        self.add_class("-open")
        options.highlighted = 0 if choices else None
        self.screen.set_focus(options)  # now, not after the keys already queued: they are this bar's

    def on_key(self, event) -> None:
        """Typing while the list has the focus writes into the token box (the list has no use for letters)."""
        if not self.query_one(Input).has_focus and self.take_key(event):
            event.stop()
            event.prevent_default()

    @property
    def can_open(self) -> bool:
        """Whether ``f`` opens the bar: not while typing into a box, nor when it is already open (there a
        priority key's letter is just a letter)."""
        return not isinstance(self.screen.focused, Input) and not self.is_open

    def claim(self, event) -> None:
        """A screen's key handler: keys queued behind ``f`` reach the screen before the bar has the
        focus; while the bar is open and does not have it, they are the bar's."""
        if self.is_open and (self.screen.focused is None or self not in self.screen.focused.ancestors_with_self) \
                and self.take_key(event):
            event.stop()
            event.prevent_default()

    def take_key(self, event) -> bool:
        """Handle a key meant for the open bar that reached the list or the screen; True if it was used."""
        box, options = self.query_one(Input), self.query_one(OptionList)
        if event.is_printable and event.character:
            self.screen.set_focus(box)
            box.insert_text_at_cursor(event.character)
            return True
        if event.key == "enter" and (box.value or not options.has_focus):  # text typed: force exactly that
            self.on_input_submitted(Input.Submitted(box, box.value))
            return True
        if event.key in ("up", "down") and not options.has_focus:
            self.screen.set_focus(options)
            options.action_cursor_up() if event.key == "up" else options.action_cursor_down()
            return True
        if event.key == "escape" and not options.has_focus:
            self.action_close()
            return True
        return False

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Picked(token=int(event.option.id)))
        self.action_close()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value:
            self.post_message(self.Picked(text=event.value))
        else:  # an empty box: the highlighted candidate, as Enter on the list would
            options = self.query_one(OptionList)
            if options.highlighted is not None:
                self.post_message(self.Picked(token=int(options.get_option_at_index(options.highlighted).id)))
        self.action_close()

    def action_close(self) -> None:
        self.remove_class("-open")
        self.screen.set_focus(None)
