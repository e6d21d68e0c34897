"""The harness's building blocks: figures, the benchmark registry, the run context and interleaving.

A benchmark is ``fn(ctx) -> None`` registered with ``@benchmark(name, title)``; it reports with
``ctx.figure(...)`` (a number, optionally against a target), ``ctx.detail(key, value)`` (anything
JSON-able: curves, per-round samples) and ``ctx.warn(...)``; ``ctx.skip(reason)`` ends it as
"not available". ``ctx.quick`` asks for a few seconds of work instead of the full measurement.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parent.parent  # the repository
TINYSHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"


@dataclass
class Figure:
    """One measured number, with the target it is judged against (if any)."""

    name: str  # what was measured, for people: "trainer / bare loop tokens/s, LSTM LM"
    value: Optional[float]  # None when it could not be measured (e.g. target never reached)
    unit: str = ""  # "ms", "s", "x", "MiB", "" for ratios and losses
    target: Optional[float] = None  # the threshold, if this figure has one
    op: str = ""  # "<=" or ">=" (how value must compare with target)
    passed: Optional[bool] = None  # None: no target, or not judged (quick mode)
    note: str = ""  # short context: "median of 5 ABBA pairs", "under load"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        sign = {"<=": "≤", ">=": "≥"}[self.op]
        return f"{sign} {format_value(self.target, self.unit)}"


def format_value(value: Optional[float], unit: str = "") -> str:
    """A number for tables: 3 significant digits, its unit attached."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1f}%"
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}".strip() if unit not in ("x",) else f"{text}×"


class Skipped(Exception):
    """Raised by ``ctx.skip``: the benchmark cannot run here (e.g. the app is not written yet)."""


@dataclass
class Benchmark:
    name: str
    title: str
    fn: Callable[["Context"], None]
    default: bool = True  # part of a plain `python -m benchmarks` run (else only via --only)


REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, title: str, *, default: bool = True):
    """Register ``fn(ctx)`` as benchmark ``name`` (``--only name``)."""

    def wrap(fn: Callable[["Context"], None]) -> Callable[["Context"], None]:
        REGISTRY[name] = Benchmark(name, title, fn, default)
        return fn

    return wrap


@dataclass
class Result:
    """What one benchmark produced; stored in results.json under its name."""

    name: str
    title: str
    mode: str  # "full" | "quick"
    status: str = "ok"  # ok | skipped | error
    message: str = ""  # why skipped / the error
    seconds: float = 0.0  # wall time the benchmark took
    started: str = ""  # ISO time
    load_before: Optional[float] = None  # 1-minute load average when it started
    other_cpu: Optional[float] = None  # cores used by other processes while it ran (average)
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["figures"] = [{**asdict(f), "target_text": f.target_text} for f in self.figures]
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Result":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        figs = [Figure(**{k: v for k, v in f.items() if k in Figure.__dataclass_fields__}) for f in d.get("figures", [])]
        return cls(**{**known, "figures": figs})


class Context:
    """Handed to every benchmark: the mode, a scratch directory, and the result being filled."""

    def __init__(self, result: Result, quick: bool, scratch: Path, echo: Callable[[str], None]):
        self.result = result
        self.quick = quick
        self.scratch = scratch
        self._echo = echo

    @property
    def train_overrides(self) -> dict[str, Any]:
        """Config overrides every benchmark training adds: quick mode trains on one torch thread,
        which stays fast on a busy machine (two threads collapse when other processes compete)."""
        return {"train.threads": 1} if self.quick else {}

    def log(self, message: str) -> None:
        """A progress line, printed as the benchmark goes."""
        self._echo(f"  [{self.result.name}] {message}")

    def figure(self, name: str, value: Optional[float], unit: str = "", *, target: Optional[float] = None,
               op: str = "", judge: bool = True, note: str = "") -> Figure:
        """Record a figure; with a target, pass/fail is decided here (unless ``judge`` is False)."""
        passed = None
        if target is not None and judge:
            passed = value is not None and (value <= target if op == "<=" else value >= target)
        fig = Figure(name, value, unit, target, op, passed, note)
        self.result.figures.append(fig)
        mark = "" if passed is None else ("  PASS" if passed else "  FAIL")
        self.log(f"{name}: {format_value(value, unit)} {fig.target_text and '(target ' + fig.target_text + ')'}{mark}")
        return fig

    def detail(self, key: str, value: Any) -> None:
        self.result.details[key] = value

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)
        self.log(f"warning: {message}")

    def skip(self, reason: str) -> None:
        raise Skipped(reason)


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def abba_order(names: list[str], rounds: int) -> list[str]:
    """A B B A A B ... for two variants (cancels linear drift); cyclic rotation for more."""
    order: list[str] = []
    for r in range(rounds):
        seq = list(names)
        if len(seq) == 2 and r % 2:
            seq.reverse()
        elif len(seq) > 2:
            k = r % len(seq)
            seq = seq[k:] + seq[:k]
        order.extend(seq)
    return order


def interleave(variants: dict[str, Callable[[], float]], rounds: int,
               log: Optional[Callable[[str], None]] = None) -> dict[str, list[float]]:
    """Run each variant ``rounds`` times, interleaved; returns name -> measured values in run order."""
    out: dict[str, list[float]] = {name: [] for name in variants}
    for name in abba_order(list(variants), rounds):
        value = variants[name]()
        out[name].append(value)
        if log:
            log(f"{name}: {value:.4g}")
    return out


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    """a[i] / b[i] for each round (neighbouring runs share the machine's state)."""
    return [x / y for x, y in zip(a, b) if y]


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``."""

    def __enter__(self) -> "Stopwatch":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def echo(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
