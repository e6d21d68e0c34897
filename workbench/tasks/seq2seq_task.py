"""Seq2SeqTask: source -> target examples, pre-encoded once so a training batch is a gather and a slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import Tensor

from workbench.errors import UserError
from workbench.tasks.base import Batch, Example, Task
from workbench.tasks.config import TaskConfig
from workbench.tasks.tokenizer import Tokenizer
from workbench.tasks.vocab import Vocab


@dataclass
class EncodedSplit:
    """A split as padded id tensors (N examples); batches are rows of these, trimmed to fit."""

    src: Tensor  # (N, S_max) source ids, pad 0
    src_lengths: Tensor  # (N,) real source lengths
    tgt_in: Tensor  # (N, T_max + 1) [bos] + target, pad 0
    tgt_out: Tensor  # (N, T_max + 1) target + [eos], pad 0
    tgt_lengths: Tensor  # (N,) target length + 1 (the bos/eos position)

    def __len__(self) -> int:
        return self.src.shape[0]

    @classmethod
    def encode(cls, examples: list[Example], src_vocab: Vocab, tgt_vocab: Vocab) -> EncodedSplit:
        """Encode and pad every example once (unknown tokens become <unk>)."""
        src_ids = [src_vocab.encode(ex.src) for ex in examples]
        tgt_ids = [tgt_vocab.encode(ex.tgt) for ex in examples]
        s_max = max((len(ids) for ids in src_ids), default=0)
        t_max = max((len(ids) for ids in tgt_ids), default=0) + 1
        pad, bos, eos = tgt_vocab.pad_id, tgt_vocab.bos_id, tgt_vocab.eos_id
        src = [ids + [pad] * (s_max - len(ids)) for ids in src_ids]
        tgt_in = [[bos] + ids + [pad] * (t_max - 1 - len(ids)) for ids in tgt_ids]
        tgt_out = [ids + [eos] + [pad] * (t_max - 1 - len(ids)) for ids in tgt_ids]
        return cls(
            src=torch.tensor(src, dtype=torch.long).reshape(len(examples), s_max),  # (N, S_max)
            src_lengths=torch.tensor([len(ids) for ids in src_ids], dtype=torch.long),
            tgt_in=torch.tensor(tgt_in, dtype=torch.long).reshape(len(examples), t_max),  # (N, T_max+1)
            tgt_out=torch.tensor(tgt_out, dtype=torch.long).reshape(len(examples), t_max),
            tgt_lengths=torch.tensor([len(ids) + 1 for ids in tgt_ids], dtype=torch.long),
        )

    def batch(self, rows: Tensor | slice) -> Batch:
        """The batch of ``rows``, trimmed to its own longest source and target."""
        src_lengths, tgt_lengths = self.src_lengths[rows], self.tgt_lengths[rows]
        s, t = int(src_lengths.max()), int(tgt_lengths.max())
        return Batch(
            src=self.src[rows, :s],  # (B, S)
            src_lengths=src_lengths,  # (B,)
            tgt_in=self.tgt_in[rows, :t],  # (B, T)
            tgt_out=self.tgt_out[rows, :t],  # (B, T)
            n_tokens=int(tgt_lengths.sum()),
        )


class Seq2SeqTask(Task):
    """A translation-shaped task: named splits of (source, target) examples."""

    family = "seq2seq"

    def __init__(
        self,
        config: TaskConfig,
        splits: dict[str, list[Example]],
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        src_tokenizer: Tokenizer,
        tgt_tokenizer: Tokenizer,
        is_translation: bool,
        references: dict[str, list[tuple[int, tuple[str, ...]]]] | None = None,
        report: Any = None,
    ) -> None:
        super().__init__(config, src_vocab, tgt_vocab, src_tokenizer, tgt_tokenizer, is_translation)
        self._splits = splits
        self._references = references or {}
        self.report = report  # a DataReport for a corpus read from files, else None
        self._encoded: dict[str, EncodedSplit] = {}
        self._train_order: Tensor | None = None  # training positions by length, for by_length batches
        self._encoded_split("train")  # the first training step should not pay for encoding

    @property
    def split_names(self) -> list[str]:
        return list(self._splits)

    def examples(self, split: str) -> list[Example]:
        self._check_split(split)
        return list(self._splits[split])

    def example_start(self, split: str, index: int) -> int:
        """The first decoder input of example ``index`` of ``split``: ``<bos>`` (skip-thought picks a decoder)."""
        self._check_split(split)
        return self.tgt_vocab.bos_id

    def reference_groups(self, split: str) -> list[tuple[int, tuple[str, ...]]]:
        """Per example of ``split``: (its source's group id, every reference text of that source).

        A corpus read from files gives the original target texts of each source; a generated task
        gives each example its own detokenised target.
        """
        self._check_split(split)
        if split in self._references:
            return self._references[split]
        return [(i, (self.detokenize(ex.tgt),)) for i, ex in enumerate(self._splits[split])]

    def _encoded_split(self, split: str) -> EncodedSplit:
        self._check_split(split)
        if split not in self._encoded:
            assert self.src_vocab is not None
            self._encoded[split] = EncodedSplit.encode(self._splits[split], self.src_vocab, self.tgt_vocab)
        return self._encoded[split]

    def train_batch(self, batch_size: int, generator: torch.Generator, by_length: bool = False) -> Batch:
        data = self._encoded_split("train")
        if batch_size < 1:
            raise UserError(f"batch size must be >= 1, got {batch_size}")
        if not by_length:
            rows = torch.randint(len(data), (batch_size,), generator=generator)  # (B,) with replacement
            return data.batch(rows)
        # a run of B neighbours in length order, wrapping around the end: each example is in
        # exactly B of the N possible runs, so sampling stays uniform while padding nearly vanishes
        order = self._length_order()
        start = int(torch.randint(len(order), (1,), generator=generator))
        rows = order[(start + torch.arange(batch_size)) % len(order)]  # (B,)
        return data.batch(rows)

    def _length_order(self) -> Tensor:
        """Training positions sorted by (target, source) length, ties in a fixed shuffled order: (N,)."""
        if self._train_order is None:
            data = self._encoded_split("train")
            n = len(data)
            shuffled = torch.randperm(n, generator=torch.Generator().manual_seed(self.config.seed))  # (N,)
            width = int(data.src_lengths.max()) + 1 if n else 1
            key = data.tgt_lengths[shuffled] * width + data.src_lengths[shuffled]  # (N,)
            self._train_order = shuffled[torch.argsort(key, stable=True)]  # (N,)
        return self._train_order

    def eval_batches(self, split: str, batch_size: int, limit: int | None = None,
                     by_length: bool = False) -> Iterator[Batch]:
        data = self._encoded_split(split)
        if batch_size < 1:
            raise UserError(f"batch size must be >= 1, got {batch_size}")
        n = len(data) if limit is None else min(limit, len(data))
        if not by_length or n == 0:
            for start in range(0, n, batch_size):
                yield data.batch(slice(start, min(start + batch_size, n)))
            return
        # sort by source then target length (stable); sort keys are ints so ties keep split order
        key = data.src_lengths[:n] * (int(data.tgt_lengths[:n].max()) + 1) + data.tgt_lengths[:n]  # (n,)
        order = torch.argsort(key, stable=True)  # (n,)
        for start in range(0, n, batch_size):
            rows = order[start: start + batch_size]  # (B,)
            batch = data.batch(rows)
            batch.index = rows
            yield batch

    def max_target_len(self, split: str) -> int:
        self._check_split(split)
        return max((len(ex.tgt) for ex in self._splits[split]), default=0)
