"""The encoder family's tasks with their defaults: tagging, classification and masked LM, against the wall clock.

Each task trains headless with ``seqbench train --task NAME``'s defaults; the figure is the wall
time (evaluations included) to the first val evaluation at the task's target accuracy, and the
final test accuracy. The right-context tagging task ``later`` is trained twice, bidirectional (its
default) and unidirectional, in one table row each: the lesson that a one-directional encoder cannot
see what comes after a position, as a number. The masked LM is reported against the unigram
baseline (always guessing the training text's most frequent character, or word: ``mlm`` with
``--tokens word`` masks words of the nounverb grammar's sentences). Quick mode trains a few
dozen steps: it proves the plumbing, not the targets.
"""

from __future__ import annotations

from typing import Optional

from .core import Context, benchmark
from .trainruns import Timeline, build, run_trainer

TARGETS = {"later": 0.99, "nounverb": 0.99, "majority": 0.98}  # val accuracy
UNIDIRECTIONAL_AT_MOST = 0.9  # "later" unidirectional: visibly failing (chance on the open positions)
RUNS = (("later", True, None), ("later", False, None), ("nounverb", True, None), ("majority", True, None),
        ("mlm", True, None), ("mlm", True, "word"))  # (task, bidirectional, task.tokens)


def train(ctx: Context, task: str, bidirectional: bool, tokens: Optional[str] = None) -> Timeline:
    overrides = {"task.name": task, "model.bidirectional": str(bidirectional).lower(), **ctx.train_overrides}
    if tokens:
        overrides["task.tokens"] = tokens
    if ctx.quick:
        overrides.update({"train.steps": 30, "train.eval_every": 15, "train.eval_examples": 50})
    config = build(overrides)
    ctx.log(f"{task}: {config.model.cell} {'bi' if bidirectional else 'uni'}, {config.train.steps} steps")
    return run_trainer(config, ctx.scratch / "runs")


def first_reaching(tl: Timeline, target: float) -> Optional[tuple[float, int]]:
    for seconds, step, value in tl.val("accuracy"):
        if value >= target:
            return seconds, step
    return None


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@benchmark("encoders", "the encoder family's tasks: tagging (uni vs bidirectional), classification, masked LM")
def encoder_tasks(ctx: Context) -> None:
    rows: list = []
    for task, bi, tokens in RUNS:
        tl = train(ctx, task, bi, tokens)
        final = (tl.finished.final if tl.finished else {}) or {}
        test = final.get("test", final.get("val", {}))
        name = f"{task} ({'bidirectional' if bi else 'unidirectional'}{', ' + tokens + 's' if tokens else ''})"
        target = TARGETS.get(task)
        hit = first_reaching(tl, target) if target else None
        if target:
            ctx.figure(f"{name}: test accuracy after {tl.steps} steps ({tl.end_seconds:.0f} s)",
                       None if "accuracy" not in test else 100 * test["accuracy"], "%",
                       target=100 * (target if bi else UNIDIRECTIONAL_AT_MOST), op=">=" if bi else "<=",
                       judge=not ctx.quick)
        else:
            ctx.figure(f"{name}: masked-token accuracy after {tl.steps} steps ({tl.end_seconds:.0f} s)",
                       100 * test.get("accuracy", 0.0), "%", note=f"unigram baseline {_pct(test.get('unigram_accuracy'))}")
        rows.append([name, f"{target:.0%}" if target else "vs unigram",
                     f"{hit[0]:.0f} s / step {hit[1]}" if hit else "not reached" if target else "—",
                     f"{tl.end_seconds:.0f} s / {tl.steps}", _pct(test.get("accuracy")),
                     _pct(test.get("unigram_accuracy", test.get("exact_match")))])
        ctx.detail(name, {"steps": tl.steps, "seconds": tl.end_seconds, "final": final, "reached": hit,
                          "val_curve_seconds_step_accuracy": [[round(s, 1), st, round(v, 4)]
                                                               for s, st, v in tl.val("accuracy")]})
    ctx.detail("tables", {"encoder family (task defaults)": {
        "columns": ["task", "target", "first val ≥ target", "whole run", "test accuracy",
                    "sentence exact / unigram acc"],
        "rows": rows}})
