"""build_task: the one factory that turns a TaskConfig into a ready Task."""

from __future__ import annotations

from pathlib import Path

from workbench.errors import UserError
from workbench.tasks.base import Task
from workbench.tasks.catalog import TASKS, TaskInfo
from workbench.tasks.config import TaskConfig
from workbench.tasks.file_tasks import lm_text
from workbench.tasks.lm_task import LMTask
from workbench.tasks.parallel_task import build_parallel_task
from workbench.tasks.seq2seq_task import Seq2SeqTask
from workbench.tasks.synthetic import synthetic_splits
from workbench.tasks.tokenizer import Tokenizer
from workbench.tasks.vocab import Vocab


def build_task(cfg: TaskConfig, vocabs: tuple[Vocab | None, Vocab] | None = None,
               run_dir: str | Path | None = None, read_data: bool = True) -> Task:
    """Build the task ``cfg`` describes; a saved run passes its ``(src_vocab, tgt_vocab)`` and directory.

    The same config always gives the same vocabularies and the same splits. ``run_dir`` holds a
    subword task's tokeniser models; with it, a parallel task whose data file is gone still builds
    (empty splits) so the run decodes typed input; ``read_data=False`` builds it that way even when
    the file is there (decoding a file of sources needs only the run).
    """
    cfg.validate()
    info = TASKS[cfg.name]
    if vocabs is not None:
        _check_vocabs(info, vocabs)
    if info.family == "encoder":
        from workbench.tasks.encoder_task import build_encoder_task

        return build_encoder_task(cfg, vocabs, read_data)
    if info.family == "lm":
        text, source = lm_text(cfg)
        return LMTask(cfg, text, source, vocab=None if vocabs is None else vocabs[1])
    if cfg.name == "skipthought":
        from workbench.tasks.skipthought_task import build_skipthought_task

        return build_skipthought_task(cfg, vocabs)
    if cfg.name == "num2words":
        return _num2words_task(cfg, vocabs, info)
    if cfg.name not in ("copy", "reverse", "sort"):
        return build_parallel_task(cfg, vocabs, None if run_dir is None else Path(run_dir), read_data)
    splits = synthetic_splits(cfg)
    tokenizer = Tokenizer("char", strip=True)
    if vocabs is None:
        vocab = Vocab.build([cfg.alphabet])
        vocabs = (vocab, vocab)
    src_vocab, tgt_vocab = vocabs
    assert src_vocab is not None
    return Seq2SeqTask(cfg, splits, src_vocab, tgt_vocab, tokenizer, tokenizer, info.is_translation)


def _num2words_task(cfg: TaskConfig, vocabs, info: TaskInfo) -> Task:
    """Digits in, English words out (``num2words.py``): both vocabularies are the fixed alphabets."""
    from workbench.tasks.num2words import ONES, TENS, num2words_splits

    splits = num2words_splits(cfg)
    if vocabs is None:
        vocabs = (Vocab.build([list("0123456789")]), Vocab.build([ONES, TENS[2:], ["hundred", "thousand"]]))
    return Seq2SeqTask(cfg, splits, vocabs[0], vocabs[1], Tokenizer("char", strip=True), Tokenizer("word", strip=True),
                       info.is_translation)


def _check_vocabs(info: TaskInfo, vocabs: tuple[Vocab | None, Vocab]) -> None:
    src_vocab, _ = vocabs
    if info.family == "lm" and src_vocab is not None:
        raise UserError(f"task {info.name} is a language model: its source vocabulary must be None")
    if info.family != "lm" and src_vocab is None:
        raise UserError(f"task {info.name} needs a source vocabulary")
