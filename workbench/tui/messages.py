"""Textual messages the TUI's worker threads post; handlers run on the UI thread.

Engine events (``workbench.events``) travel wrapped in ``TrainerEvent``; the app folds them into
the session (``TrainingSession.apply``) and dashboards redraw from the session at a few Hz.
"""

from __future__ import annotations

from typing import Any, Optional

from textual.message import Message


class EngineLoaded(Message):
    """torch and the engine are imported; ``catalog`` lists devices and recent runs."""

    def __init__(self, catalog: Any) -> None:
        super().__init__()
        self.catalog = catalog


class RunsListed(Message):
    """A fresh listing of the runs directory (``workbench.runs.RunSummary`` rows)."""

    def __init__(self, runs: list) -> None:
        super().__init__()
        self.runs = runs


class TrainerEvent(Message):
    """One engine event (TrainStarted, Progress, Evaluated, ...) from ``session``'s trainer."""

    def __init__(self, session: Any, event: Any) -> None:
        super().__init__()
        self.session = session
        self.event = event


class SessionReady(Message):
    """The trainer is built (task, model, run directory); ``records`` is the run's history so far."""

    def __init__(self, session: Any, trainer: Any, records: list[dict]) -> None:
        super().__init__()
        self.session = session
        self.trainer = trainer
        self.records = records


class SetupFailed(Message):
    """Building the trainer failed with a user error (bad data file, bad option, bad run)."""

    def __init__(self, session: Any, error: str, kind: str) -> None:
        super().__init__()
        self.session = session
        self.error = error
        self.kind = kind  # the exception class name: DataError, RunError, UserError


class OpenInspector(Message):
    """A model and task are ready for the inspector (a live snapshot or a loaded run)."""

    def __init__(self, model: Any, task: Any, run_dir: Optional[str], title: str, then: str = "") -> None:
        super().__init__()
        self.then = then  # an inspector action to run once it is open ("errors": where decoding goes wrong)
        self.model = model
        self.task = task
        self.run_dir = run_dir
        self.title = title
