"""The training dashboard: live curves, numbers, samples and events of one session.

The dashboard never talks to the trainer thread. The app folds events into the session; this screen
redraws from it at most ``REFRESH_HZ`` times a second, and only when something changed.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from workbench.live import Curves, TrainingSession
from workbench.perplexity import perplexity
from workbench.tasks.catalog import solved_target, task_head
from ..widgets.error_panel import ErrorPanel
from ..widgets.event_log import EventLog
from ..widgets.line_chart import LineChart, Marker, Series
from ..widgets.run_stats import RunStats, status_text
from ..widgets.samples_view import SamplesView
from ..widgets.solved import SolvedBanner, find_solved, seconds_at
from ..widgets.training_time import CURSOR_COLOUR, CURSOR_GLYPH, DROP_COLOUR, DROP_GLYPH, EntropyWatch, cursor_for, \
    nearest

REFRESH_HZ = 4  # numbers and progress
CHART_SECONDS = 0.5  # curves redraw at most twice a second: they are the costly part of a frame
TRAIN, VAL, OTHER_TRAIN, OTHER_VAL = "#5fafff", "#ffaf00", "#808080", "#d787d7"
PERCENT = (("accuracy", "token acc", "#5fd75f"), ("accuracy_prev", "prev acc", "#87d7d7"),
           ("accuracy_next", "next acc", "#d7d75f"), ("exact_match", "exact", VAL), ("bleu", "BLEU", "#d7875f"),
           ("unigram_accuracy", "unigram", OTHER_TRAIN))  # a masked LM's baseline
HEAD_LEGENDS = {"tag": {"accuracy": "tag acc", "exact_match": "sentence"}, "classify": {"accuracy": "accuracy"},
                "mlm": {"accuracy": "masked acc"}}  # encoder tasks: what each curve counts


# the model's own training values worth a curve (Progress.shown): name -> (legend, colour)
ESTIMATOR = {"temperature": ("τ", "#af87ff"), "advantage var": ("var(r − b)", "#ff5f87")}


def _ppl(points):
    return [(s, perplexity(v)) for s, v in points]


def run_label(name: str) -> str:
    """A compared run's name as a legend shows it: without the date and time every run name ends with."""
    return re.sub(r"-\d{8}-\d{6}(-\d+)?$", "", name) or name


def loss_series(curves: Curves, other: Curves | None, kind: str) -> list[Series]:
    """Train and val curves of ``kind`` (loss or ppl) for this run and the compared one (named in the legend)."""
    out = []
    for c, (train_colour, val_colour) in ((other, (OTHER_TRAIN, OTHER_VAL)), (curves, (TRAIN, VAL))):
        if c is None:
            continue
        train = c.train if kind == "loss" else _ppl(c.train)
        out.append(Series("train" if c is curves else run_label(c.label), train, train_colour))
        out.append(Series("val" if c is curves else run_label(c.label), c.val.get(kind, []), val_colour))
    return out


def metric_series(curves: Curves, other: Curves | None, head: str | None = None) -> tuple[str, list[Series]]:
    """(title, series) of the task's quality metrics in %. Bits/char is the loss ÷ ln 2, the same curve as
    the loss: a language model shows next-token accuracy here instead (bits/char is in the numbers).
    ``head`` (an encoder task's) names what the accuracy counts: tags, sequences or masked tokens."""
    series = []
    if other is not None and "exact_match" in other.val:
        series.append(Series(run_label(other.label), [(s, 100 * v) for s, v in other.val["exact_match"]], OTHER_VAL))
    for key, label, colour in PERCENT:
        if key in curves.val:
            scale = 1 if key == "bleu" else 100
            label = HEAD_LEGENDS.get(head or "", {}).get(key, label)
            series.append(Series(label, [(s, scale * v) for s, v in curves.val[key]], colour))
    return "val %", series


def estimator_series(curves: Curves) -> tuple[str, str, list[Series]]:
    """(title, axes, series) of hard attention's estimator over training: the Gumbel temperature, or the
    variance of REINFORCE's advantage (the spread of its score-function gradient); no series for other models."""
    series = [Series(label, curves.model[name], colour) for name, (label, colour) in ESTIMATOR.items()
              if curves.model.get(name)]
    if "advantage var" in curves.model:
        return "REINFORCE", "y var(r_t − b) · x step", series
    return "Gumbel", "y temperature · x step", series


class DashboardScreen(Screen):
    """Live view of one ``TrainingSession``; leaving it leaves the run training."""

    BINDINGS = [
        Binding("space", "pause", "Pause"),
        Binding("s", "save", "Save"),
        Binding("x", "stop", "Stop"),
        Binding("i", "inspect", "Inspect"),
        Binding("r", "resume", "Resume"),
        Binding("l", "log_scale", "Log y"),
        Binding("c", "compare", "Compare"),
        Binding("w", "errors", "Errors", show=False),  # where decoding goes wrong (opens the inspector under it)
        Binding("S", "save_panel", "Save panel", show=False),  # the chart or box last clicked, as SVG and PNG
        Binding("L", "lengths", "Lengths", show=False),  # exact match and entropy by source length (ditto)
        Binding("left_square_bracket", "cursor(-1)", "Earlier probe", show=False),
        Binding("right_square_bracket", "cursor(1)", "Later probe", show=False),
        Binding("escape", "back", "Back"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, session: TrainingSession):
        super().__init__()
        self.session = session
        self.log_scale = False
        self._seen = self._charts_seen = -1
        self._status = None
        self._charts_at = 0.0
        self._overlay_task = ""  # the compared run's task, when it could be read
        self._entropy = EntropyWatch(session.run_dir)  # where the run's attention sharpened
        self._markers_seen: Optional[tuple] = None

    def compose(self) -> ComposeResult:
        yield Static(id="dash-title")
        yield ErrorPanel(id="error-panel")
        yield SolvedBanner(id="solved")
        with Horizontal(id="progress-row"):
            yield ProgressBar(total=None, show_eta=False, id="progress")
            yield Static(id="progress-text")
        with VerticalScroll(id="dash-body"):
            with Horizontal(id="charts"):
                yield LineChart("loss", id="loss-chart", axes="y nats/token · x step")
                yield LineChart("perplexity", id="ppl-chart", axes="y e^loss · x step")
                yield LineChart("val %", empty="waiting for the first evaluation…", id="metric-chart",
                                axes="y % of val · x step")
                yield LineChart("estimator", id="estimator-chart")  # hard attention only (shown when it reports)
            yield Static(id="time-marks")  # what the charts' markers mean; shown once the run has probes
            with Horizontal(id="details"):
                yield RunStats(id="stats")
                yield SamplesView(id="samples", empty="samples appear at the first evaluation" if self.session.live
                                  else "sample predictions are shown while a run trains; i inspects its model")
            yield EventLog(id="events")
        yield Footer(show_command_palette=False)  # room for every key at 80 columns (ctrl+p still works)

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(1 / REFRESH_HZ, self.redraw)

    # ----- drawing -----
    def redraw(self, force: bool = False) -> None:
        """Bring the widgets up to date with the session: cheap when nothing changed, curves ≤ 2 Hz."""
        s = self.session
        if force or s.version != self._charts_seen and (
                not s.live or time.monotonic() - self._charts_at >= CHART_SECONDS):
            self._charts_seen = s.version
            self._draw_charts()
        self._draw_markers(force)
        if s.version == self._seen and not force:
            return
        self._seen = s.version
        self._draw_title()
        self.query_one(ErrorPanel).show(s.error, s.checkpoint_step, str(s.run_dir) if s.run_dir else None,
                                        "Training diverged" if s.status == "diverged" else "Training failed")
        bar = self.query_one(ProgressBar)
        if s.total_steps:
            bar.update(total=s.total_steps, progress=s.step)
        self.query_one("#progress-text", Static).update(self._progress_text(), layout=False)
        self.query_one(RunStats).show(s)
        self.query_one(SamplesView).show(s.samples, s.last_eval.step if s.last_eval else None)
        self.query_one(EventLog).sync(s.log, s.log_total)
        self._draw_solved()
        if s.status != self._status:
            self._status = s.status
            self.refresh_bindings()

    def _draw_markers(self, force: bool = False) -> None:
        """Mark the step the replay shows (the run's cursor) and where the attention sharpened fastest."""
        if self._entropy.run_dir is None and self.session.run_dir is not None:
            self._entropy.run_dir = self.session.run_dir
        cursor = cursor_for(self.app, self.session.run_dir)
        changed = self._entropy.poll()
        seen = (cursor.version, id(cursor), len(self._entropy.curve))
        if not (changed or force or seen != self._markers_seen):
            return
        self._markers_seen = seen
        markers = []
        drop = self._entropy.drop
        if drop is not None:
            markers.append(Marker(drop.end, DROP_COLOUR, DROP_GLYPH, "attention sharpens", "H↓"))
        if cursor.step is not None:
            markers.append(Marker(cursor.step, CURSOR_COLOUR, CURSOR_GLYPH, f"replay {cursor.step:,}", "replay"))
        for chart in self.query(LineChart):
            chart.set_markers(markers, legend=chart.id == "loss-chart")
        self._draw_time_marks(cursor.step)

    def _draw_time_marks(self, step: Optional[int]) -> None:
        """One line under the charts that says what their markers mean and how to move them."""
        marks = self.query_one("#time-marks", Static)
        drop = self._entropy.drop
        marks.display = bool(self._entropy.curve)
        text = Text(no_wrap=False)
        if drop is not None:
            text.append(f"{DROP_GLYPH} attention sharpened fastest at steps {drop.start:,}→{drop.end:,}",
                        style=DROP_COLOUR)
            text.append(f" (entropy {drop.before:.2f}→{drop.after:.2f} nats)  ", style="dim")
        if step is not None:
            text.append(f"{CURSOR_GLYPH} replay at step {step:,}  ", style="bold")
        text.append("click a chart or [ ] to pick a step: i then p replays the attention there", style="dim")
        marks.update(text)

    def _draw_solved(self) -> None:
        """The first evaluation at the task's target: when, after how long, and what to do next."""
        s = self.session
        solved = find_solved(s.curves.val, solved_target(self._task_name()))
        if solved is not None:
            known = getattr(self, "_solved", None)
            if known is not None and known.step == solved.step:
                solved = known
            else:
                p = s.progress
                fresh = s.live and p is not None and s.step - solved.step <= max(1, s.step // 10)
                solved.seconds = p.elapsed if fresh else (seconds_at(solved.step, s.step, p.elapsed) if p else None)
                if s.live:
                    self.notify(f"solved at step {solved.step:,}: x stops training, i inspects the model", timeout=8)
            self._solved = solved
        self.query_one(SolvedBanner).show(solved, s.live, task_head(self._task_name()))

    def _task_name(self) -> str:
        """The session's task: announced by a live trainer, else read from the saved run."""
        if self.session.started is not None:
            return self.session.started.task
        if getattr(self, "_saved_task", None) is None:
            self._saved_task = ""
            if self.session.run_dir is not None:
                from workbench.runs import load_config

                from workbench.errors import UserError

                try:
                    self._saved_task = load_config(self.session.run_dir).task.name
                except (UserError, OSError):  # a damaged run still shows its curves, just no solved banner
                    pass
        return self._saved_task

    def _draw_title(self) -> None:
        s = self.session
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append_text(status_text(s.status))
        title.append("   ")
        if s.started is not None:
            title.append(s.started.task, style="bold green")
            title.append(" · ")
            title.append(s.started.architecture, style="bold cyan")
        else:
            title.append(s.title, style="bold")
        if s.run_dir is not None:
            title.append(f" · {s.run_dir.name}", style="dim")
        if s.overlay is not None:
            title.append(f"  vs {s.overlay.label}", style=OTHER_VAL)
            if self._overlay_task and self._overlay_task != self._task_name():
                title.append(f" ⚠ a {self._overlay_task} run", style="bold yellow")
        params = f" · {s.started.parameters:,} params" if s.started is not None else ""
        if title.cell_len + len(params) <= self.app.size.width - 2:  # the run name matters more: it goes first
            title.append(params)
        self.query_one("#dash-title", Static).update(title, layout=False)

    def _progress_text(self) -> Text:
        s, p = self.session, self.session.progress
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" step {s.step:,}/{s.total_steps:,}" if s.total_steps else f" step {s.step:,}")
        if p is not None:
            from ..widgets.run_stats import duration

            epoch = f" · epoch {p.epoch:.1f}" if p.epoch >= 0 else ""
            text.append(f"{epoch} · {p.tokens_per_s:,.0f} tok/s · elapsed {duration(p.elapsed)}")
            if s.live:
                text.append(f" · ETA {duration(p.eta)}")
        return text

    def _draw_charts(self) -> None:
        self._charts_at = time.monotonic()
        s = self.session
        loss = self.query_one("#loss-chart", LineChart)
        if "bpc" in s.curves.val:
            loss.border_subtitle = "y nats/char (÷ ln 2: bits/char) · x step"
        loss.set_series(loss_series(s.curves, s.overlay, "loss"), self.log_scale)
        self.query_one("#ppl-chart", LineChart).set_series(loss_series(s.curves, s.overlay, "ppl"), self.log_scale)
        title, series = metric_series(s.curves, s.overlay, task_head(self._task_name()))
        chart = self.query_one("#metric-chart", LineChart)
        chart.title = title
        chart.set_series(series)
        estimator = self.query_one("#estimator-chart", LineChart)
        title, axes, series = estimator_series(s.curves)
        estimator.display = bool(series)
        if series:
            estimator.title, estimator.border_subtitle = title, axes
            estimator.set_series(series, self.log_scale)

    # ----- keys -----
    def check_action(self, action: str, parameters) -> bool | None:
        s = self.session
        if action in ("pause", "save", "stop"):
            return s.can_control
        if action == "resume":
            return not s.live and s.run_dir is not None
        if action in ("inspect", "errors", "lengths"):
            return s.trainer is not None or s.run_dir is not None
        return True

    def action_pause(self) -> None:
        paused = self.session.toggle_pause()
        if paused is not None:
            self.notify("pausing after this step…" if paused else "resuming", timeout=2)

    def action_save(self) -> None:
        if self.session.save():
            self.notify("a checkpoint will be saved after this step", timeout=2)

    def action_stop(self) -> None:
        if self.session.stop():
            self.redraw(force=True)

    def action_inspect(self) -> None:
        self.app.inspect_session(self.session)

    # The boxes S saves (the one last clicked; the loss chart to start with), by widget id -> file name.
    PANELS = {"loss-chart": "loss", "ppl-chart": "perplexity", "metric-chart": "metric", "stats": "stats",
              "samples": "samples", "events": "events"}
    picked = "loss-chart"

    def on_click(self, event) -> None:
        widget = event.widget
        while widget is not None and widget is not self:
            if widget.id in self.PANELS:
                self.picked = widget.id
                return
            widget = widget.parent

    def action_save_panel(self) -> None:
        from ..panel_export import save_panel
        from ..screenshot import screenshot_dir

        run_dir = self.session.run_dir
        name = self.PANELS[self.picked]
        self.last_panel_export = save_panel(self, self.query_one(f"#{self.picked}"), Path(
            run_dir / "exports" if run_dir is not None else screenshot_dir()), name,
            f"{run_dir.name if run_dir is not None else 'training'} · {name}")

    def action_errors(self) -> None:
        self.app.inspect_session(self.session, then="errors")

    def action_lengths(self) -> None:
        self.app.inspect_session(self.session, then="lengths")

    def action_resume(self) -> None:
        self.app.ask_resume(self.session.run_dir)

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._draw_charts()

    def action_compare(self) -> None:
        from .dialogs import RunPickerScreen

        def chosen(path: Path | None) -> None:
            self.compare_with(path)

        exclude = self.session.run_dir
        self.app.push_screen(RunPickerScreen(self.app.runs_dir, exclude=exclude,
                                             has_overlay=self.session.overlay is not None), chosen)

    def compare_with(self, path: Path | None) -> None:
        """Overlay the curves of the run at ``path`` (None: no comparison), warning when it learned another task."""
        self._overlay_task = ""
        if path is None:
            self.session.overlay = None
        else:
            from workbench.errors import UserError
            from workbench.records import read_records
            from workbench.runs import load_config

            self.session.overlay = Curves.from_records(read_records(path).records, label=path.name)
            try:
                self._overlay_task = load_config(path).task.name
            except (UserError, OSError):
                pass
            mine = self._task_name()
            if self._overlay_task and mine and self._overlay_task != mine:
                self.notify(f"{path.name} learned {self._overlay_task}, this run {mine}: its losses and scores "
                            "measure another task, so the curves do not compare like for like",
                            severity="warning", timeout=10)
        self.session.version += 1
        self.redraw(force=True)

    def on_line_chart_picked(self, event: LineChart.Picked) -> None:
        """A step picked on a chart: the replay starts there (at the nearest probe snapshot)."""
        steps = self._entropy.steps
        step = steps[nearest(steps, round(event.x))] if steps else max(0, round(event.x))
        cursor_for(self.app, self.session.run_dir).move(step)
        self._draw_markers()
        what = "i then p replays the attention from there" if steps else "no attention probes in this run"
        self.notify(f"training step {step:,}: {what}", timeout=4)

    def action_cursor(self, delta: int) -> None:
        """[ ] walk the cursor through the probe snapshots, as the replay does."""
        steps = self._entropy.steps
        if not steps:
            self.notify("no attention probes: they are recorded for encoder-decoders with attention", timeout=3)
            return
        cursor = cursor_for(self.app, self.session.run_dir)
        index = nearest(steps, cursor.step) + delta if cursor.step is not None else (0 if delta > 0 else len(steps) - 1)
        cursor.move(steps[min(len(steps) - 1, max(0, index))])
        self._draw_markers()

    def action_back(self) -> None:
        self.app.pop_screen()
