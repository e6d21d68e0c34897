"""Writing a decoded hypothesis's attention and hidden states to files for papers and slides.

- ``attention.csv``  the heatmap matrix (T output tokens x S source tokens), tokens as header / first column
- ``attention.npy``  the full alignment (T, L, H, S) as float32
- ``attention.svg``  the heatmap drawn as a standalone SVG (no plotting library needed)
- ``hidden.npy``     decoder hidden states (T, L, D)

Language models without cross-attention export their self-attention over the prefix instead
(``self_attention.*``, T x prefix positions, zero where a position did not exist yet).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional, Sequence
from xml.sax.saxutils import escape

import numpy as np
from torch import Tensor

from ..runs import atomic_write
from .render import heat_color

CELL = 22  # SVG cell size in pixels


def write_matrix_csv(path: Path, matrix: Tensor, rows: Sequence[str], cols: Sequence[str]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["output\\source"] + list(cols))
    for label, values in zip(rows, matrix.tolist()):
        writer.writerow([label] + [f"{v:.6g}" for v in values])
    atomic_write(path, buf.getvalue())


def write_npy(path: Path, tensor: Tensor) -> None:
    buf = io.BytesIO()
    np.save(buf, tensor.detach().float().cpu().numpy())
    atomic_write(path, buf.getvalue())


def heatmap_svg(matrix: Tensor, rows: Sequence[str], cols: Sequence[str], title: str = "") -> str:
    """An SVG heatmap: ``cols`` rotated along the top, ``rows`` on the left, a legend at the bottom."""
    T, S = matrix.shape
    left = 12 + 8 * min(max((len(r) for r in rows), default=1), 16)
    top = 24 + 7 * min(max((len(c) for c in cols), default=1), 16)
    width, height = left + S * CELL + 20, top + T * CELL + 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="4" y="14" font-weight="bold">{escape(title)}</text>']
    for j, col in enumerate(cols):
        x, y = left + j * CELL + CELL / 2 + 4, top - 4
        out.append(f'<text x="{x}" y="{y}" transform="rotate(-60 {x} {y})">{escape(col)}</text>')
    for i, (label, values) in enumerate(zip(rows, matrix.tolist())):
        y = top + i * CELL
        out.append(f'<text x="{left - 4}" y="{y + CELL * 0.7:.1f}" text-anchor="end">{escape(label)}</text>')
        for j, v in enumerate(values):
            out.append(f'<rect x="{left + j * CELL}" y="{y}" width="{CELL}" height="{CELL}" '
                       f'fill="{heat_color(v)}"><title>{v:.3f}</title></rect>')
    y = top + T * CELL + 16
    out.append(f'<text x="{left}" y="{y + 14}">0</text>')
    for k in range(11):
        out.append(f'<rect x="{left + 12 + k * 14}" y="{y + 3}" width="14" height="14" fill="{heat_color(k / 10)}"/>')
    out.append(f'<text x="{left + 12 + 11 * 14 + 4}" y="{y + 14}">1</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def export_attention(directory: Path, stem: str, full: Optional[Tensor], matrix: Tensor, rows: Sequence[str],
                     cols: Sequence[str], title: str) -> list[Path]:
    """Write ``stem``.csv/.npy/.svg into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{stem}.csv", directory / f"{stem}.npy", directory / f"{stem}.svg"]
    write_matrix_csv(paths[0], matrix, rows, cols)
    write_npy(paths[1], full if full is not None else matrix)
    atomic_write(paths[2], heatmap_svg(matrix, rows, cols, title))
    return paths
