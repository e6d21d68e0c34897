"""TaskConfig: every option that decides a task's data, each with its allowed values beside it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional

from models.settings import ConfigError, check_fields, parse_value, refusal, setting
from workbench.errors import UserError
from workbench.tasks.catalog import TASK_NAMES

TOKEN_UNITS = ("char", "word", "subword")
NORMALIZE_MODES = ("spaces", "none")
SUBWORD_MODELS = ("unigram", "bpe")
SYNTHETIC = ("copy", "reverse", "sort")  # tasks that generate their data
GENERATED_ENCODER = ("later", "nounverb", "majority")  # encoder-family tasks that generate their data
PARALLEL = ("dates", "numbers", "tsv")  # tasks that read source<TAB>target files
_COUNT = dict(ge=1, le=10_000_000)  # examples in a split
_LENGTH = dict(ge=1, le=10_000)  # sequence lengths of the synthetic tasks
_PATH = dict(optional=True, pattern=r"(?s).*\S.*", text="a file path")
_COLUMNS = "two different column numbers like 1,2"
_ALPHABET = "a non-empty text of distinct symbols without whitespace"


def _alphabet_problem(alphabet: str) -> Optional[str]:
    """Why ``alphabet`` cannot spell the synthetic tasks' strings, or None."""
    if not alphabet or len(set(alphabet)) != len(alphabet) or any(ch.isspace() for ch in alphabet):
        return _ALPHABET
    return None


def _columns_problem(spec: str) -> Optional[str]:
    """Why ``spec`` does not name a source and a target column, or None."""
    from workbench.tasks.parallel import parse_columns

    try:
        parse_columns(spec)
    except UserError:
        return _COLUMNS
    return None


@dataclass
class TaskConfig:
    """Everything needed to rebuild a task's vocabularies and splits; stored with every run."""

    name: str = setting("reverse", str, choices=TASK_NAMES)  # see `seqbench tasks`
    # charlm: a UTF-8 text (default: Python's bundled docs); tsv: required;
    # dates/numbers: a TSV in their format (default: sample_data/dates.tsv, numbers.tsv)
    data: Optional[str] = setting(None, str, **_PATH)
    # "char" | "word" | "subword" (dates/numbers/tsv); None = natural unit: tsv subword, numbers word, dates char
    tokens: Optional[str] = setting(None, str, optional=True, choices=TOKEN_UNITS)
    # copy/reverse/sort: the symbols, in the order `sort` sorts them
    alphabet: str = setting("abcdefghij", str, text=_ALPHABET, rule=_alphabet_problem)
    min_len: int = setting(3, int, **_LENGTH)  # copy/reverse/sort: shortest training sequence
    max_len: int = setting(12, int, **_LENGTH)  # copy/reverse/sort: longest training sequence (also val and test)
    long_min: int = setting(13, int, **_LENGTH)  # copy/reverse/sort: shortest of the held-out `long` split (> max_len)
    long_max: int = setting(20, int, **_LENGTH)  # copy/reverse/sort: longest sequence of the `long` split
    train_size: int = setting(20000, int, **_COUNT)  # copy/reverse/sort: training examples (file tasks: what val/test leave)
    val_size: int = setting(500, int, **_COUNT)  # validation examples (file tasks: at most val_fraction of the sources)
    test_size: int = setting(1000, int, **_COUNT)  # test examples (file tasks: at most val_fraction of the sources)
    long_size: int = setting(500, int, ge=0, le=10_000_000)  # copy/reverse/sort: `long` split examples; 0 leaves it out
    block: int = setting(64, int, ge=1, le=65536)  # charlm: window length in characters (sees block, predicts block)
    val_fraction: float = setting(0.1, float, gt=0, lt=1)  # charlm: the last fraction is val; file tasks: cap on val/test
    seed: int = setting(0, int, ge=0, le=2**32 - 1)  # seeds generation and splitting: same config, same task
    # --- parallel files (dates/numbers/tsv): reading, tokens, held-out files ---
    # "SRC,TGT" 1-based columns to read (Tatoeba export: "1,2"); None = exactly two
    columns: Optional[str] = setting(None, str, optional=True, text=_COLUMNS, rule=_columns_problem)
    # "spaces": no-break/narrow/thin spaces -> " ", runs collapsed; "none": as written
    normalize: str = setting("spaces", str, choices=NORMALIZE_MODES)
    max_src_len: int = setting(256, int, ge=0, le=1_000_000)  # drop (and report) longer sources, in tokens; 0 = no limit
    max_tgt_len: int = setting(256, int, ge=0, le=1_000_000)  # the same for targets
    # per side, specials included; subword: pieces to learn (0 = 2000); char/word: cap (0 = all)
    vocab_size: int = setting(0, int, ge=0, le=10_000_000)
    # one vocabulary (subword: one SentencePiece model) for source and target, learnt from both sides of
    # training; vocab_size then counts both sides together
    shared_vocab: bool = setting(False, bool)
    min_freq: int = setting(1, int, ge=1)  # char/word: a token seen fewer times in training is <unk>
    subword_model: str = setting("unigram", str, choices=SUBWORD_MODELS)  # SentencePiece model for tokens = "subword"
    val_data: Optional[str] = setting(None, str, **_PATH)  # a held-out file for val (default: sources of `data` held out)
    test_data: Optional[str] = setting(None, str, **_PATH)  # a held-out file for test (default: sources of `data` held out)
    mask_prob: float = setting(0.15, float, gt=0, lt=1)  # mlm: share of positions chosen to predict (BERT: 0.15)

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
        try:
            values = {key: parse_value(f"task.{key}", value, known[key].metadata["allowed"], from_text=False)
                      for key, value in d.items()}
        except ConfigError as exc:
            raise UserError(str(exc)) from None
        return cls(**values)

    def validate(self) -> None:
        """Raise UserError naming the first key (``task.max_len``) whose value cannot make a task."""
        try:
            check_fields(self, "task")
            self._check_together()
        except ConfigError as exc:
            raise UserError(str(exc)) from None

    def _check_together(self) -> None:
        """Rules between fields, each naming the key it refuses."""
        if self.name == "mlm" and self.tokens not in (None, "char", "word"):
            raise refusal("task.tokens", self.tokens, "char, word or none: task mlm masks characters or words")
        if self.name in SYNTHETIC + ("charlm", "later", "majority") and self.tokens not in (None, "char"):
            raise refusal("task.tokens", self.tokens, f"char or none: task {self.name} is character-level only")
        if self.name in ("nounverb", "conll") and self.tokens not in (None, "word"):
            raise refusal("task.tokens", self.tokens, f"word or none: task {self.name} tags words")
        if self.name == "skipthought" and self.tokens not in (None, "word"):
            raise refusal("task.tokens", self.tokens, "word or none: task skipthought reads words")
        if self.name == "labels" and self.tokens == "subword":
            raise refusal("task.tokens", self.tokens, "char, word or none: task labels reads char or word tokens")
        if self.name in SYNTHETIC + GENERATED_ENCODER and self.data is not None:
            raise refusal("task.data", self.data, f"none: task {self.name} generates its data and takes no file")
        if self.max_len < self.min_len:
            raise refusal("task.max_len", self.max_len, f">= task.min_len ({self.min_len})")
        if self.long_size and self.long_min <= self.max_len:
            raise refusal("task.long_min", self.long_min, f"> task.max_len ({self.max_len}), or task.long_size 0")
        if self.long_size and self.long_max < self.long_min:
            raise refusal("task.long_max", self.long_max, f">= task.long_min ({self.long_min})")
        if self.vocab_size and self.tokens != "subword" and self.vocab_size < 5:
            raise refusal("task.vocab_size", self.vocab_size, "0 or at least 5: room beside the 4 special tokens")
        if self.shared_vocab and self.name not in PARALLEL:
            raise refusal("task.shared_vocab", True, f"false: only the parallel tasks ({', '.join(PARALLEL)}) have two sides")
        for key in ("columns", "val_data", "test_data"):
            if getattr(self, key) is not None and self.name not in PARALLEL:
                raise refusal(f"task.{key}", getattr(self, key),
                              f"none: only the parallel tasks ({', '.join(PARALLEL)}) read columns and held-out files")

