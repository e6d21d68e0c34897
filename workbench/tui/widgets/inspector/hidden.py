"""Hidden-state strips: one vector per step as a row of coloured cells, its norm, and one unit over time.

Signed vectors (hidden and cell states, candidates, contexts) use a diverging scale symmetric
around 0; sigmoid gates use the sequential [0, 1] scale. One cell per unit; when the vector is
wider than the panel, the window follows the selected unit. The selected unit's values over all
rows are drawn as a sparkline at the bottom (as LSTMVis does). Line API, cached strips.
"""

from __future__ import annotations

import textwrap
from typing import Optional

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from . import palette as P
from .heatmap import StripWidget, colour_cells, flow, legend, line, text_line, window

MAX_LABEL = 8
NORM_W = 7
MAX_CELL = 3  # widest cell per unit
SPARK = "▁▂▃▄▅▆▇█"
MARK_LIGHT = Style(color="white", bold=True)
MARK_DARK = Style(color="black", bold=True)


def _mark(level: int, signed: bool) -> Style:
    """A glyph colour that stands out on the cell's background."""
    bright = (not signed and level > P.LEVELS * 0.6) or (signed and abs(level - P.LEVELS / 2) > P.LEVELS * 0.4)
    return MARK_DARK if bright else MARK_LIGHT


class HiddenStrips(StripWidget):
    """Rows of vectors (N, D) with labels and norms; the selected unit is marked and plotted over time."""

    DEFAULT_CSS = """
    HiddenStrips { height: 1fr; min-height: 5; }
    """

    def __init__(self, *, id: Optional[str] = None, classes: Optional[str] = None):
        super().__init__(id=id, classes=classes)
        self.values = np.zeros((0, 0), dtype=np.float32)  # (N, D) exactly what is drawn
        self.rows: list[str] = []
        self.title = ""
        self.signed = True
        self.current: Optional[int] = None
        self.unit = 0
        self.norm_name = "‖h‖"
        self.notes: list[str] = []
        self.caption = ""
        self.fixed: Optional[float] = None  # a fixed ±scale kept across steps (None: scale to what is shown)

    def fix_scale(self, on: bool) -> Optional[float]:
        """Keep the colour scale where it is now (rounded up), or let it follow the values again."""
        if not on:
            self.fixed = None
        else:
            vmax = float(np.abs(self.values).max()) if self.values.size else 1.0
            self.fixed = float(np.ceil(max(vmax, 1e-3) * 4) / 4)  # a round number a reader can keep in mind
        self._strips = None
        self.refresh()
        return self.fixed

    def show(self, values: np.ndarray, rows: list[str], *, title: str = "", signed: bool = True,
             current: Optional[int] = None, unit: int = 0, norm_name: str = "‖h‖",
             notes: Optional[list[str]] = None, caption: str = "") -> None:
        self.caption = caption
        self.values = np.asarray(values, dtype=np.float32)
        self.rows, self.title, self.signed, self.current = list(rows), title, signed, current
        self.unit = min(max(unit, 0), max(self.values.shape[1] - 1, 0)) if self.values.ndim == 2 else 0
        self.norm_name, self.notes = norm_name, list(notes or [])
        self._strips = None
        self.refresh()

    @property
    def scale(self) -> tuple[float, float]:
        """(lo, hi) of the colour scale."""
        if not self.signed:
            return 0.0, 1.0
        if self.fixed is not None:
            return -self.fixed, self.fixed
        vmax = float(np.abs(self.values).max()) if self.values.size else 1.0
        vmax = vmax or 1.0
        return -vmax, vmax

    def build(self, width: int, height: int) -> list[Strip]:
        if width < 4 or height < 1:
            return []
        title = f"{self.title} · unit {self.unit}" if self.values.size else self.title
        out = [text_line(title, P.ACCENT, width)]
        if self.caption:
            out += [text_line(part, P.MUTED, width) for part in textwrap.wrap(self.caption, width)[:2]]
        if not self.values.size:
            out += [text_line(note, P.MUTED, width) for note in self.notes]
            return out[:height]
        n, d = self.values.shape
        labels = [P.label(r, MAX_LABEL) for r in self.rows]
        label_w = max((len(x) for x in labels), default=1)
        room = max(1, width - label_w - 1 - NORM_W)
        cell = max(1, min(MAX_CELL, room // d))  # wider cells when few units fit easily
        shown = min(d, room // cell)
        u0 = window(d, shown, self.unit)
        lo, hi = self.scale
        foot = self._legend(width, lo, hi, (0, shown, d), (0, n, n))
        body_h = max(1, height - len(out) - 2 - len(foot))  # unit marker, sparkline
        focus = self.current if self.current is not None else n - 1
        r0 = max(0, min(n - body_h, focus - body_h + 1)) if n > body_h else 0
        marker = " " * (label_w + 1 + (self.unit - u0) * cell + cell // 2) + "▼"
        out.append(text_line(marker + f" {self.norm_name}".rjust(width - len(marker)), P.ACCENT, width))
        norms = np.linalg.norm(self.values, axis=1)
        styles = P.DIVERGING if self.signed else P.SEQUENTIAL
        for r in range(r0, min(n, r0 + body_h)):
            style = P.CURRENT if r == self.current else P.BOLD
            segments = [Segment(labels[r].rjust(label_w) + " ", style)]
            values = self.values[r, u0: u0 + shown].tolist()
            k = self.unit - u0
            segments += colour_cells(values[:k], cell, styles, lo, hi)
            lv = P.level(values[k], lo, hi)
            segments.append(Segment("┃".center(cell), styles[lv] + _mark(lv, self.signed)))
            segments += colour_cells(values[k + 1:], cell, styles, lo, hi)
            segments.append(Segment(f"{norms[r]:.2f}".rjust(NORM_W), P.MUTED))
            out.append(line(segments, width))
        out.append(self._sparkline(width, lo, hi))
        out += self._legend(width, lo, hi, (u0, shown, d), (r0, body_h, n))
        return out[:height]

    def _legend(self, width: int, lo: float, hi: float, units: tuple[int, int, int],
                rows: tuple[int, int, int]) -> list[Strip]:
        """The colour scale (fixed or following the values), and which units and rows are in view."""
        styles = P.DIVERGING if self.signed else P.SEQUENTIAL
        pieces = [legend(f"{lo:.2f}", f"{hi:+.2f}", styles)]
        if self.signed:
            pieces.append([Segment(f"fixed scale ±{self.fixed:g}, v: follow values" if self.fixed is not None
                                   else "scale follows the values, v: fix it", P.DIM)])
        u0, shown, d = units
        pieces.append([Segment(f"units {u0}-{u0 + shown - 1} of {d}" if shown < d else f"{d} units", P.DIM)])
        r0, body_h, n = rows
        if n > body_h:
            pieces.append([Segment(f"rows {r0 + 1}-{min(n, r0 + body_h)} of {n}", P.DIM)])
        return flow(pieces, width)

    def _sparkline(self, width: int, lo: float, hi: float) -> Strip:
        """The selected unit's value at every row, one cell per row (the latest rows when too many)."""
        series = self.values[:, self.unit].tolist()
        now = series[self.current] if self.current is not None else series[-1]
        head = f"unit {self.unit} over time: "
        tail = f" now {now:+.2f}"
        room = max(1, width - len(head) - len(tail))
        series = series[-room:]
        fg = P.DIVERGING_FG if self.signed else P.SEQUENTIAL_FG
        segments = [Segment(head, P.DIM)]
        for v in series:
            lv = P.level(v, lo, hi)
            segments.append(Segment(SPARK[min(len(SPARK) - 1, lv * len(SPARK) // P.LEVELS)], fg[lv]))
        segments.append(Segment(tail, P.BOLD))
        return line(segments, width)
