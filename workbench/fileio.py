"""Writing files so that a crash leaves either the old content or the new, never half of one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union


def atomic_write(path: Path, data: Union[str, bytes]) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    mode = "w" if isinstance(data, str) else "wb"
    with open(tmp, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
