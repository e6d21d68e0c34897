"""A braille line chart drawn with the line API: cheap enough to redraw a few times a second.

Series are downsampled to one point per braille pixel column before drawing, so a chart costs the
same with 100 or 100,000 points. The whole canvas is rebuilt into cached ``Strip``s only when the
data or the size changes; ``render_line`` just hands them out. ``Marker``s are vertical lines at an x
(a training step); a click on the plot posts ``LineChart.Picked`` with the x under the mouse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

LABEL_WIDTH = 8  # y-axis labels and the axis line
# braille dot bit for (column 0..1, row 0..3) inside one cell
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


@dataclass
class Series:
    """One line: (x, y) points, a legend label and a colour (any Rich colour)."""

    label: str
    points: Sequence[tuple[float, float]]
    color: str


def downsample(points: Sequence[tuple[float, float]], to_px, n_px: int) -> list[tuple[int, float]]:
    """Average the y of points falling in the same pixel column: (pixel x, mean y), in order."""
    out: list[tuple[int, float]] = []
    current, total, count = None, 0.0, 0
    for x, y in points:
        px = to_px(x)
        if px != current and count:
            out.append((current, total / count))
            total, count = 0.0, 0
        current = px
        total += y
        count += 1
    if count:
        out.append((current, total / count))
    return out


def fmt_value(value: float) -> str:
    """A compact axis label: 3 significant digits, k/M suffixes for big numbers."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e4:
        return f"{value / 1e3:.3g}k"
    if size < 1e-3:
        return f"{value:.1e}"
    return f"{value:.3g}"


def fmt_step(value: float) -> str:
    """An x-axis (step) label: 950, 12.5k, 1.2M."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:,.0f}"


@dataclass
class Marker:
    """A vertical line at ``x`` drawn where no series is, named in the legend (``label``, or ``short`` if tight)."""

    x: float
    color: str
    glyph: str = "│"
    label: str = ""
    short: str = ""


class LineChart(Widget):
    """A titled braille chart of one or more ``Series`` (optionally on a log-scale y axis)."""

    DEFAULT_CSS = """
    LineChart {
        width: 1fr;
        height: 1fr;
        min-height: 7;
        border: round $primary 40%;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
    }
    LineChart:focus { border: round $primary; }
    """

    def __init__(self, title: str, *, empty: str = "waiting for data…", id: Optional[str] = None,
                 classes: Optional[str] = None, axes: str = ""):
        super().__init__(id=id, classes=classes)
        self.border_subtitle = axes  # what the axes measure, in the bottom border
        self.title = title
        self.empty = empty
        self._series: list[Series] = []
        self._log = False
        self._strips: Optional[list[Strip]] = None
        self._built_for: tuple[int, int] = (0, 0)
        self._styles: dict[str, Style] = {}
        self._markers: list[Marker] = []
        self._legend_markers = False
        self._x_range: Optional[tuple[float, float]] = None  # of the last drawing: clicks are read against it
        self._y_fixed: Optional[tuple[float, float]] = None  # a y range the data never widens (e.g. 0-100 %)
        self._update_title()

    class Picked(Message):
        """The user clicked the plot at ``x`` (a training step)."""

        def __init__(self, chart: "LineChart", x: float) -> None:
            super().__init__()
            self.chart, self.x = chart, x

        @property
        def control(self) -> "LineChart":
            return self.chart

    # ----- data -----
    def set_series(self, series: list[Series], log: bool = False,
                   y_range: Optional[tuple[float, float]] = None) -> None:
        """Replace the data (``y_range``: a fixed y axis, for a linear scale); redrawn on the next paint."""
        self._series = [s for s in series if s.points]
        self._log = log
        self._y_fixed = y_range if not log else None
        self._strips = None
        self._update_title()
        self.refresh()

    def set_markers(self, markers: list[Marker], legend: bool = False) -> None:
        """Vertical lines at training steps (``legend``: name them in the title); redrawn only if they changed."""
        if markers == self._markers and legend == self._legend_markers:
            return
        self._markers, self._legend_markers = list(markers), legend
        self._strips = None
        self._update_title()
        self.refresh()

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self._x_range is None:
            return
        pw = self.content_size.width - LABEL_WIDTH
        col = offset.x - LABEL_WIDTH
        if pw <= 0 or not 0 <= col < pw:
            return
        x0, x1 = self._x_range
        self.post_message(self.Picked(self, x0 + (2 * col + 0.5) / max(1, 2 * pw - 1) * (x1 - x0)))

    def _update_title(self) -> None:
        title = Text()
        title.append(self.title + (" (log)" if self._log else ""), style="bold")
        entries: list[tuple[str, list[str]]] = []  # series sharing a label share one legend entry
        for s in self._series:
            if entries and entries[-1][0] == s.label:
                entries[-1][1].append(s.color)
            else:
                entries.append((s.label, [s.color]))
        for label, colours in entries:
            title.append(" ")
            for colour in colours:
                title.append("━", style=colour)
            title.append(label)
        if self._legend_markers:  # long names when they fit, else short ones, else none (never cut)
            room = self.size.width - 4 - title.cell_len
            for names in ([m.label for m in self._markers], [m.short or m.label for m in self._markers]):
                if sum(len(n) + 2 for n in names) <= room:
                    for m, name in zip(self._markers, names):
                        title.append(" ")
                        title.append(m.glyph, style=m.color)
                        title.append(name)
                    break
        self.border_title = title

    def on_resize(self) -> None:
        if self._legend_markers:
            self._update_title()

    # ----- drawing -----
    def render_line(self, y: int) -> Strip:
        size = (self.size.width, self.size.height)
        if self._strips is None or self._built_for != size:
            self._strips = self._build(*size)
            self._built_for = size
        return self._strips[y] if y < len(self._strips) else Strip.blank(size[0], self.rich_style)

    def _style(self, color: str) -> Style:
        if color not in self._styles:
            self._styles[color] = Style(color=color)
        return self._styles[color]

    def _transformed(self) -> list[list[tuple[float, float]]]:
        if not self._log:
            return [[(float(x), float(y)) for x, y in s.points if math.isfinite(y)] for s in self._series]
        return [[(float(x), math.log10(y)) for x, y in s.points if y > 0 and math.isfinite(y)] for s in self._series]

    def _build(self, width: int, height: int) -> list[Strip]:
        base = self.rich_style
        if width < LABEL_WIDTH + 4 or height < 3:
            return [Strip.blank(width, base) for _ in range(height)]
        data = self._transformed()
        if not any(data):
            message = self.empty.center(width)[:width]
            return [Strip([Segment(message if row == height // 2 else " " * width, Style(dim=True))]).apply_style(base)
                    for row in range(height)]
        xs = [x for pts in data for x, _ in pts]
        ys = [y for pts in data for _, y in pts]
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(ys), max(ys)
        if self._y_fixed is not None:
            y0, y1 = min(y0, self._y_fixed[0]), max(y1, self._y_fixed[1])
        elif y1 - y0 < 1e-12:
            pad = abs(y0) * 0.1 or 1.0
            y0, y1 = y0 - pad, y1 + pad
        else:
            pad = (y1 - y0) * 0.05
            floor = 0.0 if y0 >= 0 and not self._log else y0 - pad  # losses and % never go below 0
            y0, y1 = max(y0 - pad, floor), y1 + pad
        pw, ph = width - LABEL_WIDTH, height - 1
        PX, PY = pw * 2, ph * 4
        x_span = (x1 - x0) or 1.0
        y_span = y1 - y0
        cells = [[0] * pw for _ in range(ph)]
        colours: list[list[Optional[str]]] = [[None] * pw for _ in range(ph)]

        def to_px(x: float) -> int:
            return min(PX - 1, int(round((x - x0) / x_span * (PX - 1))))

        def plot(px: int, py: int, colour: str) -> None:
            cx, cy = px >> 1, py >> 2
            cells[cy][cx] |= _DOTS[px & 1][py & 3]
            colours[cy][cx] = colour

        self._x_range = (x0, x1)
        marks = {to_px(m.x) >> 1: m for m in self._markers if x0 <= m.x <= x1}
        for series, pts in zip(self._series, data):
            path = [(px, min(PY - 1, max(0, int(round((y1 - y) / y_span * (PY - 1))))))
                    for px, y in downsample(pts, to_px, PX)]
            if len(path) == 1:
                plot(*path[0], series.color)
            for (ax, ay), (bx, by) in zip(path, path[1:]):
                n = max(abs(bx - ax), abs(by - ay), 1)
                for i in range(n + 1):
                    plot(ax + (bx - ax) * i // n, ay + (by - ay) * i // n, series.color)
        return self._rows(cells, colours, (x0, x1), (y0, y1), width, base, marks)

    def _rows(self, cells, colours, xr, yr, width: int, base: Style, marks: Optional[dict] = None) -> list[Strip]:
        ph, pw = len(cells), len(cells[0])
        y0, y1 = yr
        axis = Style(dim=True)
        label_rows = {0, ph // 2, ph - 1}
        strips = []
        for row in range(ph):
            if row in label_rows:
                value = y1 - (row * 4 + 1.5) / (ph * 4 - 1) * (y1 - y0)
                label = fmt_value(10 ** value if self._log else value).rjust(LABEL_WIDTH - 1)[-(LABEL_WIDTH - 1):] + "┤"
            else:
                label = " " * (LABEL_WIDTH - 1) + "│"
            segments = [Segment(label, axis)]
            run_colour, run = None, []
            for col in range(pw):
                mask = cells[row][col]
                mark = marks.get(col) if marks and not mask else None
                colour = colours[row][col] if mask else (mark.color if mark else None)
                if colour != run_colour and run:
                    segments.append(Segment("".join(run), self._style(run_colour) if run_colour else None))
                    run = []
                run_colour = colour
                run.append(chr(0x2800 + mask) if mask else (mark.glyph if mark else " "))
            if run:
                segments.append(Segment("".join(run), self._style(run_colour) if run_colour else None))
            strips.append(Strip(segments, width).apply_style(base))
        axis_text = [" "] * pw
        first, middle, last = (fmt_step(xr[0] + f * (xr[1] - xr[0])) for f in (0.0, 0.5, 1.0))
        spots = [(0, first), (pw - len(last), last), (pw // 2 - len(middle) // 2, middle)] if xr[1] > xr[0] \
            else [(0, first)]
        for start, label in spots:  # the middle label only where it does not touch the others
            span = range(max(0, start - 1), min(pw, start + len(label) + 1))
            if start >= 0 and all(axis_text[i] == " " for i in span):
                axis_text[start:start + len(label)] = label
        bottom = " " * (LABEL_WIDTH - 1) + "└" + "".join(axis_text)[:pw]
        strips.append(Strip([Segment(bottom.ljust(width), axis)], width).apply_style(base))
        return strips
