"""What every task hands the trainer and decoder: examples, batches, and the Task interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from workbench.errors import UserError
from workbench.tasks.config import TaskConfig
from workbench.tasks.tokenizer import Tokenizer
from workbench.tasks.vocab import Vocab


@dataclass
class Example:
    """One example as tokens: a language model's window has no source (``src == []``)."""

    src: list[str]
    tgt: list[str]


@dataclass
class Batch:
    """A padded batch of ids (pad id 0) ready for ``model(src, src_lengths, tgt_in)``."""

    src: Tensor | None  # (B, S) source ids, no bos/eos; None for a language model
    src_lengths: Tensor | None  # (B,) real source lengths; None for a language model
    tgt_in: Tensor  # (B, T) decoder input: [bos] + target (seq2seq) or window[:-1] (LM)
    tgt_out: Tensor  # (B, T) what to predict: target + [eos] (seq2seq) or window[1:] (LM)
    n_tokens: int = 0  # non-pad positions in tgt_out: the loss's denominator
    index: Tensor | None = None  # (B,) each row's position in its split, for batches out of split order

    def to(self, device: torch.device | str) -> Batch:
        """The same batch with every tensor on ``device``."""

        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return Batch(move(self.src), move(self.src_lengths), self.tgt_in.to(device),
                     self.tgt_out.to(device), self.n_tokens, self.index)

    def __len__(self) -> int:
        return self.tgt_in.shape[0]


class Task(ABC):
    """A task: its vocabularies, its splits, and batches drawn from them."""

    family: str = ""  # "lm" or "seq2seq"

    @property
    def decoders(self) -> dict[str, int]:
        """Decoder name -> the first decoder input that selects it, for a model of several decoders
        (skip-thought); empty for one decoder."""
        return {}

    def __init__(
        self,
        config: TaskConfig,
        src_vocab: Vocab | None,
        tgt_vocab: Vocab,
        src_tokenizer: Tokenizer,
        tgt_tokenizer: Tokenizer,
        is_translation: bool,
    ) -> None:
        self.name = config.name
        self.config = config
        self.src_vocab = src_vocab
        self.tgt_vocab = tgt_vocab
        self.is_translation = is_translation
        self._src_tokenizer = src_tokenizer
        self._tgt_tokenizer = tgt_tokenizer
        self.report = None  # a DataReport when the task read a corpus (workbench.tasks.data_report)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(self.examples(s))}" for s in self.split_names)
        return f"<{type(self).__name__} {self.name}: {sizes}>"

    def tokenize_src(self, text: str) -> list[str]:
        """Source tokens of text the user typed (the unit this task's source uses)."""
        return self._src_tokenizer.tokenize(text)

    def tokenize_tgt(self, text: str) -> list[str]:
        """Target tokens of text the user typed (a forced prefix, an LM prompt)."""
        return self._tgt_tokenizer.tokenize(text)

    def detokenize(self, tokens: list[str]) -> str:
        """Display text of target tokens (the inverse of ``tokenize_tgt``)."""
        return self._tgt_tokenizer.detokenize(tokens)

    def detokenize_src(self, tokens: list[str]) -> str:
        """Display text of source tokens (the inverse of ``tokenize_src``; subword sides differ)."""
        return self._src_tokenizer.detokenize(tokens)

    def save_files(self, run_dir) -> None:
        """Write what the run needs beyond its vocabularies (subword models, the data report)."""
        import json
        from pathlib import Path

        from workbench.fileio import atomic_write
        from workbench.tasks.subword import save_tokenizers

        save_tokenizers(self, Path(run_dir))
        if self.report is not None:
            atomic_write(Path(run_dir) / "data_report.json", json.dumps(self.report.to_dict(), indent=1))

    def _check_split(self, split: str) -> None:
        if split not in self.split_names:
            raise UserError(f"task {self.name} has no split {split!r} (it has {', '.join(self.split_names)})")

    @property
    @abstractmethod
    def split_names(self) -> list[str]:
        """Names of the splits, training first."""

    @abstractmethod
    def examples(self, split: str) -> list[Example]:
        """The split's examples as tokens (for an LM: consecutive windows of the split's text)."""

    @abstractmethod
    def train_batch(self, batch_size: int, generator: torch.Generator, by_length: bool = False) -> Batch:
        """A random training batch, fully determined by the generator's state.

        ``by_length`` draws rows of similar length (seq2seq: a random run of the training examples
        sorted by length), so a batch carries little padding; every example stays equally likely.
        """

    @abstractmethod
    def eval_batches(self, split: str, batch_size: int, limit: int | None = None,
                     by_length: bool = False) -> Iterator[Batch]:
        """Batches covering ``limit`` examples of the split (LM: windows spread evenly over it) in a fixed order.

        ``by_length`` groups examples of similar source length into the same batch (each batch
        carries ``index``, its rows' positions in the split), so padding and rows that finish
        decoding early waste little work: what evaluation uses.
        """

    @abstractmethod
    def max_target_len(self, split: str) -> int:
        """Longest target in the split, in tokens, without eos: a decoding length limit."""
