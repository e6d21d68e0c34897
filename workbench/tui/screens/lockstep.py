"""Lockstep comparison in the app: one input through two or more runs, stepped side by side.

The comparison is the engine's (``decoding.compare.compare_input``: greedy, every run, outputs aligned
by token text, the first divergence); this screen steps a cursor through it and draws, for each run,
the token it chose there, its top candidates and its attention so far (``compare.step_view`` and
``compare.attention_rows``), with the inspector's own widgets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from workbench.decoding.compare import InputComparison, attention_rows, step_view

from ..widgets.inspector import palette as P
from .dashboard import run_label
from ..widgets.inspector.distribution import NextTokenPanel
from ..widgets.inspector.heatmap import AttentionHeatmap

LABEL = 24  # most columns for a run's name in the aligned rows


def aligned_text(cmp: InputComparison, t: int, width: int) -> Text:
    """Position numbers, then each run's tokens in columns; step ``t`` bold, disagreeing tokens red."""
    div = cmp.divergence
    names = [run_label(o.label) for o in cmp.outputs]
    pad = min(LABEL, max(len(n) for n in names + ["step"]) + 1)
    widths = [max(len(str(i % 100)), *(len(P.label(x)) for x in cmp.column(i))) + 1 for i in range(cmp.length)]
    start = 0
    while start < t and sum(widths[start: t + 1]) > width - pad - 2:  # keep step t in view
        start += 1
    lines = [Text("step".ljust(pad), style=P.DIM)]
    for name in names:
        lines.append(Text(name[: pad - 1].ljust(pad), style=P.BOLD))
    for i in range(start, cmp.length):
        if sum(widths[start: i + 1]) > width - pad - 2:
            break
        col = cmp.column(i)
        differs = len(set(col)) > 1
        lines[0].append(str(i % 100).ljust(widths[i]), style="bold reverse" if i == t else P.DIM)
        for line, token in zip(lines[1:], col):
            style = ("bold red" if differs else "") + (" reverse" if i == t else "")
            line.append(P.label(token).ljust(widths[i]), style=style.strip())
    head = Text.assemble(("input ", P.BOLD), P.label(cmp.input_text))
    if cmp.reference is not None:
        head.append("   reference ", style=P.BOLD)
        head.append(" ".join(P.labels(cmp.reference)) if any(len(x) > 1 for x in cmp.reference)
                    else "".join(cmp.reference))
    where = Text("no divergence: every run gives the same output", style="green") if div is None else \
        Text(f"the runs first part at step {div} (d jumps there)", style="bold yellow")
    return Text("\n").join([head, *lines, where])


class LockstepReady(Message):
    """The worker's comparison (or the one-line error that stopped it)."""

    def __init__(self, cmp: Any = None, error: str = "", title: str = "") -> None:
        super().__init__()
        self.cmp, self.error, self.title = cmp, error, title


SIDE = (38, 30)  # columns per run and rows at least: every run's panels side by side, else the compact layout


def arrangement(runs: int, width: int, height: int) -> str:
    """side: a column of panels per run; compact: one line per run and one run's panels (r picks it)."""
    return "side" if width // max(runs, 1) >= SIDE[0] and (runs <= 2 or height >= SIDE[1]) else "compact"


def run_lines(cmp: InputComparison, t: int, top: int = 3) -> Text:
    """One line per run at step ``t``: the token it chose, its best candidates and where it attended."""
    names = [run_label(o.label) for o in cmp.outputs]
    pad = min(LABEL, max(len(n) for n in names) + 1)
    lines = []
    for name, o in zip(names, cmp.outputs):
        line = Text(name[: pad - 1].ljust(pad), style=P.BOLD)
        if t >= len(o.records):
            line.append(f"ended before step {t}", style=P.DIM)
        else:
            view = step_view(o, t)
            line.append(P.label(view.chosen).ljust(3), style="bold red" if len(set(cmp.column(t))) > 1 else P.BOLD)
            line.append(" " + "  ".join(f"{P.label(tok)} {p:.2f}" for tok, p in view.top[:top]), style=P.DIM)
            if view.attended is not None:
                pos, token, weight = view.attended
                line.append(f"  @{pos} ", style=P.DIM)
                line.append(P.label(token), style=P.BOLD)
                line.append(f" {weight:.2f}", style=P.DIM)
        lines.append(line)
    return Text("\n").join(lines)


class LockstepScreen(Screen):
    """Two or more runs on one input, step by step: ← → step, d the first divergence, Esc back.

    Side by side when each run gets 38 columns (and, for three runs or more, 30 rows); below that one
    line per run (its choice, best candidates, attention) above one run's panels, r picks the run."""

    DEFAULT_CSS = """
    LockstepScreen { layout: vertical; }
    LockstepScreen #lock-title { height: 1; padding: 0 1; }
    LockstepScreen #lock-aligned, LockstepScreen #lock-table { height: auto; border: round $primary 40%;
                                                                padding: 0 1; }
    LockstepScreen #lock-runs { height: 1fr; }
    LockstepScreen .lock-run { width: 1fr; border: round $primary 40%; border-title-color: $accent; padding: 0 1; }
    LockstepScreen .lock-chose { height: auto; }
    LockstepScreen NextTokenPanel { height: auto; max-height: 7; }
    LockstepScreen AttentionHeatmap { height: 1fr; }
    """
    BINDINGS = [
        Binding("right", "step(1)", "Step"),
        Binding("left", "step(-1)", "Back"),
        Binding("d", "divergence", "Divergence"),
        Binding("r", "pick_run", "Next run"),
        Binding("end", "edge(1)", "End", show=False),
        Binding("home", "edge(-1)", "Start", show=False),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, cmp: InputComparison, title: str = ""):
        super().__init__()
        self.cmp, self.heading = cmp, title
        self.t = 0
        self.shown = 0  # the run whose panels the compact layout shows
        self.layout_name = "side"

    def compose(self) -> ComposeResult:
        n = len(self.cmp.outputs)
        self.layout_name = arrangement(n, self.app.size.width, self.app.size.height)
        yield Static(id="lock-title")
        yield Static(id="lock-aligned")
        if self.layout_name == "compact":
            yield Static(id="lock-table")
        with Horizontal(id="lock-runs"):
            for i in range(n) if self.layout_name == "side" else [None]:
                with Vertical(classes="lock-run", id=f"lock-run-{'shown' if i is None else i}"):
                    yield Static(classes="lock-chose")
                    if self.layout_name == "side":
                        yield NextTokenPanel()
                    yield AttentionHeatmap()
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.redraw()

    async def on_resize(self, event) -> None:
        if arrangement(len(self.cmp.outputs), event.size.width, event.size.height) != self.layout_name:
            await self.recompose()
        self.redraw()
        self.refresh_bindings()

    def redraw(self) -> None:
        cmp, t = self.cmp, self.t
        title = Text.assemble((f"step {t}/{cmp.length - 1} ", P.BOLD), ("lockstep ", P.ACCENT),
                              " vs ".join(run_label(o.label) for o in cmp.outputs),
                              (f" · {self.heading}" if self.heading else "", P.DIM))
        self.query_one("#lock-title", Static).update(title)
        aligned = self.query_one("#lock-aligned", Static)
        aligned.border_title = "outputs aligned (greedy)"
        aligned.update(aligned_text(cmp, t, self.app.size.width - 4))
        if self.layout_name == "side":
            for i, o in enumerate(cmp.outputs):
                self._draw_run(self.query_one(f"#lock-run-{i}"), o)
            return
        table = self.query_one("#lock-table", Static)
        table.border_title = f"at step {t}: chose · best candidates · @ source position attended"
        table.update(run_lines(cmp, t))
        o = cmp.outputs[self.shown]
        self._draw_run(self.query_one("#lock-run-shown"), o)

    def _draw_run(self, box, o) -> None:
        """One run's box: its choice and attention at the step, its candidates when there is room."""
        t = self.t
        box.border_title = run_label(o.label)
        if self.layout_name == "compact":
            box.border_subtitle = f"run {self.shown + 1} of {len(self.cmp.outputs)} · r next run"
        chose, heat = box.query_one(".lock-chose", Static), box.query_one(AttentionHeatmap)
        panels = box.query(NextTokenPanel)
        if t >= len(o.records):
            chose.update(Text(f"ended before step {t}", style=P.DIM))
            for panel in panels:
                panel.show([], set(), o.itos, step=None)
            heat.show(np.zeros((0, 0)), [], [], message="this run has ended")
            return
        view = step_view(o, t)
        line = Text.assemble(("chose ", P.DIM), (P.label(view.chosen), P.BOLD))
        if view.attended is not None:
            pos, token, weight = view.attended
            line.append("  attended to ", style=P.DIM)
            line.append(P.label(token), style=P.BOLD)
            line.append(f" at source position {pos} ({weight:.2f})", style=P.DIM)
        chose.update(line)
        record = o.records[t]
        for panel in panels:
            panel.show(record.topk(0), {record.candidates[0].token}, o.itos, step=t)
        rows = attention_rows(o, t)
        outputs = [P.label(o.itos[r.candidates[0].token]) for r in o.records[: t + 1]]
        if rows is None:
            heat.show(np.zeros((0, 0)), [], [], title="no attention",
                      message="this run has no attention: the decoder sees the source only through its state")
        else:
            heat.show(rows, outputs, P.labels(o.src_tokens or []), current=t, title="cross-attention · last "
                      "layer · mean over heads")

    def action_step(self, delta: int) -> None:
        self.t = min(self.cmp.length - 1, max(0, self.t + delta))
        self.redraw()

    def action_edge(self, delta: int) -> None:
        self.t = self.cmp.length - 1 if delta > 0 else 0
        self.redraw()

    def action_divergence(self) -> None:
        if self.cmp.divergence is None:
            self.notify("the runs never part: every run gives the same output", timeout=3)
            return
        self.t = self.cmp.divergence
        self.redraw()

    def action_pick_run(self) -> None:
        self.shown = (self.shown + 1) % len(self.cmp.outputs)
        self.redraw()

    def check_action(self, action: str, parameters: tuple):
        if action == "pick_run":
            return self.layout_name == "compact"
        return True

    def action_close(self) -> None:
        self.app.pop_screen()


def lockstep_runs(first: Any, paths: Any, *, example=None, split=None, text=None) -> InputComparison:
    """Load the runs at ``paths`` and compare them with ``first`` (path, model, task)
    on one input (in a worker thread: loading and decoding take a moment)."""
    from workbench.decoding.compare import check_same_task, compare_input
    from workbench.runs import load_run

    runs = [first, *(load_run(p) for p in paths)]
    check_same_task(runs)
    return compare_input(runs, example=example, split=split, text=text, show_k=8)
