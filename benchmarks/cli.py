"""`python -m benchmarks [--quick] [--only NAME[,NAME]] [--out DIR] [--list]`."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Optional

from . import report
from .core import REGISTRY, Context, Result, Skipped, echo
from .machine import CpuMeter, busy_warnings, load_average, machine_info, machine_line

# Modules whose @benchmark functions register themselves, in the order a full run takes them:
# cheap, precise measurements first, the long trainings last.
MODULES = ("startup", "decoding", "ablation", "inspector", "app", "overhead", "threads", "accuracy", "charlm",
           "translation", "positions", "encoders")
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def load_registry() -> None:
    for module in MODULES:
        importlib.import_module(f"benchmarks.{module}")


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description="Run seqbench's benchmarks and write "
                                "benchmarks/results/results.json and RESULTS.md.")
    p.add_argument("--quick", action="store_true", help="a few seconds per benchmark: proves the harness works; "
                   "figures are not comparable with the targets")
    p.add_argument("--only", default="", help="comma-separated benchmark names (see --list); results of the "
                   "others already in results.json are kept")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results directory (default: {DEFAULT_OUT})")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return p.parse_args(argv)


def select(only: str) -> list[str]:
    if not only:
        return [name for name, b in REGISTRY.items() if b.default]
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; valid: {', '.join(REGISTRY)}")
    return names


def run_one(name: str, quick: bool, scratch: Path, threads: int, first: bool = True) -> Result:
    """Run benchmark ``name`` with ``threads`` torch threads, catching its failure so the others still run.

    The load average only says something about other processes before the ``first`` benchmark of a
    run; later it still carries the previous benchmarks' own work, so then only the CPU that other
    processes used while this one ran counts."""
    import torch

    torch.set_num_threads(threads)  # a trainer in an earlier benchmark may have changed it
    bench = REGISTRY[name]
    result = Result(name, bench.title, "quick" if quick else "full",
                    started=dt.datetime.now().isoformat(timespec="seconds"), load_before=load_average())
    echo(f"== {name}: {bench.title}")
    meter = CpuMeter().start()
    t0 = time.perf_counter()
    work = scratch / name
    work.mkdir(parents=True, exist_ok=True)
    try:
        bench.fn(Context(result, quick, work, echo))
    except Skipped as exc:
        result.status, result.message = "skipped", str(exc)
        echo(f"  [{name}] not available: {exc}")
    except Exception as exc:  # a broken benchmark must not lose the others' results
        result.status, result.message = "error", f"{type(exc).__name__}: {exc}"
        echo(f"  [{name}] ERROR {result.message}")
        traceback.print_exc()
    result.seconds = round(time.perf_counter() - t0, 2)
    result.other_cpu = meter.stop()
    for w in busy_warnings(result.load_before if first else None, result.other_cpu):
        result.warnings.append(w)
        echo(f"  [{name}] warning: {w}")
    echo(f"  [{name}] {result.status} in {result.seconds:.1f} s")
    return result


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    load_registry()
    if args.list:
        for name, b in REGISTRY.items():
            echo(f"{name:14} {b.title}{'' if b.default else '  (only with --only)'}")
        return 0
    names = select(args.only)
    import workbench  # noqa: F401  (before torch: whatever the package sets up at import, users get too)

    machine = machine_info()
    threads = 1 if args.quick else machine["torch_threads_default"]
    started = dt.datetime.now().isoformat(timespec="seconds")
    echo(f"seqbench benchmarks ({'quick' if args.quick else 'full'}): {', '.join(names)}")
    echo(f"machine: {machine_line(machine)}")
    for w in busy_warnings(machine["load_average"][0] if machine.get("load_average") else None, None):
        echo(f"warning: {w}")
    scratch = Path(tempfile.mkdtemp(prefix="seqbench-bench-"))
    t0 = time.perf_counter()
    results = []
    try:
        for name in names:
            results.append(run_one(name, args.quick, scratch, threads, first=not results))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "")
    run = {"command": command, "mode": "quick" if args.quick else "full", "started": started,
           "seconds": round(time.perf_counter() - t0, 1), "benchmarks": names}
    data = report.merge(report.load(args.out / "results.json") if args.only else None, results, machine, run)
    json_path, md_path = report.write(args.out, data)
    failed = [f"{r.name}: {f.name}" for r in results for f in r.figures if f.passed is False]
    echo(f"wrote {json_path} and {md_path} ({run['seconds'] / 60:.1f} min)")
    if failed:
        echo("targets missed:\n  " + "\n  ".join(failed))
    errors = [r.name for r in results if r.status == "error"]
    return 1 if errors else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
