"""Measuring the UI's event-loop lag while training, with the dashboard on screen.

Two ways, both reporting p50 / p99 / max lag in milliseconds:

* headless, in-process (what a benchmark calls)::

      python -m benchmarks.lag --task reverse --seconds 20 [--set train.threads=1] [--headless-baseline]

  or from Python: ``asyncio.run(measure_dashboard(overrides, seconds=20))`` -> dict.
  It opens the app with ``run_test`` (the real widgets and compositor, no terminal), starts training
  ``overrides`` from the launcher's code path, waits for the first progress event, then samples the
  lag for ``seconds`` and also reports training throughput (steps/s, tokens/s) over the same window.
  ``--headless-baseline`` then trains the same config without any UI for the same time, for the
  "throughput with the dashboard ≥ 90% of headless" comparison.

* in a real terminal, from the repository root: ``SEQBENCH_LAG_LOG=/tmp/lag.json python -m workbench.cli``
  (the app imports this module only when that variable is set); on exit the app writes the lag
  statistics to that file: while a run trained with its dashboard on screen, and over the whole
  session (start-up, torch import and screen changes included).

Lag is how late a ``LAG_INTERVAL`` asyncio sleep wakes up: anything that blocks the loop (a slow
render, a long handler) shows up directly.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import tempfile
import time
from typing import Optional

LAG_INTERVAL = 0.02


class LagProbe:
    """Samples event-loop lag on the running loop until stopped (only while ``gate()``, if given)."""

    def __init__(self, interval: float = LAG_INTERVAL, gate=None):
        self.interval = interval
        self.gate = gate
        self.samples: list[float] = []
        self._task: Optional[asyncio.Task] = None

    def start(self) -> "LagProbe":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(self.interval)
            if self.gate is None or self.gate():
                self.samples.append(max(0.0, time.perf_counter() - t0 - self.interval))

    def stop(self) -> dict:
        if self._task is not None:
            self._task.cancel()
        return self.stats()

    def stats(self) -> dict:
        data = sorted(self.samples)
        if not data:
            return {"samples": 0}

        def pct(p: float) -> float:
            return round(1000 * data[min(len(data) - 1, int(p * len(data)))], 2)

        return {"samples": len(data), "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
                "max_ms": round(1000 * data[-1], 2)}


def attach_from_env(app) -> None:
    """If $SEQBENCH_LAG_LOG names a file, sample lag for the app's life and write the stats there at exit."""
    path = os.environ.get("SEQBENCH_LAG_LOG")
    if not path:
        return
    def training_on_dashboard() -> bool:
        from workbench.tui.screens.dashboard import DashboardScreen

        screen = app.screen
        return isinstance(screen, DashboardScreen) and screen.session.status == "running"

    everything = LagProbe().start()
    training = LagProbe(gate=training_on_dashboard).start()

    def write() -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"while_training_on_dashboard": training.stats(), "whole_session": everything.stats()}, f)

    atexit.register(write)


async def _until(pilot, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state")
        await pilot.pause(0.05)


async def measure_dashboard(overrides: dict[str, str], seconds: float = 20.0, size=(120, 40),
                            runs_dir: Optional[str] = None) -> dict:
    """Train ``overrides`` (``section.key`` -> value) in the app with the dashboard shown; see the module doc."""
    from workbench.tui.app import SeqbenchApp
    from workbench.tui.screens.dashboard import DashboardScreen

    runs_dir = runs_dir or tempfile.mkdtemp(prefix="seqbench-lag-")
    app = SeqbenchApp(runs_dir=runs_dir)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: getattr(app.screen, "catalog", None) is not None, 60)
        from workbench.config import build_config

        session = app.start_training(build_config(overrides=overrides))
        await _until(pilot, lambda: session.progress is not None or session.error, 120)
        assert isinstance(app.screen, DashboardScreen) and not session.error, session.error
        first = session.progress
        probe = LagProbe().start()
        await asyncio.sleep(seconds)
        stats = probe.stop()
        last = session.progress
        session.abort()
    steps = last.step - first.step
    span = max(last.elapsed - first.elapsed, 1e-9)
    stats.update(steps=steps, steps_per_s=round(steps / span, 2), tokens_per_s=round(last.tokens_per_s, 1),
                 device=session.device, config=overrides)
    return stats


def headless_throughput(overrides: dict[str, str], seconds: float, runs_dir: Optional[str] = None) -> dict:
    """The same config trained with no UI for ``seconds`` after its first progress event: steps/s."""
    from workbench.config import build_config
    from workbench.events import Progress
    from workbench.training import Trainer

    from workbench.live import TrainingAborted

    seen: list[Progress] = []

    def on_event(event) -> None:
        if isinstance(event, Progress):
            seen.append(event)
            if event.elapsed - seen[0].elapsed >= seconds:
                raise TrainingAborted  # skip the final evaluation: only the rate matters here

    trainer = Trainer(build_config(overrides=overrides), on_event=on_event,
                      runs_root=runs_dir or tempfile.mkdtemp(prefix="seqbench-lag-"))
    try:
        trainer.run()
    except TrainingAborted:
        pass
    first, last = seen[0], seen[-1]
    span = max(last.elapsed - first.elapsed, 1e-9)
    return {"steps": last.step - first.step, "steps_per_s": round((last.step - first.step) / span, 2)}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lag", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="reverse")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="120x40", help="terminal size, WIDTHxHEIGHT")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--headless-baseline", action="store_true", help="also train without UI for comparison")
    args = parser.parse_args(argv)
    # the launcher's defaults: all cores, as headless (override with --set train.threads=N)
    overrides = {"task.name": args.task, "train.steps": "1000000", "train.eval_every": "1000000"}
    overrides.update(dict(item.split("=", 1) for item in args.set))
    width, height = (int(v) for v in args.size.lower().split("x"))
    result = asyncio.run(measure_dashboard(overrides, args.seconds, (width, height)))
    if args.headless_baseline:
        base = headless_throughput(overrides, args.seconds)
        result["headless_steps_per_s"] = base["steps_per_s"]
        result["throughput_ratio"] = round(result["steps_per_s"] / max(base["steps_per_s"], 1e-9), 3)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
