"""A finished (or interrupted) run's dashboard from what is on disk: config, status, checkpoint and metrics."""

from __future__ import annotations

from pathlib import Path

from .live import TrainingSession


def replay_session(path: Path) -> TrainingSession:
    """A session without a trainer, its curves read from ``metrics.jsonl``; RunError if not a readable run."""
    from models import describe
    from workbench.errors import RunError
    from workbench.records import DivergedRecord, read_records
    from workbench.runs import load_config, read_trainer_state, summarize

    summary = summarize(path)
    if summary is None or summary.status == "damaged":
        raise RunError(summary.problem if summary else f"{path} is not a readable run")
    cfg = load_config(path)
    session = TrainingSession(title=f"{cfg.task.name} · {describe(cfg.model)}", run_dir=path)
    log = read_records(path)
    session.load_records(log.records)
    _last_numbers(session, log, summary.total_steps)
    session.status = summary.status
    session.step, session.total_steps = summary.step, summary.total_steps
    session.checkpoint_step = int((read_trainer_state(path) or {}).get("step", 0))
    if summary.best_value is not None:
        best = (read_trainer_state(path) or {}).get("best") or {}
        session.best = {"name": summary.best_name, "value": summary.best_value, "step": int(best.get("step", 0))}
    diverged = log.of(DivergedRecord)
    if summary.status == "diverged" and diverged:
        session.error = diverged[-1].message
    session.note(f"opened {path.name} from disk ({len(log.records)} metric records); "
                 "sample predictions are shown while a run trains", "dim")
    if log.warning:
        session.note(log.warning, "yellow")
    if session.status == "interrupted":
        session.note("the app or the process ended while it trained: r resumes from the last checkpoint", "yellow")
    return session


def _last_numbers(session: TrainingSession, log, total: int) -> None:
    """The run's last training numbers and last validation metrics, as the live dashboard shows them."""
    from workbench.events import Evaluated, Progress
    from workbench.records import EvalRecord, TrainRecord

    train, val = log.of(TrainRecord), log.of(EvalRecord, split="val")
    if train:
        r = train[-1]
        session.progress = Progress(r.step, total, -1.0, r.loss, r.lr, r.grad_norm, r.tokens_per_s, r.elapsed, 0.0)
    if val:
        session.last_eval = Evaluated(val[-1].step, "val", dict(val[-1].metrics))
