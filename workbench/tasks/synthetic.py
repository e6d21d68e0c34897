"""Synthetic string tasks (copy, reverse, sort): random strings over an alphabet, split without overlap.

Val and test are drawn first, each string once, then train is drawn at the same lengths
skipping every val/test string, so a model is always scored on strings it never trained on.
Train may repeat a string (short lengths have few strings). The ``long`` split uses longer
strings than training ever shows: it measures length generalisation.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

from workbench.errors import UserError
from workbench.tasks.base import Example
from workbench.tasks.config import TaskConfig


def target_function(name: str, alphabet: str) -> Callable[[str], str]:
    """The map from source string to target string for a synthetic task."""
    if name == "copy":
        return lambda s: s
    if name == "reverse":
        return lambda s: s[::-1]
    if name == "sort":
        rank = {ch: i for i, ch in enumerate(alphabet)}
        return lambda s: "".join(sorted(s, key=rank.__getitem__))
    raise UserError(f"{name} is not a synthetic task")


def count_strings(n_symbols: int, lo: int, hi: int) -> int:
    """How many distinct strings have a length in ``lo..hi``."""
    return sum(n_symbols**length for length in range(lo, hi + 1))


def synthetic_splits(cfg: TaskConfig, fn: Callable[[str], Sequence[str]] | None = None,
                     keep: Callable[[str], bool] | None = None) -> dict[str, list[Example]]:
    """train/val/test (and long, when long_size > 0) for copy, reverse or sort.

    Other generated tasks pass their own ``fn`` (string -> target tokens: tags, a label) and
    ``keep``, which refuses strings the task has no answer for (a tie, for "majority").
    """
    rng = random.Random(f"{cfg.name}:{cfg.seed}")
    fn = fn or target_function(cfg.name, cfg.alphabet)
    space = count_strings(len(cfg.alphabet), cfg.min_len, cfg.max_len)
    held_out = cfg.val_size + cfg.test_size
    if held_out > space // 2:
        raise UserError(
            f"task {cfg.name}: {len(cfg.alphabet)} symbols at lengths {cfg.min_len}..{cfg.max_len} "
            f"make only {space} distinct strings; val_size + test_size ({held_out}) may be at most "
            f"half of them ({space // 2})"
        )
    taken: set[str] = set()
    val = _draw_unique(rng, cfg, cfg.min_len, cfg.max_len, cfg.val_size, taken, keep)
    test = _draw_unique(rng, cfg, cfg.min_len, cfg.max_len, cfg.test_size, taken, keep)
    train = _draw_train(rng, cfg, taken, keep)
    splits = {"train": train, "val": val, "test": test}
    if cfg.long_size:
        long_space = count_strings(len(cfg.alphabet), cfg.long_min, cfg.long_max)
        if cfg.long_size > long_space:
            raise UserError(
                f"task long_size: {cfg.long_size} exceeds the {long_space} strings at lengths "
                f"{cfg.long_min}..{cfg.long_max}"
            )
        splits["long"] = _draw_unique(rng, cfg, cfg.long_min, cfg.long_max, cfg.long_size, set(), keep)
    return {name: [Example(list(s), list(fn(s))) for s in strings] for name, strings in splits.items()}


def _random_string(rng: random.Random, alphabet: str, lo: int, hi: int) -> str:
    return "".join(rng.choices(alphabet, k=rng.randint(lo, hi)))


def _draw_unique(rng: random.Random, cfg: TaskConfig, lo: int, hi: int, n: int, taken: set[str],
                 keep: Callable[[str], bool] | None = None) -> list[str]:
    """``n`` distinct strings not yet in ``taken`` (which gains them), lengths uniform in lo..hi."""
    out: list[str] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 1000 * n + 10_000:
            raise UserError(f"task {cfg.name}: could not draw {n} distinct strings at lengths {lo}..{hi}")
        s = _random_string(rng, cfg.alphabet, lo, hi)
        if s not in taken and (keep is None or keep(s)):
            taken.add(s)
            out.append(s)
    return out


def _draw_train(rng: random.Random, cfg: TaskConfig, held_out: set[str],
                keep: Callable[[str], bool] | None = None) -> list[str]:
    """``train_size`` strings (repeats allowed) that are never in val or test."""
    out: list[str] = []
    attempts = 0
    while len(out) < cfg.train_size:
        attempts += 1
        if attempts > 1000 * cfg.train_size + 10_000:
            raise UserError(f"task {cfg.name}: val and test leave too few strings to train on")
        s = _random_string(rng, cfg.alphabet, cfg.min_len, cfg.max_len)
        if s not in held_out and (keep is None or keep(s)):
            out.append(s)
    return out
