"""Run directories: what a run holds, saving it so nothing is lost, reading it back, listing runs.

A run directory holds::

    config.toml        the RunConfig (task, model, train) that rebuilds everything
    vocab.json         source and target vocabularies
    task.json          split names and target lengths: decoding needs no data file
    metrics.jsonl      typed records (``workbench.records``): training progress and evaluations
    status.json        running, paused, completed, stopped, interrupted, diverged or failed
    lock               pid, host and start time of the process training it (while it does)
    checkpoint/        model / optimizer / rng .safetensors, trainer.json, manifest.json

``files`` (names, atomic writes), ``checkpoint`` (the crash-safe save protocol), ``lifecycle``
(status and lock), ``loading`` (validated reads) and ``listing`` (summaries) hold the code; the
names below are the package's interface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..records import METRICS
from .checkpoint import CKPT, Checkpoint, find_checkpoint, newest, recover, save_checkpoint
from .files import CONFIG, DEFAULT_ROOT, VOCAB, atomic_write, check_run_dir, new_run_dir, resolve_run, runs_root
from .lifecycle import STATUSES, RunEnded, RunLock, RunStatus, holder, read_status, write_status
from .listing import RunSummary, arch_slug, create_run, list_runs, refuse_existing, summarize, update_config
from .loading import LoadedRun, RunTask, check_finite, load_config, load_run, load_vocabs, load_weights, write_task_info


def checkpoint_dir(path: Path) -> Optional[Path]:
    """The newest complete checkpoint directory of a run, or None."""
    ckpt, _ = find_checkpoint(Path(path))
    return ckpt.path if ckpt else None


def read_trainer_state(path: Path) -> Optional[dict[str, Any]]:
    """trainer.json of the newest complete checkpoint, or None."""
    ckpt, _ = find_checkpoint(Path(path))
    return ckpt.state if ckpt else None


__all__ = [
    "CKPT", "CONFIG", "DEFAULT_ROOT", "METRICS", "STATUSES", "VOCAB", "Checkpoint", "LoadedRun", "RunEnded", "RunLock",
    "RunStatus", "RunSummary", "RunTask", "arch_slug", "atomic_write", "check_finite", "check_run_dir",
    "checkpoint_dir", "create_run", "find_checkpoint", "holder", "list_runs", "load_config", "load_run",
    "load_vocabs", "load_weights", "new_run_dir", "newest", "read_status", "read_trainer_state", "recover",
    "refuse_existing", "resolve_run", "runs_root", "save_checkpoint", "summarize", "write_status",
    "update_config", "write_task_info",
]
