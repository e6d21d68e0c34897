"""The task catalogue: what each task is, importable without torch (the CLI's --help reads it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLE_DATA_DIR = Path(__file__).resolve().parents[2] / "sample_data"  # dates.tsv, numbers.tsv


@dataclass(frozen=True)
class TaskInfo:
    """What the launcher shows about a task before building it."""

    name: str
    family: str  # "lm", "seq2seq" or "encoder"
    description: str  # one line
    needs_data: bool  # True when the user must supply a file (no default corpus)
    is_translation: bool  # True when BLEU/chrF make sense (natural-language targets)
    # (val metric, value) at which the task counts as solved: the app and the CLI say when it is reached
    solved_at: tuple[str, float] | None = None
    head: str | None = None  # encoder family: "tag", "classify" or "mlm" (the model's head)
    best: str | None = None  # the val metric that picks the best checkpoint, where the family's would not do


_EXACT_99 = ("exact_match", 0.99)  # a synthetic task is solved when 99% of val outputs are exact
_INFOS = (
    # name, family, description, needs_data, is_translation, solved_at
    ("copy", "seq2seq", "Copy a random string: the diagonal alignment, the easiest task.", False, False, _EXACT_99),
    ("reverse", "seq2seq", "Reverse a random string: an anti-diagonal alignment.", False, False, _EXACT_99),
    ("sort", "seq2seq", "Sort a string's characters into alphabet order: counting, not alignment.", False, False,
     _EXACT_99),
    ("num2words", "seq2seq", "A number (0-99999) in digits -> its English words: one input vector, a sequence out "
     "(1 vs N).", False, False, _EXACT_99),
    ("skipthought", "seq2seq", "Skip-thought: encode a sentence, write the one before and the one after (toy stories, "
     "or --data text).", False, False, None, None, "accuracy"),  # a sentence does not always fix its neighbours
    ("charlm", "lm", "Character language model on a text (default: Python's bundled docs).", False, False, None),
    ("dates", "seq2seq", "Dates written out in 8 locales -> ISO YYYY-MM-DD, character by character.", False, True,
     _EXACT_99),
    ("numbers", "seq2seq", "English number words -> French number words (0-9999), word by word.", False, True,
     ("exact_match", 0.95)),  # a few irregular French forms stay hard for a small model
    ("tsv", "seq2seq", "Your parallel file: one 'source<TAB>target' per line (--data).", True, True, None),
    # the encoder family (issue 14): a tag per token, a label per sequence, masked tokens
    ("later", "encoder", "Tag each symbol: does it occur again later? Needs the right context (bidirectional).",
     False, False, ("accuracy", 0.99), "tag"),
    ("nounverb", "encoder", "Tag a tiny grammar's words DET/NOUN/VERB/...: 'fish', 'can' change tag with context.",
     False, False, ("accuracy", 0.99), "tag"),
    ("conll", "encoder", "Your tagged file: 'token<TAB>tag' per line, a blank line between sentences (--data).",
     True, False, None, "tag"),
    ("majority", "encoder", "Classify a string by its most frequent symbol: the answer needs the whole sequence.",
     False, False, ("accuracy", 0.98), "classify"),
    ("labels", "encoder", "Your labelled file: 'text<TAB>label' per line (--data); accuracy and confusion matrix.",
     True, False, None, "classify"),
    ("mlm", "encoder", "Masked LM (BERT's 80/10/10 masking): a text's characters (Python's docs) or words "
     "(--tokens word).",
     False, False, None, "mlm"),
)
TASKS: dict[str, TaskInfo] = {row[0]: TaskInfo(*row) for row in _INFOS}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)  # the one list of task names, in catalogue order
LM_TASKS: tuple[str, ...] = tuple(name for name, info in TASKS.items() if info.family == "lm")


def solved_target(task_name: str) -> tuple[str, float] | None:
    """The (val metric, value) at which ``task_name`` counts as solved; None for unknown tasks and open-ended ones."""
    info = TASKS.get(task_name)
    return info.solved_at if info is not None else None


def best_metric(task_name: str) -> str:
    """The val metric that decides a run's best checkpoint: exact match for encoder-decoders, loss for
    language models, accuracy for encoders and skip-thought (whose neighbours a sentence does not
    always determine)."""
    info = TASKS.get(task_name)
    if info is None:
        return "exact_match"
    return info.best or {"lm": "loss", "encoder": "accuracy"}.get(info.family, "exact_match")


def task_head(task_name: str) -> str | None:
    """An encoder task's head ("tag", "classify", "mlm"); None for other and unknown tasks (metric labels use it)."""
    info = TASKS.get(task_name)
    return info.head if info is not None else None
