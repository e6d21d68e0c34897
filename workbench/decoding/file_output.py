"""What the two file decoders (``batch_file`` for decoders, ``encoder_file`` for encoders) share: a progress
bar on a terminal, and writing the outputs to a file or standard output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

from ..errors import UserError


def write_output(path: Optional[str], text: str) -> None:
    """The outputs to ``path`` (written atomically), or to standard output."""
    if path:
        from ..fileio import atomic_write

        try:
            atomic_write(Path(path), text)
        except OSError as exc:
            raise UserError(f"cannot write --output {path}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def decode_with_progress(decoder: Any, lines: list[str], prepared: Any, err) -> list[Any]:
    """Decode, with a progress bar on stderr when it is a terminal."""
    if not err.is_terminal:
        return decoder.decode(lines, prepared)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("decoding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        bar = progress.add_task("decode", total=len(lines))
        return decoder.decode(lines, prepared, advance=lambda n: progress.advance(bar, n))


def line_numbers(numbers: list[int]) -> str:
    """'3, 7, 9, 12, 40, ...': the first five line numbers of a list."""
    return ", ".join(map(str, numbers[:5])) + (", ..." if len(numbers) > 5 else "")


def input_warnings(prepared: Any, cut: str, unknown_as: str) -> list[str]:
    """The warnings every ``--input-file`` gives before its outputs: lines cut (``cut`` says to what),
    input tokens outside the vocabulary (read ``unknown_as``), empty lines."""
    out = []
    if prepared.cut:
        out.append(f"{len(prepared.cut):,} lines cut to {cut} (lines {line_numbers(prepared.cut)})")
    if prepared.unknown:
        common = ", ".join(repr(t) for t, _ in prepared.unknown.most_common(5))
        out.append(f"{sum(prepared.unknown.values()):,} input tokens not in the vocabulary, {unknown_as} "
                   f"(most common: {common})")
    empty = sum(ids is None for ids in prepared.ids)
    if empty:
        out.append(f"{empty:,} empty lines give empty outputs")
    return out
