"""The records of a run's ``metrics.jsonl``: what they hold, and reading and writing them.

One JSON object per line, told apart by ``kind``::

    {"kind": "train", "step", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed", "skipped"[, "shown": {name: value}]}
    {"kind": "eval", "split", "step", "elapsed", <metric>: value, ...}
    {"kind": "diverged", "step", "message"}

Readers get typed records and never a traceback: a torn last line (a crash while appending) and
lines that are not UTF-8 or not JSON are skipped and counted in ``MetricsLog.problems``. Nothing
here imports torch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

METRICS = "metrics.jsonl"


@dataclass
class TrainRecord:
    """Training progress averaged since the previous record (a few per second)."""

    step: int
    loss: float
    lr: float = 0.0
    grad_norm: float = 0.0
    tokens_per_s: float = 0.0
    elapsed: float = 0.0
    skipped: int = 0  # steps so far whose loss or gradients were not finite (not applied)
    shown: dict[str, float] = field(default_factory=dict)  # the model's own training values (hard attention's
    # Gumbel temperature, REINFORCE's baseline and advantage variance), absent for most models


@dataclass
class EvalRecord:
    """Metrics of one evaluation on ``split`` (keys as ``workbench.metric_names.METRIC_INFO``)."""

    step: int
    split: str
    metrics: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    signatures: dict[str, str] = field(default_factory=dict)  # metric -> sacreBLEU signature


@dataclass
class DivergedRecord:
    """Training stopped because its loss or gradients stayed non-finite."""

    step: int
    message: str


Record = Union[TrainRecord, EvalRecord, DivergedRecord]


def to_json(rec: Record) -> dict:
    """The JSON object one record is written as."""
    if isinstance(rec, TrainRecord):
        return {"kind": "train", "step": rec.step, "loss": rec.loss, "lr": rec.lr, "grad_norm": rec.grad_norm,
                "tokens_per_s": rec.tokens_per_s, "elapsed": rec.elapsed, "skipped": rec.skipped,
                **({"shown": {k: _json_number(v) for k, v in rec.shown.items()}} if rec.shown else {})}
    if isinstance(rec, EvalRecord):
        return {"kind": "eval", "split": rec.split, "step": rec.step, "elapsed": rec.elapsed, **rec.metrics,
                **({"signatures": rec.signatures} if rec.signatures else {})}
    return {"kind": "diverged", "step": rec.step, "message": rec.message}


def _json_number(value: float) -> Optional[float]:
    """A float JSON can hold: NaN (REINFORCE's variance before its first step) is written as null."""
    return float(value) if math.isfinite(value) else None


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    return float(value)


def from_json(data) -> Optional[Record]:
    """The record a JSON object describes; ValueError when it is not one (unknown kinds give None)."""
    if not isinstance(data, dict):
        raise ValueError("not an object")
    kind, step = data.get("kind"), data.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError("no step")
    if kind == "train":
        shown = data.get("shown") if isinstance(data.get("shown"), dict) else {}
        return TrainRecord(step, _number(data.get("loss")), *(_number(data.get(k, 0.0)) for k in
                           ("lr", "grad_norm", "tokens_per_s", "elapsed")), skipped=int(_number(data.get("skipped", 0))),
                           shown={str(k): _number(math.nan if v is None else v) for k, v in shown.items()
                                  if v is None or isinstance(v, (int, float)) and not isinstance(v, bool)})
    if kind == "eval":
        metrics = {k: float(v) for k, v in data.items() if k not in ("kind", "split", "step", "elapsed")
                   and isinstance(v, (int, float)) and not isinstance(v, bool)}
        signatures = data.get("signatures") if isinstance(data.get("signatures"), dict) else {}
        return EvalRecord(step, str(data.get("split", "val")), metrics, _number(data.get("elapsed", 0.0)),
                          {str(k): str(v) for k, v in signatures.items()})
    if kind == "diverged":
        return DivergedRecord(step, str(data.get("message", "training diverged")))
    return None


@dataclass
class MetricsLog:
    """A run's records, oldest first, and what could not be read (one sentence each)."""

    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, kind: type, split: Optional[str] = None) -> list:
        """The records of one type (and split, for evaluations)."""
        return [r for r in self.records if isinstance(r, kind) and (split is None or getattr(r, "split", None) == split)]

    @property
    def warning(self) -> Optional[str]:
        """One line summing up the problems, or None."""
        if not self.problems:
            return None
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{METRICS}: skipped unreadable lines: {self.problems[0]}{more}"


def read_records(run_dir: Union[str, Path]) -> MetricsLog:
    """Every record of a run; unreadable lines are skipped and described, never raised."""
    log = MetricsLog()
    path = Path(run_dir) / METRICS
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return log
    except OSError as exc:
        log.problems.append(f"cannot read it ({exc.strerror or exc})")
        return log
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = from_json(json.loads(line.decode("utf-8")))
        except UnicodeDecodeError:
            log.problems.append(f"line {number} is not UTF-8")
            continue
        except ValueError:  # JSONDecodeError included
            torn = number == len(lines)  # no newline after it: cut short by a crash
            log.problems.append(f"line {number} {'was cut short' if torn else 'is not a metrics record'}")
            continue
        if rec is not None:
            log.records.append(rec)
    return log


def append_record(run_dir: Union[str, Path], rec: Record) -> None:
    """Append one record (a crash mid-line leaves a torn last line, which readers skip)."""
    line = json.dumps(to_json(rec), allow_nan=True) + "\n"
    with open(Path(run_dir) / METRICS, "a", encoding="utf-8") as f:
        f.write(line)


def truncate_records(run_dir: Union[str, Path], step: int) -> MetricsLog:
    """Keep the records up to ``step`` (a resumed run repeats the rest); drops unreadable lines too."""
    from .fileio import atomic_write

    log = read_records(run_dir)
    kept = [r for r in log.records if r.step <= step]
    path = Path(run_dir) / METRICS
    if kept != log.records or log.problems or path.exists():
        atomic_write(path, "".join(json.dumps(to_json(r)) + "\n" for r in kept))
    return MetricsLog(kept, log.problems)


def finite(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)

