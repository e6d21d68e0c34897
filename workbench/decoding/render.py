"""Rich renderables for decoding results: alignment heatmap, n-best list, next-token table, hidden strip.

Every piece of token text goes through ``rich.text.Text`` (never markup), so ``<eos>`` or ``[b]``
in a vocabulary shows literally. Heatmaps use shade glyphs as well as colour, so they stay
readable without colour, and wrap into column blocks to fit the console width (80 columns is fine).
Usable from the CLI and, as Rich renderables, inside the TUI.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from torch import Tensor

from .records import Hypothesis, StepRecord

SHADES = " ░▒▓█"
# Sequential palette (dark violet -> blue -> teal -> green -> yellow), interpolated linearly.
_STOPS = [(38, 16, 66), (49, 84, 140), (32, 144, 140), (94, 200, 98), (250, 230, 35)]
_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


# What a terminal would obey rather than show: C0 controls but tab and newline, DEL, C1 controls
# (ESC starts colour, title and cursor sequences), and the bidi overrides that reorder a line.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_control(text: str) -> str:
    """User text safe to echo: control characters as ``\\x1b`` / ``\\u202e`` escapes, the rest as is."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def token_label(token: str) -> str:
    """A token as shown in the terminal: whitespace made visible, control characters escaped."""
    if token.strip() != token or not token.strip():
        token = "".join(_VISIBLE.get(ch, ch) for ch in token)
    return escape_control(token)


def _abbrev(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def heat_color(value: float) -> str:
    """``rgb(...)`` colour of a value in [0, 1] on the sequential palette."""
    v = min(max(value, 0.0), 1.0) * (len(_STOPS) - 1)
    i = min(int(v), len(_STOPS) - 2)
    f = v - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(_STOPS[i], _STOPS[i + 1]))
    return f"rgb({r},{g},{b})"


def _shade(value: float) -> str:
    v = min(max(value, 0.0), 1.0)
    return "·" if v < 0.05 else SHADES[min(len(SHADES) - 1, 1 + int(v * (len(SHADES) - 1)))]


def heatmap(matrix: Tensor, rows: Sequence[str], cols: Sequence[str], *, width: int = 80,
            note: str = "") -> RenderableType:
    """(T, S) weights in [0, 1] as a grid: ``cols`` across the top, ``rows`` down the side, plus a legend."""
    labels = [token_label(r) for r in rows]
    label_w = min(max((len(x) for x in labels), default=1), 10)
    heads = [token_label(c) for c in cols]
    cell = min(max(max((len(h) for h in heads), default=1), 2), 4) + 1
    per_block = max(1, (width - label_w - 1) // cell)
    values = matrix.tolist()
    blocks: list[RenderableType] = []
    for start in range(0, len(cols), per_block):
        stop = min(start + per_block, len(cols))
        header = Text(" " * (label_w + 1))
        for h in heads[start:stop]:
            header.append(_abbrev(h, cell - 1).ljust(cell), style="bold")
        lines = [header]
        for label, row in zip(labels, values):
            line = Text(_abbrev(label, label_w).rjust(label_w) + " ", style="bold")
            for v in row[start:stop]:
                line.append(_shade(v) * (cell - 1) + " ", style=heat_color(v))
            lines.append(line)
        if len(cols) > per_block:
            lines.insert(0, Text(f"source positions {start + 1}-{stop} of {len(cols)}", style="dim"))
        blocks.extend(lines)
    blocks.append(legend(note))
    return Group(*blocks)


def legend(note: str = "") -> Text:
    text = Text("legend: 0 ")
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        text.append(_shade(v) * 2, style=heat_color(v))
    text.append(" 1")
    if note:
        text.append(f"   {note}", style="dim")
    return text


def nbest_table(hyps: Sequence[Hypothesis], detok, *, alpha: float = 0.0) -> Table:
    """The n-best list: rank, normalised score, log-probability, length, how it ended, the output."""
    table = Table(title="n-best hypotheses", title_justify="left", expand=False)
    for name, justify in (("#", "right"), ("score", "right"), ("log-prob", "right"), ("len", "right"),
                          ("end", "left"), ("output", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for i, h in enumerate(hyps, 1):
        table.add_row(Text(str(i)), Text(f"{h.score:.4f}"), Text(f"{h.logprob:.4f}"), Text(str(len(h.tokens))),
                      Text(h.status), Text(detok(h.tokens)))
    if alpha:
        table.caption = f"score = log-prob / ((5 + len) / 6)^{alpha:g}"
    return table


def probs_table(records: Sequence[StepRecord], hyp: Hypothesis, rows: Sequence[int], itos: Sequence[str], *,
                k: int = 5) -> Table:
    """Per step of ``hyp``: token fed, token chosen (its p and rank), and the top-k next tokens."""
    table = Table(title="next-token probabilities (top-k per step)", title_justify="left", expand=False)
    for name, justify in (("t", "right"), ("fed", "left"), ("chose", "left"), ("p", "right"), ("rank", "right"),
                          ("top-k", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for t, (record, row, cand) in enumerate(zip(records, rows, path_candidates(records, hyp, rows))):
        chose = Text(token_label(itos[cand.token]))
        if record.forced is not None:
            chose.append("*", style="bold magenta")
            table.caption = "* forced token"
        top = Text()
        for tok, p in record.topk(row)[:k]:
            top.append(token_label(itos[tok]), style="bold underline" if tok == cand.token else "")
            top.append(f" {_prob(p)} ", style="dim")
        top.rstrip()
        table.add_row(Text(str(t)), Text(token_label(itos[record.inputs[row]])), chose,
                      Text(_prob(math.exp(cand.token_logprob))), Text(str(cand.rank)), top)
    return table


def _prob(p: float) -> str:
    """A probability in 3 characters: .42, 1.0, <.01."""
    return "1.0" if p >= 0.995 else f"{p:.2f}"[1:] if p >= 0.005 else "<.01"


def path_candidates(records: Sequence[StepRecord], hyp: Hypothesis, rows: Sequence[int]):
    """The candidate that produced each token of ``hyp`` (its token, log-prob and rank)."""
    out = []
    for t, (record, row) in enumerate(zip(records, rows)):
        parent = record.rows[row]
        out.append(next(c for c in record.candidates if c.parent == parent and c.token == hyp.tokens[t]))
    return out


def hidden_strip(matrix: Tensor, rows: Sequence[str], *, width: int = 80, note: str = "") -> RenderableType:
    """(T, D) hidden states as a strip of units: red positive, blue negative, glyph by magnitude."""
    labels = [token_label(r) for r in rows]
    label_w = min(max((len(x) for x in labels), default=1), 10)
    units = max(1, min(matrix.shape[1], width - label_w - 2))
    scale = max(float(matrix.abs().max()), 1e-8)
    lines: list[RenderableType] = []
    for label, row in zip(labels, (matrix[:, :units] / scale).tolist()):
        line = Text(_abbrev(label, label_w).rjust(label_w) + " ", style="bold")
        for v in row:
            level = min(255, int(abs(v) * 255))
            color = f"rgb({level},{level // 5},{level // 5})" if v >= 0 else f"rgb({level // 5},{level // 3},{level})"
            line.append(_shade(abs(v)), style=color)
        lines.append(line)
    shown = f"units 0-{units - 1} of {matrix.shape[1]}" if units < matrix.shape[1] else f"{units} units"
    lines.append(Text(f"{shown}; red > 0, blue < 0, scaled by max |h| = {scale:.3g}. {note}".rstrip(), style="dim"))
    return Group(*lines)
