"""Creating a run directory, and listing runs as `seqbench runs` and the app's recent runs show them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from ..errors import RunError
from ..records import METRICS
from .checkpoint import find_checkpoint
from .files import CONFIG, VOCAB, atomic_write, runs_root
from .lifecycle import LOCK, read_status


def arch_slug(model_cfg) -> str:
    """The architecture part of a run's directory name (see ``models.arch_slug``)."""
    from models import arch_slug as slug

    return slug(model_cfg)


def create_run(path: Path, config, vocabs: tuple) -> None:
    """Write the config and vocabularies into ``path`` (made if missing; refused if it is already a run)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission, read-only disk
        raise RunError(f"cannot create the run directory {path}: {exc.strerror or exc}") from None
    src, tgt = vocabs
    try:
        atomic_write(path / CONFIG, config.to_toml())
        atomic_write(path / VOCAB, json.dumps({"src": src.to_dict() if src else None, "tgt": tgt.to_dict()}, indent=1))
    except OSError as exc:
        from .files import disk_error

        raise disk_error(f"the run {path}", exc) from None


def update_config(path: Path, config) -> bool:
    """Rewrite a resumed run's config.toml when the resume changed how it trains; True when it did.

    A resume may change steps, evaluation, threads, device and the time limit; the run then says
    how it was last trained, and resuming it again starts from those settings.
    """
    text = config.to_toml()
    target = Path(path) / CONFIG
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    atomic_write(target, text)
    return True


def refuse_existing(path: Path) -> None:
    """``--out`` must name a new (or empty) directory: a RunError pointing at --resume otherwise."""
    if (path / CONFIG).exists():
        raise RunError(f"{path} is already a run: continue it with `seqbench train --resume {path}`, "
                       "or choose a new --out")
    if path.exists() and (not path.is_dir() or any(p.name != LOCK for p in path.iterdir())):
        raise RunError(f"{path} exists and is not an empty directory; choose a new --out")


@dataclass
class RunSummary:
    """One line of `seqbench runs` and of the launcher's recent runs."""

    path: Path
    task: str
    architecture: str
    step: int
    total_steps: int
    status: str  # running, paused, completed, stopped, interrupted, diverged, failed, new, damaged
    best_name: str
    best_value: Optional[float]
    modified: float
    problem: str = ""  # why a damaged run is damaged


def _modified(path: Path) -> float:
    for name in ("status.json", METRICS, CONFIG):
        try:
            return (path / name).stat().st_mtime
        except OSError:
            continue
    return 0.0


def summarize(path: Path) -> Optional[RunSummary]:
    """A RunSummary for ``path``; a run whose files cannot be read is summarised as "damaged"."""
    from .loading import load_config, load_vocabs

    path = Path(path)
    try:
        cfg = load_config(path)
        load_vocabs(path, cfg)
    except RunError as exc:
        return RunSummary(path, "?", "?", 0, 0, "damaged", "", None, _modified(path), str(exc))
    ckpt, problems = find_checkpoint(path)
    state = ckpt.state if ckpt else {}
    best = state.get("best") or {}
    status = read_status(path)
    name, step, total = "new", int(state.get("step", 0)), cfg.train.steps
    if status is not None:
        name = status.status
        total = status.total_steps or total
        if status.step is not None and name not in ("interrupted",):
            step = status.step  # what the run reached; an interrupted one resumes from its checkpoint
    problem = ""
    if ckpt is None and problems:
        name, problem = "damaged", problems[0]
    return RunSummary(path=path, task=cfg.task.name, architecture=_arch(cfg.model), step=step, total_steps=total,
                      status=name, best_name=best.get("name", ""), best_value=best.get("value"),
                      modified=_modified(path), problem=problem)


def _arch(model) -> str:
    """'gru+general', 'lstm+ctx-init', 'transformer': the architecture column."""
    return arch_slug(model).replace("-", "+", 1)


def list_runs(root: Union[str, Path, None] = None) -> list[RunSummary]:
    """Runs under ``root``, most recently active first; damaged runs are listed as such."""
    r = runs_root(root)
    if not r.is_dir():
        return []
    found = [summarize(p) for p in r.iterdir() if p.is_dir() and (p / CONFIG).exists()]
    return sorted((s for s in found if s), key=lambda s: s.modified, reverse=True)
