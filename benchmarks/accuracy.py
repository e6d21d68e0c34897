"""Time to accuracy: each task's default configuration trained headless, against the wall clock.

The trainer evaluates the val split every ``eval_every`` steps (its default cadence); the figure is
the wall time (evaluations included) and the step of the first val evaluation at or above the
task's target exact match. The run trains to its configured end (the defaults are what users
get), then the final test and ``long`` (longer-than-training, synthetic tasks only) splits are
reported. Quick mode trains a few dozen steps: it proves the plumbing, not the targets.
"""

from __future__ import annotations

from typing import Optional

from .core import Context, benchmark
from .trainruns import Timeline, build, run_trainer

TARGETS = {"copy": 0.99, "reverse": 0.99, "sort": 0.99, "dates": 0.99, "numbers": 0.95}


def first_reaching(tl: Timeline, target: float) -> Optional[tuple[float, int, float]]:
    """(seconds, step, exact match) of the first val evaluation at or above ``target``."""
    for seconds, step, value in tl.val("exact_match"):
        if value >= target:
            return seconds, step, value
    return None


def train_task(ctx: Context, task: str) -> Timeline:
    overrides = {"task.name": task, **ctx.train_overrides}
    if ctx.quick:
        overrides.update({"train.steps": 40, "train.eval_every": 20, "train.eval_examples": 100})
    config = build(overrides)
    ctx.log(f"{task}: {config.model.cell} {config.model.attention}, {config.train.steps} steps, "
            f"eval every {config.train.eval_every}")
    return run_trainer(config, ctx.scratch / "runs")


def report_task(ctx: Context, task: str, tl: Timeline, rows: list) -> None:
    target = TARGETS[task]
    judge = not ctx.quick
    hit = first_reaching(tl, target)
    final = (tl.finished.final if tl.finished else {}) or {}
    ctx.figure(f"{task}: seconds to val exact match ≥ {target:.0%}", hit[0] if hit else None, "s",
               note=f"step {hit[1]}, evaluations included" if hit else f"not reached in {tl.steps} steps")
    test = final.get("test", {}).get("exact_match")
    ctx.figure(f"{task}: test exact match after {tl.steps} steps ({tl.end_seconds:.0f} s)",
               None if test is None else 100 * test, "%", target=100 * target, op=">=", judge=judge)
    long = final.get("long", {}).get("exact_match")
    if long is not None:
        ctx.figure(f"{task}: `long` split exact match (lengths beyond training)", 100 * long, "%")
    curve = [[round(s, 1), step, round(v, 4)] for s, step, v in tl.val("exact_match")]
    ctx.detail(task, {"target": target, "steps": tl.steps, "seconds": tl.end_seconds, "reached": hit,
                      "final": final, "val_curve_seconds_step_exact": curve, "setup_seconds": tl.setup_seconds})
    rows.append([task, f"{target:.0%}", f"{hit[0]:.0f} s / step {hit[1]}" if hit else "not reached",
                 f"{tl.end_seconds:.0f} s / {tl.steps}", _pct(test), _pct(long)])


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@benchmark("accuracy", "time to accuracy of each task's default configuration (headless)")
def time_to_accuracy(ctx: Context) -> None:
    rows: list = []
    for task in TARGETS:
        tl = train_task(ctx, task)
        report_task(ctx, task, tl, rows)
    ctx.detail("tables", {"time to accuracy (task defaults)": {
        "columns": ["task", "target", "first val ≥ target", "whole run", "test exact", "long exact"],
        "rows": rows}})
