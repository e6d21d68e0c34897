"""The ``?`` sheet: every inspector key grouped by panel, with why a key does nothing right now.

``SHEET`` is the one list of what each key does; the screen says which actions are off and why
(``reasons``), so the sheet never shows a key as usable when pressing it would do nothing.
"""

from __future__ import annotations

from typing import Callable, Optional

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from . import palette as P
from .captions import SYMBOLS

# (panel, [(keys as printed, action name, what it does)])
SHEET: list[tuple[str, list[tuple[str, str, str]]]] = [
    ("Decoding", [
        ("→", "step", "decode one more token"),
        ("←", "back", "go back one token"),
        ("End", "run", "decode to the end"),
        ("Home", "reset", "start again from the first token"),
        ("↑ ↓", "example", "previous / next example of the split"),
        ("/", "type_input", "type your own input; Enter decodes it"),
        ("s", "strategy", "strategy: greedy → beam → sampling"),
        ("t", "teacher", "teacher-forced: feed the reference, show its rank and loss"),
        ("+ -", "adjust", "beam width (1-8) or sampling temperature"),
        ("o", "options", "every option: beam, α, temperature, top-k, top-p, seed, max length"),
        ("f", "force", "force a token at the last position (pick or type it), then continue"),
        ("n", "next_hyp", "follow the next hypothesis of the beam"),
        ("z", "hard_sample", "hard attention: read the argmax position, or draw z ~ a_t each step (seed: o)"),
        ("d", "decoder", "skip-thought: the same sentence through the other decoder (sentence i−1 ↔ i+1)"),
    ]),
    ("Alignment", [
        ("a", "view", "which attention: cross, decoder self, encoder self"),
        ("m", "overview", "all layers × heads at a glance; Enter opens one large"),
        ("l", "layer", "next layer"),
        ("h", "head", "next head, or the mean of all heads"),
        ("p", "probe", "replay how a probe example's alignment formed during training"),
        ("[ ]", "scrub", "earlier / later training step of the replay"),
        ("space", "play", "play / pause the replay: watch the alignment form over training"),
    ]),
    ("Hidden state", [
        ("g", "state", "what is shown: hidden, cell, gates, context, encoder states"),
        (", .", "unit", "follow the previous / next unit"),
        ("< >", "unit", "jump 10 units"),
        ("v", "fix_scale", "colour scale: follow the values, or fixed so colours keep their meaning"),
    ]),
    ("Find out why (the headless tools, here)", [
        ("e", "intervene", "intervene from this step: zero / clamp / mean the unit followed, zero a head, pin the "
                           "attention to a source position; shows the new output, tokens changed, Δ log p(reference)"),
        ("x", "clear_edits", "clear the interventions"),
        ("w", "errors", "where decoding goes wrong over a split; Enter opens an example at its first wrong step"),
        ("c", "compare", "step this input through this run and another, side by side"),
        ("u", "units", "where in the validation data the followed hidden unit is most on"),
        ("L", "lengths", "exact match and attention entropy by source length (test, long): how far it "
                         "carries past its training lengths; c adds runs to compare"),
        ("E", "export", "write this decoding's steps.svg, steps.cast (asciinema) and replay.json (seqbench decode "
                        "--replay reopens it)"),
        ("S", "save_panel", "save the panel shown (a tab) or picked (1-5, a click) as SVG and PNG"),
        ("N", "neighbours", "skip-thought: the corpus sentences nearest to the input by sentence vector, and the "
                            "map of every sentence (PCA); Enter inspects a neighbour"),
    ]),
    ("Screen", [
        ("1-5", "tab", "show a panel (when the panels are tabs), or pick the one S saves"),
        ("?", "keys", "this sheet"),
        ("ctrl+p", "palette", "command palette: theme, save a screenshot"),
        ("esc q", "close", "close the inspector"),
    ]),
]


def sheet_text(reasons: Callable[[str], Optional[str]]) -> Group:
    """The sheet as two-column tables; ``reasons(action)`` is why the action is off now (None: it works)."""
    parts: list = []
    for panel, rows in SHEET:
        table = _table(panel)
        for keys, action, what in rows:
            why = reasons(action)
            cell = Text(what, style=P.DIM if why else "")
            if why:  # under the description: a reason never runs into the next key
                cell.append(f"\n↳ off now: {why}", style=P.MUTED)
            table.add_row(Text(keys, style=P.DIM if why else P.BOLD), cell)
        parts.append(table)
    symbols = _table("Symbols")
    for mark, meaning in SYMBOLS:
        symbols.add_row(Text(mark, style=P.BOLD), Text(meaning))
    parts.append(symbols)
    return Group(*parts)


def _table(title: str) -> Table:
    table = Table(title=title, title_justify="left", title_style=P.ACCENT, show_header=False, box=None,
                  padding=(0, 1), expand=True)
    table.add_column(width=11, no_wrap=True)
    table.add_column(ratio=1)
    return table


def plain(group: Group) -> str:
    """The sheet as plain text (for tests and for reading it in a log)."""
    from rich.console import Console

    console = Console(width=100, record=True, file=__import__("io").StringIO())
    console.print(group)
    return console.export_text()


class KeySheet(ModalScreen):
    """Every key of the inspector, grouped by panel; ``?``, Escape or q close it."""

    DEFAULT_CSS = """
    KeySheet { align: center middle; }
    KeySheet > VerticalScroll { width: 100; max-width: 100%; height: auto; max-height: 100%;
                                border: round $accent; background: $surface; padding: 0 1; }
    KeySheet Static { width: 100%; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", show=False)]

    def __init__(self, text: Group):
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Inspector keys (grey: off right now, and why)"
            scroll.border_subtitle = "? or esc closes · ↑↓ scroll"
            yield Static(self.text)


def off_reason(screen, action: str) -> Optional[str]:
    """Why ``action`` does nothing on the inspector ``screen`` now (None: it works)."""
    ins = screen.ins
    params = {"tab": ("tab-attention",), "example": (1,), "unit": (1,), "adjust": (1,), "scrub": (1,)}
    if action == "palette":
        return None
    if ins.session is None:
        return None if screen.check_action(action, params.get(action, ())) else "nothing is loaded: type an input"
    if action == "teacher" and ins.reference is None and ins.mode != "teacher":
        return "typed input has no reference: pick an example with ↑↓"
    if action == "force" and ins.mode == "teacher":
        return "teacher forcing already forces every token: press t"
    if action == "fix_scale" and not screen.query_one("HiddenStrips").signed:
        return "gates are always drawn on the fixed 0-1 scale"
    if screen.check_action(action, params.get(action, ())):
        return None
    return {
        "next_hyp": "only with beam search: press s",
        "hard_sample": "this model has no hard attention (model.hard_attention)",
        "adjust": "only for beam search or sampling: press s",
        "view": "this model has one kind of attention (or none)",
        "overview": "this model has one layer and one head",
        "layer": "this model has one layer",
        "head": "this model has one head",
        "probe": "no probes: they are recorded for encoder-decoders with attention",
        "scrub": "no probes: they are recorded for encoder-decoders with attention",
        "play": "no probes: they are recorded for encoder-decoders with attention",
        "clear_edits": "no interventions: press e to add one",
        "errors": "language models have no reference to leave: use an encoder-decoder run",
        "lengths": "a language model has no source lengths: use an encoder-decoder run",
        "export": "teacher forcing is not a decoding to replay: press t",
        "decoder": "this model has one decoder (skip-thought has two)",
        "neighbours": "only skip-thought runs have sentence vectors to compare",
    }.get(action, "not available now")
