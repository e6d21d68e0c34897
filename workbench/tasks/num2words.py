"""The num2words task (1 vs N): a number in digits -> its English words, generated here, no data file.

Source: the decimal digits of n (0 <= n < ``LIMIT``), one token each. Target: n in words, one token
per word, without "and" or hyphens ("4021" -> "four thousand twenty one"), so every word is a
vocabulary item a student can read off the digits. Val and test hold numbers drawn once each at
random; train is every other number, so a model is scored only on numbers it never trained on.
"""

from __future__ import annotations

import random

from workbench.errors import UserError
from workbench.tasks.base import Example
from workbench.tasks.config import TaskConfig

LIMIT = 100_000  # numbers 0 .. 99,999
ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def words(n: int) -> list[str]:
    """English words of 0 <= n < 1,000,000, e.g. 4021 -> ['four', 'thousand', 'twenty', 'one']."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"{n} is outside 0..999999")
    if n == 0:
        return ["zero"]
    thousands, rest = divmod(n, 1000)
    out = (_below_thousand(thousands) + ["thousand"]) if thousands else []
    return out + (_below_thousand(rest) if rest else [])


def _below_thousand(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    out = [ONES[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        out += [TENS[tens]] + ([ONES[ones]] if ones else [])
    elif rest:
        out.append(ONES[rest])
    return out


def num2words_splits(cfg: TaskConfig) -> dict[str, list[Example]]:
    """train/val/test: val and test drawn without overlap from 0..LIMIT-1, train every other number."""
    held_out = cfg.val_size + cfg.test_size
    if held_out > LIMIT // 2:
        raise UserError(f"task num2words: val_size + test_size ({held_out}) may be at most {LIMIT // 2} "
                        f"(half of the {LIMIT} numbers)")
    numbers = list(range(LIMIT))
    random.Random(f"num2words:{cfg.seed}").shuffle(numbers)
    val, test = numbers[: cfg.val_size], numbers[cfg.val_size: held_out]
    train = sorted(numbers[held_out:])

    def examples(ns: list[int]) -> list[Example]:
        return [Example(list(str(n)), words(n)) for n in ns]

    return {"train": examples(train), "val": examples(val), "test": examples(test)}
