"""Where file tasks find their data: the char-LM corpus and the parallel files (read in parallel_task)."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.errors import DataError
from workbench.tasks.catalog import SAMPLE_DATA_DIR
from workbench.tasks.config import TaskConfig
from workbench.tasks.readers import read_text

DEFAULT_FILES = {"dates": "dates.tsv", "numbers": "numbers.tsv"}
NATURAL_UNIT = {"dates": "char", "numbers": "word", "tsv": "subword"}
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
