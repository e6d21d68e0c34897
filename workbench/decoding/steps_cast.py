"""A decoding's steps as an asciinema cast (``steps.cast``): the frames of ``steps_svg.py`` drawn as
terminal text, one a second, for ``asciinema play`` or a web player in slides and bug reports.

The cast is asciicast v2: a JSON header line (``version``, ``width``, ``height``, ``title``), then one
JSON line per event, ``[seconds, "o", text]``. Each step is one event that clears the screen and
draws the frame (Rich renders it to ANSI colours); a last event holds the final frame ``HOLD``
seconds and gives the cursor back. The frames carry what the SVG's do: the output so far (step t
reversed), the step's alignment row over the source as coloured cells with the weight's shade, and
the top candidates.
"""

from __future__ import annotations

import io
import json
from typing import Optional, Sequence

from rich.console import Console
from rich.text import Text
from torch import Tensor

from .render import heat_color
from .steps_svg import HOLD, MAX_CHARS, SECONDS

CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear the screen: each event is a whole frame
HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"
LEFT = 11  # columns for the row names ("attends", "output")


def _cell(token: str, width: int) -> str:
    token = token if len(token) <= MAX_CHARS else token[: MAX_CHARS - 1] + "…"
    return token.center(width)


def _frame(t: int, outputs: Sequence[str], columns: Sequence[str], row: Optional[list[float]],
           candidates: Sequence[tuple[str, float]], width: int, title: str) -> list[Text]:
    """The lines of step ``t``: heading, alignment row, output so far, candidates."""
    chosen = outputs[t]
    p = dict(candidates).get(chosen)
    lines = [Text(title, style="dim"),
             Text(f"step {t}: chose {chosen}" + (f" (p={p:.2f})" if p is not None else ""), style="bold")]
    if row is not None:
        line = Text("attends".ljust(LEFT))
        best = max(range(len(row)), key=row.__getitem__) if row else -1
        for j, (token, v) in enumerate(zip(columns, row)):
            ink = "white" if v < 0.5 else "black"  # the palette is dark below the middle
            line.append(_cell(token, width), style=f"{ink} on {heat_color(v)}" + (" bold underline" if j == best else ""))
        lines.append(line)
    line = Text("output".ljust(LEFT))
    for j, token in enumerate(outputs[: t + 1]):
        line.append(_cell(token, width), style="bold black on rgb(255,221,221)" if j == t else "black on rgb(238,238,255)")
    lines.append(line)
    lines.append(Text("candidates: " + ", ".join(f"{tok} {prob:.2f}" for tok, prob in candidates), style="dim"))
    return lines


def steps_cast(outputs: Sequence[str], columns: Sequence[str], rows: Optional[Tensor],
               candidates: Sequence[Sequence[tuple[str, float]]], title: str = "") -> str:
    """The asciicast v2 text (header line, then events) with one frame per output token; the arguments are
    ``steps_svg``'s."""
    longest = max((len(tok) for tok in [*outputs, *columns]), default=1)
    cell = min(longest, MAX_CHARS) + 2
    frames = [_frame(t, outputs, columns, rows[t].tolist() if rows is not None else None,
                     candidates[t] if t < len(candidates) else (), cell, title) for t in range(len(outputs))]
    width = max([80] + [line.cell_len for lines in frames for line in lines])
    height = max([len(lines) for lines in frames] + [1]) + 1
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=width,
                      legacy_windows=False, soft_wrap=True, emoji=False, highlight=False)
    header = {"version": 2, "width": width, "height": height, "title": title,
              "env": {"TERM": "xterm-256color"}}
    events = []
    for t, lines in enumerate(frames):
        with console.capture() as capture:
            for line in lines:
                console.print(line)
        text = capture.get().replace("\n", "\r\n")  # a terminal in raw mode needs the carriage return
        events.append([round(t * SECONDS, 3), "o", (HIDE if t == 0 else "") + CLEAR + text])
    if frames:
        events.append([round((len(frames) - 1 + HOLD) * SECONDS, 3), "o", SHOW])
    return "\n".join(json.dumps(x, ensure_ascii=False) for x in [header, *events]) + "\n"
