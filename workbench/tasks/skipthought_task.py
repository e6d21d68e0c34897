"""The skipthought task: sentence i -> sentence i−1 and sentence i+1 (Kiros et al. 2015).

Each sentence with a neighbour in its story gives one example per neighbour: source sentence i,
target sentence i−1 with decoder input ``[<prev>] + target``, or target sentence i+1 with
``[<bos>] + target``. The first decoder input tells a skip-thought model which of its two decoders
reads the row (``models/skip_thought.py``), so batches, losses and every decoding tool are the
seq2seq ones. Words are tokens (the ``word`` tokeniser); one vocabulary serves both sides, with
``<prev>`` at id 4, right after the four specials.
"""

from __future__ import annotations

from workbench.tasks.base import Example
from workbench.tasks.config import TaskConfig
from workbench.tasks.seq2seq_task import EncodedSplit, Seq2SeqTask
from workbench.tasks.stories import SCRIPTS, Story, text_stories, toy_stories
from workbench.tasks.tokenizer import Tokenizer
from workbench.tasks.vocab import SPECIALS, Vocab

PREV = "<prev>"  # the decoder input that starts the previous-sentence decoder


class SkipThoughtTask(Seq2SeqTask):
    """Ordered sentences as (sentence i, a neighbour) examples; see the module docstring."""

    def __init__(self, config: TaskConfig, stories: dict[str, list[Story]], vocab: Vocab, tokenizer: Tokenizer):
        self.stories = stories
        self._starts: dict[str, list[int]] = {}
        self.prev_id = vocab.stoi[PREV]
        splits = {name: self._examples(name, vocab, tokenizer) for name in stories}
        super().__init__(config, splits, vocab, vocab, tokenizer, tokenizer, is_translation=False)

    @property
    def decoders(self) -> dict[str, int]:
        """Each decoder's name -> the first decoder input that starts it."""
        return {"prev": self.prev_id, "next": self.tgt_vocab.bos_id}

    def _examples(self, split: str, vocab: Vocab, tokenizer: Tokenizer) -> list[Example]:
        out, starts = [], []
        for story in self.stories[split]:
            tokens = [tokenizer.tokenize(s) for s in story.sentences]
            for i, sentence in enumerate(tokens):
                if i > 0:
                    out.append(Example(sentence, tokens[i - 1]))
                    starts.append(self.prev_id)
                if i + 1 < len(tokens):
                    out.append(Example(sentence, tokens[i + 1]))
                    starts.append(vocab.bos_id)
        self._starts[split] = starts
        return out

    def example_start(self, split: str, index: int) -> int:
        """The first decoder input of example ``index`` of ``split``: which decoder generates its target."""
        self._check_split(split)
        return self._starts[split][index]

    def _encoded_split(self, split: str) -> EncodedSplit:
        fresh = split not in self._encoded
        data = super()._encoded_split(split)
        if fresh and len(data):
            data.tgt_in[:, 0] = data.tgt_in.new_tensor(self._starts[split])  # (N,): <prev> or <bos>
        return data

    def sentences(self) -> list[tuple[str, str, str | None]]:
        """Every distinct sentence of the corpus once: (text, first split it occurs in, its story's topic)."""
        seen: dict[str, tuple[str, str, str | None]] = {}
        for split, stories in self.stories.items():
            for story in stories:
                for sentence in story.sentences:
                    seen.setdefault(sentence, (sentence, split, story.topic))
        return list(seen.values())


def build_skipthought_task(cfg: TaskConfig, vocabs) -> SkipThoughtTask:
    """The toy stories (no ``--data``) or the sentences of ``cfg.data``; a saved run passes its vocabularies."""
    from workbench.tasks.readers import read_text

    if cfg.data is None:
        stories = toy_stories(cfg.val_size, cfg.test_size, cfg.seed)
    else:
        stories = text_stories(read_text(cfg.data), cfg.val_fraction)
    tokenizer = Tokenizer("word", strip=True)
    if vocabs is None:
        train = [tokenizer.tokenize(s) for story in stories["train"] for s in story.sentences]
        base = Vocab.build(train, min_freq=cfg.min_freq, max_size=cfg.vocab_size)
        vocabs = (None, Vocab(list(SPECIALS) + [PREV] + [t for t in base.itos[len(SPECIALS):] if t != PREV]))
    return SkipThoughtTask(cfg, stories, vocabs[1], tokenizer)


TOPICS = tuple(SCRIPTS)  # the toy corpus's topics, in order
