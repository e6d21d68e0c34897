"""Tasks read from files: the parallel TSV tasks (dates, numbers, tsv) and the char-LM corpus."""

from __future__ import annotations

import os
import random
from pathlib import Path

from workbench.errors import DataError
from workbench.tasks.base import Example
from workbench.tasks.catalog import SAMPLE_DATA_DIR
from workbench.tasks.config import TaskConfig
from workbench.tasks.readers import read_text, read_tsv
from workbench.tasks.tokenizer import Tokenizer

DEFAULT_FILES = {"dates": "dates.tsv", "numbers": "numbers.tsv"}
NATURAL_UNIT = {"dates": "char", "numbers": "word", "tsv": "char"}
BUNDLED_CORPUS = "<Python's bundled documentation (pydoc_data.topics)>"


def bundled_corpus() -> str:
    """Python's own reference topics (``pydoc_data.topics``), present offline in every CPython."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def lm_text(cfg: TaskConfig) -> tuple[str, str]:
    """The char-LM text and the name errors should use for it."""
    if cfg.data is None:
        return bundled_corpus(), BUNDLED_CORPUS
    return read_text(cfg.data), cfg.data


def tsv_path(cfg: TaskConfig) -> str:
    """The parallel file a dates/numbers/tsv task reads."""
    if cfg.data is not None:
        return cfg.data
    if cfg.name == "tsv":
        raise DataError("task tsv needs a data file: pass --data path/to/file.tsv ('source<TAB>target' per line)")
    path = SAMPLE_DATA_DIR / DEFAULT_FILES[cfg.name]
    if path.exists():
        return str(path)
    return str(generated_sample(DEFAULT_FILES[cfg.name]))


def generated_sample(name: str) -> Path:
    """``name`` (dates.tsv / numbers.tsv) generated into the user's cache: an installed package has
    no ``sample_data/`` beside it. The generators are deterministic, so this equals the committed file."""
    from workbench.tasks.make_data import make_sample_data

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seqbench" / "sample_data"
    path = cache / name
    if not path.exists():
        try:
            make_sample_data(cache)
        except OSError as exc:
            raise DataError(f"{SAMPLE_DATA_DIR / name} is missing and {cache} is not writable ({exc.strerror}); "
                            "write the sample corpora somewhere with `seqbench data make --out DIR` and pass "
                            f"--data DIR/{name}") from None
    return path


def tsv_tokenizer(cfg: TaskConfig) -> Tokenizer:
    """The tokeniser a dates/numbers/tsv task uses on both sides."""
    return Tokenizer(cfg.tokens or NATURAL_UNIT[cfg.name], strip=True)


def tsv_splits(cfg: TaskConfig, tokenizer: Tokenizer) -> dict[str, list[Example]]:
    """train/val/test of a parallel file, split by source so no source is in two splits.

    Distinct sources (as tokens) are shuffled with ``cfg.seed``. Val and test take
    ``val_size`` and ``test_size`` sources, each capped at ``val_fraction`` of the sources and
    at half of the rest (at least 1, so a tiny file still splits); train takes what is left.
    A source listed with several targets keeps all of them, in its one split.
    """
    path = tsv_path(cfg)
    by_source: dict[tuple[str, ...], list[Example]] = {}
    for source, target in read_tsv(path):
        src = tokenizer.tokenize(source)
        by_source.setdefault(tuple(src), []).append(Example(src, tokenizer.tokenize(target)))
    sources = list(by_source)
    if len(sources) < 3:
        raise DataError(f"{path}: needs at least 3 different sources for train/val/test, found {len(sources)}")
    random.Random(f"split:{cfg.seed}").shuffle(sources)
    cap = max(1, min(int(len(sources) * cfg.val_fraction), (len(sources) - 1) // 2))
    n_val, n_test = min(cfg.val_size, cap), min(cfg.test_size, cap)
    parts = {
        "train": sources[n_val + n_test :],
        "val": sources[:n_val],
        "test": sources[n_val : n_val + n_test],
    }
    return {split: [ex for src in keys for ex in by_source[src]] for split, keys in parts.items()}
