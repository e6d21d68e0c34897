"""All heads at a glance: every layer × head of one attention kind as small heatmaps (as bertviz does).

Each tile is one head's weights for the focus hypothesis (rows: output steps, columns: what is
attended to). Arrows move the selection; Enter opens the selected head large in the inspector.
Drawn with the line API into cached strips, like the big heatmap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from rich.segment import Segment
from textual.strip import Strip
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from . import palette as P
from .heatmap import StripWidget, colour_cells, flow, legend, line, text_line


@dataclass
class Tile:
    """One head's matrix (rows, cols) and which (layer, head) it is, both counted from 0."""

    layer: int
    head: int
    values: np.ndarray


class HeadGrid(StripWidget):
    """Tiles of every head, the selected one marked; wraps to the width it has."""

    DEFAULT_CSS = """
    HeadGrid { height: 1fr; }
    """
    can_focus = True

    def __init__(self, tiles: list[Tile], heads: int, selected: int = 0, *, id: Optional[str] = None):
        super().__init__(id=id)
        self.tiles, self.heads, self.selected = tiles, max(1, heads), selected

    def select(self, index: int) -> None:
        """Mark tile ``index`` (clamped to the tiles there are)."""
        self.selected = min(max(index, 0), len(self.tiles) - 1)
        self._strips = None
        self.refresh()

    def layout_for(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(cell width, lines per matrix row, matrix rows shown, tiles per line): one layer per line when
        it fits, tiles as large as the screen allows."""
        cols = max((t.values.shape[1] for t in self.tiles), default=1)
        rows = max((t.values.shape[0] for t in self.tiles), default=1)
        per_line = self.heads if self.heads * (cols + 2) <= width else max(1, width // (cols + 2))
        cell = max(1, min(6, (width // per_line - 2) // cols))
        lines = -(-len(self.tiles) // per_line)
        room = max(1, (height - 3) // lines - 1)  # lines for one tile's matrix (its title takes one)
        tall = max(1, min(3, room // rows, cell // 2 or 1))  # roughly square cells when there is room
        return cell, tall, max(1, min(rows, room // tall)), per_line

    def build(self, width: int, height: int) -> list[Strip]:
        if not self.tiles or width < 4:
            return [text_line("no attention to show", P.MUTED, width)]
        cell, tall, shown, per_line = self.layout_for(width, height)
        out = []
        for start in range(0, len(self.tiles), per_line):
            group = self.tiles[start: start + per_line]
            titles = []
            for k, tile in enumerate(group):
                w = tile.values.shape[1] * cell
                name = f"layer {tile.layer + 1} head {tile.head + 1}"
                name = name if len(name) <= w else f"L{tile.layer + 1} H{tile.head + 1}"
                style = P.CURRENT if start + k == self.selected else P.DIM
                titles += [Segment(name[:w].ljust(w), style), Segment("  ")]
            out.append(line(titles, width))
            for r in range(shown * tall):
                segments = []
                for k, tile in enumerate(group):
                    values = tile.values[-shown:]  # the latest steps
                    mark = "▌" if start + k == self.selected else " "
                    if r // tall < values.shape[0]:
                        segments += colour_cells(values[r // tall].tolist(), cell, P.SEQUENTIAL, 0.0, 1.0)
                    else:
                        segments.append(Segment(" " * tile.values.shape[1] * cell))
                    segments.append(Segment(mark + " ", P.ACCENT))
                out.append(line(segments, width))
        t = self.tiles[self.selected]
        out += flow([legend("0", "1", P.SEQUENTIAL),
                     [Segment(f"selected: layer {t.layer + 1} head {t.head + 1}", P.BOLD)],
                     [Segment("rows: output steps (latest at the bottom) · columns as in the big heatmap", P.DIM)]],
                    width)
        return out


class HeadsOverview(ModalScreen):
    """A full-screen grid of every head; Enter returns (layer, head), Escape returns None."""

    DEFAULT_CSS = """
    HeadsOverview { background: $surface; padding: 0 1; }
    HeadsOverview > #overview-title { height: auto; color: $accent; text-style: bold; }
    """
    BINDINGS = [
        Binding("escape,q,m", "dismiss(None)", "Close"),
        Binding("enter", "open", "Open large"),
        Binding("right", "move(1)", "Next head", show=False),
        Binding("left", "move(-1)", "Previous head", show=False),
        Binding("down", "move_line(1)", "Next layer", show=False),
        Binding("up", "move_line(-1)", "Previous layer", show=False),
    ]

    def __init__(self, title: str, tiles: list[Tile], heads: int, selected: int = 0):
        super().__init__()
        self.title_text, self.tiles, self.heads, self.start = title, tiles, heads, selected

    def compose(self) -> ComposeResult:
        yield Static(f"{self.title_text} · every layer × head · ← → ↑ ↓ select · Enter opens it large · "
                     "Esc closes", id="overview-title", markup=False)
        yield HeadGrid(self.tiles, self.heads, self.start, id="overview-grid")

    @property
    def grid(self) -> HeadGrid:
        return self.query_one(HeadGrid)

    def action_move(self, delta: int) -> None:
        self.grid.select(self.grid.selected + delta)

    def action_move_line(self, delta: int) -> None:
        self.grid.select(self.grid.selected + delta * self.heads)

    def action_open(self) -> None:
        tile = self.tiles[self.grid.selected]
        self.dismiss((tile.layer, tile.head))


def tiles_for(ins, opts) -> list[Tile]:
    """Every layer × head of the attention kind ``opts.view`` for the focus hypothesis, from the engine."""
    from dataclasses import replace

    from workbench.decoding import panels as X

    n_layers, n_heads = X.layer_count(ins, opts), X.head_count(ins)
    tiles = []
    for layer in range(n_layers):
        for head in range(n_heads):
            grid = X.attention_grid(ins, replace(opts, layer=layer, head=head, probe=None))
            if grid.values.size:
                tiles.append(Tile(layer, head, np.asarray(grid.values, dtype=np.float32)))
    return tiles
