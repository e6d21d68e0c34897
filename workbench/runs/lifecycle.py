"""A run's status and its writer's lock: who trains it now, and how its last session ended.

``status.json`` (written atomically, apart from the checkpoint, so pausing needs no save) holds
one of ``STATUSES`` with the step, the total and a message. Only the trainer writes it, through
``write_status``. A process that died without a last word (kill -9, power cut) leaves "running"
or "paused" behind; ``read_status`` reports such a run as "interrupted" because its lock names a
process that is no longer alive.

The lock is the file ``lock``: created with O_EXCL and holding the writer's pid, host and start
time. A lock whose pid is dead (on this host) is stale and taken over; a live one makes a
second writer fail with one line naming the holder. Readers never take it.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import RunError
from .files import atomic_write

STATUS = "status.json"
LOCK = "lock"
STATUSES = ("running", "paused", "completed", "stopped", "interrupted", "diverged", "failed")
LIVE = ("running", "paused")
UNREADABLE_GRACE = 10.0  # seconds an unreadable lock counts as held (its writer may be mid-write)


class RunEnded(Exception):
    """Raised by a listener to end training at once; ``status`` is what the run then says it is."""

    status = "interrupted"


def write_status(run_dir: Path, status: str, step: int, total_steps: int, message: str = "") -> None:
    """Record how the run stands now (the one place a run's status is written)."""
    assert status in STATUSES, status
    data = {"status": status, "step": step, "total_steps": total_steps, "message": message,
            "pid": os.getpid(), "host": socket.gethostname(), "updated": time.time()}
    atomic_write(Path(run_dir) / STATUS, json.dumps(data, indent=1))


@dataclass
class RunStatus:
    """What ``status.json`` says, with "running"/"paused" of a dead writer read as "interrupted"."""

    status: str
    step: Optional[int] = None
    total_steps: Optional[int] = None
    message: str = ""


def read_status(run_dir: Path) -> Optional[RunStatus]:
    """The run's status, or None when it has none yet (or the file is unreadable)."""
    try:
        data = json.loads((Path(run_dir) / STATUS).read_bytes().decode("utf-8"))
        status = data["status"] if data.get("status") in STATUSES else None
    except (OSError, ValueError, UnicodeDecodeError, KeyError, AttributeError, TypeError):
        return None
    if status is None:
        return None
    if status in LIVE and holder(run_dir) is None:
        status = "interrupted"
    ints = [data.get(k) if isinstance(data.get(k), int) and not isinstance(data.get(k), bool) else None
            for k in ("step", "total_steps")]
    return RunStatus(status, ints[0], ints[1], str(data.get("message", "")))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process
    return True


def holder(run_dir: Path) -> Optional[dict]:
    """The lock's contents when a live process holds it; None when unlocked or stale."""
    try:
        info = json.loads((Path(run_dir) / LOCK).read_text(encoding="utf-8"))
        pid, host = int(info["pid"]), str(info["host"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        try:  # being written this instant (held), or damaged long ago (stale)
            fresh = time.time() - (Path(run_dir) / LOCK).stat().st_mtime < UNREADABLE_GRACE
        except OSError:
            return None
        return {"pid": "?", "host": "?", "started": 0} if fresh else None
    if host == socket.gethostname() and not _alive(pid):
        return None
    return info


class RunLock:
    """The lock a training process holds on its run; see the module docstring."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.held = False

    def acquire(self) -> "RunLock":
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        for _ in range(3):
            try:
                fd = os.open(str(self.path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            except OSError as exc:
                raise RunError(f"cannot lock {self.path.parent}: {exc.strerror or exc}") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(info, f)
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            return self
        raise RunError(f"cannot lock {self.path.parent}: another process keeps taking its lock")

    def _take_over_if_stale(self) -> None:
        info = holder(self.path.parent)
        if info is not None:
            when = time.strftime("%H:%M:%S", time.localtime(float(info.get("started") or 0)))
            raise RunError(f"{self.path.parent} is being trained by process {info['pid']} on {info['host']} "
                           f"(since {when}); stop it first, or remove {self.path} if that process is gone")
        # stale: move it aside under a name of our own, so two takers cannot both remove a fresh lock
        aside = self.path.with_name(f".{LOCK}.stale-{os.getpid()}")
        try:
            os.replace(self.path, aside)
            aside.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise RunError(f"cannot take over the stale lock {self.path}: {exc.strerror}") from None

    def release(self) -> None:
        if self.held:
            self.held = False
            try:
                self.path.unlink()
            except OSError:
                pass
