"""A decoding's steps as one animated SVG for slides: each step a frame, shown one after another.

Frame t shows the output so far (token t outlined), the step's alignment row over the source (or
the prefix, for a language model's self-attention) as coloured cells, and the model's top
candidates there. The frames are ``<g class="frame">`` groups stacked in one place; a CSS
animation shows each for ``SECONDS`` and the cycle repeats, the last frame held longer. Browsers,
Inkscape and slide tools that embed SVG in a web view play it; anything without CSS animation
shows the last frame (every frame but the last starts hidden).
"""

from __future__ import annotations

from typing import Optional, Sequence
from xml.sax.saxutils import escape

from torch import Tensor

from .render import heat_color

CELL = 28  # px per token cell, at least (wider for longer tokens, up to MAX_CHARS characters)
MAX_CHARS = 8
CHAR = 8  # px per monospace character at font-size 13
SECONDS = 1.0  # each step's time on screen
HOLD = 3  # the last frame stays this many steps' time before the cycle restarts


def _cells(y: int, left: int, w: int, tokens: Sequence[str], fills: Sequence[str], outline: Optional[int] = None,
           inks: Optional[Sequence[str]] = None) -> list[str]:
    """A row of token cells ``w`` px wide from x = ``left``; ``outline`` marks one."""
    out = []
    for j, (token, fill) in enumerate(zip(tokens, fills)):
        ink = inks[j] if inks else "black"
        x = left + j * w
        stroke = ' stroke="#d62728" stroke-width="3"' if j == outline else ' stroke="#999" stroke-width="0.5"'
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{CELL}" fill="{fill}"{stroke}/>')
        label = escape(token if len(token) <= MAX_CHARS else token[: MAX_CHARS - 1] + "…")
        out.append(f'<text x="{x + w / 2}" y="{y + CELL * 0.65:.1f}" text-anchor="middle" fill="{ink}">{label}</text>')
    return out


def _frame(t: int, outputs: Sequence[str], columns: Sequence[str], row: Optional[list[float]],
           candidates: Sequence[tuple[str, float]], left: int, w: int) -> list[str]:
    """The SVG elements of step ``t`` (inside its frame group)."""
    chosen = outputs[t]
    p = dict(candidates).get(chosen)
    head = f"step {t}: chose {chosen}" + (f" (p={p:.2f})" if p is not None else "")
    out = [f'<text x="8" y="44" font-weight="bold">{escape(head)}</text>']
    if row is not None:
        out.append('<text x="8" y="78">attends</text>')
        inks = ["white" if v < 0.5 else "black" for v in row]  # the palette is dark below the middle
        out += _cells(58, left, w, columns, [heat_color(v) for v in row], max(range(len(row)), key=row.__getitem__), inks)
    out.append('<text x="8" y="128">output</text>')
    out += _cells(108, left, w, outputs[: t + 1], ["#eef"] * t + ["#fdd"], outline=t)
    ranked = ", ".join(f"{tok} {prob:.2f}" for tok, prob in candidates)
    out.append(f'<text x="8" y="166" fill="#555">{escape("candidates: " + ranked)}</text>')
    return out


def steps_svg(outputs: Sequence[str], columns: Sequence[str], rows: Optional[Tensor],
              candidates: Sequence[Sequence[tuple[str, float]]], title: str = "") -> str:
    """An animated SVG with one frame per output token. ``rows`` (T, C): each step's alignment over
    ``columns`` (None: a model without attention); ``candidates[t]``: (token, probability), best first."""
    T = len(outputs)
    left = 72
    longest = max((len(tok) for tok in [*outputs, *columns]), default=1)
    w = max(CELL, CHAR * min(longest, MAX_CHARS) + 10)
    texts = [title] + [f"candidates: " + ", ".join(f"{tok} {p:.2f}" for tok, p in c) for c in candidates]
    width = max(left + w * max(len(columns) if rows is not None else 0, T, 1), CHAR * max(map(len, texts))) + 16
    height = 180
    cycle = (T - 1 + HOLD) * SECONDS
    style = [".frame { visibility: hidden; }", ".frame:last-of-type { visibility: visible; }"]
    groups = []
    for t in range(T):
        start, end = 100 * t * SECONDS / cycle, 100 * min((t + 1) * SECONDS / cycle, 1.0)
        if t == T - 1:
            end = 100.0
        style.append(f"@keyframes f{t} {{ 0%, 100% {{ visibility: hidden; }} {start:.3f}% {{ visibility: visible; }} "
                     f"{end:.3f}% {{ visibility: {'visible' if end >= 100 else 'hidden'}; }} }}")
        style.append(f"#f{t} {{ animation: f{t} {cycle:g}s step-end infinite; }}")
        row = rows[t].tolist() if rows is not None else None
        body = _frame(t, outputs, columns, row, candidates[t] if t < len(candidates) else (), left, w)
        groups.append(f'<g class="frame" id="f{t}"><title>step {t}</title>' + "".join(body) + "</g>")
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" '
        f'font-size="13">',
        "<style>\n" + "\n".join(style) + "\n</style>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="8" y="18" fill="#333">{escape(title)}</text>',
        *groups, "</svg>"]) + "\n"
