"""Vocab: the two-way map between tokens and the integer ids a model sees."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from workbench.errors import UserError

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


class Vocab:
    """Token <-> id map: the four specials at ids 0-3, then the tokens in sorted order."""

    pad_id = 0
    bos_id = 1
    eos_id = 2
    unk_id = 3

    def __init__(self, itos: list[str]) -> None:
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise UserError(f"vocabulary must start with {', '.join(SPECIALS)}")
        if len(set(itos)) != len(itos):
            raise UserError("vocabulary lists a token twice")
        self.itos: list[str] = list(itos)
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(self.itos)}
        # A data token spelled like a special (a word "<pad>" in a user file) must not become padding.
        self._token_ids = {tok: i for tok, i in self.stoi.items() if i >= len(SPECIALS)}

    @classmethod
    def build(cls, token_lists: Iterable[Iterable[str]], min_freq: int = 1, max_size: int = 0) -> Vocab:
        """Vocabulary of the tokens in ``token_lists`` seen at least ``min_freq`` times.

        ``max_size`` (0 = no cap) counts the four specials and keeps the most frequent tokens
        (ties broken by the token). The order never depends on the input order.
        """
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        for special in SPECIALS:
            counts.pop(special, None)
        kept = [tok for tok, n in counts.items() if n >= min_freq]
        if max_size and len(kept) > max_size - len(SPECIALS):
            kept = sorted(kept, key=lambda tok: (-counts[tok], tok))[: max(0, max_size - len(SPECIALS))]
        return cls(list(SPECIALS) + sorted(kept))

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens)"

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; a token the vocabulary has never seen becomes ``unk_id``."""
        get = self._token_ids.get
        return [get(tok, self.unk_id) for tok in tokens]

    def decode(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
        """Tokens of ``ids``; when stripping, stop at the first eos and drop pad and bos."""
        if hasattr(ids, "tolist"):  # a tensor row: one conversion instead of one per element
            ids = ids.tolist()
        out: list[str] = []
        for i in ids:
            i = int(i)
            if strip_special:
                if i == self.eos_id:
                    break
                if i in (self.pad_id, self.bos_id):
                    continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """The tokens this vocabulary would map to ``<unk>``, each once, in first-seen order."""
        missing = [tok for tok in tokens if tok not in self._token_ids]
        return list(dict.fromkeys(missing))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the id-ordered token list."""
        return {"itos": list(self.itos)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocab:
        """Inverse of ``to_dict``."""
        if set(d) != {"itos"} or not isinstance(d["itos"], list):
            raise UserError("vocabulary file: expected {'itos': [tokens...]}")
        return cls(d["itos"])
