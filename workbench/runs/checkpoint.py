"""Checkpoints that survive a crash at any moment, and a power cut.

A checkpoint is a directory of safetensors files, ``trainer.json`` and ``manifest.json``. The
manifest is written last and lists every file's size and sha256: a checkpoint is *complete* when
its manifest matches. Saving:

1. write every file into a new, uniquely named ``checkpoint.new-<token>``, fsync each file;
2. write the manifest, fsync it and the directory;
3. move the current ``checkpoint`` aside to ``checkpoint.old-<token>``, fsync the run directory;
4. rename the new directory to ``checkpoint``, fsync the run directory;
5. delete every other ``checkpoint.*`` directory.

A crash anywhere leaves at least one complete checkpoint. Loading takes the newest complete one,
wherever it sits; a writer (who holds the run's lock) first ``recover``s, renaming it back to
``checkpoint`` before deleting anything, so the only complete checkpoint is never deleted, even
when a second crash hits the recovery. Readers never rename: they read each file's bytes once,
check them against the manifest, then parse those very bytes (no half-written checkpoint is seen).
Nothing is unpickled: weights are safetensors, the rest JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import RunError
from .files import disk_error, fsync_dir, write_file

CKPT = "checkpoint"
MANIFEST = "manifest.json"
TRAINER = "trainer.json"
FORMAT = 1


def _reached(point: str) -> None:
    """A named moment of the save protocol (the fault-injection tests raise here)."""


@dataclass
class Checkpoint:
    """A complete checkpoint as read from disk: its verified bytes and its trainer state."""

    path: Path
    seq: int  # save order: higher is newer
    blobs: dict[str, bytes] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> int:
        return int(self.state["step"])

    def tensors(self, stem: str, device: str = "cpu") -> dict:
        """The tensors of ``<stem>.safetensors``; a file that does not parse is a one-line RunError."""
        from safetensors.torch import load

        name = f"{stem}.safetensors"
        if name not in self.blobs:
            raise RunError(f"{self.path / name}: missing from the checkpoint")
        try:
            tensors = load(self.blobs[name])
        except Exception as exc:  # SafetensorError, or anything a damaged header provokes
            raise RunError(f"{self.path / name}: not a readable safetensors file ({_short(exc)})") from None
        return {k: v.to(device) for k, v in tensors.items()}


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def candidates(run_dir: Path) -> list[Path]:
    """Every directory that may hold a checkpoint: ``checkpoint`` and ``checkpoint.*``."""
    try:
        entries = list(Path(run_dir).iterdir())
    except OSError:
        return []
    return [p for p in entries if (p.name == CKPT or p.name.startswith(CKPT + ".")) and p.is_dir()]


def check_state(state: Any, where: Path) -> dict[str, Any]:
    """``trainer.json``'s contents, or a RunError naming the missing or wrong key."""
    if not isinstance(state, dict):
        raise RunError(f"{where}: expected a JSON object")
    state.setdefault("elapsed", 0.0)
    for key, kinds in (("step", int), ("elapsed", (int, float))):
        value = state.get(key)
        if key not in state:
            raise RunError(f"{where}: missing key {key!r}")
        if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
            raise RunError(f"{where}: {key!r} must be a non-negative number, got {value!r}")
    best = state.get("best")
    if best is not None and not (isinstance(best, dict) and {"name", "value", "step"} <= set(best)):
        raise RunError(f"{where}: 'best' must be null or {{name, value, step}}, got {best!r}")
    groups = state.get("optimizer_groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise RunError(f"{where}: 'optimizer_groups' must be a list of objects")
    return state


def read_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint in ``path`` if complete; a RunError saying what is missing or wrong otherwise."""
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8"))
        files = manifest["files"]
        seq = int(manifest.get("seq", 0))
        if not isinstance(files, dict) or TRAINER not in files or "model.safetensors" not in files:
            raise ValueError
    except FileNotFoundError:
        return _legacy(path)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise RunError(f"{manifest_path}: not a checkpoint manifest") from None
    blobs = {}
    for name, entry in files.items():
        if "/" in name or "\\" in name or name.startswith("."):
            raise RunError(f"{manifest_path}: lists a file outside the checkpoint ({name!r})")
        try:
            data = (path / name).read_bytes()
        except FileNotFoundError:
            raise RunError(f"{path / name}: missing (the save did not finish)") from None
        if not isinstance(entry, dict) or len(data) != entry.get("size") or _digest(data) != entry.get("sha256"):
            raise RunError(f"{path / name}: {len(data)} bytes that do not match the manifest (damaged or cut short)")
        blobs[name] = data
    _check_headers(path, blobs)
    return Checkpoint(path, seq, blobs, _parse_state(blobs[TRAINER], path / TRAINER))


def _check_headers(path: Path, blobs: dict[str, bytes]) -> None:
    """Each .safetensors file starts with its header's length and a JSON header (cheap: no tensor is read)."""
    for name, data in blobs.items():
        if not name.endswith(".safetensors"):
            continue
        size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
        try:
            if not 0 < size <= len(data) - 8 or not isinstance(json.loads(data[8: 8 + size]), dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            raise RunError(f"{path / name}: not a safetensors file") from None


def _legacy(path: Path) -> Checkpoint:
    """A checkpoint written before manifests existed: accepted when its two key files are there."""
    try:
        blobs = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file() and not p.name.startswith(".")}
    except OSError as exc:
        raise RunError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for name in (TRAINER, "model.safetensors"):
        if name not in blobs:
            raise RunError(f"{path / name}: missing (the save did not finish)")
    _check_headers(path, blobs)
    return Checkpoint(path, -1, blobs, _parse_state(blobs[TRAINER], path / TRAINER))


def _parse_state(data: bytes, where: Path) -> dict[str, Any]:
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RunError(f"{where}: not JSON") from None
    return check_state(state, where)


def find_checkpoint(run_dir: Path) -> tuple[Optional[Checkpoint], list[str]]:
    """(the newest complete checkpoint or None, one sentence per incomplete one)."""
    for _ in range(3):  # a writer may rename directories while we look: look again
        found, problems = [], []
        try:
            for path in candidates(run_dir):
                try:
                    found.append(read_checkpoint(path))
                except RunError as exc:
                    problems.append(str(exc))
        except (FileNotFoundError, NotADirectoryError):
            continue
        if found:
            return max(found, key=lambda c: (c.seq, c.path.name == CKPT)), problems
        if not problems:
            return None, []
    return None, problems


def newest(run_dir: Path) -> Checkpoint:
    """The newest complete checkpoint, or a RunError naming what is wrong with the others."""
    ckpt, problems = find_checkpoint(Path(run_dir))
    if ckpt is None:
        if problems:
            raise RunError(f"no complete checkpoint in {run_dir}: {problems[0]}")
        raise RunError(f"{run_dir} has no saved weights yet (no checkpoint); train it with `seqbench train --resume {run_dir}`")
    return ckpt


def _token() -> str:
    return f"{time.time_ns():x}-{os.getpid()}"


def _as_files(files: dict[str, Any]) -> dict[str, bytes]:
    """``{name: bytes}`` from ``{file name: bytes}`` or ``{stem: {tensor name: tensor}}`` (saved as safetensors)."""
    from safetensors.torch import save

    out = {}
    for name, value in files.items():
        if isinstance(value, (bytes, bytearray)):
            out[name] = bytes(value)
        else:
            out[f"{name}.safetensors"] = save({k: v.detach().cpu().clone().contiguous() for k, v in value.items()})
    return out


def save_checkpoint(run_dir: Path, files: dict[str, Any], state: dict[str, Any]) -> Path:
    """Save ``files`` (see ``_as_files``) plus ``state`` as trainer.json by the protocol above."""
    run_dir = Path(run_dir)
    files = _as_files(files)
    token = _token()
    new = run_dir / f"{CKPT}.new-{token}"
    try:
        new.mkdir()
        _reached("mkdir")
        blobs = {**files, TRAINER: json.dumps(state, indent=1).encode("utf-8")}
        for name, data in blobs.items():
            write_file(new / name, data)
            _reached(f"wrote {name}")
        manifest = {"format": FORMAT, "seq": time.time_ns(), "step": state.get("step"),
                    "files": {n: {"size": len(d), "sha256": _digest(d)} for n, d in blobs.items()}}
        write_file(new / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
        fsync_dir(new)
        _reached("manifest")
    except OSError as exc:
        shutil.rmtree(new, ignore_errors=True)
        raise disk_error(f"a checkpoint in {run_dir}", exc) from None
    return _install(run_dir, new, token)


def _install(run_dir: Path, new: Path, token: str) -> Path:
    """Steps 3-5: make ``new`` the ``checkpoint`` by renames, then delete the rest."""
    cur = run_dir / CKPT
    try:
        if cur.exists():
            os.replace(cur, run_dir / f"{CKPT}.old-{token}")
            fsync_dir(run_dir)
            _reached("moved aside")
        os.replace(new, cur)
        fsync_dir(run_dir)
        _reached("renamed")
    except OSError as exc:
        raise disk_error(f"a checkpoint in {run_dir}", exc) from None
    _clean(run_dir)
    return cur


def _clean(run_dir: Path) -> None:
    """Delete every checkpoint directory but ``checkpoint`` (only once it is complete and in place)."""
    for path in candidates(run_dir):
        if path.name != CKPT:
            shutil.rmtree(path, ignore_errors=True)
            _reached("deleted " + path.name.split("-")[0])
    fsync_dir(run_dir)


def recover(run_dir: Path) -> Optional[Checkpoint]:
    """For a writer holding the lock: put the newest complete checkpoint at ``checkpoint``, tidy the rest."""
    ckpt, _ = find_checkpoint(run_dir)
    if ckpt is None:
        return None
    if ckpt.path.name != CKPT:
        _install(run_dir, ckpt.path, _token())
        ckpt.path = run_dir / CKPT
    else:
        _clean(run_dir)
    return ckpt
