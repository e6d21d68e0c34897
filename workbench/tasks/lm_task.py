"""LMTask: a character language model over one text, split into a training and a validation stream."""

from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor

from workbench.errors import DataError, UserError
from workbench.tasks.base import Batch, Example, Task
from workbench.tasks.config import TaskConfig
from workbench.tasks.tokenizer import Tokenizer
from workbench.tasks.vocab import Vocab


def split_point(n_chars: int, val_fraction: float) -> int:
    """Index where validation starts: the last ``val_fraction`` of the text is validation."""
    return n_chars - int(n_chars * val_fraction)


def min_chars(block: int, val_fraction: float) -> int:
    """Shortest text whose train and val parts each hold one window of ``block + 1`` characters."""
    need = block + 1
    n = 2 * need
    while True:
        cut = split_point(n, val_fraction)
        if cut >= need and n - cut >= need:
            return n
        n += 1


def spread(total: int, limit: int | None) -> Tensor:
    """Indices of ``limit`` windows spaced evenly over ``total`` (all of them when ``limit`` is None or larger).

    An evaluation on a subset must represent the whole split: the start of a text is not like its
    end. The same indices every time keep curves comparable between evaluations.
    """
    if limit is None or limit >= total:
        return torch.arange(total)
    return torch.linspace(0, total - 1, max(limit, 1)).round().long()  # (limit,) increasing, distinct


class LMTask(Task):
    """Next-character prediction: batches are windows of ``block + 1`` ids cut from a stream."""

    family = "lm"

    def __init__(self, config: TaskConfig, text: str, source: str, vocab: Vocab | None = None) -> None:
        """``source`` names the text in errors (a path, or the bundled corpus)."""
        tokenizer = Tokenizer("char", strip=False)
        vocab = vocab if vocab is not None else Vocab.build([text])
        super().__init__(config, None, vocab, tokenizer, tokenizer, is_translation=False)
        need = min_chars(config.block, config.val_fraction)
        if len(text) < need:
            raise DataError(
                f"{source}: {len(text)} characters is too short for one LM window of block "
                f"{config.block} in both train and val (val_fraction {config.val_fraction}); "
                f"need at least {need}"
            )
        cut = split_point(len(text), config.val_fraction)
        self.block = config.block
        self._text = {"train": text[:cut], "val": text[cut:]}
        self._streams: dict[str, Tensor] = {
            split: torch.tensor(vocab.encode(part), dtype=torch.long) for split, part in self._text.items()
        }
        self._examples: dict[str, list[Example]] = {}

    @property
    def split_names(self) -> list[str]:
        return ["train", "val"]

    def text(self, split: str) -> str:
        """The raw text of a split."""
        self._check_split(split)
        return self._text[split]

    def _n_windows(self, split: str) -> int:
        # Consecutive windows overlap by one id so every position is predicted exactly once.
        return (len(self._streams[split]) - 1) // self.block

    def examples(self, split: str) -> list[Example]:
        self._check_split(split)
        if split not in self._examples:
            text, b = self._text[split], self.block
            self._examples[split] = [
                Example(src=[], tgt=list(text[i * b : (i + 1) * b])) for i in range(self._n_windows(split))
            ]
        return list(self._examples[split])

    def train_batch(self, batch_size: int, generator: torch.Generator, by_length: bool = False) -> Batch:
        # windows all have one length: by_length changes nothing
        if batch_size < 1:
            raise UserError(f"batch size must be >= 1, got {batch_size}")
        stream = self._streams["train"]
        starts = torch.randint(len(stream) - self.block, (batch_size,), generator=generator)  # (B,)
        offsets = torch.arange(self.block + 1)  # (T+1,)
        return self._batch(stream[starts.unsqueeze(1) + offsets])  # (B, T+1)

    def eval_batches(self, split: str, batch_size: int, limit: int | None = None,
                     by_length: bool = False) -> Iterator[Batch]:
        self._check_split(split)  # windows all have one length: by_length changes nothing
        if batch_size < 1:
            raise UserError(f"batch size must be >= 1, got {batch_size}")
        stream, b = self._streams[split], self.block
        windows = spread(self._n_windows(split), limit) * b  # (n,) window starts across the whole split
        offsets = torch.arange(b + 1)  # (T+1,)
        for first in range(0, len(windows), batch_size):
            starts = windows[first: first + batch_size]  # (B,)
            yield self._batch(stream[starts.unsqueeze(1) + offsets])  # (B, T+1)

    @staticmethod
    def _batch(windows: Tensor) -> Batch:
        """Teacher-forcing pair of a (B, T+1) window: predict each id from those before it."""
        tgt_in, tgt_out = windows[:, :-1], windows[:, 1:]  # (B, T) each
        return Batch(src=None, src_lengths=None, tgt_in=tgt_in, tgt_out=tgt_out, n_tokens=tgt_out.numel())

    def max_target_len(self, split: str) -> int:
        self._check_split(split)
        return self.block
