"""Starting, resuming, opening and inspecting runs: the app's sessions and their training workers.

Training workers belong to the app, not to a dashboard, so leaving a dashboard leaves its run
training; a dashboard opened again reads the same ``TrainingSession``. One run trains at a time.
"""

from __future__ import annotations

import contextvars
import threading
from functools import partial
from pathlib import Path
from typing import Callable, Optional

from textual.app import App
from textual.worker import Worker, WorkerState, get_current_worker

from .messages import OpenInspector, SessionReady, SetupFailed, TrainerEvent
from workbench.live import TrainingSession

KEEP_SESSIONS = 6  # finished sessions kept in memory (their dashboards reopen instantly)


def _cancelled() -> bool:
    """The current training worker's cancellation flag (called from its thread)."""
    return get_current_worker().is_cancelled


def _on_own_thread(work: Callable[[], str]) -> str:
    """Run ``work`` on a new thread that ends with it; return its result or raise its exception.

    Thread workers run on a pool whose threads outlive their jobs, and a thread that has trained
    keeps its OpenMP team. A second training on another pool thread then shares the cores with an
    idle team and runs at about half speed (measured: 51 -> 25 steps/s for the reverse default on
    2 threads). A thread of its own takes its team with it when it ends. The worker context is
    carried over, so ``get_current_worker`` still answers in ``work``.
    """
    context = contextvars.copy_context()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = context.run(work)
        except BaseException as exc:  # handed to the worker's thread, which reports it
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="seqbench-training", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]


class RunController:
    """Owns every TrainingSession of the app; see the module docstring.

    ``app`` is the running App (screens, workers, messages); the controller never imports the app
    module, which imports it. ``runs_dir`` is where new runs are created.
    """

    def __init__(self, app: App, runs_dir: Path):
        self.app, self.runs_dir = app, runs_dir
        self.sessions: list[TrainingSession] = []

    @property
    def live(self) -> Optional[TrainingSession]:
        return next((s for s in self.sessions if s.live), None)

    def session_for(self, path: Path) -> Optional[TrainingSession]:
        path = Path(path).resolve()
        return next((s for s in reversed(self.sessions) if s.run_dir and s.run_dir.resolve() == path), None)

    # ----- starting -----
    def _busy(self) -> bool:
        live = self.live
        if live is not None:
            self.app.notify(f"{live.title or 'a run'} is training; one run at a time (stop it with x on its "
                            "dashboard, ctrl+l opens it)", severity="warning", timeout=5)
        return live is not None

    def start_training(self, config) -> Optional[TrainingSession]:
        """Train ``config`` (a RunConfig) in a new run directory and show its dashboard."""
        if self._busy():
            return None
        from workbench.runs import arch_slug
        from workbench.training import Trainer

        session = TrainingSession(title=f"{config.task.name} · {arch_slug(config.model)}")
        return self._start(session, partial(Trainer, config, runs_root=self.runs_dir))

    def resume(self, path: Path, steps: Optional[int] = None) -> Optional[TrainingSession]:
        """Continue the run at ``path`` from its last checkpoint (``steps`` = new total)."""
        if self._busy():
            return None
        from workbench.training import Trainer

        session = TrainingSession(title=f"resuming {Path(path).name}", run_dir=path)
        return self._start(session, lambda on_event: Trainer.resume(path, on_event=on_event, steps=steps))

    def _start(self, session: TrainingSession, make_trainer: Callable) -> TrainingSession:
        self.sessions = self.sessions[-KEEP_SESSIONS:] + [session]
        post = self.app.post_message  # thread-safe: the callbacks run on the training thread
        work = partial(_on_own_thread, partial(
            session.train, make_trainer, _cancelled,
            on_event=lambda event: post(TrainerEvent(session, event)),
            on_ready=lambda trainer, records: post(SessionReady(session, trainer, records)),
            on_failed=lambda error, kind: post(SetupFailed(session, error, kind))))
        session.worker = self.app.run_worker(work, thread=True, group="training", name="training",
                                             exit_on_error=False)
        self.show_dashboard(session)
        return session

    def ask_resume(self, path: Path) -> None:
        """Ask up to how many steps, then resume ``path``."""
        existing = self.session_for(path)
        if existing is not None and existing.live:
            self.show_dashboard(existing)
            return
        if self._busy():
            return
        from workbench.runs import summarize

        from .screens.dialogs import ResumeScreen

        summary = summarize(Path(path))
        if summary is None:
            self.app.notify(f"{path} is not a readable run", severity="error")
            return
        self.app.push_screen(ResumeScreen(path.name, summary.step, summary.total_steps),
                             lambda steps: self.resume(path, steps) if steps else None)

    # ----- showing -----
    def show_dashboard(self, session: TrainingSession) -> None:
        from .screens.dashboard import DashboardScreen

        screen = DashboardScreen(session)
        if isinstance(self.app.screen, DashboardScreen):
            self.app.switch_screen(screen)
        else:
            self.app.push_screen(screen)

    def open_live(self) -> None:
        session = self.live or (self.sessions[-1] if self.sessions else None)
        if session is None:
            self.app.notify("nothing has trained in this session yet", timeout=3)
        else:
            self.show_dashboard(session)

    def open_run(self, path: Path) -> None:
        """The dashboard of a run: the live session if it is training, else its saved history."""
        session = self.session_for(path)
        if session is None:
            from workbench.errors import UserError

            from workbench.replay import replay_session

            try:
                session = replay_session(Path(path))
            except UserError as exc:
                self.app.notify(str(exc), severity="error", timeout=6)
                return
        self.show_dashboard(session)

    # ----- inspecting -----
    def inspect_session(self, session: TrainingSession, then: str = "") -> None:
        """Open the inspector on a snapshot of the live weights (training goes on), or the saved run."""
        trainer = session.trainer
        if trainer is None:
            if session.run_dir is not None:
                self.inspect_run(session.run_dir, then)
            return
        step = session.step

        def snapshot() -> None:
            from workbench.device import one_thread_here

            one_thread_here()  # this pool thread outlives the job: no second OpenMP team beside training's
            self.app.post_message(OpenInspector(trainer.snapshot(), trainer.task, str(trainer.run_dir), f"step {step}",
                                            then))

        self.app.notify(f"snapshot of step {step:,} for the inspector…", timeout=2)
        self.app.run_worker(snapshot, thread=True, group="inspect", exit_on_error=False)

    def inspect_run(self, path: Path, then: str = "") -> None:
        """Open the inspector on a run's last checkpoint."""

        def load() -> None:
            from workbench.device import one_thread_here
            from workbench.runs import load_run

            one_thread_here()  # as in ``inspect_session``
            run = load_run(path)
            self.app.post_message(OpenInspector(run.model, run.task, str(run.path), f"{run.path.name} · step {run.step:,}",
                                            then))

        self.app.run_worker(load, thread=True, group="inspect", exit_on_error=False)

    def push_inspector(self, message: OpenInspector) -> None:
        from .screens.inspector import InspectorScreen

        if message.model.capabilities.family == "encoder":  # no decoding steps: predictions per position
            from .screens.encoder_inspector import EncoderInspectorScreen

            self.app.push_screen(EncoderInspectorScreen(message.model, message.task, run_dir=message.run_dir,
                                                        title=message.title))
            return
        screen = InspectorScreen(message.model, message.task, run_dir=message.run_dir, title=message.title)
        self.app.push_screen(screen)
        if message.then:  # e.g. the dashboard's w: the inspector opens under where decoding goes wrong
            screen.call_after_refresh(getattr(screen, f"action_{message.then}"))

    # ----- what the workers report -----
    def on_trainer_event(self, message: TrainerEvent) -> None:
        from workbench.events import TrainFinished

        session, event = message.session, message.event
        session.apply(event)
        if isinstance(event, TrainFinished):
            severity = "error" if event.reason == "diverged" else "information"
            self.app.notify(event.message, title=f"{Path(event.run_dir).name}", severity=severity, timeout=6)
            self.refresh_launcher()

    def on_session_ready(self, message: SessionReady) -> None:
        session = message.session
        session.trainer, session.run_dir = message.trainer, Path(message.trainer.run_dir)
        if message.records:
            session.load_records(message.records)
        self.refresh_launcher()

    def on_setup_failed(self, message: SetupFailed) -> None:
        from .screens.dashboard import DashboardScreen
        from .screens.launcher import LauncherScreen

        session = message.session
        session.fail(message.error)
        self.sessions = [s for s in self.sessions if s is not session]
        if isinstance(self.app.screen, DashboardScreen) and self.app.screen.session is session:
            self.app.pop_screen()
        for screen in self.app.screen_stack:
            if isinstance(screen, LauncherScreen):
                screen.show_setup_error(message.kind, message.error)
        self.app.notify(message.error, title="could not start training", severity="error", timeout=8)

    def on_worker_changed(self, worker: Worker, state: WorkerState) -> None:
        session = next((s for s in self.sessions if s.worker is worker), None)
        if session is None:
            return
        if state == WorkerState.ERROR:
            error = worker.error
            session.fail(f"{type(error).__name__}: {error}")
            self.app.notify(f"{type(error).__name__}: {error}", title="training failed", severity="error", timeout=8)
            self.refresh_launcher()
        elif state == WorkerState.SUCCESS and worker.result == "aborted" and session.live:
            session.status = "aborted"
            session.version += 1

    def refresh_launcher(self) -> None:
        from .screens.launcher import LauncherScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, LauncherScreen) and screen.catalog is not None:
                screen.list_runs()

    def abort_all(self, save: bool = False) -> None:
        """Make every training thread end now (quitting); ``save`` checkpoints first."""
        for session in self.sessions:
            if session.live:
                session.abort(save=save)
