"""The encoder family's data: generated tagging and classification toys, and the user's tagged/labelled files.

    later     tag each symbol Y if the same symbol occurs again later in the string, else N. The
              answer at position s depends only on what comes after s: a unidirectional encoder
              cannot know it (it is right at chance on the symbols whose fate is open), a
              bidirectional one can (the backward direction carries the set of symbols seen so far).
    nounverb  a tiny generated grammar whose words "fish", "duck", "watch", "can", ... are nouns in
              one sentence and verbs in the next; "can" after a pronoun is a verb ("we can the
              fish") or an auxiliary ("we can fish") depending on the word *after* it.
    majority  classify a string by its most frequent symbol (strings with a tie are not drawn):
              the answer needs the whole sequence.
    conll     the user's file, one ``token<TAB>tag`` per line, a blank line between sentences.
    labels    the user's file, one ``text<TAB>label`` per line.
    mlm       with ``task.tokens = word``: the nounverb grammar's sentences as plain text ("we can fish."),
              or the user's file, one sentence per line.
"""

from __future__ import annotations

import random
from collections import Counter

from workbench.errors import DataError
from workbench.tasks.base import Example
from workbench.tasks.config import TaskConfig
from workbench.tasks.readers import read_text, read_tsv
from workbench.tasks.synthetic import synthetic_splits


def later_tags(s: str) -> list[str]:
    """Y where the symbol occurs again after this position, else N."""
    return ["Y" if ch in s[i + 1:] else "N" for i, ch in enumerate(s)]


def majority_label(s: str) -> list[str]:
    """The most frequent symbol, as a one-token label."""
    return [Counter(s).most_common(1)[0][0]]


def has_majority(s: str) -> bool:
    """True when one symbol occurs strictly more often than every other."""
    top = Counter(s).most_common(2)
    return len(top) == 1 or top[0][1] > top[1][1]


def toy_splits(cfg: TaskConfig) -> dict[str, list[Example]]:
    """Splits of the generated string tasks (later, majority), drawn like copy/reverse/sort."""
    if cfg.name == "later":
        return synthetic_splits(cfg, later_tags)
    return synthetic_splits(cfg, majority_label, keep=has_majority)


# ---- nounverb: a tiny grammar with noun/verb ambiguity ----------------------------------------

WORDS = {
    "DET": ("the", "a", "every", "this", "that"),
    "ADJ": ("old", "big", "small", "red", "quick", "lazy"),
    "PRON": ("I", "we", "they", "you"),
    "AUX": ("can", "will", "must", "may"),
}
NOUNS = ("dog", "cat", "man", "girl", "bird", "boat", "tree", "river")
VERBS = ("see", "like", "find", "take", "love", "follow")
AMBIGUOUS = ("fish", "duck", "watch", "park", "book", "ring", "cook", "train", "rock", "plant", "can")
# Templates: ADJ? is an optional adjective; NP = DET ADJ? NOUN
TEMPLATES = (
    ("PRON", "VERB", "NP", "."),  # they watch the old duck .
    ("NP", "AUX", "VERB", "NP", "."),  # the duck can fish a boat .
    ("PRON", "AUX", "VERB", "NP", "."),  # we can fish the river .
    ("NP", "AUX", "VERB", "."),  # the old fish will cook .
    ("PRON", "AUX", "VERB", "."),  # they can fish .
)


def grammar_sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    """One sentence of the grammar and its tags."""
    words, tags = [], []
    for slot in rng.choice(TEMPLATES):
        if slot == "NP":
            parts = ["DET"] + (["ADJ"] if rng.random() < 0.4 else []) + ["NOUN"]
        else:
            parts = [slot]
        for tag in parts:
            if tag == "NOUN":
                word = rng.choice(NOUNS + AMBIGUOUS)
            elif tag == "VERB":
                word = rng.choice(VERBS + AMBIGUOUS)
            elif tag == ".":
                word, tag = ".", "PUNCT"
            else:
                word = rng.choice(WORDS[tag])
            words.append(word)
            tags.append(tag)
    return words, tags


def grammar_splits(cfg: TaskConfig) -> dict[str, list[Example]]:
    """val and test sentences drawn first, each once; train never repeats one of them."""
    rng = random.Random(f"{cfg.name}:{cfg.seed}")
    taken: set[tuple[str, ...]] = set()
    splits: dict[str, list[Example]] = {}
    for split, n in (("val", cfg.val_size), ("test", cfg.test_size), ("train", cfg.train_size)):
        out: list[Example] = []
        for _ in range(200 * n + 1000):
            if len(out) == n:
                break
            words, tags = grammar_sentence(rng)
            key = tuple(words)
            if key in taken:
                continue
            if split != "train":
                taken.add(key)
            out.append(Example(words, tags))
        splits[split] = out
    return {name: splits[name] for name in ("train", "val", "test")}


# ---- the user's files -------------------------------------------------------------------------

def read_conll(path: str) -> list[Example]:
    """Sentences of a ``token<TAB>tag`` file (blank line between sentences); DataError naming the line."""
    sentences: list[Example] = []
    words: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            if words:
                sentences.append(Example(words, tags))
                words, tags = [], []
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != 2 or not fields[0] or not fields[1]:
            found = "no tab" if len(fields) == 1 else f"{len(fields) - 1} tabs" if len(fields) > 2 else "an empty field"
            raise DataError(f"{path}:{number}: expected 'token<TAB>tag', found {found}")
        words.append(fields[0])
        tags.append(fields[1])
    if words:
        sentences.append(Example(words, tags))
    if not sentences:
        raise DataError(f"{path}: no sentences")
    return sentences


def read_labelled(path: str, tokenize) -> list[Example]:
    """Examples of a ``text<TAB>label`` file: the text's tokens and the label as one token."""
    return [Example(tokenize(text), [label]) for text, label in read_tsv(path, ("text", "label"))]


def read_sentences(path: str, longest: int) -> list[Example]:
    """A word-level masked LM's sentences: each non-blank line of ``path``, word-tokenised and cut to
    ``longest`` words (input and target are the same words; the task masks them)."""
    from workbench.tasks.tokenizer import word_tokens

    sentences = [words[:longest] for words in (word_tokens(line.strip()) for line in read_text(path).split("\n"))
                 if words]
    if not sentences:
        raise DataError(f"{path}: no sentences (one per line)")
    return [Example(words, words) for words in sentences]


def hold_out(examples: list[Example], cfg: TaskConfig) -> dict[str, list[Example]]:
    """Shuffle once by the seed; val and test each take at most ``val_fraction`` (and their sizes)."""
    rows = list(examples)
    random.Random(f"{cfg.name}:{cfg.seed}").shuffle(rows)
    n_held = min(int(len(rows) * cfg.val_fraction), cfg.val_size) if len(rows) >= 10 else 0
    n_test = min(int(len(rows) * cfg.val_fraction), cfg.test_size) if len(rows) >= 10 else 0
    if len(rows) < 3:
        raise DataError(f"{cfg.data}: {len(rows)} examples; need at least 3 (train, val and test)")
    n_held, n_test = max(n_held, 1), max(n_test, 1)
    return {"train": rows[n_held + n_test:], "val": rows[:n_held], "test": rows[n_held:n_held + n_test]}
