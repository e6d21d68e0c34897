"""Tasks of the encoder family: tagging and classification (LabelTask) and the masked LM, on characters
(MaskedLMTask) or on sentences word by word (SentenceMaskedLMTask).

Batches keep the trainer's one shape: ``model(src, src_lengths, tgt_in)`` against ``tgt_out`` with
padding ignored. ``src`` is the input, ``tgt_in`` repeats it (an encoder ignores it) and
``tgt_out`` is a tag per position (B, S), one label per row (B, 1), or, for the masked LM, the
original token at each chosen position and padding everywhere else (B, S).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from workbench.tasks.base import Batch, Example, Task
from workbench.tasks.config import TaskConfig
from workbench.tasks.lm_task import LMTask
from workbench.tasks.seq2seq_task import Seq2SeqTask
from workbench.tasks.tokenizer import Tokenizer
from workbench.tasks.vocab import SPECIALS, Vocab

MASK = "<mask>"  # the masked LM's [MASK] token; typed input writes it "_" or "[MASK]"


class SpaceTokenizer(Tokenizer):
    """Tokens separated by whitespace, as a tagged file lists them ("duck ." is two tokens, never "▁.")."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


@dataclass
class LabelledRows:
    """A split as padded ids: inputs (N, S_max) and tags (N, S_max) or labels (N, 1)."""

    src: Tensor
    lengths: Tensor  # (N,)
    tgt: Tensor

    @classmethod
    def encode(cls, examples: list[Example], src_vocab: Vocab, tgt_vocab: Vocab) -> LabelledRows:
        width = max((len(ex.src) for ex in examples), default=0)
        tag_width = max((len(ex.tgt) for ex in examples), default=0)

        def padded(ids: list[int], n: int) -> list[int]:
            return ids + [0] * (n - len(ids))

        src = [padded(src_vocab.encode(ex.src), width) for ex in examples]
        tgt = [padded(tgt_vocab.encode(ex.tgt), tag_width) for ex in examples]
        n = len(examples)
        return cls(torch.tensor(src, dtype=torch.long).reshape(n, width),  # (N, S_max)
                   torch.tensor([len(ex.src) for ex in examples], dtype=torch.long),
                   torch.tensor(tgt, dtype=torch.long).reshape(n, tag_width))  # (N, S_max) or (N, 1)

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def src_lengths(self) -> Tensor:  # what Seq2SeqTask's length-grouped batches sort by
        return self.lengths

    tgt_lengths = src_lengths

    def batch(self, rows: Tensor | slice) -> Batch:
        lengths = self.lengths[rows]
        s = int(lengths.max())
        src = self.src[rows, :s]  # (B, S)
        tgt = self.tgt[rows, :s]  # (B, S) tags, or (B, 1) labels
        return Batch(src, lengths, src, tgt, int((tgt != 0).sum()))


class LabelTask(Seq2SeqTask):
    """Tagging (a tag per token) or classification (a label per sequence) of token sequences.

    Splits, examples and random training batches work as for a seq2seq task; the encoding differs
    (no bos/eos: a tag per token, or one label) and so do evaluation batches."""

    family = "encoder"

    def __init__(self, config: TaskConfig, splits: dict[str, list[Example]], src_vocab: Vocab, tgt_vocab: Vocab,
                 tokenizer: Tokenizer, head: str) -> None:
        self.head = head
        super().__init__(config, splits, src_vocab, tgt_vocab, tokenizer, Tokenizer("word"), is_translation=False)

    def _encoded_split(self, split: str) -> LabelledRows:  # type: ignore[override]
        self._check_split(split)
        if split not in self._encoded:
            self._encoded[split] = LabelledRows.encode(self._splits[split], self.src_vocab, self.tgt_vocab)
        return self._encoded[split]

    def eval_batches(self, split: str, batch_size: int, limit: int | None = None,
                     by_length: bool = False) -> Iterator[Batch]:
        data = self._encoded_split(split)
        n = len(data.lengths) if limit is None else min(limit, len(data.lengths))
        order = torch.argsort(data.lengths[:n], stable=True) if by_length else torch.arange(n)  # (n,)
        for start in range(0, n, batch_size):
            rows = order[start: start + batch_size]
            batch = data.batch(rows)
            batch.index = rows
            yield batch


def bert_mask(ids: Tensor, prob: float, mask_id: int, vocab_size: int,
              generator: torch.Generator, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """BERT's corruption of ids (B, T): (input, targets). Each position is chosen with ``prob`` (at
    least one per row); a chosen one becomes [MASK] 80% of the time, a random token 10%, itself 10%.
    Targets hold the original id at chosen positions and padding (0) elsewhere. With ``lengths`` (B,)
    only the real positions of each padded row are chosen."""
    B, T = ids.shape
    chosen = torch.rand(B, T, generator=generator) < prob  # (B, T)
    forced = torch.randint(T, (B,), generator=generator)  # (B,) a row with no choice takes this one
    if lengths is not None:
        chosen &= torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T) never padding
        forced = forced % lengths.clamp(min=1)  # (B,) a real position
    none = ~chosen.any(1)
    chosen[none, forced[none]] = True
    roll = torch.rand(B, T, generator=generator)  # (B, T)
    first = len(SPECIALS) + 1  # after the specials and [MASK]
    random_ids = torch.randint(first, max(vocab_size, first + 1), (B, T), generator=generator)
    corrupted = torch.where(chosen & (roll < 0.8), torch.full_like(ids, mask_id), ids)
    corrupted = torch.where(chosen & (roll >= 0.8) & (roll < 0.9), random_ids, corrupted)
    return corrupted, torch.where(chosen, ids, torch.zeros_like(ids))


def mlm_vocab(text: str) -> Vocab:
    """The corpus's characters, with [MASK] right after the specials."""
    return Vocab(list(SPECIALS) + [MASK] + sorted(set(text) - {MASK}))


def unigram_log_probs(ids: Tensor, vocab_size: int) -> Tensor:
    """(V,) log-frequencies of the ids (padding and specials carry none): the baseline a masked LM must beat."""
    counts = torch.bincount(ids.flatten(), minlength=vocab_size).double()  # (V,)
    counts[: len(SPECIALS)] = 0.0
    counts += 1e-3
    return (counts / counts.sum()).log().float()


class MaskedLMTask(LMTask):
    """Masked-token prediction on windows of a text (BERT's objective at the character level).

    Validation masks are drawn from a fixed generator, so every evaluation scores the same masks.
    ``unigram`` (V,) holds the training text's log-frequencies: the baseline a model must beat.
    """

    family = "encoder"
    head = "mlm"

    def __init__(self, config: TaskConfig, text: str, source: str, vocab: Vocab | None = None) -> None:
        super().__init__(config, text, source, vocab if vocab is not None else mlm_vocab(text))
        self.src_vocab = self.tgt_vocab
        self.mask_id = self.tgt_vocab.stoi[MASK]
        self.unigram = unigram_log_probs(self._streams["train"], len(self.tgt_vocab))  # (V,)

    def examples(self, split: str) -> list[Example]:
        return [Example(ex.tgt, ex.tgt) for ex in super().examples(split)]

    def masked(self, ids: Tensor, generator: torch.Generator) -> Batch:
        """The batch of windows ``ids`` (B, T) corrupted by ``bert_mask``."""
        src, tgt = bert_mask(ids, self.config.mask_prob, self.mask_id, len(self.tgt_vocab), generator)
        lengths = torch.full((ids.shape[0],), ids.shape[1], dtype=torch.long)
        return Batch(src, lengths, src, tgt, int((tgt != 0).sum()))

    def train_batch(self, batch_size: int, generator: torch.Generator, by_length: bool = False) -> Batch:
        return self.masked(super().train_batch(batch_size, generator, by_length).tgt_in, generator)

    def eval_batches(self, split: str, batch_size: int, limit: int | None = None,
                     by_length: bool = False) -> Iterator[Batch]:
        generator = torch.Generator().manual_seed(self.config.seed + (1 if split == "val" else 2))
        for batch in super().eval_batches(split, batch_size, limit, by_length):
            yield self.masked(batch.tgt_in, generator)


class SentenceMaskedLMTask(LabelTask):
    """Masked-token prediction on sentences, one per line, word by word (``task.tokens = word``).

    Each sentence is one example, padded in its batch: the masks fall on real words only, and the
    model reads the sentence from both sides. Validation masks come from a fixed generator, as for the
    character-level ``MaskedLMTask``; ``unigram`` (V,) holds the training words' log-frequencies.
    """

    def __init__(self, config: TaskConfig, splits: dict[str, list[Example]], vocab: Vocab) -> None:
        super().__init__(config, splits, vocab, vocab, Tokenizer("word"), "mlm")
        self.mask_id = vocab.stoi[MASK]
        self.unigram = unigram_log_probs(self._encoded_split("train").src, len(vocab))  # (V,)

    def masked(self, batch: Batch, generator: torch.Generator) -> Batch:
        """``batch``'s sentences corrupted by ``bert_mask`` (targets: the chosen words, padding elsewhere)."""
        src, tgt = bert_mask(batch.src, self.config.mask_prob, self.mask_id, len(self.tgt_vocab), generator,
                             batch.src_lengths)
        out = Batch(src, batch.src_lengths, src, tgt, int((tgt != 0).sum()))
        out.index = batch.index
        return out

    def train_batch(self, batch_size: int, generator: torch.Generator, by_length: bool = False) -> Batch:
        return self.masked(super().train_batch(batch_size, generator, by_length), generator)

    def eval_batches(self, split: str, batch_size: int, limit: int | None = None,
                     by_length: bool = False) -> Iterator[Batch]:
        generator = torch.Generator().manual_seed(self.config.seed + {"val": 1, "test": 2}.get(split, 3))
        for batch in super().eval_batches(split, batch_size, limit, by_length):
            yield self.masked(batch, generator)


def sentence_mlm_task(cfg: TaskConfig, vocab: Vocab | None) -> SentenceMaskedLMTask:
    """The word-level masked LM: the user's file (a sentence per line) or the generated grammar's sentences,
    each cut to ``task.block`` words."""
    from workbench.tasks import encoder_data

    if cfg.data is None:  # the grammar's words are what the word tokeniser makes of its sentences ("fish.")
        splits = {name: [Example(ex.src, ex.src) for ex in rows]
                  for name, rows in encoder_data.grammar_splits(cfg).items()}
    else:
        splits = encoder_data.hold_out(encoder_data.read_sentences(cfg.data, cfg.block), cfg)
    if vocab is None:
        built = Vocab.build((ex.src for ex in splits["train"]), cfg.min_freq, max(cfg.vocab_size - 1, 0))
        vocab = Vocab(list(SPECIALS) + [MASK] + [t for t in built.itos[len(SPECIALS):] if t != MASK])
    return SentenceMaskedLMTask(cfg, splits, vocab)


def build_encoder_task(cfg: TaskConfig, vocabs: tuple[Vocab | None, Vocab] | None, read_data: bool = True) -> Task:
    """The encoder task ``cfg`` names; a saved run passes its vocabularies (and may skip reading its file)."""
    from workbench.tasks import encoder_data
    from workbench.tasks.catalog import TASKS
    from workbench.tasks.file_tasks import lm_text

    if cfg.name == "mlm" and cfg.tokens == "word":
        return sentence_mlm_task(cfg, None if vocabs is None else vocabs[1])
    if cfg.name == "mlm":
        text, source = lm_text(cfg)
        return MaskedLMTask(cfg, text, source, vocab=None if vocabs is None else vocabs[1])
    head = TASKS[cfg.name].head
    unit = cfg.tokens or ("char" if cfg.name in ("later", "majority") else "word")
    tokenizer = SpaceTokenizer("word") if head == "tag" and unit == "word" else Tokenizer(unit)
    if cfg.name in ("later", "majority"):
        splits = encoder_data.toy_splits(cfg)
    elif cfg.name == "nounverb":
        splits = encoder_data.grammar_splits(cfg)
    elif not read_data and vocabs is not None:
        splits = {"train": [], "val": [], "test": []}
    elif cfg.name == "conll":
        splits = encoder_data.hold_out(encoder_data.read_conll(_needs_data(cfg)), cfg)
    else:
        splits = encoder_data.hold_out(encoder_data.read_labelled(_needs_data(cfg), tokenizer.tokenize), cfg)
    if vocabs is None:
        train = splits["train"]
        vocabs = (Vocab.build((ex.src for ex in train), cfg.min_freq, cfg.vocab_size),
                  Vocab.build(ex.tgt for ex in train))
    return LabelTask(cfg, splits, vocabs[0], vocabs[1], tokenizer, head)


def _needs_data(cfg: TaskConfig) -> str:
    from workbench.errors import DataError

    if cfg.data is None:
        form = "token<TAB>tag per line, a blank line between sentences" if cfg.name == "conll" else "text<TAB>label per line"
        raise DataError(f"task {cfg.name} needs a data file: pass --data path/to/file ({form})")
    return cfg.data
