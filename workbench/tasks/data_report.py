"""DataReport: what loading a parallel corpus did, in a few lines the CLI and the app can print."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional


def percentiles(lengths: list[int]) -> tuple[int, int, int]:
    """(median, 95th percentile, max) of ``lengths`` (nearest rank; zeros when empty)."""
    if not lengths:
        return (0, 0, 0)
    ordered = sorted(lengths)

    def rank(q: float) -> int:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (rank(0.5), rank(0.95), ordered[-1])


@dataclass
class DataReport:
    """Pairs read, kept and dropped (and why), lengths, vocabularies and unknown tokens of a task."""

    files: list[str]  # the files read, main file first
    unit: str  # char | word | subword
    lines: int = 0  # non-blank lines read, all files
    kept: int = 0  # examples in all splits
    dropped: dict[str, list[str]] = field(default_factory=dict)  # reason -> ["file:line", ...]
    normalized: dict[str, int] = field(default_factory=dict)  # "U+202F" -> characters made plain spaces
    normalized_lines: int = 0
    splits: dict[str, list[int]] = field(default_factory=dict)  # split -> [examples, distinct sources]
    src_lengths: tuple[int, int, int] = (0, 0, 0)  # training sources in tokens: median, p95, max
    tgt_lengths: tuple[int, int, int] = (0, 0, 0)
    src_vocab: int = 0
    tgt_vocab: int = 0
    unknown: dict[str, list[float]] = field(default_factory=dict)  # split -> [source, target] share of <unk>
    longest: list[str] = field(default_factory=list)  # "file:line (S+T tokens)", longest pairs read
    warnings: list[str] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        return sum(len(where) for where in self.dropped.values())

    def summary_lines(self) -> list[str]:
        """The report as a few short lines (no markup)."""
        out = [f"data: {', '.join(self.files)} · {self.lines:,} lines read · {self.kept:,} pairs kept"
               f" · {self.n_dropped:,} dropped"]
        for reason, where in self.dropped.items():
            shown = ", ".join(where[:3]) + (", ..." if len(where) > 3 else "")
            out.append(f"  dropped {len(where):,} {reason}: {shown}")
        if self.normalized:
            chars = ", ".join(f"{code} ×{n:,}" for code, n in sorted(self.normalized.items()))
            out.append(f"  normalised spaces on {self.normalized_lines:,} lines ({chars})")
        sizes = " · ".join(f"{split} {n:,} ({s:,} sources)" for split, (n, s) in self.splits.items())
        out.append(f"  splits: {sizes}")
        (s50, s95, smax), (t50, t95, tmax) = self.src_lengths, self.tgt_lengths
        out.append(f"  {self.unit} tokens per training pair: source median {s50}, p95 {s95}, max {smax}"
                   f" · target median {t50}, p95 {t95}, max {tmax}")
        unk = " · ".join(f"{split} {100 * s:.1f}% / {100 * t:.1f}%" for split, (s, t) in self.unknown.items())
        out.append(f"  vocabulary: source {self.src_vocab:,}, target {self.tgt_vocab:,} (training split only)"
                   + (f" · unknown tokens (source / target): {unk}" if unk else ""))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (saved in the run as data_report.json)."""
        return asdict(self)

    @classmethod
    def load(cls, run_dir: Path) -> Optional["DataReport"]:
        """The report a run saved (``data_report.json``), or None when it has none or it is unreadable."""
        try:
            data = json.loads((Path(run_dir) / "data_report.json").read_text(encoding="utf-8"))
            known = {f.name for f in fields(cls)}
            report = cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError):
            return None
        report.src_lengths, report.tgt_lengths = tuple(report.src_lengths), tuple(report.tgt_lengths)
        return report
