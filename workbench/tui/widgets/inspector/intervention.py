"""Interventions in the inspector: the dialog that picks one, and the panel that says what it did.

The choices come from the engine (``decoding.intervention_menu``), the effect from
``decoding.intervention_effect`` and is drawn by the same ``print_effect`` ``seqbench decode
--intervene`` prints with.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from workbench.decoding.intervention_effect import print_effect
from workbench.decoding.intervention_menu import VALUE_MARK, Choice

from ..rich_lines import Lines
from . import palette as P


class InterventionDialog(ModalScreen[Optional[str]]):
    """Pick an edit (↑↓ Enter); a clamp takes the value in the box (the unit's own value to start with)."""

    DEFAULT_CSS = """
    InterventionDialog { align: center middle; }
    InterventionDialog > Vertical { width: 90; max-width: 100%; height: auto; max-height: 100%;
                                    border: thick $primary; background: $surface; padding: 0 1; }
    InterventionDialog OptionList { height: auto; max-height: 14; }
    InterventionDialog Input { margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(self, choices: Sequence[Choice], active: Sequence[str]):
        super().__init__()
        self.choices, self.active = list(choices), list(active)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Intervene: edit what the decoder computes from this step on", style="bold"))
            if self.active:
                yield Static(Text("active: " + ", ".join(self.active) + "  (x clears them)", style=P.DIM))
            yield OptionList(*(Option(Text(c.label), id=str(i)) for i, c in enumerate(self.choices)),
                             id="edit-list")
            value = next((c.value for c in self.choices if VALUE_MARK in c.spec), 0.0)
            yield Input(f"{value:.4g}", id="edit-value", placeholder="clamp value")
            yield Static(Text("↑↓ Enter picks · the box is the clamp value · Esc cancels", style=P.DIM))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        choice = self.choices[int(event.option.id)]
        text = self.query_one("#edit-value", Input).value.strip()
        try:
            value = float(text) if VALUE_MARK in choice.spec else None
        except ValueError:
            self.notify(f"{text!r} is not a number: type the clamp value in the box", severity="warning")
            return
        self.dismiss(choice.with_value(value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(OptionList).focus()


class InterventionView(Static):
    """Under the output, while edits are active: the unedited output, the tokens changed and the
    change in the reference's log-probability (the output panel shows the edited decoding)."""

    DEFAULT_CSS = """
    InterventionView { height: auto; max-height: 7; display: none; padding: 0 1; background: $boost; }
    InterventionView.-on { display: block; }
    """

    def show(self, effect, specs: Sequence[str], text: Callable, itos: Sequence[str]) -> None:
        self.set_class(effect is not None, "-on")
        if effect is None:
            return
        self.styles.max_height = 4 if self.screen.has_class("-narrow") else 7  # few rows: the hint goes first
        lines = Lines()
        print_effect(lines, effect, text, itos, list(specs))
        # its first line names the edits "(the output above)": here, with the edited output decoded to the end
        lines.items[0] = Text.assemble(("edited   ", "bold magenta"), text(effect.edited.tokens) or "(empty)",
                                       (f"  log-prob {effect.edited.logprob:.4f} · ", "dim"), ", ".join(specs))
        if str(lines.items[-1]).strip().startswith("reference log-prob"):  # before the changed tokens, which wrap
            lines.items.insert(2, lines.items.pop())
        lines.items.append(Text("x clears the edits · e adds one", style=P.DIM))
        self.update(lines.group())
