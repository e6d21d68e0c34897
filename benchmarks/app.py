"""The app under load: event-loop lag while training with the dashboard visible, training throughput
in the app against headless, and the app's first frame.

Lag and throughput run the real app with Textual's headless driver (``run_test(size=(120, 40))``:
the real widgets and compositor, no terminal writes), each run in a fresh process as a user's is.
Training starts through the app's own entry point (``app.start_training``, what the launcher calls)
with the reverse task's default configuration (``seqbench train``'s default task). Lag is how late
an asyncio sleep of ``PROBE_INTERVAL`` wakes up on the app's loop, sampled all through the app
runs. Throughput compares the trainer's own clock over the same number of steps (from its first
Progress event, evaluations included), app and headless interleaved. A third scenario opens the
inspector on the live run (the dashboard's ``i``) and steps it, so the UI thread has run the model.

Why fresh processes: once a second thread of the process has run a parallel torch op at the
trainer's thread count (the main thread of a benchmark, say), it owns an OpenMP team too; with more
OpenMP threads than cores, libgomp stops spin-waiting and a 2-thread trainer drops to about half
its speed (measured: 49 → 24 steps/s for the reverse default). The app avoids this itself: the
inspector and the snapshot/load workers run torch on one thread (``workbench.device.one_thread_here``)
and each training gets a thread of its own (``workbench.tui.controller._on_own_thread``).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from .core import ROOT, Context, benchmark, interleave, median, paired_ratios
from .lag import LagProbe
from .trainruns import StopTiming, build

LAG_P99_TARGET_MS = 50.0
THROUGHPUT_TARGET = 0.90
FIRST_FRAME_TARGET = 2.0
PROBE_INTERVAL = 0.02
SIZE = (120, 40)
DEFAULT_TASK = {"task.name": "reverse"}


def percentile(values: list[float], p: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(p * len(data)))] if data else float("nan")


async def _until(pilot, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app did not reach: {what}")
        await pilot.pause(0.05)


async def _watch(condition, timeout: float, what: str) -> None:
    """Wait like ``_until`` but without the pilot: ``pilot.pause`` makes the screen update each time
    it is called, work the app does not do in a terminal, so measured windows poll the plain loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app did not reach: {what}")
        await asyncio.sleep(0.1)


def _rate(first, last) -> float:
    """Steps per second of trainer time between two Progress events."""
    return (last.step - first.step) / max(last.elapsed - first.elapsed, 1e-9)


async def app_run(overrides: dict[str, Any], steps: int, runs_dir, inspector: bool = False) -> dict[str, Any]:
    """Train in the app with the dashboard shown for ``steps`` steps; returns steps/s and the lag samples.

    ``inspector`` first opens the inspector on a snapshot of the live weights (the dashboard's ``i``)
    and steps it five times, so the UI thread has run the model, then measures with it on screen.
    """
    from workbench.tui.app import SeqbenchApp
    from workbench.tui.screens.dashboard import DashboardScreen

    app = SeqbenchApp(runs_dir=str(runs_dir))
    lag = LagProbe(PROBE_INTERVAL)
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: getattr(app.screen, "catalog", True) is not None, 60, "launcher ready")
        session = app.start_training(build(overrides))
        await _until(pilot, lambda: session.progress is not None or session.error, 120, "first progress")
        if session.error or not isinstance(app.screen, DashboardScreen):
            raise RuntimeError(f"training in the app failed: {session.error or type(app.screen).__name__}")
        if inspector:
            await open_inspector(app, pilot, session)
        first = session.progress
        lag.start()
        ui_cpu, wall = time.thread_time(), time.perf_counter()  # this is the UI thread: the app's loop runs here
        try:
            await _watch(lambda: session.progress.step >= first.step + steps or session.error, 900, f"{steps} steps")
        finally:
            lag.stop()
        ui_share = (time.thread_time() - ui_cpu) / (time.perf_counter() - wall)
        last, screen = session.progress, type(app.screen).__name__
        session.abort()
        await _until(pilot, lambda: not session.worker.is_running, 60, "training thread ended")
    return {"steps_per_s": _rate(first, last), "lag": lag.samples, "screen": screen, "ui_cpu": ui_share}


async def open_inspector(app, pilot, session) -> None:
    from workbench.tui.screens.inspector import InspectorScreen

    app.inspect_session(session)
    await _until(pilot, lambda: isinstance(app.screen, InspectorScreen), 120, "inspector open")
    for _ in range(5):
        await pilot.press("right")
    await pilot.pause()


def headless_run(overrides: dict[str, Any], steps: int, runs_dir) -> dict[str, Any]:
    """The same training with no UI over the same steps; returns steps/s."""
    from workbench.events import Progress
    from workbench.training import Trainer

    seen: list = []

    def on_event(event) -> None:
        if isinstance(event, Progress):
            seen.append(event)
            if event.step >= seen[0].step + steps:
                raise StopTiming

    try:
        Trainer(build(overrides), on_event=on_event, runs_root=runs_dir).run()
    except StopTiming:
        pass
    return {"steps_per_s": _rate(seen[0], seen[-1])}


def in_fresh_process(kind: str, overrides: dict[str, Any], steps: int, **options: Any) -> dict[str, Any]:
    """Run ``app_rate`` / ``headless_rate`` in a new process, as a user's ``seqbench`` or ``seqbench train`` is.

    A process of its own matters: a thread that has ever run a parallel torch op keeps an OpenMP
    team, and a second team in the process slows the trainer's (see the ``app`` benchmark's notes).
    """
    from .worker import call

    return call({"kind": kind, "overrides": overrides, "steps": steps, **options})


SCENARIOS = {  # label -> (worker kind, options)
    "app, dashboard": ("app_rate", {}),
    "headless": ("headless_rate", {}),
    "app, inspector open on the live run": ("app_rate", {"inspector": True}),
}


@benchmark("app", "the app under load: event-loop lag and training throughput with the dashboard visible")
def app_under_load(ctx: Context) -> None:
    steps = 60 if ctx.quick else 400
    # the default config is judged (4 runs per scenario); one torch thread is measured beside it (2 runs)
    settings = {"quick: train.threads=1": {}} if ctx.quick else {"default config": {}, "train.threads=1": {"train.threads": 1}}
    for label, extra in settings.items():
        rounds = 2 if label == "default config" else 1
        overrides = {**DEFAULT_TASK, **ctx.train_overrides, **extra, "train.steps": 10**6}
        scenarios = dict(list(SCENARIOS.items())[:2]) if ctx.quick else SCENARIOS
        raw: dict[str, list[dict]] = {name: [] for name in scenarios}

        def variant(name: str, kind: str, options: dict):
            def run() -> float:
                raw[name].append(in_fresh_process(kind, overrides, steps, **options))
                return raw[name][-1]["steps_per_s"]
            return run

        ctx.log(f"{label}: reverse default, {steps} steps per run (its evaluations included), "
                f"{rounds * 2} runs per scenario, each in a fresh process")
        results = interleave({n: variant(n, *spec) for n, spec in scenarios.items()}, rounds * 2,
                             log=lambda m: ctx.log(f"  {label}, {m} steps/s"))
        report_setting(ctx, label, label == next(iter(settings)), results, raw)


def report_setting(ctx: Context, label: str, judged: bool, results: dict, raw: dict) -> None:
    for name in results:
        if name == "headless":
            continue
        ms = [1000 * s for run in raw[name] for s in run["lag"]]
        main = name == "app, dashboard"
        ctx.figure(f"event-loop lag p50, {name}, {label}", percentile(ms, 0.5), "ms",
                   note=f"{len(ms)} samples at {SIZE[0]}×{SIZE[1]}")
        ctx.figure(f"event-loop lag p99, {name}, {label}", percentile(ms, 0.99), "ms",
                   target=LAG_P99_TARGET_MS if judged and main else None, op="<=",
                   note=f"max {max(ms, default=float('nan')):.0f} ms")
        ratio = median(paired_ratios(results[name], results["headless"]))
        ctx.figure(f"training throughput, {name} / headless, {label}", ratio, "",
                   target=THROUGHPUT_TARGET if judged and main else None, op=">=",
                   note=f"{median(results[name]):.1f} vs {median(results['headless']):.1f} steps/s")
        ctx.figure(f"UI thread CPU, {name}, {label}", 100 * median([run["ui_cpu"] for run in raw[name]]), "%",
                   note="share of one core while training (lag probe included)")
        ctx.detail(f"lag_ms, {name}, {label}", {"p50": percentile(ms, 0.5), "p95": percentile(ms, 0.95),
                                                 "p99": percentile(ms, 0.99), "max": max(ms, default=None)})
    ctx.detail(f"steps_per_s, {label}", results)


FIRST_FRAME_CHILD = """
import json, sys, time
from pathlib import Path
import workbench.tui.app as module
from workbench.tui.app import SeqbenchApp

class Timed(SeqbenchApp):
    CSS_PATH = str(Path(module.__file__).with_name(SeqbenchApp.CSS_PATH))  # relative paths resolve from the subclass

    def on_ready(self) -> None:
        self.first_frame = time.time()
        self.first_screen = type(self.screen).__name__
        self.exit()

app = Timed(runs_dir=sys.argv[1])
app.run(headless=True, size=(120, 40))
print(json.dumps({"first_frame": app.first_frame, "screen": app.first_screen}))
"""


def first_frame_once(runs_dir) -> tuple[float, str]:
    """Seconds from spawning a fresh process to the app's first frame (Textual's Ready event)."""
    start = time.time()
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME_CHILD, str(runs_dir)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(f"app did not start: {out.stderr[-1500:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["first_frame"] - start, data["screen"]


@benchmark("first-frame", "start-up: the app's first frame, from a fresh process")
def first_frame(ctx: Context) -> None:
    runs = ctx.scratch / "runs"
    runs.mkdir(exist_ok=True)
    first_frame_once(runs)  # warm the page cache
    times, screens = [], set()
    for _ in range(2 if ctx.quick else 7):
        seconds, screen = first_frame_once(runs)
        times.append(seconds)
        screens.add(screen)
    ctx.figure("app first frame (process start → first frame)", median(times), "s", target=FIRST_FRAME_TARGET,
               op="<=", note=f"median of {len(times)}; first screen {', '.join(sorted(screens))}")
    ctx.detail("seconds", times)
