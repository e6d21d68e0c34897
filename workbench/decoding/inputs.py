"""Turning text a user typed into ids a session can decode, with the checks a user needs.

Shared by ``seqbench decode`` and the inspector: out-of-vocabulary tokens become ``<unk>`` and are
reported (the caller warns), and empty input is a ``UserError`` with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError


@dataclass
class PreparedText:
    """Text as tokens and ids, plus the tokens the vocabulary did not know."""

    tokens: list[str]
    ids: list[int]
    unknown: list[str] = field(default_factory=list)  # distinct OOV tokens, first-seen order


def prepare_text(vocab: Any, tokens: list[str], *, what: str = "input", allow_empty: bool = False) -> PreparedText:
    """Encode ``tokens`` with ``vocab``; UserError when empty or OOV without <unk> (lengths: ``job.py``)."""
    if not tokens and not allow_empty:
        raise UserError(f"the {what} is empty: give at least one token")
    unknown = vocab.unknown(tokens)
    if unknown and getattr(vocab, "unk_id", None) is None:
        raise UserError(f"the {what} has tokens outside the vocabulary and no <unk> to map them to: "
                        f"{', '.join(map(repr, unknown[:10]))}")
    return PreparedText(list(tokens), vocab.encode(tokens), unknown)


def parse_forced(specs: list[str], tokenize: Any, vocab: Any) -> dict[int, int]:
    """``["t:token", ...]`` -> {step: token id}; t counts output tokens from 0.

    ``token`` is one target token as the vocabulary spells it (``<eos>`` allowed); text that
    tokenises to a single known token is accepted too, so ``3: `` forces a space in a char task.
    """
    forced: dict[int, int] = {}
    for spec in specs:
        step_text, sep, token = spec.partition(":")
        if not sep or not step_text.strip().isdigit():
            raise UserError(f"bad --force {spec!r}: expected STEP:TOKEN, e.g. 0:a (steps count from 0)")
        if token in vocab.stoi:
            forced[int(step_text)] = vocab.stoi[token]
            continue
        pieces = tokenize(token) if token.strip() else [token]
        if len(pieces) != 1 or pieces[0] not in vocab.stoi:
            raise UserError(f"bad --force {spec!r}: {token!r} is not a single token of the output vocabulary")
        forced[int(step_text)] = vocab.stoi[pieces[0]]
    return forced
