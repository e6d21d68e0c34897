"""Where runs live, what names resolve to them, and what a failed write tells the user."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Union

from ..errors import RunError
from ..fileio import atomic_write, fsync_dir, write_file  # noqa: F401  (the run's writes go through these)

CONFIG = "config.toml"
VOCAB = "vocab.json"
DEFAULT_ROOT = "runs"


def runs_root(root: Union[str, Path, None] = None) -> Path:
    """Where runs live: ``root``, else $SEQBENCH_RUNS, else ./runs."""
    return Path(root or os.environ.get("SEQBENCH_RUNS") or DEFAULT_ROOT)


def disk_error(what: str, exc: OSError) -> RunError:
    """A one-line RunError for a failed write (a full disk says so)."""
    if exc.errno == errno.ENOSPC:
        return RunError(f"cannot save {what}: the disk is full; free some space and resume the run")
    return RunError(f"cannot save {what}: {exc.strerror or exc}")


def new_run_dir(root: Path, task: str, arch: str) -> Path:
    """A fresh, unique directory name like runs/reverse-gru-general-20261125-013000."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = root / f"{task}-{arch}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def resolve_run(name: Union[str, Path], root: Union[str, Path, None] = None) -> Path:
    """A run given as a path, or as its name under the runs root (as `seqbench runs` prints it)."""
    p = Path(name).expanduser()
    if p.exists():
        return p
    under = runs_root(root) / p
    if not p.is_absolute() and under.exists():
        return under
    looked = f"{p} (nor {under})" if not p.is_absolute() else str(p)
    raise RunError(f"run not found: {looked}; `seqbench runs` lists runs")


def check_run_dir(path: Union[str, Path], root: Union[str, Path, None] = None) -> Path:
    """``path`` (or a run name) as a run directory, or a RunError saying what is wrong."""
    p = resolve_run(path, root)
    if not p.is_dir() or not (p / CONFIG).exists() or not (p / VOCAB).exists():
        raise RunError(f"{p} is not a seqbench run (no {CONFIG} / {VOCAB}); `seqbench runs` lists runs")
    return p
