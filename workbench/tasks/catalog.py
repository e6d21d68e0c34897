"""The task catalogue: what each task is, importable without torch (the CLI's --help reads it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLE_DATA_DIR = Path(__file__).resolve().parents[2] / "sample_data"  # dates.tsv, numbers.tsv


@dataclass(frozen=True)
class TaskInfo:
    """What the launcher shows about a task before building it."""

    name: str
    family: str  # "lm" or "seq2seq"
    description: str  # one line
    needs_data: bool  # True when the user must supply a file (no default corpus)
    is_translation: bool  # True when BLEU/chrF make sense (natural-language targets)


_INFOS = (
    # name, family, description, needs_data, is_translation
    ("copy", "seq2seq", "Copy a random string: the diagonal alignment, the easiest task.", False, False),
    ("reverse", "seq2seq", "Reverse a random string: an anti-diagonal alignment.", False, False),
    ("sort", "seq2seq", "Sort a string's characters into alphabet order: counting, not alignment.", False, False),
    ("charlm", "lm", "Character language model on a text (default: Python's bundled docs).", False, False),
    ("dates", "seq2seq", "Dates written out in 8 locales -> ISO YYYY-MM-DD, character by character.", False, True),
    ("numbers", "seq2seq", "English number words -> French number words (0-9999), word by word.", False, True),
    ("tsv", "seq2seq", "Your parallel file: one 'source<TAB>target' per line (--data).", True, True),
)
TASKS: dict[str, TaskInfo] = {row[0]: TaskInfo(*row) for row in _INFOS}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)  # the one list of task names, in catalogue order
LM_TASKS: tuple[str, ...] = tuple(name for name, info in TASKS.items() if info.family == "lm")
