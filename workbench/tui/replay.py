"""A finished (or interrupted) run's dashboard from what is on disk: config, trainer state and metrics."""

from __future__ import annotations

from pathlib import Path

from .session import TrainingSession


def replay_session(path: Path) -> TrainingSession:
    """A session without a trainer, its curves read from ``metrics.jsonl``; UserError if not a run."""
    from models import describe
    from workbench.errors import RunError
    from workbench.runs import load_config, read_metrics, summarize

    summary = summarize(path)
    if summary is None:
        raise RunError(f"{path} is not a readable run")
    cfg = load_config(path)
    session = TrainingSession(title=f"{cfg.task.name} · {describe(cfg.model)}", run_dir=path)
    records = read_metrics(path)
    session.load_records(records)
    session.status = "interrupted" if summary.status == "running" else summary.status
    session.step, session.total_steps = summary.step, summary.total_steps
    if summary.best_value is not None:
        session.best = {"name": summary.best_name, "value": summary.best_value, "step": _best_step(path)}
    diverged = [r for r in records if r.get("kind") == "diverged"]
    if diverged:
        session.status, session.error = "diverged", str(diverged[-1].get("message", "training diverged"))
    session.note(f"opened {path.name} from disk ({len(records)} metric records); "
                 "sample predictions are shown while a run trains", "dim")
    if session.status == "interrupted":
        session.note("the app or the process ended while it trained: r resumes from the last checkpoint", "yellow")
    return session


def _best_step(path: Path) -> int:
    from workbench.runs import read_trainer_state

    best = (read_trainer_state(path) or {}).get("best") or {}
    return int(best.get("step", 0))
