"""Where runs live, what names resolve to them, and writes that reach the disk before they count.

``atomic_write`` writes a temporary file, fsyncs it, renames it into place and fsyncs the
directory, so after a crash or a power cut a file is either the old one or the new one.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Union

from ..errors import RunError

CONFIG = "config.toml"
VOCAB = "vocab.json"
DEFAULT_ROOT = "runs"


def runs_root(root: Union[str, Path, None] = None) -> Path:
    """Where runs live: ``root``, else $SEQBENCH_RUNS, else ./runs."""
    return Path(root or os.environ.get("SEQBENCH_RUNS") or DEFAULT_ROOT)


def fsync_dir(path: Path) -> None:
    """Make renames and creations inside ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and fsync it (no rename: the caller's protocol decides)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write(path: Path, data: Union[str, bytes]) -> None:
    """Replace ``path`` with ``data`` through a temporary file, fsyncs and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_file(tmp, data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


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
