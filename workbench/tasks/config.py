"""TaskConfig: every option that decides a task's data, with checks that name the bad key."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from workbench.errors import UserError

TASK_NAMES = ("copy", "reverse", "sort", "charlm", "dates", "numbers", "tsv")
TOKEN_UNITS = ("char", "word", "subword")


@dataclass
class TaskConfig:
    """Everything needed to rebuild a task's vocabularies and splits; stored with every run."""

    name: str = "reverse"  # one of TASK_NAMES
    # charlm: a UTF-8 text (default: Python's bundled docs); tsv: required;
    # dates/numbers: a TSV in their format (default: sample_data/dates.tsv, numbers.tsv)
    data: str | None = None
    tokens: str | None = None  # "char" | "word" | "subword" (dates/numbers/tsv); None = natural unit: tsv subword, numbers word, dates char
    alphabet: str = "abcdefghij"  # copy/reverse/sort: the symbols, in the order `sort` sorts them
    min_len: int = 3  # copy/reverse/sort: shortest training sequence
    max_len: int = 12  # copy/reverse/sort: longest training sequence (also val and test)
    long_min: int = 13  # copy/reverse/sort: shortest sequence of the held-out `long` split (> max_len)
    long_max: int = 20  # copy/reverse/sort: longest sequence of the `long` split
    train_size: int = 20000  # copy/reverse/sort: training examples (file tasks train on what val/test leave)
    val_size: int = 500  # validation examples (file tasks: at most val_fraction of the sources)
    test_size: int = 1000  # test examples (file tasks: at most val_fraction of the sources)
    long_size: int = 500  # copy/reverse/sort: examples in the `long` split; 0 leaves it out
    block: int = 64  # charlm: window length in characters (the model sees block, predicts block)
    val_fraction: float = 0.1  # charlm: the last fraction of the text is val; file tasks: cap on val and test
    seed: int = 0  # seeds generation and splitting; the same config always gives the same task
    # --- parallel files (dates/numbers/tsv): reading, tokens, held-out files; checked by _check_parallel ---
    columns: str | None = None  # "SRC,TGT" 1-based columns to read (Tatoeba export: "1,2"); None = exactly two
    normalize: str = "spaces"  # "spaces": no-break/narrow/thin spaces -> " ", runs collapsed; "none": as written
    max_src_len: int = 256  # drop (and report) pairs whose source has more tokens; 0 = no limit
    max_tgt_len: int = 256  # the same for targets
    vocab_size: int = 0  # per side, specials included; subword: pieces to learn (0 = 2000); char/word: cap (0 = all)
    min_freq: int = 1  # char/word: a token seen fewer times in training is <unk>
    subword_model: str = "unigram"  # SentencePiece model for tokens = "subword": "unigram" | "bpe"
    val_data: str | None = None  # a held-out file for val (default: sources of `data` held out)
    test_data: str | None = None  # a held-out file for test (default: sources of `data` held out)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for TOML/JSON (None values included; the writer may drop them)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskConfig:
        """Rebuild from a dict; unknown keys and wrong types are errors naming the key."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise UserError(f"unknown task option(s): {', '.join(unknown)}")
        for key, value in d.items():
            _check_type(key, value, known[key].type)
        values = dict(d)
        if isinstance(values.get("val_fraction"), int):
            values["val_fraction"] = float(values["val_fraction"])
        return cls(**values)

    def validate(self) -> None:
        """Raise UserError naming the first option whose value cannot make a task."""
        for f in fields(self):
            _check_type(f.name, getattr(self, f.name), f.type)
        if self.name not in TASK_NAMES:
            raise UserError(f"task name: unknown task {self.name!r} (choose from {', '.join(TASK_NAMES)})")
        if self.tokens is not None and self.tokens not in TOKEN_UNITS:
            raise UserError(f"task tokens: {self.tokens!r} is not one of {', '.join(TOKEN_UNITS)}")
        if self.name in ("copy", "reverse", "sort", "charlm") and self.tokens not in (None, "char"):
            raise UserError(f"task tokens: {self.name} is character-level only")
        if self.name in ("copy", "reverse", "sort") and self.data is not None:
            raise UserError(f"task data: {self.name} generates its data and takes no file")
        _check_positive(self, "min_len", "train_size", "val_size", "test_size", "block")
        if self.long_size < 0:
            raise UserError("task long_size: must be >= 0")
        if self.max_len < self.min_len:
            raise UserError(f"task max_len: {self.max_len} is below min_len {self.min_len}")
        if self.long_size and self.long_min <= self.max_len:
            raise UserError(f"task long_min: {self.long_min} must exceed max_len {self.max_len}")
        if self.long_size and self.long_max < self.long_min:
            raise UserError(f"task long_max: {self.long_max} is below long_min {self.long_min}")
        if not 0.0 < self.val_fraction < 1.0:
            raise UserError(f"task val_fraction: {self.val_fraction} is not between 0 and 1")
        _check_alphabet(self.alphabet)
        _check_parallel(self)


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "str | None": (str, type(None)),
}


def _check_type(key: str, value: Any, annotation: Any) -> None:
    """Raise UserError unless ``value`` fits the field's annotation (bools are not numbers here)."""
    allowed = _TYPES[str(annotation)]
    if isinstance(value, bool) or not isinstance(value, allowed):
        wanted = " or ".join("None" if t is type(None) else t.__name__ for t in allowed)
        raise UserError(f"task {key}: expected {wanted}, got {type(value).__name__} {value!r}")


def _check_positive(cfg: TaskConfig, *keys: str) -> None:
    for key in keys:
        if getattr(cfg, key) < 1:
            raise UserError(f"task {key}: must be >= 1, got {getattr(cfg, key)}")


def _check_alphabet(alphabet: str) -> None:
    if not alphabet:
        raise UserError("task alphabet: must not be empty")
    if len(set(alphabet)) != len(alphabet):
        raise UserError(f"task alphabet: {alphabet!r} repeats a symbol")
    if any(ch.isspace() for ch in alphabet):
        raise UserError(f"task alphabet: {alphabet!r} contains whitespace")


# --- parallel files: the options of the block above --------------------------------------------
NORMALIZE_MODES = ("spaces", "none")
SUBWORD_MODELS = ("unigram", "bpe")


def _check_parallel(cfg: TaskConfig) -> None:
    """Bounds of the parallel-file options; they are only allowed on dates/numbers/tsv."""
    if cfg.normalize not in NORMALIZE_MODES:
        raise UserError(f"task normalize: {cfg.normalize!r} is not one of {', '.join(NORMALIZE_MODES)}")
    if cfg.subword_model not in SUBWORD_MODELS:
        raise UserError(f"task subword_model: {cfg.subword_model!r} is not one of {', '.join(SUBWORD_MODELS)}")
    for key in ("max_src_len", "max_tgt_len", "vocab_size"):
        if getattr(cfg, key) < 0:
            raise UserError(f"task {key}: must be >= 0 (0 = no limit), got {getattr(cfg, key)}")
    if cfg.min_freq < 1:
        raise UserError(f"task min_freq: must be >= 1, got {cfg.min_freq}")
    if cfg.vocab_size and cfg.tokens != "subword" and cfg.vocab_size < 5:
        raise UserError(f"task vocab_size: {cfg.vocab_size} leaves no room beside the 4 special tokens")
    if cfg.columns is not None:
        from workbench.tasks.parallel import parse_columns

        try:
            parse_columns(cfg.columns)
        except UserError as exc:
            raise UserError(f"task columns: {exc}") from None
    is_parallel = cfg.name in ("dates", "numbers", "tsv")
    for key in ("columns", "val_data", "test_data"):
        if getattr(cfg, key) is not None and not is_parallel:
            raise UserError(f"task {key}: only the parallel tasks (dates, numbers, tsv) read columns and held-out files")
