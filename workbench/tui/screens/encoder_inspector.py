"""The encoder inspector: what a tagging, classifying or masked-LM model predicts at each position, and why.

It asks the engine (``workbench.decoding.encoding``) for an ``EncoderView`` of one input and draws the
pieces ``encoding_panels`` builds: predictions with their probabilities, and one slice of the trace
(hidden states per direction, self-attention per layer/head, pooling weights). A masked LM's
"steps" are iterative unmasking: → fills the next most confident mask, ← takes it back, and ``f`` forces
a token at the next mask (the seq2seq inspector's key for forcing a token), after which unmasking
continues from it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from workbench.decoding.encoding import force_mask, inspect_encoder, prepare_encoder, unmask, view_after
from workbench.decoding.encoding_panels import TraceOptions, predictions, trace_panel, trace_views
from workbench.errors import UserError

from ..widgets.inspector.force_bar import ForceBar

SPEC = re.compile(r"^\s*\d+:")  # typed "P:TOKEN": force the mask at input position P, as --force


class EncoderInspectorScreen(Screen):
    """Per-position predictions and the encoder's trace for one input at a time."""

    AUTO_FOCUS = ""
    DEFAULT_CSS = """
    EncoderInspectorScreen { layout: vertical; }
    EncoderInspectorScreen #enc-input { border: none; height: 1; margin: 0 1; background: $boost; }
    EncoderInspectorScreen .enc-panel { border: round $primary 40%; border-title-color: $accent; padding: 0 1;
                                        border-title-style: bold; height: auto; }
    EncoderInspectorScreen #enc-trace-box { height: 1fr; width: 100%; }
    EncoderInspectorScreen #enc-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("slash", "type", "Type"),  # short labels: every key fits an 80-column footer
        Binding("n", "example(1)", "Next"),
        Binding("p", "example(-1)", "Prev"),
        Binding("right", "unmask(1)", "Unmask →", show=False),
        Binding("left", "unmask(-1)", "← Back", show=False),
        Binding("f", "force", "Force", priority=True),  # at once: keys typed right behind it are the bar's
        Binding("v", "view", "View"),
        Binding("l", "layer", "Layer"),
        Binding("h", "head", "Head"),
        Binding("escape", "leave", "Back"),
        Binding("q", "leave", "Back", show=False),
    ]

    def __init__(self, model: Any, task: Any, *, run_dir: Optional[str | Path] = None, title: str = "",
                 initial_input: Optional[str] = None):
        super().__init__()
        self.model, self.seq_task = model, task
        self.caps = model.capabilities
        self.run_dir, self.title_text = run_dir, title
        self.initial_input = initial_input
        self.example = 0
        self.opts = TraceOptions()
        self.view = None
        self.job = None
        self.steps: list = []
        self.shown = 0

    def compose(self) -> ComposeResult:
        hint = "type a sentence; _ or [MASK] for masks" if self.caps.head == "mlm" else "type an input"
        yield Input(placeholder=f"/ {hint}, Enter to encode", id="enc-input")
        yield Static("", id="enc-pred", classes="enc-panel")
        with VerticalScroll(id="enc-trace-box", classes="enc-panel"):
            yield Static("", id="enc-trace")
        yield ForceBar(id="enc-force")
        yield Static("", id="enc-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#enc-pred").border_title = {"tag": "Tags", "classify": "Class", "mlm": "Masks"}[self.caps.head]
        self.query_one("#enc-trace-box").border_title = "Trace"
        self.sub_title = self.title_text
        self.load(text=self.initial_input) if self.initial_input else self.load(example=0)

    def load(self, text: Optional[str] = None, example: Optional[int] = None) -> None:
        """Encode typed text or an example and redraw; a bad input is a notification, not a crash."""
        try:
            job = prepare_encoder(self.seq_task, self.caps, text=text, example=example)
            self.view = inspect_encoder(self.model, self.seq_task, job)
            self.steps = unmask(self.model, self.seq_task, job) if job.head == "mlm" else []
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        for warning in job.warnings:
            self.notify(warning, severity="warning", timeout=4)
        self.job, self.shown = job, 0
        self.redraw()

    def redraw(self) -> None:
        if self.view is None:
            return
        width = max(20, self.size.width - 6)
        self.query_one("#enc-pred", Static).update(predictions(self.view, self.caps.head, self.steps, self.shown, width))
        self.query_one("#enc-trace", Static).update(trace_panel(self._trace_view(), self.caps, self.opts, width))
        layer = self.opts.layer % self.caps.layers + 1
        head = "mean" if self.opts.head is None else str(self.opts.head + 1)
        self.query_one("#enc-status", Static).update(
            f"view {self.opts.view} · layer {layer}/{self.caps.layers}"
            + (f" · head {head}/{self.caps.heads}" if self.caps.heads > 1 else "")
            + ("" if self.caps.directions == 1 else " · forward and backward directions"))

    def _trace_view(self):
        """The encoding behind the shown unmasking step: the trace follows the steps (cached per step)."""
        if not self.shown or self.job is None:
            return self.view
        key = (self.shown, tuple(self.steps[self.shown - 1].tokens))
        if getattr(self, "_step_view", (None, None))[0] != key:
            self._step_view = (key, view_after(self.model, self.seq_task, self.job, self.steps, self.shown))
        return self._step_view[1]

    def on_resize(self) -> None:
        self.redraw()

    # ----- keys -----
    def action_type(self) -> None:
        self.query_one("#enc-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.load(text=event.value)
        self.set_focus(None)

    def action_example(self, delta: int) -> None:
        self.example = max(0, self.example + delta)
        self.load(example=self.example)

    def action_unmask(self, delta: int) -> None:
        self.shown = min(max(0, self.shown + delta), len(self.steps))
        self.redraw()

    def action_force(self) -> None:
        """Offer the candidates of the mask → fills next; picking one (or typing a token) fills it with that."""
        if self.shown >= len(self.steps):
            self.notify("every mask is filled: ← goes back to a step where one is open" if self.steps
                        else "no mask to force: type a sentence with _ or [MASK] (/)", severity="warning")
            return
        nxt = self.steps[self.shown]
        stoi = self.seq_task.tgt_vocab.stoi
        choices = [(stoi[t], t, p) for t, p in nxt.candidates]
        self.query_one(ForceBar).open(nxt.position, choices, what="the mask at input position",
                                      then="unmasking continues from it",
                                      hint="a token, or P:TOKEN for mask P; Enter forces it")

    def on_key(self, event) -> None:
        self.query_one(ForceBar).claim(event)

    def on_force_bar_picked(self, event: ForceBar.Picked) -> None:
        position = self.steps[self.shown].position
        if event.token is not None:
            spec = f"{position}:{self.seq_task.tgt_vocab.itos[event.token]}"
        else:
            spec = event.text if SPEC.match(event.text) else f"{position}:{event.text}"
        try:
            self.steps = force_mask(self.model, self.seq_task, self.job, self.steps, self.shown, spec)
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        self.shown += 1
        self.redraw()

    def action_view(self) -> None:
        views = trace_views(self.caps)
        self.opts.view = views[(views.index(self.opts.view) + 1) % len(views)] if self.opts.view in views else views[0]
        self.query_one("#enc-trace-box", VerticalScroll).scroll_home(animate=False)  # a new view starts at its top
        self.redraw()

    def action_layer(self) -> None:
        self.opts.layer = (self.opts.layer % self.caps.layers + 1) % self.caps.layers
        self.redraw()

    def action_head(self) -> None:
        heads = self.caps.heads
        self.opts.head = 0 if self.opts.head is None else (None if self.opts.head + 1 >= heads else self.opts.head + 1)
        self.redraw()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Footer keys only where they do something for this model."""
        if action == "layer":
            return self.caps.layers > 1
        if action == "head":
            return self.caps.heads > 1
        if action == "view":
            return len(trace_views(self.caps)) > 1
        if action == "unmask":
            return self.caps.head == "mlm"
        if action == "force":  # a priority key: typed into a box (or the open force bar) it is just a letter
            return self.caps.head == "mlm" and self.query_one(ForceBar).can_open
        return True

    def action_leave(self) -> None:
        if self.focused is not None:
            self.set_focus(None)
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:  # the only screen (``seqbench inspect RUN``)
            self.app.exit()
