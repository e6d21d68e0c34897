"""One panel of the screen, as drawn, written to an SVG and a PNG for papers, slides and bug reports.

    written, note = export_panel(widget, Path("out"), "alignment")

The panel's cells are read from what the screen shows (its border, caption and colours included),
cropped to the widget. The SVG is Rich's terminal export of those cells; the PNG paints the same
cells with Pillow, an optional extra (``pip install 'seqbench[png]'``). Without Pillow the SVG is
still written and ``note`` says why there is no PNG.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional, Sequence

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from workbench.errors import UserError
from workbench.runs import atomic_write

CELL = (10, 20)  # PNG pixels per terminal cell (width, height)
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono{}.ttf", "/Library/Fonts/Menlo{}.ttc",
         "C:/Windows/Fonts/consola{}.ttf")
INK, PAPER = (224, 224, 224), (18, 18, 18)  # where a cell has no colour of its own (Textual's dark theme)
NO_PNG = "no PNG: it needs Pillow (pip install 'seqbench[png]'); the SVG has the same picture"

Line = Sequence[Segment]


def widget_lines(widget) -> list[Line]:
    """The cells the screen shows inside ``widget`` (border included), one list of segments per row."""
    region = widget.region
    if not region.area:
        raise UserError("that panel is not on screen: show it first (its tab, or a larger terminal)")
    strips = widget.screen._compositor.render_strips()
    return [list(strip.crop(region.x, region.right)) for strip in strips[region.y: region.bottom]]


def lines_svg(lines: Sequence[Line], title: str) -> str:
    """Rich's SVG export of the cells (a terminal window around them)."""
    width = max((sum(seg.cell_length for seg in line) for line in lines), default=1)
    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor", record=True,
                      legacy_windows=False, safe_box=False)
    for line in lines:
        console.print(Text.assemble(*((seg.text, seg.style) for seg in line if not seg.control)), no_wrap=True,
                      crop=True)
    return console.export_svg(title=title)


def _colours(style: Optional[Style]) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(ink, paper) of a cell as RGB, reverse and dim applied."""
    ink, paper = INK, PAPER
    if style is not None:
        if style.color is not None and not style.color.is_default:
            ink = tuple(style.color.get_truecolor())
        if style.bgcolor is not None and not style.bgcolor.is_default:
            paper = tuple(style.bgcolor.get_truecolor())
        if style.reverse:
            ink, paper = paper, ink
        if style.dim:
            ink = tuple((a + b) // 2 for a, b in zip(ink, paper))
    return ink, paper


def _font(bold: bool, size: int):
    from PIL import ImageFont

    for pattern in FONTS:
        try:
            return ImageFont.truetype(pattern.format("-Bold" if bold else ""), size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def lines_png(lines: Sequence[Line]) -> bytes:
    """The cells painted as a PNG (ImportError without Pillow)."""
    from PIL import Image, ImageDraw

    from rich.cells import cell_len

    w, h = CELL
    width = max((sum(seg.cell_length for seg in line) for line in lines), default=1)
    image = Image.new("RGB", (width * w, max(len(lines), 1) * h), PAPER)
    draw = ImageDraw.Draw(image)
    fonts = {bold: _font(bold, int(h * 0.8)) for bold in (False, True)}
    for y, line in enumerate(lines):
        x = 0
        for seg in line:
            if seg.control:
                continue
            ink, paper = _colours(seg.style)
            font = fonts[bool(seg.style and seg.style.bold)]
            for ch in seg.text:
                cells = cell_len(ch)
                draw.rectangle([x * w, y * h, (x + cells) * w - 1, (y + 1) * h - 1], fill=paper)
                if ch.strip():
                    draw.text((x * w + cells * w / 2, y * h + h / 2), ch, fill=ink, font=font, anchor="mm")
                if seg.style is not None and seg.style.underline:
                    draw.line([x * w, (y + 1) * h - 2, (x + cells) * w - 1, (y + 1) * h - 2], fill=ink)
                x += cells
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def export_panel(widget, directory: Path, stem: str, title: str = "") -> tuple[list[Path], Optional[str]]:
    """Write ``stem``.svg and ``stem``.png of ``widget`` into ``directory``; returns the paths written and
    a note when the PNG could not be made. UserError when the panel is not on screen or a write fails."""
    lines = widget_lines(widget)
    written, note = [], None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / f"{stem}.svg", lines_svg(lines, title or stem))
        written.append(directory / f"{stem}.svg")
        try:
            png = lines_png(lines)
        except ImportError:
            note = NO_PNG
        else:
            atomic_write(directory / f"{stem}.png", png)
            written.append(directory / f"{stem}.png")
    except OSError as exc:
        raise UserError(f"cannot write {directory}: {exc.strerror or exc}") from None
    return written, note


def save_panel(screen, widget, directory: Path, name: str, title: str) -> Optional[list[Path]]:
    """``export_panel`` as a key does it: ``name``-<time>.svg/.png into ``directory`` and a notice saying
    what was written (or why not); returns the paths written, None when nothing was."""
    import time

    stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    stem += next((f"-{n}" for n in range(2, 100) if (directory / f"{stem}.svg").exists()
                  and not (directory / f"{stem}-{n}.svg").exists()), "")  # two saves in one second
    try:
        written, note = export_panel(widget, directory, stem, title=title)
    except UserError as exc:
        screen.notify(str(exc), severity="warning", timeout=6)
        return None
    message = f"wrote {', '.join(str(p) for p in written)}" + (f"\n{note}" if note else "")
    screen.notify(message, title=f"Saved the {name} panel", severity="warning" if note else "information",
                  timeout=10)
    return written

