"""Tokenisers: how a line of text becomes the tokens a vocabulary maps, and back.

Two units exist:

``char``  every character is a token, spaces included; ``detokenize`` is ``"".join``.

``word``  whitespace separates words; inside a word each hyphen is a token of its own and
          trailing punctuation (``, . ; : ! ?``) is split off, one token per mark:

              "soixante-dix-sept"            -> soixante - dix - sept
              "one thousand, two hundred"    -> one thousand , two hundred

          so a model learns "dix" once instead of once per compound, and the hyphenated
          French tens (70-99) show up as separate alignment steps. ``detokenize`` glues a
          hyphen to both neighbours and punctuation to the word before it, which restores
          any text written the usual way. Text with a spaced hyphen ("a - b") or a space
          before punctuation ("Oui !") comes back without those spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

HYPHEN = "-"
TRAILING_PUNCT = frozenset(",.;:!?")


@dataclass(frozen=True)
class Tokenizer:
    """Splits text into tokens and joins tokens back into text, at one unit."""

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
        """Text of ``tokens``: the inverse of ``tokenize`` for ordinarily written text."""
        if self.unit == "char":
            return "".join(tokens)
        return join_words(tokens)


def word_tokens(text: str) -> list[str]:
    """Word-unit tokens: words, each hyphen, each trailing punctuation mark."""
    out: list[str] = []
    for word in text.split():
        tail: list[str] = []
        while word and word[-1] in TRAILING_PUNCT:
            tail.append(word[-1])
            word = word[:-1]
        for i, part in enumerate(word.split(HYPHEN)):
            if i:
                out.append(HYPHEN)
            if part:
                out.append(part)
        out.extend(reversed(tail))
    return out


def join_words(tokens: list[str]) -> str:
    """Glue word-unit tokens back: hyphens bind both sides, punctuation binds left."""
    pieces: list[str] = []
    glue_next = True  # nothing precedes the first token
    for tok in tokens:
        glue = glue_next or tok == HYPHEN or tok in TRAILING_PUNCT
        pieces.append(tok if glue else " " + tok)
        glue_next = tok == HYPHEN
    return "".join(pieces)
