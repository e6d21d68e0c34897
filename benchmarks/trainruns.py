"""Running seqbench's Trainer from a benchmark and keeping a wall-clock timeline of its events.

The clock starts when the trainer saves its start checkpoint (just before its first optimiser step)
and every later event is stamped with the wall time since then, so evaluation time is included
in every figure derived from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .core import TINYSHAKESPEARE


class StopTiming(Exception):
    """Raised from the listener to end a run at its last training step (skips the final evaluation)."""


@dataclass
class EvalPoint:
    seconds: float  # wall time since the first step, when this evaluation finished
    step: int
    split: str
    metrics: dict[str, float]


@dataclass
class Timeline:
    """What a trainer run did, against the wall clock."""

    setup_seconds: float = 0.0  # Trainer() construction: task, model, run directory
    loop_start: Optional[float] = None  # perf_counter at the start checkpoint
    last_step_at: Optional[float] = None  # perf_counter at the Progress of the last step
    steps: int = 0
    tokens: int = 0  # tokens in the training batches the trainer drew
    batch_clock: list[float] = field(default_factory=list)  # perf_counter when each training batch was drawn
    evals: list[EvalPoint] = field(default_factory=list)
    finished: Any = None  # the TrainFinished event
    end_seconds: float = 0.0  # wall time from the first step to the end of run()

    def val(self, metric: str) -> list[tuple[float, int, float]]:
        """(seconds, step, value) of ``metric`` at every validation evaluation."""
        return [(e.seconds, e.step, e.metrics[metric]) for e in self.evals if e.split == "val" and metric in e.metrics]


def charlm_overrides() -> dict[str, Any]:
    """The char-LM task on tinyshakespeare (val = the last 10% of the file, 64-character windows).

    Without the shared corpus beside the clone, the bundled default corpus stands in (the
    ``charlm`` benchmark itself refuses to run then: its targets are about tinyshakespeare).
    """
    if not TINYSHAKESPEARE.exists():
        return {"task.name": "charlm"}
    return {"task.name": "charlm", "task.data": str(TINYSHAKESPEARE)}


def build(overrides: dict[str, Any]):
    from workbench.config import build_config

    return build_config(overrides={k: str(v) if not isinstance(v, str) else v for k, v in overrides.items()})


def run_trainer(config, runs_root: Path, *, stop_after_last_step: bool = False,
                time_cap: Optional[float] = None) -> Timeline:
    """Train ``config`` headless in this process and return its timeline.

    ``stop_after_last_step`` ends the run right after the last optimiser step (no final evaluation
    or checkpoint): for throughput measurements that compare training steps only. ``time_cap``
    also ends it (the same way) at the first Progress event after that many seconds of steps.
    """
    from workbench.events import CheckpointSaved, Evaluated, Progress, TrainFinished
    from workbench.training import Trainer

    tl = Timeline()
    total = config.train.steps

    def on_event(event) -> None:
        now = time.perf_counter()
        if isinstance(event, CheckpointSaved) and event.reason == "start":
            tl.loop_start = now
        elif isinstance(event, Progress):
            tl.steps = event.step
            capped = time_cap is not None and tl.loop_start is not None and now - tl.loop_start >= time_cap
            if event.step == total or capped:
                tl.last_step_at = now
                if stop_after_last_step or capped:
                    raise StopTiming
        elif isinstance(event, Evaluated) and tl.loop_start is not None:
            tl.evals.append(EvalPoint(now - tl.loop_start, event.step, event.split, dict(event.metrics)))
        elif isinstance(event, TrainFinished):
            tl.finished = event

    t0 = time.perf_counter()
    trainer = Trainer(config, on_event=on_event, runs_root=runs_root)
    tl.setup_seconds = time.perf_counter() - t0
    _count_tokens(trainer.task, tl)
    try:
        trainer.run()
    except StopTiming:
        pass
    if tl.loop_start is not None:
        tl.end_seconds = time.perf_counter() - tl.loop_start
    tl.steps = trainer.step
    tl.trainer = trainer  # type: ignore[attr-defined]  # kept for callers that need the model
    return tl


def _count_tokens(task, tl: Timeline) -> None:
    """Count the tokens of every training batch the trainer draws (one Python call per step)."""
    draw = task.train_batch

    def counted(batch_size, generator, by_length=False):
        tl.batch_clock.append(time.perf_counter())
        batch = draw(batch_size, generator, by_length)
        tl.tokens += batch.n_tokens
        return batch

    task.train_batch = counted


def tokens_per_second(tl: Timeline) -> float:
    """Training throughput over the timed steps (start checkpoint to the last step's Progress)."""
    return tl.tokens / (tl.last_step_at - tl.loop_start)
