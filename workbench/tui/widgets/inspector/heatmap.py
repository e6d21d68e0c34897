"""The alignment heatmap: output tokens down, source tokens across, colour = attention weight.

Drawn with the line API: the whole panel is built once into ``Strip``s when the data or the size
changes (one precomputed ``Style`` per colour level, runs of equal colour merged), and
``render_line`` hands them out. Rows follow the current step and columns follow the current row's
strongest source position when the matrix is bigger than the panel.
"""

from __future__ import annotations

import textwrap
from typing import Callable, Optional, Sequence

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from . import palette as P

MAX_LABEL = 12  # widest row label
MAX_HEADER = 8  # most header rows for column labels written vertically
MIN_HEADER = 4  # header rows a small panel still gives vertical labels
MAX_CELL = 6  # widest cell per source token
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def line(segments: list[Segment], width: int) -> Strip:
    """A strip of exactly ``width`` cells."""
    return Strip(segments).crop_extend(0, width, None).simplify()


def text_line(text: str, style: Optional[Style], width: int) -> Strip:
    return line([Segment(text, style)], width)


def window(n: int, size: int, focus: int) -> int:
    """First index of a window of ``size`` over ``n`` items that keeps ``focus`` visible."""
    if n <= size:
        return 0
    return max(0, min(n - size, focus - size // 2))


def colour_cells(values: Sequence[float], width: int, styles: list[Style], lo: float, hi: float) -> list[Segment]:
    """Cells of ``width`` spaces coloured by value; runs of the same level become one segment."""
    out: list[Segment] = []
    run_level, run = -1, 0
    for v in values:
        lv = P.level(v, lo, hi)
        if lv != run_level and run:
            out.append(Segment(" " * (run * width), styles[run_level]))
            run = 0
        run_level = lv
        run += 1
    if run:
        out.append(Segment(" " * (run * width), styles[run_level]))
    return out


def distinct_labels(tokens: Sequence[str], width: Optional[int] = None) -> list[str]:
    """Tokens as shown, a repeated token followed by its 1-based position in subscript (``a₂``, ``a₅``)."""
    shown = [P.label(t) for t in tokens]
    repeated = {x for x in shown if shown.count(x) > 1}
    out = [x + str(i + 1).translate(SUBSCRIPT) if x in repeated else x for i, x in enumerate(shown)]
    return [P.label(x, width) if width else x for x in out]


def flow(pieces: list[list[Segment]], width: int, gap: str = "  ") -> list[Strip]:
    """Lay pieces (lists of segments) left to right, starting a new line rather than cutting one."""
    lines: list[list[Segment]] = [[]]
    used = 0
    for piece in pieces:
        size = sum(len(seg.text) for seg in piece)
        if lines[-1] and used + len(gap) + size > width:
            lines.append([])
            used = 0
        if lines[-1]:
            lines[-1].append(Segment(gap))
            used += len(gap)
        lines[-1].extend(piece)
        used += size
    return [line(segments, width) for segments in lines]


def legend(lo: str, hi: str, styles: list[Style]) -> list[Segment]:
    out = [Segment(f"{lo} ", P.DIM)]
    out.extend(Segment(" ", s) for s in styles[:: max(1, len(styles) // 12)])
    out.append(Segment(f" {hi}", P.DIM))
    return out


class StripWidget(Widget):
    """A widget drawn with the line API from a list of Strips, rebuilt only when content or size changes."""

    _strips: Optional[list[Strip]] = None
    _built_for = (0, 0)

    def on_resize(self) -> None:
        self._strips = None

    def render_line(self, y: int) -> Strip:
        if self._strips is None:  # reading self.size is not free: only when rebuilding
            self._built_for = (self.size.width, self.size.height)
            self._strips = self.build(*self._built_for)
        return self._strips[y] if y < len(self._strips) else Strip.blank(self._built_for[0])

    def build(self, width: int, height: int) -> list[Strip]:
        raise NotImplementedError


class AttentionHeatmap(StripWidget):
    """A weight matrix with row/column labels, a legend and the current row highlighted."""

    DEFAULT_CSS = """
    AttentionHeatmap { height: 1fr; min-height: 5; }
    """

    def __init__(self, *, id: Optional[str] = None, classes: Optional[str] = None):
        super().__init__(id=id, classes=classes)
        self.matrix = np.zeros((0, 0), dtype=np.float32)  # exactly what is drawn, (rows, cols)
        self.rows: list[str] = []
        self.cols: list[str] = []
        self.current: Optional[int] = None
        self.title = ""
        self.note = ""
        self.message = ""
        self.vector: Optional[np.ndarray] = None
        self.caption = ""  # what the picture means, under the title
        self.timeline: Optional[Callable[[int], list[Strip]]] = None  # the replay's place in training, by width
        self.marks: Optional[list[int]] = None  # per row, the column hard attention read (drawn ●)

    # ---- data -------------------------------------------------------------------------------------

    def show(self, matrix: np.ndarray, rows: list[str], cols: list[str], *, current: Optional[int] = None,
             title: str = "", message: str = "", vector: Optional[np.ndarray] = None, note: str = "",
             caption: str = "", timeline: Optional[Callable[[int], list[Strip]]] = None,
             marks: Optional[list[int]] = None) -> None:
        """Replace what is drawn; built into strips on the next paint. ``timeline(width)`` replaces the note;
        ``marks`` (one column per row) puts a ● on the cell hard attention read."""
        self.note, self.caption, self.timeline, self.marks = note, caption, timeline, marks
        self.matrix = np.asarray(matrix, dtype=np.float32)
        self.rows, self.cols, self.current = list(rows), list(cols), current
        self.title, self.message, self.vector = title, message, vector
        self._strips = None
        self.refresh()

    # ---- drawing ----------------------------------------------------------------------------------

    def build(self, width: int, height: int) -> list[Strip]:
        if width < 4 or height < 1:
            return []
        out = [text_line(self.title, P.ACCENT, width)]
        if self.caption and not self.message:
            out += [text_line(part, P.MUTED, width) for part in textwrap.wrap(self.caption, width)[:4]]
        if self.message or not self.matrix.size:
            out += self._message(width)
        else:
            out += self._grid(width, height - len(out))
        return out[:height]

    def _message(self, width: int) -> list[Strip]:
        out = [text_line(part, P.MUTED, width) for part in textwrap.wrap(self.message or "nothing to show", width)]
        if self.vector is not None and self.vector.size:
            vmax = float(np.abs(self.vector).max()) or 1.0
            per_line = max(1, width)
            for start in range(0, self.vector.size, per_line):
                chunk = self.vector[start: start + per_line].tolist()
                out.append(line(colour_cells(chunk, 1, P.DIVERGING, -vmax, vmax), width))
            out.append(line(legend(f"{-vmax:.2f}", f"+{vmax:.2f}", P.DIVERGING)
                            + [Segment(f"  {self.vector.size} values", P.DIM)], width))
        return out

    def _grid(self, width: int, height: int) -> list[Strip]:
        n_rows, n_cols = self.matrix.shape
        row_labels = distinct_labels(self.rows, MAX_LABEL)
        label_w = max((len(x) for x in row_labels), default=1)
        avail = max(1, width - label_w - 3)  # label, space, cells, " ◀"
        cell = max(1, min(MAX_CELL, avail // max(n_cols, 1)))
        shown = min(n_cols, avail // cell)
        focus_col = int(self.matrix[self.current].argmax()) if self.current is not None else 0
        c0 = window(n_cols, shown, focus_col)
        header = self._header(c0, shown, cell, label_w, focus_col, width, max(0, height - min(n_rows, 6) - 2))
        legend_h = len(self._legend_lines(width, (0, n_rows, n_rows), (c0, n_cols, shown)))
        notes = self.timeline(width) if self.timeline else [text_line(self.note, P.FORCED, width)] if self.note else []
        body_h = max(1, height - len(header) - legend_h - len(notes))
        tall = 2 if cell >= 4 and 2 * n_rows <= body_h else 1  # roomy panel: cells closer to square
        r0 = window(n_rows, body_h, self.current if self.current is not None else 0)
        if self.current is not None and n_rows > body_h:
            r0 = max(0, min(n_rows - body_h, self.current - body_h + 1))
        out = list(header)
        for r in range(r0, min(n_rows, r0 + body_h)):
            is_current = r == self.current
            cells = colour_cells(self.matrix[r, c0: c0 + shown].tolist(), cell, P.SEQUENTIAL, 0.0, 1.0)
            if self.marks is not None and r < len(self.marks) and c0 <= self.marks[r] < c0 + shown:
                cells = self._marked(r, c0, shown, cell)
            for sub in range(tall):
                text = row_labels[r] if sub == 0 else ""
                segments = [Segment(text.rjust(label_w) + " ", P.CURRENT if is_current else P.BOLD), *cells]
                if is_current and sub == tall - 1:
                    segments.append(Segment(" ◀", P.ACCENT))
                out.append(line(segments, width))
        out += self._legend_lines(width, (r0, n_rows, body_h), (c0, n_cols, shown))
        return out + notes

    def _marked(self, r: int, c0: int, shown: int, cell: int) -> list[Segment]:
        """Row ``r``'s cells with a ● on the marked one, in a colour that reads on any level."""
        values = self.matrix[r, c0: c0 + shown].tolist()
        j = self.marks[r] - c0
        styles = P.SEQUENTIAL
        level = styles[P.level(values[j], 0.0, 1.0)]
        dot = Segment("●".center(cell), level + Style(color="red", bold=True))
        return (colour_cells(values[:j], cell, styles, 0.0, 1.0) + [dot]
                + colour_cells(values[j + 1:], cell, styles, 0.0, 1.0))

    def column_labels(self) -> list[str]:
        """The column labels as drawn: repeated tokens carry their position (``a₂``)."""
        return distinct_labels(self.cols)

    def _header(self, c0: int, shown: int, cell: int, label_w: int, focus_col: int, width: int,
                room: int) -> list[Strip]:
        """Column labels across when each fits with a gap to spare, else written downwards."""
        cols = self.column_labels()[c0: c0 + shown]
        fits = all(len(c) < cell for c in cols) or (cell == 1 and all(len(c) == 1 for c in cols))
        longest = max((len(c) for c in cols), default=1)
        depth = 1 if fits else min(longest, max(MIN_HEADER, min(MAX_HEADER, room)))
        out = []
        for d in range(depth):
            segments = [Segment(" " * (label_w + 1))]
            for j, c in enumerate(cols):
                piece = c if fits else (c[d] if d < len(c) else "")
                if not fits and d == depth - 1 and len(c) > depth:
                    piece = "…"
                style = P.CURRENT if self.current is not None and c0 + j == focus_col else P.BOLD
                segments.append(Segment(piece.center(cell)[:cell], style))
            out.append(line(segments, width))
        return out

    def _legend_lines(self, width: int, rows: tuple[int, int, int], cols: tuple[int, int, int]) -> list[Strip]:
        """The colour scale, the current row's strongest columns and which part is shown, never cut."""
        pieces = [legend("0", "1", P.SEQUENTIAL)]
        if self.current is not None:
            weights = self.matrix[self.current]
            names = self.column_labels()
            top = [Segment("top:", P.DIM)]
            for j in np.argsort(-weights)[:3]:
                top += [Segment(" " + P.label(names[j], 8), P.BOLD), Segment(f" {weights[j]:.2f}", P.MUTED)]
            pieces.append(top)
        r0, n_rows, body_h = rows
        if n_rows > body_h:
            pieces.append([Segment(f"rows {r0 + 1}-{min(n_rows, r0 + body_h)} of {n_rows}", P.DIM)])
        c0, n_cols, shown = cols
        if n_cols > shown:
            pieces.append([Segment(f"columns {c0 + 1}-{c0 + shown} of {n_cols}", P.DIM)])
        return flow(pieces, width)
