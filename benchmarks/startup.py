"""Start-up and memory: `seqbench --help` latency and the peak RSS of a default training run.

Every measurement runs in a fresh subprocess (what a user's shell does). ``--help`` is compared
with a bare ``python -c pass`` interleaved, so the interpreter's own start-up is visible next to
ours. Peak memory is the child's ``ru_maxrss`` from ``wait4``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .core import ROOT, Context, benchmark, interleave, median

HELP_TARGET = 0.3  # seconds


def seqbench_command() -> list[str]:
    """The installed ``seqbench`` script next to this interpreter, else ``python -m workbench.cli``."""
    script = Path(sys.executable).with_name("seqbench")
    if script.exists():
        return [str(script)]
    found = shutil.which("seqbench")
    return [found] if found else [sys.executable, "-m", "workbench.cli"]


def run_timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> tuple[float, int, int]:
    """Run ``cmd``; returns (wall seconds, exit code, peak RSS in KiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}: {err}")
    if proc.stderr:
        proc.stderr.close()
    return seconds, proc.returncode, usage.ru_maxrss


@benchmark("startup", "start-up: `seqbench --help` latency")
def help_latency(ctx: Context) -> None:
    rounds = 3 if ctx.quick else 9
    cmd = seqbench_command() + ["--help"]
    run_timed(cmd)  # warm the page cache and .pyc files
    runs = interleave({"seqbench --help": lambda: run_timed(cmd)[0],
                       "python -c pass": lambda: run_timed([sys.executable, "-c", "pass"])[0]}, rounds)
    ctx.figure("`seqbench --help` wall time", median(runs["seqbench --help"]), "s", target=HELP_TARGET, op="<=",
               note=f"median of {rounds} subprocess runs")
    ctx.figure("bare `python -c pass` for comparison", median(runs["python -c pass"]), "s")
    ctx.detail("runs", runs)


def _train_cmd(task: str, steps: int, out: Path, extra: list[str]) -> list[str]:
    return seqbench_command() + ["train", "--task", task, "--steps", str(steps), "--out", str(out), "--quiet"] + extra


@benchmark("memory", "peak memory (RSS) of a default training run, headless and in the app")
def peak_memory(ctx: Context) -> None:
    from .trainruns import charlm_overrides

    env = {**os.environ, "SEQBENCH_RUNS": str(ctx.scratch / "runs")}
    cases = {
        "reverse (seqbench train default task)": ("reverse", [], 60 if ctx.quick else 500),
        "charlm on tinyshakespeare": ("charlm", ["--data", charlm_overrides()["task.data"]] if "task.data" in charlm_overrides() else [], 30 if ctx.quick else 300),
    }
    for i, (label, (task, extra, steps)) in enumerate(cases.items()):
        out = ctx.scratch / f"run{i}"
        threads = ["--threads", "1"] if ctx.quick else []
        seconds, _, rss_kib = run_timed(_train_cmd(task, steps, out, extra + threads), env=env)
        ctx.figure(f"peak RSS, headless `seqbench train`, {label}", rss_kib / 1024, "MiB",
                   note=f"{steps} steps incl. evaluations, {seconds:.0f} s")
        ctx.detail(task, {"steps": steps, "seconds": seconds, "peak_rss_mib": rss_kib / 1024})
    app_memory(ctx, 60 if ctx.quick else 500)


def app_memory(ctx: Context, steps: int) -> None:
    """Peak RSS of the app (headless driver) training the default task to its end, dashboard shown."""
    import json

    from .app import app_available

    reason = app_available()
    if reason:
        ctx.log(f"app memory not measured: {reason}")
        return
    spec = {"kind": "app_train", "overrides": {"task.name": "reverse", "train.steps": steps, **ctx.train_overrides}}
    seconds, _, rss_kib = run_timed([sys.executable, "-m", "benchmarks.worker", json.dumps(spec)])
    ctx.figure("peak RSS, the app training reverse (seqbench train default task), dashboard shown", rss_kib / 1024,
               "MiB", note=f"{steps} steps incl. evaluations, {seconds:.0f} s, headless driver")
    ctx.detail("app", {"steps": steps, "seconds": seconds, "peak_rss_mib": rss_kib / 1024})
