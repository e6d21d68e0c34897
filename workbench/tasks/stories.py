"""Sentences in order for skip-thought: generated toy stories, or any text cut into sentences.

The toy corpus is made of short stories, each one script of five sentences acted out by one
character with one thing (``SCRIPTS``): "anna goes to the market for fish", "anna buys some
fish", "anna cooks the fish at home", ... Given a sentence, the sentence before and the one after
follow from it (same character, same thing, the script's neighbouring line), so both of
skip-thought's decoders can learn them on a CPU, and a student can check what the encoder learnt:
sentences of one script (topic) should be each other's nearest neighbours by sentence vector. One
line names neither ("the rain starts to fall"), so the character and thing in its neighbours
cannot be known: the decoders' accuracy stays a little under 100 %, for a reason a student can
read off the data.

Val and test hold whole stories whose (script, character, thing) never occur in training.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from workbench.errors import UserError

NAMES = ("anna", "ben", "clara", "david", "emma", "felix", "grace", "hugo", "iris", "jack")
# topic -> (the script's lines, {n} the character and {t} the thing; the things of this topic)
SCRIPTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cooking": (("{n} goes to the market for {t}", "{n} buys some {t}", "{n} cooks the {t} at home",
                 "{n} eats the {t} for dinner", "{n} saves the last {t} for later"),
                ("fish", "rice", "soup", "beans", "eggs")),
    "garden": (("{n} wants to grow a {t}", "{n} plants a {t} seed", "{n} waters the {t} every day",
                "the {t} of {n} grows tall", "{n} shows the {t} to a friend"),
               ("rose", "tulip", "carrot", "pumpkin", "sunflower")),
    "travel": (("{n} packs a bag for the {t}", "{n} waits for the {t}", "the {t} arrives late for {n}",
                "{n} rides the {t} to the city", "{n} takes the {t} back home"),
               ("train", "bus", "ferry", "tram")),
    "music": (("{n} finds an old {t}", "{n} tunes the {t}", "{n} plays the {t} all night",
               "the neighbours ask {n} to stop the {t}", "{n} puts the {t} away"),
              ("guitar", "violin", "piano", "drum", "flute")),
    "rain": (("{n} looks for a {t}", "{n} takes the {t} outside", "the rain starts to fall",
              "{n} stays dry under the {t}", "{n} hangs the {t} up at home"),
             ("umbrella", "coat", "hat")),
    "pet": (("{n} finds a lost {t}", "{n} gives the {t} some water", "the {t} follows {n} home",
             "{n} names the {t} lucky", "{n} and the {t} sleep by the fire"),
            ("dog", "cat", "rabbit", "goat")),
}
_SENTENCE_END = re.compile(r"[.!?]+|\n")  # --data: a sentence ends at . ! ? or a line break


@dataclass
class Story:
    """Sentences in order (each a text) and, for the toy corpus, the topic they belong to."""

    sentences: list[str]
    topic: str | None = None


def toy_stories(val_size: int, test_size: int, seed: int) -> dict[str, list[Story]]:
    """Every (script, character, thing) story once, shuffled; val and test take whole stories."""
    stories = [Story([line.format(n=name, t=thing) for line in lines], topic)
               for topic, (lines, things) in SCRIPTS.items() for name in NAMES for thing in things]
    random.Random(f"stories:{seed}").shuffle(stories)
    held = val_size + test_size
    if held > len(stories) // 2:
        raise UserError(f"task skipthought: val_size + test_size ({held}) count stories here and may be at most "
                        f"{len(stories) // 2} (half of the {len(stories)} stories)")
    return {"train": stories[held:], "val": stories[:val_size], "test": stories[val_size:held]}


def text_stories(text: str, val_fraction: float) -> dict[str, list[Story]]:
    """A text cut into sentences (at . ! ? and line breaks; a blank line ends a story), then into splits.

    The last ``val_fraction`` of the sentences is the test split and the same amount before it
    val; neighbours never cross a blank line or a split's edge.
    """
    flat: list[tuple[int, str]] = []  # (story number, sentence)
    for number, block in enumerate(re.split(r"\n\s*\n", text)):
        for piece in _SENTENCE_END.split(block):
            sentence = " ".join(piece.split())
            if sentence:
                flat.append((number, sentence))
    if len(flat) < 10:
        raise UserError(f"task skipthought: the text has {len(flat)} sentences; it needs at least 10 "
                        "(sentences end at . ! ? or a line break)")
    held = max(1, int(len(flat) * val_fraction))
    parts = {"train": flat[: len(flat) - 2 * held], "val": flat[len(flat) - 2 * held: len(flat) - held],
             "test": flat[len(flat) - held:]}
    return {name: _regroup(rows) for name, rows in parts.items()}


def _regroup(rows: list[tuple[int, str]]) -> list[Story]:
    stories: list[Story] = []
    last = None
    for number, sentence in rows:
        if number != last:
            stories.append(Story([]))
            last = number
        stories[-1].sentences.append(sentence)
    return stories
