"""Reading a real parallel corpus: chosen columns, normalised spaces, and every dropped line counted.

Real exports are messy: Tatoeba adds a third attribution column, French text carries no-break
and narrow no-break spaces, pairs repeat, a download ends in a truncated line. ``read_pairs``
keeps what it can, drops the rest with a reason and a line number (``ReadLog``), and fails only
on what the user must decide (a file with more columns than the two it expects).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import DataError
from workbench.tasks.readers import read_text

# Unicode space separators other than the plain space (U+00A0 no-break, U+202F narrow no-break,
# U+2009 thin, U+3000 ideographic...) and the zero-width no-break space a stray BOM leaves mid-file.
_ODD_SPACE = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\ufeff]")
_SPACE_RUN = re.compile(" {2,}")
_ATTRIBUTION = re.compile(r"attribution|tatoeba|cc-by|creativecommons", re.IGNORECASE)

NO_TAB = "no tab (truncated line?)"
FEW_COLUMNS = "too few columns"
EMPTY_SOURCE = "empty source"
EMPTY_TARGET = "empty target"
DUPLICATE = "duplicate pair"


@dataclass
class Pair:
    """One kept pair, with the file line it came from (for reports and warnings)."""

    source: str
    target: str
    line: int


@dataclass
class ReadLog:
    """What reading one file did: lines read, spaces normalised, lines dropped and why."""

    path: str
    lines: int = 0  # non-blank lines
    normalized: Counter = field(default_factory=Counter)  # "U+202F" -> characters replaced
    normalized_lines: int = 0
    dropped: dict[str, list[int]] = field(default_factory=dict)  # reason -> line numbers

    def drop(self, reason: str, line: int) -> None:
        self.dropped.setdefault(reason, []).append(line)

    @property
    def n_dropped(self) -> int:
        return sum(len(lines) for lines in self.dropped.values())


def parse_columns(spec: str | None) -> tuple[int, int] | None:
    """``"1,2"`` -> (0, 1): the 0-based source and target columns; None keeps the two-column rule."""
    if spec is None:
        return None
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 2 or not all(p.isdigit() and int(p) >= 1 for p in parts) or parts[0] == parts[1]:
        raise DataError(f"--columns {spec!r}: expected two different column numbers like 1,2")
    return int(parts[0]) - 1, int(parts[1]) - 1


def normalize_spaces(text: str, counts: Counter) -> str:
    """``text`` with every odd Unicode space made plain, runs of spaces collapsed, ends stripped."""
    if _ODD_SPACE.search(text):
        counts.update(f"U+{ord(ch):04X}" for ch in _ODD_SPACE.findall(text))
        text = _ODD_SPACE.sub(" ", text)
    if "  " in text:
        text = _SPACE_RUN.sub(" ", text)
    return text.strip()


class ColumnsError(DataError):
    """A line has more columns than the two expected: the user must choose (``tatoeba``: an attribution third)."""

    def __init__(self, message: str, tatoeba: bool = False):
        super().__init__(message)
        self.tatoeba = tatoeba


def _too_many_columns(path: str, number: int, fields: list[str]) -> DataError:
    found = f"found {len(fields) - 1} tabs"
    if len(fields) == 3 and _ATTRIBUTION.search(fields[2]):
        return ColumnsError(f"{path}:{number}: expected 'source<TAB>target', {found}: the third column looks like "
                         "Tatoeba's attribution; pass --columns 1,2 to read source and target from the first two", tatoeba=True)
    return ColumnsError(f"{path}:{number}: expected 'source<TAB>target', {found}; "
                     "choose the source and target columns with --columns 1,2")


def read_pairs(path: str, columns: str | None = None, normalize: str = "spaces") -> tuple[list[Pair], ReadLog]:
    """The kept pairs of a TSV file and the log of what was normalised and dropped.

    Without ``columns`` a line must have exactly two fields; with it, the two named fields are
    taken and the rest ignored. A line with too few fields (a truncated last line), an empty side
    or a repeat of an earlier pair is dropped and logged; a file where nothing is left is an error.
    """
    cols = parse_columns(columns)
    log = ReadLog(str(path))
    pairs: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        log.lines += 1
        fields = line.split("\t")
        if cols is None and len(fields) > 2:
            raise _too_many_columns(str(path), number, fields)
        need = 2 if cols is None else max(cols) + 1
        if len(fields) < need:
            log.drop(NO_TAB if len(fields) == 1 else FEW_COLUMNS, number)
            continue
        source, target = (fields[0], fields[1]) if cols is None else (fields[cols[0]], fields[cols[1]])
        if normalize == "spaces":
            before = sum(log.normalized.values())
            source, target = normalize_spaces(source, log.normalized), normalize_spaces(target, log.normalized)
            log.normalized_lines += sum(log.normalized.values()) > before
        else:
            source, target = source.strip(), target.strip()
        if not source or not target:
            log.drop(EMPTY_SOURCE if not source else EMPTY_TARGET, number)
            continue
        if (source, target) in seen:
            log.drop(DUPLICATE, number)
            continue
        seen.add((source, target))
        pairs.append(Pair(source, target, number))
    if not pairs:
        raise DataError(f"{path}: no usable 'source<TAB>target' line ({describe_drops(log.dropped)})")
    return pairs, log


def describe_drops(dropped: dict[str, list], limit: int = 3) -> str:
    """'2 no tab (truncated line?) (lines 7, 9), 1 duplicate pair (line 4)' for a report or an error."""
    parts = []
    for reason, lines in dropped.items():
        shown = ", ".join(str(n) for n in lines[:limit]) + (", ..." if len(lines) > limit else "")
        parts.append(f"{len(lines)} {reason} (line{'s' if len(lines) > 1 else ''} {shown})")
    return ", ".join(parts) or "nothing dropped"


def file_name(path: str) -> str:
    """The name a report uses for a file: its base name."""
    return Path(path).name
