"""A finished (or interrupted) run's dashboard from what is on disk: config, trainer state and metrics."""

from __future__ import annotations

from pathlib import Path

from .live import TrainingSession


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
    _last_numbers(session, records, summary.total_steps)
    session.status = "interrupted" if summary.status == "running" else summary.status
    session.step, session.total_steps = summary.step, summary.total_steps
    session.checkpoint_step = summary.step
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


def _last_numbers(session: TrainingSession, records: list[dict], total: int) -> None:
    """The run's last training numbers and last validation metrics, as the live dashboard shows them."""
    from workbench.events import Evaluated, Progress

    train = [r for r in records if r.get("kind") == "train"]
    val = [r for r in records if r.get("kind") == "eval" and r.get("split") == "val"]
    if train:
        r = train[-1]
        session.progress = Progress(int(r["step"]), total, -1.0, float(r["loss"]), float(r.get("lr", 0.0)),
                                    float(r.get("grad_norm", 0.0)), float(r.get("tokens_per_s", 0.0)),
                                    float(r.get("elapsed", 0.0)), 0.0)
    if val:
        r = val[-1]
        metrics = {k: v for k, v in r.items() if k not in ("kind", "split", "step", "elapsed")}
        session.last_eval = Evaluated(int(r["step"]), "val", metrics)
