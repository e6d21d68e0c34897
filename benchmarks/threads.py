"""Torch threads and the OpenMP wait policy: training throughput alone and next to a busy process.

On 2 cores, torch's 2 OpenMP threads spin-wait between kernels; when any other process wants a
core, a step can take 10-100× longer (seen here: 30 char-LM steps in 260 s instead of 3.5 s).
This benchmark trains each task default in a fresh process (the wait policy is read when torch
loads) with 1 thread, 2 threads, and 2 threads with ``OMP_WAIT_POLICY=PASSIVE``, first on an
machine as it is ("no added load") and then next to one busy-looping neighbour process
("+1 busy process"), interleaved. It is
the evidence for the default of ``train.threads`` and for setting the wait policy at start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator, Optional

from .core import Context, benchmark, interleave, median
from .trainruns import charlm_overrides
from .worker import call

VARIANTS = {
    "1 thread": (1, None),
    "2 threads": (2, None),
    "2 threads, OMP_WAIT_POLICY=PASSIVE": (2, "PASSIVE"),
}
TASKS = {"charlm default (LSTM)": charlm_overrides(), "reverse default (GRU + attention)": {"task.name": "reverse"}}


def run_worker(overrides: dict, threads: int, policy, time_cap: float) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    spec = {"kind": "train", "time_cap": time_cap,
            "overrides": {**overrides, "train.threads": threads, "train.steps": 100000, "train.eval_every": 10**7}}
    return call(spec, env=env, timeout=time_cap * 20 + 120)["tokens_per_s"]


@contextmanager
def busy_neighbour(on: bool) -> Iterator[None]:
    """A process that keeps one core busy (a pure Python loop) while the block runs."""
    if not on:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def sweep(ctx: Context, variants: dict[str, tuple[int, Optional[str]]], time_cap: float,
          ) -> Iterator[tuple[str, str, dict[str, float]]]:
    """(task, machine, median tokens/s per variant) for each task default, idle and next to a busy process.

    A variant is (threads, OMP_WAIT_POLICY or None); the variants are interleaved so a change in
    load hits all alike. Quick mode: one task, no added load, one round.
    """
    rounds = 1 if ctx.quick else 2
    for task_label, overrides in (list(TASKS.items())[:1] if ctx.quick else TASKS.items()):
        for neighbour in ((False,) if ctx.quick else (False, True)):
            where = "+1 busy process" if neighbour else "no added load"

            def variant(threads, policy):
                def measure() -> float:
                    with busy_neighbour(neighbour):
                        return run_worker(overrides, threads, policy, time_cap)
                return measure

            runs = interleave({name: variant(*v) for name, v in variants.items()}, rounds,
                              log=lambda m: ctx.log(f"  {task_label}, {where}: {m} tokens/s"))
            yield task_label, where, {name: median(values) for name, values in runs.items()}


@benchmark("threads", "torch threads / OpenMP wait policy: training tokens/s idle and next to a busy process")
def threads_policy(ctx: Context) -> None:
    rows = []
    for task_label, where, medians in sweep(ctx, VARIANTS, 2.0 if ctx.quick else 8.0):
        for name, value in medians.items():
            ctx.figure(f"{task_label}, {where}, {name}", value, "tok/s")
            rows.append([task_label, where, name, f"{value:,.0f}"])
    ctx.detail("tables", {"training tokens/s by thread setting": {
        "columns": ["task", "machine", "threads", "tokens/s (median)"], "rows": rows}})


ADAPTIVE = {"automatic (the default)": (0, None), "1 thread": (1, None), "2 threads": (2, None)}


@benchmark("threads-adaptive", "the default automatic thread count vs the best fixed count, idle and next to a busy process")
def threads_adaptive(ctx: Context) -> None:
    """Issue target: the default trains at >= 0.9x the best fixed count under load, >= 0.97x when quiet.

    Each run is long enough (30 s) for the tuner's first decision to be a small part of it, as in a
    real training of minutes.
    """
    rows = []
    for task_label, where, medians in sweep(ctx, ADAPTIVE, 3.0 if ctx.quick else 30.0):
        ratio = medians["automatic (the default)"] / max(medians["1 thread"], medians["2 threads"])
        ctx.figure(f"{task_label}, {where}, automatic / best fixed", ratio, "x")
        rows.append([task_label, where, *(f"{medians[n]:,.0f}" for n in ADAPTIVE), f"{ratio:.2f}"])
    ctx.detail("tables", {"automatic threads vs fixed counts": {
        "columns": ["task", "machine", *ADAPTIVE, "automatic / best fixed"], "rows": rows}})
