"""Writing files so that a crash or a power cut leaves either the old content or the new, never half of one.

``atomic_write`` writes a temporary file, fsyncs it, renames it into place and fsyncs the
directory (without that last fsync a power cut may forget the rename).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union


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
