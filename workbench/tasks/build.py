"""build_task: the one factory that turns a TaskConfig into a ready Task."""

from __future__ import annotations

from workbench.errors import UserError
from workbench.tasks.base import Task
from workbench.tasks.catalog import TASKS, TaskInfo
from workbench.tasks.config import TaskConfig
from workbench.tasks.file_tasks import lm_text, tsv_splits, tsv_tokenizer
from workbench.tasks.lm_task import LMTask
from workbench.tasks.seq2seq_task import Seq2SeqTask
from workbench.tasks.synthetic import synthetic_splits
from workbench.tasks.tokenizer import Tokenizer
from workbench.tasks.vocab import Vocab


def build_task(cfg: TaskConfig, vocabs: tuple[Vocab | None, Vocab] | None = None) -> Task:
    """Build the task ``cfg`` describes; pass a saved run's ``(src_vocab, tgt_vocab)`` to reuse them.

    The same config always gives the same vocabularies and the same splits.
    """
    cfg.validate()
    info = TASKS[cfg.name]
    if vocabs is not None:
        _check_vocabs(info, vocabs)
    if info.family == "lm":
        text, source = lm_text(cfg)
        return LMTask(cfg, text, source, vocab=None if vocabs is None else vocabs[1])
    tokenizer = task_tokenizer(cfg)
    if cfg.name in ("copy", "reverse", "sort"):
        splits = synthetic_splits(cfg)
        if vocabs is None:
            vocab = Vocab.build([cfg.alphabet])
            vocabs = (vocab, vocab)
    else:
        splits = tsv_splits(cfg, tokenizer)
        if vocabs is None:
            every = [ex for split in splits.values() for ex in split]
            vocabs = (Vocab.build(ex.src for ex in every), Vocab.build(ex.tgt for ex in every))
    src_vocab, tgt_vocab = vocabs
    assert src_vocab is not None
    return Seq2SeqTask(cfg, splits, src_vocab, tgt_vocab, tokenizer, tokenizer, info.is_translation)


def task_tokenizer(cfg: TaskConfig) -> Tokenizer:
    """The tokeniser a task uses on both sides, known from the config alone (decoding reads no data)."""
    if TASKS[cfg.name].family == "lm":
        return Tokenizer("char", strip=False)
    if cfg.name in ("copy", "reverse", "sort"):
        return Tokenizer("char", strip=True)
    return tsv_tokenizer(cfg)


def _check_vocabs(info: TaskInfo, vocabs: tuple[Vocab | None, Vocab]) -> None:
    src_vocab, _ = vocabs
    if info.family == "lm" and src_vocab is not None:
        raise UserError(f"task {info.name} is a language model: its source vocabulary must be None")
    if info.family == "seq2seq" and src_vocab is None:
        raise UserError(f"task {info.name} needs a source vocabulary")
