"""The seqbench app: launcher → live training dashboard → inspector.

This file only wires screens, bindings and worker messages; runs are started and shown by
``controller.RunController``, screens live in ``screens/``, widgets in ``widgets/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker

from workbench.runs import runs_root

from .controller import RunController
from .messages import OpenInspector, SessionReady, SetupFailed, TrainerEvent
from .screens.launcher import LauncherScreen
from .screenshot import SavesScreenshots
from .terminal import exit_on_hangup


class SeqbenchApp(SavesScreenshots, App):
    """Pick an architecture, train it live, then step through its decoding."""

    TITLE = "seqbench"
    SUB_TITLE = "train sequence models live"
    CSS_PATH = "app.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    ]

    def __init__(self, runs_dir: Optional[str] = None, inspect_run: Optional[str] = None):
        super().__init__()
        self.runs_dir: Path = runs_root(runs_dir)
        self.inspect_on_start = inspect_run
        self.runs = RunController(self, self.runs_dir)

    # the controller's entry points, for screens
    @property
    def sessions(self):
        return self.runs.sessions

    def start_training(self, config):
        return self.runs.start_training(config)

    def open_run(self, path: Path) -> None:
        self.runs.open_run(path)

    def open_live(self) -> None:
        self.runs.open_live()

    def ask_resume(self, path: Path) -> None:
        self.runs.ask_resume(path)

    def inspect_run(self, path: Path) -> None:
        self.runs.inspect_run(path)

    def inspect_session(self, session, then: str = "") -> None:
        self.runs.inspect_session(session, then)

    # ----- lifecycle -----
    def on_mount(self) -> None:
        if os.environ.get("SEQBENCH_LAG_LOG"):  # benchmarks only: record event-loop lag (benchmarks/lag.py)
            from benchmarks.lag import attach_from_env

            attach_from_env(self)
        exit_on_hangup(self, lambda: self.runs.abort_all(save=True))  # a live run keeps its last step
        self.push_screen(LauncherScreen())
        if self.inspect_on_start:
            self.runs.inspect_run(Path(self.inspect_on_start))

    async def action_quit(self) -> None:
        """Quit; while a run trains, ask whether to save it first. The thread always ends promptly."""
        if self.runs.live is None:
            self.exit()
            return
        from .screens.dialogs import QuitScreen

        def answered(choice: str) -> None:
            if choice in ("save", "quit"):
                self.runs.abort_all(save=choice == "save")
                self.exit()

        self.push_screen(QuitScreen(), answered)

    def on_unmount(self) -> None:
        self.runs.abort_all()  # however the app ends, no training thread outlives it

    # ----- messages from workers -----
    def on_trainer_event(self, message: TrainerEvent) -> None:
        self.runs.on_trainer_event(message)

    def on_session_ready(self, message: SessionReady) -> None:
        self.runs.on_session_ready(message)

    def on_setup_failed(self, message: SetupFailed) -> None:
        self.runs.on_setup_failed(message)

    def on_open_inspector(self, message: OpenInspector) -> None:
        self.runs.push_inspector(message)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures become visible."""
        worker = event.worker
        if worker.group == "training":
            self.runs.on_worker_changed(worker, event.state)
        elif event.state.name == "ERROR":
            error = worker.error
            self.notify(f"{type(error).__name__}: {error}", title=f"{worker.name} failed", severity="error",
                        timeout=8)
            if worker.group == "engine":
                for screen in self.screen_stack:
                    if isinstance(screen, LauncherScreen):
                        screen.engine_failed(f"{type(error).__name__}: {error}")


def main(runs_dir: Optional[str] = None, inspect_run: Optional[str] = None) -> int:
    """Run the app (optionally opening the inspector on ``inspect_run``); returns its exit code."""
    app = SeqbenchApp(runs_dir=runs_dir, inspect_run=inspect_run)
    app.run()
    return app.return_code or 0
