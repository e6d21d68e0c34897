"""Tasks: the toy problems seqbench trains on, as vocabularies, splits and ready-padded batches.

    task = build_task(TaskConfig(name="dates"))
    batch = task.train_batch(64, torch.Generator().manual_seed(0))
    logits = model(batch.src, batch.src_lengths, batch.tgt_in)   # loss against batch.tgt_out

Seq2seq tasks (copy, reverse, sort, dates, numbers, tsv) batch ``src`` without bos/eos,
``tgt_in = [bos] + target`` and ``tgt_out = target + [eos]``, padded with id 0. The char-LM
(charlm) batches windows of ``block + 1`` ids with no source. ``TASKS`` describes each task.

``TASKS``, ``TaskInfo``, ``TaskConfig`` and ``Vocab`` import without torch, so ``--help`` and
the launcher's task list stay fast; the rest is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from workbench.tasks.catalog import SAMPLE_DATA_DIR, TASKS, TaskInfo
from workbench.tasks.config import TaskConfig
from workbench.tasks.vocab import Vocab

if TYPE_CHECKING:
    from workbench.tasks.base import Batch, Example, Task
    from workbench.tasks.build import build_task

_LAZY = {"Batch": "base", "Example": "base", "Task": "base", "build_task": "build"}

__all__ = [
    "TASKS", "SAMPLE_DATA_DIR", "Batch", "Example", "Task", "TaskConfig", "TaskInfo", "Vocab", "build_task",
]


def __getattr__(name: str) -> Any:
    """Import the torch-backed names (Batch, Example, Task, build_task) when first asked for."""
    if name in _LAZY:
        value = getattr(import_module(f"workbench.tasks.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
