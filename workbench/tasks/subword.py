"""Subword tokens: a SentencePiece model (unigram or BPE) trained on the training split only.

The model is trained with no text normalisation of its own (the reader already normalised
spaces), whitespace kept as written and byte fallback, so ``detokenize(tokenize(t)) == t`` for
any text, and a held-out character the training split never showed becomes bytes, not ``<unk>``.
The model's bytes are saved in the run (``tokenizer-src.model``, ``tokenizer-tgt.model``): a run
tokenises and detokenises without its training file.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Iterable

from workbench.errors import DataError

DEFAULT_VOCAB_SIZE = 2000  # per side; ~20k short sentence pairs give enough text for this many pieces
MAX_TRAIN_CHARS = 4000  # SentencePiece skips longer sentences anyway; say so by not passing them


class SubwordTokenizer:
    """Tokenises text into SentencePiece pieces (``▁`` marks a preceding space) and back."""

    unit = "subword"

    def __init__(self, model_bytes: bytes) -> None:
        import sentencepiece as spm

        self.model_bytes = model_bytes
        self._sp = spm.SentencePieceProcessor(model_proto=model_bytes)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, model_type: str = "unigram") -> SubwordTokenizer:
        """Train on ``texts`` (the training split); ``vocab_size`` is a soft limit on a small corpus."""
        import sentencepiece as spm

        sentences = [t for t in texts if t and len(t) <= MAX_TRAIN_CHARS]
        if not sentences:
            raise DataError("no training text to learn subword pieces from")
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences), model_writer=model, vocab_size=vocab_size, model_type=model_type,
                character_coverage=1.0, normalization_rule_name="identity", remove_extra_whitespaces=False,
                byte_fallback=True, hard_vocab_limit=False, split_digits=True,
                unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, num_threads=1, minloglevel=2)
        except RuntimeError as exc:
            need = re.search(r"smaller than required_chars\. \d+ vs (\d+)", str(exc))
            if need:
                raise DataError(f"task vocab_size: {vocab_size} is too small for subword tokens on this text; "
                                f"it needs at least {need.group(1)} (every character seen, 256 bytes, <unk>)") from None
            raise
        return cls(model.getvalue())

    def pieces(self) -> list[str]:
        """Every piece the model can emit (its ``<unk>`` excluded: the Vocab has its own)."""
        sp = self._sp
        return [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not sp.is_unknown(i)]

    def tokenize(self, text: str) -> list[str]:
        """Pieces of ``text`` (stripped, like the other units)."""
        return self._sp.encode(text.strip(), out_type=str)

    def detokenize(self, tokens: list[str]) -> str:
        """Text of ``tokens``; a piece the model does not know (a special) decodes as ``⁇``."""
        return self._sp.decode_pieces(list(tokens))


TOKENIZER_FILES = {"src": "tokenizer-src.model", "tgt": "tokenizer-tgt.model"}  # in the run directory


def save_tokenizers(task, run_dir: Path) -> None:
    """Write a subword task's models into the run (char and word need none)."""
    from workbench.fileio import atomic_write

    for side, tokenizer in (("src", task._src_tokenizer), ("tgt", task._tgt_tokenizer)):
        if isinstance(tokenizer, SubwordTokenizer):
            atomic_write(Path(run_dir) / TOKENIZER_FILES[side], tokenizer.model_bytes)
