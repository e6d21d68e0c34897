"""Colour scales and text helpers shared by the inspector's widgets.

Every colour scale is a short list of precomputed Rich ``Style``s (one per level), so drawing a
cell is a list lookup, never a parse. Token text always goes through ``label`` (whitespace made
visible, everything else literal) and into ``Text`` / ``Segment``s, never into markup.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.color import Color
from rich.style import Style

from workbench.decoding.render import heat_color, token_label

LEVELS = 24  # colour levels of every scale
# Diverging scale for signed values: blue (negative) -> near-black (0) -> red (positive).
_NEG, _MID, _POS = (64, 128, 255), (28, 28, 34), (255, 88, 64)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], f: float) -> Color:
    return Color.from_rgb(*(round(x + (y - x) * f) for x, y in zip(a, b)))


def _sequential_bg() -> list[Style]:
    return [Style(bgcolor=Color.parse(heat_color(i / (LEVELS - 1)))) for i in range(LEVELS)]


def _diverging_bg() -> list[Style]:
    half = (LEVELS - 1) / 2
    out = []
    for i in range(LEVELS):
        f = (i - half) / half  # -1 .. 1
        out.append(Style(bgcolor=_mix(_MID, _POS, f) if f >= 0 else _mix(_MID, _NEG, -f)))
    return out


SEQUENTIAL = _sequential_bg()  # weights in [0, 1] (attention, gates)
DIVERGING = _diverging_bg()  # signed values in [-vmax, vmax] (hidden states)
SEQUENTIAL_FG = [Style(color=s.bgcolor) for s in SEQUENTIAL]
DIVERGING_FG = [Style(color=s.bgcolor) for s in DIVERGING]

# Confidence of an emitted token (its probability), low to high.
CONFIDENCE = [(0.2, Style(color="rgb(255,95,95)", bold=True)), (0.5, Style(color="rgb(255,175,0)")),
              (0.9, Style(color="rgb(215,215,95)")), (1.01, Style(color="rgb(95,215,95)"))]

DIM = Style(dim=True)
BOLD = Style(bold=True)
MUTED = Style(color="grey62")
ACCENT = Style(color="rgb(95,175,255)", bold=True)
CURRENT = Style(color="black", bgcolor="rgb(255,215,95)", bold=True)
FORCED = Style(color="magenta", bold=True, underline=True)
GOOD = Style(color="rgb(95,215,95)")
BAD = Style(color="rgb(255,95,95)")


def level(value: float, lo: float = 0.0, hi: float = 1.0) -> int:
    """Index 0..LEVELS-1 of ``value`` on the scale [lo, hi] (NaN maps to the bottom)."""
    if not math.isfinite(value) or hi <= lo:
        return 0
    f = (value - lo) / (hi - lo)
    return min(LEVELS - 1, max(0, int(f * LEVELS)))


def signed_level(value: float, vmax: float) -> int:
    """Index on the diverging scale for ``value`` in [-vmax, vmax]."""
    return level(value, -vmax, vmax)


def confidence_style(p: float) -> Style:
    for bound, style in CONFIDENCE:
        if p < bound:
            return style
    return CONFIDENCE[-1][1]


def label(token: str, width: int | None = None) -> str:
    """A token as the terminal shows it, cut to ``width`` with an ellipsis."""
    text = token_label(token)
    if width is not None and len(text) > width:
        return text[: max(width - 1, 0)] + "…" if width > 1 else text[:width]
    return text


def labels(tokens: Sequence[str]) -> list[str]:
    return [token_label(t) for t in tokens]


def prob(p: float) -> str:
    """A probability in 4 characters: 0.93, 1.00, <.01."""
    if p >= 0.995:
        return "1.00"
    return f"{p:.2f}" if p >= 0.005 else "<.01"


def num(x: float, width: int = 6) -> str:
    """A log-probability or score, right-aligned: -inf shows as -inf."""
    if not math.isfinite(x):
        return ("-inf" if x < 0 else "inf").rjust(width)
    return f"{x:.2f}".rjust(width)


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of ``width`` cells filled to ``fraction`` (eighth-cell resolution)."""
    eighths = max(0, min(width * 8, round(fraction * width * 8)))
    full, part = divmod(eighths, 8)
    return ("█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")).ljust(width)
