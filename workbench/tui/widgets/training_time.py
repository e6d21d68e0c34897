"""Training time shared by the dashboard and the replay: one cursor per run, and where attention sharpened.

Moving through the probe replay in the inspector moves the run's ``TrainingCursor``; the dashboard's
charts draw a marker at its step, and a step picked on a chart is where the next replay starts. The
steepest fall of the attention's entropy (computed by the engine, ``workbench.probes``) is marked in
both places: it is the moment the alignment formed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from workbench.probes import PROBES_FILE, EntropyDrop, mean_entropy, parse_probe_line, steepest_drop
from .inspector.heatmap import line

CURSOR_COLOUR, DROP_COLOUR = "#ffffff", "#ff5fd7"
CURSOR_GLYPH, DROP_GLYPH = "│", "┊"
SPARK = "▁▂▃▄▅▆▇█"


@dataclass
class TrainingCursor:
    """The training step the user is looking at (None until a replay or a chart picks one)."""

    step: Optional[int] = None
    version: int = 0  # bumped on every move: the dashboard redraws its markers when it changes

    def move(self, step: Optional[int]) -> None:
        if step != self.step:
            self.step, self.version = step, self.version + 1


def cursor_for(app: Any, run_dir: Optional[Path]) -> TrainingCursor:
    """The cursor of the run at ``run_dir``, shared by every screen of ``app`` (a private one without a run)."""
    cursors = app.__dict__.setdefault("_training_cursors", {})
    key = str(Path(run_dir).resolve()) if run_dir is not None else None
    if key is None:
        return TrainingCursor()
    return cursors.setdefault(key, TrainingCursor())


def nearest(steps: Sequence[int], step: int) -> int:
    """Index of the value in ``steps`` closest to ``step`` (the earlier one on a tie)."""
    return min(range(len(steps)), key=lambda i: (abs(steps[i] - step), steps[i]))


@dataclass
class EntropyWatch:
    """The mean attention entropy of each probe snapshot of a run, read incrementally from its probes file."""

    run_dir: Optional[Path]
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, mean entropy in nats)
    _offset: int = 0

    def poll(self) -> bool:
        """Read snapshots appended since the last call; True when the curve changed."""
        path = Path(self.run_dir) / PROBES_FILE if self.run_dir is not None else None
        if path is None or not path.exists():
            return False
        size = path.stat().st_size
        if size < self._offset:  # a resumed run rewrote the file
            self.curve, self._offset = [], 0
        if size == self._offset:
            return False
        with open(path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        self._offset += len(complete)
        for line in complete.decode("utf-8", errors="replace").splitlines():
            snapshot = parse_probe_line(line)
            if snapshot is not None and snapshot.probes:
                self.curve.append((snapshot.step, mean_entropy(snapshot)))
        return bool(complete)

    @property
    def steps(self) -> list[int]:
        return [s for s, _ in self.curve]

    @property
    def drop(self) -> Optional[EntropyDrop]:
        return steepest_drop(self.curve)


# ---- the replay's timeline -----------------------------------------------------------------------

def _spark(values: Sequence[Optional[float]]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    return "".join(" " if v is None else SPARK[min(7, int((v - lo) / span * 7.999))] for v in values)


def _binned(points: Sequence[tuple[int, float]], s0: int, s1: int, n: int, step_fn: bool) -> list[Optional[float]]:
    """``points`` over ``n`` columns spanning steps s0..s1: the mean in each column, or (``step_fn``) the
    latest value at or before it; columns without a value repeat the previous one."""
    span = max(1, s1 - s0)
    sums, counts = [0.0] * n, [0] * n
    for step, value in points:
        if s0 <= step <= s1:
            col = round((step - s0) / span * (n - 1))
            if step_fn:
                sums[col], counts[col] = value, 1
            else:
                sums[col] += value
                counts[col] += 1
    out: list[Optional[float]] = []
    for total, count in zip(sums, counts):
        out.append(total / count if count else (out[-1] if out else None))
    return out


def timeline(steps: list[int], index: int, loss: Sequence[tuple[int, float]], entropy: list[tuple[int, float]],
             width: int) -> list[Strip]:
    """The replay's place in training, two lines: the loss and the attention entropy over steps, the
    snapshot shown marked ``│`` and the steepest entropy fall ``┊``, each line ending with what it marks."""
    drop = steepest_drop(entropy)
    here = f" {CURSOR_GLYPH} step {steps[index]:,} ({index + 1}/{len(steps)})"
    sharp = f" {DROP_GLYPH} fell fastest {drop.start:,}→{drop.end:,}" if drop is not None else ""
    lines = [("loss", loss, False), ("attn H", entropy, True)]
    lines = [(name, points, step_fn) for name, points, step_fn in lines if points]
    tails = [(here, Style(bold=True)), (sharp, Style(color=DROP_COLOUR))][:len(lines)]
    if len(lines) == 1:  # no loss curve (a run without metrics): one line says both
        tails = [(here + sharp, Style(bold=True))]
    label_w, tail_w = 8, max(len(t) for t, _ in tails)
    n = max(8, width - label_w - tail_w - 1)
    s0, s1 = steps[0], max(steps[-1], max((s for s, _ in loss), default=0))
    column = (lambda step: round((step - s0) / max(1, s1 - s0) * (n - 1)))
    cursor, drop_col = column(steps[index]), column(drop.end) if drop is not None else None
    out = []
    for (name, points, step_fn), (tail, tail_style) in zip(lines, tails):
        spark = _spark(_binned(points, s0, s1, n, step_fn))
        segments = [Segment(name.ljust(label_w), Style(dim=True))]
        for col, char in enumerate(spark):
            if col == cursor:
                segments.append(Segment(char if char != " " else CURSOR_GLYPH, Style(color="black", bgcolor=CURSOR_COLOUR)))
            elif col == drop_col:
                segments.append(Segment(char if char != " " else DROP_GLYPH, Style(color=DROP_COLOUR, bold=True)))
            else:
                segments.append(Segment(char, Style(color="#5fafff" if name == "loss" else "#d7af5f")))
        segments.append(Segment(" " + tail, tail_style))
        out.append(line(segments, width))
    return out
