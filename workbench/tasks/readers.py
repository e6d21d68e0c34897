"""Reading the user's files: UTF-8 text and ``source<TAB>target`` lines, with one-line DataErrors."""

from __future__ import annotations

from pathlib import Path

from workbench.errors import DataError


def read_text(path: str | Path) -> str:
    """The whole file as text; DataError if it is missing, a directory, unreadable, not UTF-8 or empty."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{path}: no such file")
    if p.is_dir():
        raise DataError(f"{path}: is a directory, expected a file")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # utf-8-sig offsets count from after a BOM, if there was one.
        offset = e.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw[:offset].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 (byte 0x{raw[offset]:02x} at byte offset {offset})"
        ) from None
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    return text


def read_tsv(path: str | Path, names: tuple[str, str] = ("source", "target")) -> list[tuple[str, str]]:
    """The ``(source, target)`` pairs of a TSV file; blank lines are skipped, fields are stripped.

    ``names`` are the two columns' names in errors (a labelled file has "text" and "label")."""
    form = f"'{names[0]}<TAB>{names[1]}'"
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            found = "no tab" if len(fields) == 1 else f"{len(fields) - 1} tabs"
            raise DataError(f"{path}:{number}: expected {form}, found {found}")
        source, target = fields[0].strip(), fields[1].strip()
        if not source or not target:
            side = names[0] if not source else names[1]
            raise DataError(f"{path}:{number}: expected {form}, the {side} is empty")
        pairs.append((source, target))
    return pairs
