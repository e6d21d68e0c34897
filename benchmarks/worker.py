"""Measurements that need a fresh process (environment read at torch's import, peak memory).

    python -m benchmarks.worker '{"kind": "train", "overrides": {...}, "time_cap": 8}'

prints one JSON line with the result (kinds: ``KINDS``). Run through ``call`` by ``threads.py``,
``app.py`` and ``startup.py``; not meant for people.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Optional


def train(spec: dict) -> dict:
    """Train headless until the configured steps or ``time_cap`` seconds; report tokens/s."""
    from .trainruns import build, run_trainer, tokens_per_second

    config = build(spec["overrides"])
    with tempfile.TemporaryDirectory(prefix="seqbench-worker-") as tmp:
        tl = run_trainer(config, Path(tmp), stop_after_last_step=True, time_cap=spec.get("time_cap"))
    import torch

    return {"tokens_per_s": tokens_per_second(tl), "steps": tl.steps, "tokens": tl.tokens,
            "seconds": tl.last_step_at - tl.loop_start, "threads": torch.get_num_threads()}


def app_train(spec: dict) -> dict:
    """Open the app headless, train ``overrides`` to its end with the dashboard shown, then quit."""
    import asyncio
    import time

    from workbench.tui.app import SeqbenchApp

    from .trainruns import build

    async def run(runs_dir: str) -> dict:
        app = SeqbenchApp(runs_dir=runs_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + spec.get("timeout", 900)
            while getattr(app.screen, "catalog", True) is None and time.monotonic() < deadline:
                await pilot.pause(0.05)
            session = app.start_training(build(spec["overrides"]))
            while session.finished is None and not session.error and time.monotonic() < deadline:
                await pilot.pause(0.1)
            if session.finished is None:
                raise RuntimeError(f"training in the app did not finish: {session.error or 'timeout'}")
            return {"steps": session.finished.step, "reason": session.finished.reason}

    with tempfile.TemporaryDirectory(prefix="seqbench-worker-") as tmp:
        return asyncio.run(run(tmp))


def app_rate(spec: dict) -> dict:
    """Training steps/s and event-loop lag in the app (``benchmarks.app.app_run``)."""
    import asyncio

    from .app import app_run

    with tempfile.TemporaryDirectory(prefix="seqbench-worker-") as tmp:
        return asyncio.run(app_run(spec["overrides"], spec["steps"], tmp, inspector=spec.get("inspector", False)))


def headless_rate(spec: dict) -> dict:
    """Training steps/s with no UI (``benchmarks.app.headless_run``)."""
    from .app import headless_run

    with tempfile.TemporaryDirectory(prefix="seqbench-worker-") as tmp:
        return headless_run(spec["overrides"], spec["steps"], tmp)


KINDS = {"train": train, "app_train": app_train, "app_rate": app_rate, "headless_rate": headless_rate}


def call(spec: dict, env: Optional[dict] = None, timeout: float = 1800) -> dict:
    """Run ``spec`` in a fresh ``python -m benchmarks.worker`` and return its JSON result."""
    import os
    import subprocess

    from .core import ROOT

    out = subprocess.run([sys.executable, "-m", "benchmarks.worker", json.dumps(spec)], cwd=ROOT,
                         env=env if env is not None else dict(os.environ), capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"worker {spec['kind']} failed: {out.stderr[-1500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    import workbench  # noqa: F401  (as the CLI does: the package first, then torch)

    result = KINDS[spec["kind"]](spec)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
