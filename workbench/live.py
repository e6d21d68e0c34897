"""A training session as the TUI sees it: the trainer (if live) plus everything its events said.

A session outlives the dashboard that shows it: leaving the dashboard and coming back finds the
same curves, samples and log. The trainer runs in a thread (``train`` is the worker body) and only
*posts* events; ``apply`` folds them into plain lists on the UI thread. A session can also be
replayed from a finished run's ``metrics.jsonl`` (no trainer), and can carry a second run's curves
as an overlay for comparison.

Nothing here imports Textual or torch at import time.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from workbench import events as ev
from workbench.records import EvalRecord, Record, TrainRecord
from workbench.runs.lifecycle import RunEnded

LIVE = ("starting", "running", "paused", "stopping")
MAX_LOG = 500
MAX_TRAIN_POINTS = 2000  # beyond this, neighbouring train points are merged: charts stay cheap to draw


class TrainingAborted(RunEnded):
    """Raised inside the trainer's listener to end the thread at once (quitting the app).

    ``status`` is what the run says afterwards: "stopped" when it was saved first, else "interrupted".
    """

    def __init__(self, status: str = "interrupted"):
        super().__init__(status)
        self.status = status


@dataclass
class Curves:
    """Everything a chart needs about one run: train loss per Progress and val metrics per eval."""

    label: str = ""
    train: list[tuple[int, float]] = field(default_factory=list)  # (step, mean train loss)
    val: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # metric -> [(step, value)]
    # the model's own training values per Progress (Progress.shown): Gumbel temperature, REINFORCE variance
    model: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def add_train(self, step: int, loss: float, shown: Optional[dict[str, float]] = None) -> None:
        self.train.append((step, loss))
        self.train = _thinned(self.train)
        for name, value in (shown or {}).items():
            if math.isfinite(value):
                points = self.model.setdefault(name, [])
                points.append((step, float(value)))
                self.model[name] = _thinned(points)

    def add_val(self, step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                points = self.val.setdefault(name, [])
                while points and points[-1][0] >= step:  # a resumed run repeats steps: keep the newest
                    points.pop()
                points.append((step, float(value)))

    @classmethod
    def from_records(cls, records: list[Record], label: str = "") -> "Curves":
        """Curves from a run's metrics records (``workbench.records.read_records(run).records``)."""
        curves = cls(label=label)
        for rec in records:
            if isinstance(rec, TrainRecord) and math.isfinite(rec.loss):
                curves.add_train(rec.step, rec.loss, rec.shown)
            elif isinstance(rec, EvalRecord) and rec.split == "val":
                curves.add_val(rec.step, rec.metrics)
        return curves


def _thinned(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Past MAX_TRAIN_POINTS, neighbouring points merge: the whole history at half the resolution."""
    if len(points) <= MAX_TRAIN_POINTS:
        return points
    merged = [(b[0], (a[1] + b[1]) / 2) for a, b in zip(points[0::2], points[1::2])]
    return merged + (points[-1:] if len(points) % 2 else [])


class TrainingSession:
    """One run shown by a dashboard; see the module docstring."""

    def __init__(self, title: str = "", run_dir: Optional[Path] = None, device: str = ""):
        self.title = title
        self.run_dir = Path(run_dir) if run_dir else None
        self.device = device
        self.trainer = None  # workbench.training.Trainer once built (live sessions only)
        self.worker = None  # the Textual worker running ``train``
        self.status = "starting"
        self.started: Optional[ev.TrainStarted] = None
        self.progress: Optional[ev.Progress] = None
        self.curves = Curves(label="this run")
        self.last_eval: Optional[ev.Evaluated] = None
        self.samples: list[ev.Sample] = []
        self.log: list[tuple[str, str]] = []  # (style, text), the latest MAX_LOG lines
        self.log_total = 0  # lines ever logged (the event log appends the difference)
        self.error: Optional[str] = None
        self.finished: Optional[ev.TrainFinished] = None
        self.best: Optional[dict] = None
        self.overlay: Optional[Curves] = None
        self.step = 0
        self.total_steps = 0
        self.checkpoint_step: Optional[int] = None  # step of the last checkpoint written
        self.version = 0  # bumped on every change; dashboards redraw when it moves
        self._abort = threading.Event()
        self._save_first = threading.Event()

    # ----- what the dashboard asks -----
    @property
    def live(self) -> bool:
        """True while a trainer thread is (or is about to be) training."""
        return self.status in LIVE and self.error is None

    @property
    def can_control(self) -> bool:
        return self.live and self.trainer is not None and self.status != "stopping"

    @property
    def head(self) -> Optional[str]:
        """The encoder task's head (tag, classify, mlm) once training announced its task; else None."""
        from workbench.tasks.catalog import task_head

        return task_head(self.started.task) if self.started is not None else None

    def note(self, text: str, style: str = "") -> None:
        self.log.append((style, text))
        self.log_total += 1
        del self.log[:-MAX_LOG]
        self.version += 1

    # ----- folding events (UI thread) -----
    def apply(self, event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler:
            handler(event)
        self.version += 1

    def _on_TrainStarted(self, e: ev.TrainStarted) -> None:
        self.started, self.step, self.total_steps = e, e.start_step, e.total_steps
        self.run_dir, self.device = Path(e.run_dir), e.device
        if self.status == "starting":
            self.status = "running"
        what = "resumed at step %d" % e.start_step if e.start_step else "started"
        self.note(f"{what}: {e.architecture}, {e.parameters:,} parameters, {e.device}", "bold")

    def _on_Progress(self, e: ev.Progress) -> None:
        self.progress, self.step, self.total_steps = e, e.step, e.total_steps
        if math.isfinite(e.loss):
            self.curves.add_train(e.step, e.loss, e.shown)

    def _on_Evaluated(self, e: ev.Evaluated) -> None:
        if e.split != "val":
            self.note(f"step {e.step} {e.split}: {format_metrics(e.metrics, self.head)}", "magenta")
            return
        self.last_eval = e
        self.curves.add_val(e.step, e.metrics)
        if e.best and self.started is not None:  # the trainer's choice (tasks.catalog.best_metric)
            from workbench.tasks.catalog import best_metric

            name = best_metric(self.started.task)
            self.best = {"name": name, "value": e.metrics.get(name, float("nan")), "step": e.step}
        if e.samples:
            self.samples = list(e.samples)
        star = "  ★ best" if e.best else ""
        self.note(f"step {e.step} val: {format_metrics(e.metrics, self.head)}{star}", "green" if e.best else "")

    def _on_CheckpointSaved(self, e: ev.CheckpointSaved) -> None:
        self.checkpoint_step = e.step
        if e.reason != "start":
            self.note(f"step {e.step} checkpoint saved ({e.reason})", "dim")

    def _on_StatusChanged(self, e: ev.StatusChanged) -> None:
        if self.status != "stopping":
            self.status = e.status
        self.note(f"step {self.step} {e.status}", "cyan")

    def _on_Warned(self, e: ev.Warned) -> None:
        self.note(f"warning: {e.message}", "yellow")

    def _on_ThreadsChanged(self, e: ev.ThreadsChanged) -> None:
        self.note(f"step {e.step} threads {e.reason}", "cyan")

    def _on_TrainFinished(self, e: ev.TrainFinished) -> None:
        self.finished, self.step, self.best = e, e.step, e.best
        self.status = e.reason
        if e.reason == "diverged":
            self.error = e.message
        self.note(e.message, "red" if e.reason == "diverged" else "bold green")

    def load_records(self, records: list[Record]) -> None:
        """Seed the curves with a run's earlier history (resume, or a finished run's dashboard)."""
        self.curves = Curves.from_records(records, label="this run")
        self.version += 1

    def fail(self, message: str) -> None:
        """The worker raised: keep the curves, show the error, keep the app usable."""
        self.error = message
        self.status = "failed"
        self.note(f"failed: {message}", "bold red")

    # ----- controls (UI thread; the trainer's controls are thread-safe) -----
    def toggle_pause(self) -> Optional[bool]:
        """Pause or resume; returns True when now paused, None when nothing to control."""
        if not self.can_control:
            return None
        if self.trainer.paused:
            self.trainer.unpause()
            return False
        self.trainer.pause()
        return True

    def save(self) -> bool:
        if not self.can_control:
            return False
        self.trainer.request_save()
        return True

    def stop(self) -> bool:
        """Stop gracefully: the trainer runs its final evaluation and saves."""
        if not self.can_control:
            return False
        self.status = "stopping"
        self.trainer.stop()
        self.note(f"step {self.step} stopping: final evaluation, then save", "yellow")
        return True

    def abort(self, save: bool = False) -> None:
        """End the thread as soon as possible (quitting); ``save`` checkpoints first."""
        if save:
            self._save_first.set()
        self._abort.set()
        if self.trainer is not None:
            if save:
                self.trainer.request_save()
            self.trainer.unpause()

    # ----- the worker body (runs in a thread) -----
    def train(self, make_trainer: Callable, cancelled: Callable[[], bool], *, on_event: Callable,
              on_ready: Callable, on_failed: Callable) -> str:
        """Build the trainer with ``make_trainer(on_event=...)`` and run it, reporting through callbacks.

        Called on the training thread; the callbacks must be thread-safe (the app's post a message):
        ``on_event(event)`` for every engine event, ``on_ready(trainer, records)`` once the trainer is
        built (``records``: the run's metrics so far), ``on_failed(error, kind)`` when building it fails
        with a user error. ``cancelled`` is the worker's cancellation flag. Returns how it ended: a
        TrainFinished reason, "aborted" or "setup-failed".
        """
        from workbench.errors import UserError
        from workbench.records import read_records

        def report(event) -> None:
            if self._abort.is_set() or cancelled():
                if not self._save_first.is_set():
                    raise TrainingAborted("interrupted")
            on_event(event)
            if self._save_first.is_set() and isinstance(event, ev.CheckpointSaved) and event.reason == "request":
                self._save_first.clear()
                raise TrainingAborted("stopped")

        try:
            trainer = make_trainer(on_event=report)
        except UserError as exc:
            on_failed(str(exc), type(exc).__name__)
            return "setup-failed"
        except TrainingAborted:
            return "aborted"
        on_ready(trainer, read_records(trainer.run_dir).records)
        try:
            return trainer.run().reason
        except TrainingAborted:
            return "aborted"


def format_metrics(metrics: dict[str, float], head: Optional[str] = None) -> str:
    """'loss 0.123 · perplexity 1.13 · token acc 98.1%' in METRIC_INFO order (needs the engine loaded);
    ``head`` (an encoder task's) labels what its accuracy counts."""
    from workbench.train_cli import format_metrics as fmt

    return fmt(metrics, head)
