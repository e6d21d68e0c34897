"""Regenerates the committed sample corpora (``seqbench data make``): dates.tsv and numbers.tsv.

Both files are a pure function of the code below and the versions of Babel (CLDR locale data)
and num2words: the same versions always give byte-identical files. ``GENERATED_WITH`` records
the versions the committed files were made with.

dates.tsv    a date written out by Babel in one of 8 locales and several styles -> ISO YYYY-MM-DD.
             Every input means exactly one date: numeric styles are all day-first (never the US
             month-first ``M/d/y``), and any input that two different dates would produce is
             dropped while generating.
numbers.tsv  num2words English -> French for 0..9999: four-digit numbers cover every French
             irregularity (soixante-dix, quatre-vingts, "et un", cent/cents, mille) and the
             non-monotonic alignments of 70-99 (seventy-seven -> soixante-dix-sept).
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path

GENERATED_WITH = {"babel": "2.18.0", "num2words": "0.5.14"}

DATE_SEED = 0
DATE_LINES = 20_000
FIRST_DAY, LAST_DAY = date(1950, 1, 1), date(2049, 12, 31)
DATE_LOCALES = ("en", "en_GB", "fr", "de", "es", "it", "pt", "nl")
# Babel's named styles plus CLDR patterns with month names; each is rendered in every locale.
NAMED_STYLES = ("full", "long", "medium", "d MMMM y", "d MMM y", "EEE d MMM y")
# At most one numeric style per separator, all day-first with a four-digit year, so no input
# can be read as two dates. Digits and separators do not depend on the locale.
NUMERIC_STYLES = ("dd/MM/y", "dd.MM.y", "d-M-y")
NUMBER_RANGE = range(0, 10_000)


def generator_versions() -> dict[str, str]:
    """Installed versions of the libraries that generate the corpora (compare with GENERATED_WITH)."""
    return {name: version(name) for name in GENERATED_WITH}


def date_pairs(n: int = DATE_LINES, seed: int = DATE_SEED) -> list[tuple[str, str]]:
    """``n`` (written date, ISO date) pairs with distinct inputs, each input meaning one date."""
    from babel import Locale
    from babel.dates import format_date

    locales = {name: Locale.parse(name) for name in DATE_LOCALES}
    styles = [(loc, style) for loc in DATE_LOCALES for style in NAMED_STYLES]
    styles += [("en", pattern) for pattern in NUMERIC_STYLES]
    n_days = (LAST_DAY - FIRST_DAY).days + 1
    rng = random.Random(seed)
    meaning: dict[str, str] = {}  # written -> ISO, in first-drawn order
    ambiguous: set[str] = set()
    while len(meaning) < n:
        day = FIRST_DAY + timedelta(days=rng.randrange(n_days))
        loc, style = rng.choice(styles)
        written = format_date(day, style, locale=locales[loc])
        if written in ambiguous:
            continue
        if written in meaning and meaning[written] != day.isoformat():
            del meaning[written]
            ambiguous.add(written)
            continue
        meaning.setdefault(written, day.isoformat())
    return list(meaning.items())


def number_pairs(numbers: range = NUMBER_RANGE) -> list[tuple[str, str]]:
    """(English words, French words) for each number, from num2words."""
    from num2words import num2words

    return [(num2words(k, lang="en"), num2words(k, lang="fr")) for k in numbers]


def tsv_bytes(pairs: list[tuple[str, str]]) -> bytes:
    """The file form of pairs: ``source<TAB>target`` lines, UTF-8, newline-terminated."""
    for source, target in pairs:
        if any(ch in "\t\r\n" for ch in source + target):
            raise ValueError(f"generated text contains a tab or newline: {source!r} -> {target!r}")
    return "".join(f"{source}\t{target}\n" for source, target in pairs).encode("utf-8")


def make_sample_data(out_dir: Path) -> list[Path]:
    """Write dates.tsv and numbers.tsv into ``out_dir`` (atomically); return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, pairs in (("dates.tsv", date_pairs()), ("numbers.tsv", number_pairs())):
        path = out_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_bytes(tsv_bytes(pairs))
        os.replace(tmp, path)
        written.append(path)
    return written
