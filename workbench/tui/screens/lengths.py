"""Length extrapolation in the app: exact match and attention entropy by source length, runs side by side.

``seqbench lengths`` as two charts: one line per run (the inspected model first, then any run added
with ``c``), a vertical rule at the longest source the first run trained on, and on the entropy
chart the ``log S`` a uniform attention would score. The profiles are the engine's
(``decoding.lengths.length_profile``), computed in a thread worker, at most ``LIMIT`` examples a split.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from workbench.errors import UserError

from ..widgets.inspector import palette as P
from ..widgets.line_chart import LineChart, Marker, Series

LIMIT = 300  # examples per split: ~20 per length on the synthetic tasks, a few seconds on a CPU
COLOURS = ("#5fafff", "#ffaf00", "#5fd75f", "#d787d7", "#ff5f5f", "#00d7d7")  # one per run, in the order added
UNIFORM = "#808080"


class ProfileReady(Message):
    """A worker's length profile (or the one-line error that stopped it)."""

    def __init__(self, profile: Any = None, error: str = "") -> None:
        super().__init__()
        self.profile, self.error = profile, error


def chart_series(profiles: list) -> tuple[list[Series], list[Series]]:
    """(exact match % by length, attention entropy by length) series, one per profile, plus log S."""
    exact, entropy = [], []
    for profile, colour in zip(profiles, COLOURS * 4):
        rows = profile.by_length()
        exact.append(Series(profile.label, [(k, 100 * s.exact) for k, s in rows.items()], colour))
        if profile.attention:
            entropy.append(Series(profile.label, [(k, s.entropy) for k, s in rows.items()], colour))
    lengths = sorted({k for p in profiles for k in p.by_length()})
    if entropy and lengths:
        entropy.append(Series("log S", [(k, math.log(k)) for k in lengths if k > 0], UNIFORM))
    return exact, entropy


class LengthsScreen(Screen):
    """Exact match and attention entropy by source length for this model and any runs added with ``c``."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # -narrow: charts one above the other, each full width
    DEFAULT_CSS = """
    LengthsScreen { layout: vertical; }
    LengthsScreen #len-title { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    LengthsScreen #len-charts { height: 1fr; min-height: 10; }
    LengthsScreen.-narrow #len-charts { layout: vertical; }
    LengthsScreen #len-notes { height: auto; max-height: 8; padding: 0 1; }
    """
    BINDINGS = [
        Binding("c", "add_run", "Add a run"),
        Binding("x", "drop_runs", "Drop added"),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, model: Any, task: Any, label: str, runs_dir: Optional[Path] = None):
        super().__init__()
        self.model, self.seq_task, self.label = model, task, label
        self.runs_dir = runs_dir
        self.profiles: list = []
        self.pending = 0  # profiles being computed

    def compose(self) -> ComposeResult:
        yield Static(id="len-title")
        with Horizontal(id="len-charts"):
            yield LineChart("exact match", id="len-exact", axes="y % exact · x source length",
                            empty="decoding the test and long splits…")
            yield LineChart("attention entropy", id="len-entropy",
                            axes="y nats (low: sharp; log S: uniform) · x source length", empty="decoding the test and long splits…")
        yield Static(id="len-notes")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._measure(self.model, self.seq_task, self.label)

    # ---- computing ----------------------------------------------------------------------------------

    def _measure(self, model: Any, task: Any, label: str, path: Optional[Path] = None) -> None:
        self.pending += 1
        self._draw_title()
        self._compute(model, task, label, path)

    @work(thread=True, group="lengths", exit_on_error=False)
    def _compute(self, model: Any, task: Any, label: str, path: Optional[Path]) -> None:
        from workbench.decoding.lengths import length_profile
        from workbench.device import one_thread_here

        one_thread_here()
        try:
            if path is not None:
                from workbench.runs import load_run

                run = load_run(path)
                if run.config.task.name != self.seq_task.name:
                    raise UserError(f"{path.name} learned {run.config.task.name}, not {self.seq_task.name}: "
                                    "its lengths do not compare")
                model, task = run.model, run.task
            self.post_message(ProfileReady(length_profile(model, task, limit=LIMIT, label=label)))
        except UserError as exc:
            self.post_message(ProfileReady(error=str(exc)))

    @on(ProfileReady)
    def _add(self, message: ProfileReady) -> None:
        self.pending -= 1
        if message.error:
            self.notify(message.error, severity="error", timeout=8)
        else:
            self.profiles.append(message.profile)
        self.redraw()

    # ---- drawing ------------------------------------------------------------------------------------

    def _draw_title(self) -> None:
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("length extrapolation", style=P.BOLD)
        title.append(f" · {self.seq_task.name}", style=P.ACCENT)
        if self.pending:
            title.append(f" · measuring {self.pending} run{'s' if self.pending > 1 else ''}…", style=P.DIM)
        self.query_one("#len-title", Static).update(title)

    def redraw(self) -> None:
        self._draw_title()
        exact, entropy = chart_series(self.profiles)
        markers = []
        if self.profiles:
            trained = self.profiles[0].trained_up_to
            markers.append(Marker(trained + 0.5, UNIFORM, "┊", f"trained ≤ {trained}", f"≤{trained}"))
        for chart, series, y_range in ((self.query_one("#len-exact", LineChart), exact, (0.0, 100.0)),
                                       (self.query_one("#len-entropy", LineChart), entropy, (0.0, 0.0))):
            chart.set_series(series, y_range=y_range)
            chart.set_markers(markers, legend=True)
        entropy_chart = self.query_one("#len-entropy", LineChart)
        if self.profiles and not entropy:
            entropy_chart.empty = "no cross-attention in these models: nothing to measure"
        self.query_one("#len-notes", Static).update(self._notes())

    def _notes(self) -> Text:
        text = Text(no_wrap=False)
        for profile, colour in zip(self.profiles, COLOURS * 4):
            text.append("━ ", style=colour)
            text.append(profile.label, style=P.BOLD)
            parts = []
            for split in profile.splits:
                s = profile.pooled(split)
                sharp = f", H {s.entropy:.2f}" if profile.attention else ""
                parts.append(f"{split} {100 * s.exact:.1f}%{sharp}")
            text.append(f"  {profile.description} · trained ≤ {profile.trained_up_to} · {' · '.join(parts)}\n",
                        style=P.DIM)
        text.append(f"at most {LIMIT} examples a split · entropy teacher-forced on the reference, mean over "
                    "layers, heads and steps · c adds a run of this task", style=P.MUTED)
        return text

    # ---- keys -----------------------------------------------------------------------------------------

    def action_add_run(self) -> None:
        from .dialogs import RunPickerScreen

        runs_dir = self.runs_dir or Path("runs")

        def chosen(path: Optional[Path]) -> None:
            if path is not None:
                self._measure(None, None, Path(path).name, Path(path))

        self.app.push_screen(RunPickerScreen(runs_dir, note="Its exact match and attention entropy by length are "
                                             "drawn beside this model's (another positional scheme, say).",
                                             skip=("damaged", "new"), title="Add a run of the same task"), chosen)

    def action_drop_runs(self) -> None:
        del self.profiles[1:]
        self.redraw()

    def action_close(self) -> None:
        self.workers.cancel_group(self, "lengths")
        self.app.pop_screen()
