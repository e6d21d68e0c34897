"""Tokenisers: how a line of text becomes the tokens a vocabulary maps, and back, exactly.

Three units exist:

``char``     every character is a token, spaces included; ``detokenize`` is ``"".join``.

``word``     plain spaces separate chunks; a chunk splits into words (letters and digits, an
             elided ``l'`` / ``don'`` keeps its apostrophe) and single punctuation marks:

                 "soixante-dix-sept"            -> soixante - dix - sept
                 "one thousand, two"            -> one thousand , two
                 "Je dois me presser !"         -> Je dois me presser ▁!

             Joining follows the usual rule (punctuation binds left, a hyphen both ways, an
             opening bracket or an elision binds right, words are spaced). Where the text departs
             from that rule the token carries a mark: ``▁`` a space the rule would not put there
             (French ``presser !``), ``￭`` no space where the rule would put one (``3,5``). So
             ``detokenize(tokenize(t)) == t`` for any text whose spaces are single plain spaces
             (what ``normalize="spaces"`` makes), and the model learns French ``▁!`` as its own
             token instead of being scored against a spacing it can never produce.

``subword``  a SentencePiece model trained on the training split (``workbench.tasks.subword``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HYPHEN = "-"
SPACE_MARK = "\u2581"  # ▁ : a space here although the rule glues
GLUE_MARK = "\uffed"  # ￭ : no space here although the rule spaces
GLUE_LEFT = frozenset(",.;:!?)]}%…”")  # bind to the token before
GLUE_RIGHT = frozenset("([{“¿¡")  # bind to the token after
APOSTROPHES = frozenset("'’")
_PIECE = re.compile(r"\w+['’]?|[^\w ]")  # a word (with an elision's apostrophe) or one other character


@dataclass(frozen=True)
class Tokenizer:
    """Splits text into tokens and joins tokens back into text, at the char or word unit."""

    unit: str = "char"  # "char" or "word"
    strip: bool = True  # drop leading/trailing whitespace first (sources, targets); False for LM prompts

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text`` at this tokeniser's unit."""
        if self.strip:
            text = text.strip()
        if self.unit == "char":
            return list(text)
        return word_tokens(text)

    def detokenize(self, tokens: list[str]) -> str:
        """Text of ``tokens``: the exact inverse of ``tokenize`` (word unit: on single-spaced text)."""
        if self.unit == "char":
            return "".join(tokens)
        return join_words(tokens)


def _glued_by_rule(before: str, after: str) -> bool:
    """Whether the usual spelling writes ``after`` straight after ``before``, with no space."""
    return (after[0] in GLUE_LEFT or before == HYPHEN or after == HYPHEN
            or before[-1] in APOSTROPHES or before in GLUE_RIGHT)


def word_tokens(text: str) -> list[str]:
    """Word-unit tokens, marked where the text's spacing departs from the joining rule."""
    out: list[str] = []
    before = ""
    for chunk in text.split(" "):
        for j, piece in enumerate(_PIECE.findall(chunk)):
            token = piece
            if before:
                glued = j > 0
                if glued != _glued_by_rule(before, piece):
                    token = (GLUE_MARK if glued else SPACE_MARK) + piece
            out.append(token)
            before = piece
    return out


def _unmark(token: str) -> tuple[str, str]:
    """(mark, bare token); a one-character token is never marked (a lone ▁ in the text is itself)."""
    if len(token) > 1 and token[0] in (SPACE_MARK, GLUE_MARK):
        return token[0], token[1:]
    return "", token


def join_words(tokens: list[str]) -> str:
    """Glue word-unit tokens back: marks decide where present, else the joining rule."""
    pieces: list[str] = []
    before = ""
    for token in tokens:
        mark, bare = _unmark(token)
        if not before:
            sep = ""
        elif mark:
            sep = " " if mark == SPACE_MARK else ""
        else:
            sep = "" if _glued_by_rule(before, bare) else " "
        pieces.append(sep + bare)
        before = bare
    return "".join(pieces)
