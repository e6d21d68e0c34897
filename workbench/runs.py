"""Run directories: config, vocabularies, metrics, checkpoints; atomic writes; loading and listing.

A run directory holds::

    config.toml        the RunConfig (task, model, train) that rebuilds everything
    vocab.json         source and target vocabularies
    metrics.jsonl      one JSON object per line: training progress and evaluations
    checkpoint/        model.safetensors, optimizer.safetensors (moments + RNG states), trainer.json

Every file is written to a temporary name and renamed into place; a checkpoint is written as a new
directory that replaces the old one by renames, so a crash never leaves a run without its last
good checkpoint (``checkpoint.old`` is used if ``checkpoint`` is missing).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from .errors import RunError
from .fileio import atomic_write

CONFIG = "config.toml"
VOCAB = "vocab.json"
METRICS = "metrics.jsonl"
CKPT = "checkpoint"
DEFAULT_ROOT = "runs"


def runs_root(root: Union[str, Path, None] = None) -> Path:
    """Where runs live: ``root``, else $SEQBENCH_RUNS, else ./runs."""
    return Path(root or os.environ.get("SEQBENCH_RUNS") or DEFAULT_ROOT)


def new_run_dir(root: Path, task: str, arch: str) -> Path:
    """A fresh, unique directory name like runs/reverse-gru-general-20261125-013000."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = root / f"{task}-{arch}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def arch_slug(model_cfg) -> str:
    if model_cfg.family == "lm" or model_cfg.cell == "transformer":
        return model_cfg.cell
    return f"{model_cfg.cell}-{model_cfg.attention if model_cfg.attention != 'none' else 'ctx-' + model_cfg.context}"


def create_run(path: Path, config, vocabs: tuple) -> None:
    """Make the run directory with its config and vocabularies."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission, read-only disk
        raise RunError(f"cannot create the run directory {path}: {exc.strerror or exc}") from None
    atomic_write(path / CONFIG, config.to_toml())
    src, tgt = vocabs
    atomic_write(path / VOCAB, json.dumps({"src": src.to_dict() if src else None, "tgt": tgt.to_dict()}, indent=1))


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


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    with open(path / METRICS, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All metric records of a run (a torn last line from a crash is skipped)."""
    out = []
    p = Path(path) / METRICS
    if not p.exists():
        return out
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def truncate_metrics(path: Path, step: int) -> None:
    """Drop records after ``step`` (a resumed run repeats them from its checkpoint)."""
    records = [r for r in read_metrics(path) if r.get("step", 0) <= step]
    atomic_write(Path(path) / METRICS, "".join(json.dumps(r) + "\n" for r in records))


def save_checkpoint(path: Path, tensors: dict[str, dict], trainer_state: dict[str, Any]) -> Path:
    """Write ``{file stem: {name: tensor}}`` as safetensors plus trainer.json, replacing the old checkpoint."""
    from safetensors.torch import save_file

    new, cur, old = path / (CKPT + ".new"), path / CKPT, path / (CKPT + ".old")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    for stem, named in tensors.items():
        save_file({k: v.detach().cpu().clone().contiguous() for k, v in named.items()}, str(new / f"{stem}.safetensors"))
    atomic_write(new / "trainer.json", json.dumps(trainer_state, indent=1))
    shutil.rmtree(old, ignore_errors=True)
    if cur.exists():
        os.replace(cur, old)
    os.replace(new, cur)
    shutil.rmtree(old, ignore_errors=True)
    return cur


def checkpoint_dir(path: Path) -> Optional[Path]:
    """The last good checkpoint directory of a run, or None."""
    for name in (CKPT, CKPT + ".old"):
        d = Path(path) / name
        if (d / "trainer.json").exists() and (d / "model.safetensors").exists():
            return d
    return None


def read_trainer_state(path: Path) -> Optional[dict[str, Any]]:
    d = checkpoint_dir(path)
    return json.loads((d / "trainer.json").read_text(encoding="utf-8")) if d else None


def check_run_dir(path: Union[str, Path]) -> Path:
    """``path`` as a run directory, or a RunError saying what is wrong."""
    p = Path(path)
    if not p.exists():
        raise RunError(f"run not found: {p}")
    if not p.is_dir() or not (p / CONFIG).exists() or not (p / VOCAB).exists():
        raise RunError(f"{p} is not a seqbench run (no {CONFIG} / {VOCAB}); `seqbench runs` lists runs")
    return p


def load_config(path: Union[str, Path]):
    from .config import build_config, read_toml

    p = check_run_dir(path)
    data = read_toml(p / CONFIG)
    return build_config(toml=data, task=data.get("task", {}).get("name"), source=f"{p / CONFIG}: ")


def load_vocabs(path: Path):
    from .tasks import Vocab

    data = json.loads((Path(path) / VOCAB).read_text(encoding="utf-8"))
    return (Vocab.from_dict(data["src"]) if data.get("src") else None, Vocab.from_dict(data["tgt"]))


@dataclass
class LoadedRun:
    """A run ready to decode: its config, task (with the run's vocabularies) and model in eval mode."""

    path: Path
    config: Any  # RunConfig
    model: Any  # models.SeqModel, eval mode, on ``device``
    task: Any  # workbench.tasks.Task
    step: int
    trainer_state: dict[str, Any]


def load_weights(model, ckpt: Path) -> None:
    """Load model.safetensors into ``model``; a mismatch is a RunError naming the difference."""
    from safetensors.torch import load_file

    weights = load_file(str(ckpt / "model.safetensors"), device=str(model.device))
    own = model.state_dict()
    missing, extra = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
    bad = [k for k in own if k in weights and own[k].shape != weights[k].shape]
    if missing or extra or bad:
        detail = (f"missing {missing[:3]}" if missing else "") or (f"unexpected {extra[:3]}" if extra else "") \
            or f"shape of {bad[0]} is {tuple(weights[bad[0]].shape)}, the config says {tuple(own[bad[0]].shape)}"
        raise RunError(f"{ckpt}: checkpoint does not fit the run's architecture ({detail})")
    model.load_state_dict(weights)


def load_run(path: Union[str, Path], device: str = "cpu", read_data: bool = True) -> LoadedRun:
    """Rebuild a run's task, model and last checkpoint's weights for decoding or inspection.

    ``read_data=False``: a parallel-corpus task is built from the run alone (no examples), which is
    all decoding typed or filed sources needs."""
    from models import build_model

    from .device import resolve_device
    from .tasks import build_task

    p = check_run_dir(path)
    cfg = load_config(p)
    ckpt = checkpoint_dir(p)
    if ckpt is None:
        raise RunError(f"{p} has no saved weights yet (no checkpoint); train it with `seqbench train --resume {p}`")
    task = build_task(cfg.task, vocabs=load_vocabs(p), run_dir=p, read_data=read_data)
    model = build_model(cfg.model).to(resolve_device(device))
    load_weights(model, ckpt)
    model.eval()
    state = json.loads((ckpt / "trainer.json").read_text(encoding="utf-8"))
    return LoadedRun(path=p, config=cfg, model=model, task=task, step=int(state.get("step", 0)), trainer_state=state)


@dataclass
class RunSummary:
    """One line of `seqbench runs` and of the launcher's recent runs."""

    path: Path
    task: str
    architecture: str
    step: int
    total_steps: int
    status: str
    best_name: str
    best_value: Optional[float]
    modified: float


def summarize(path: Path) -> Optional[RunSummary]:
    """A RunSummary for ``path`` or None when it is not a readable run."""
    from .config import read_toml

    try:
        data = read_toml(path / CONFIG)
    except Exception:  # a broken run is skipped in a listing, and reported when opened
        return None
    model, train = data.get("model", {}), data.get("train", {})
    state = read_trainer_state(path) or {}
    best = state.get("best") or {}
    arch = model.get("cell", "?") if model.get("family") == "lm" or model.get("cell") == "transformer" \
        else f"{model.get('cell', '?')}+{model.get('attention', '?')}"
    return RunSummary(
        path=path, task=data.get("task", {}).get("name", "?"), architecture=arch,
        step=int(state.get("step", 0)), total_steps=int(train.get("steps", 0)), status=state.get("status", "new"),
        best_name=best.get("name", ""), best_value=best.get("value"), modified=(path / CONFIG).stat().st_mtime
        if not (path / METRICS).exists() else (path / METRICS).stat().st_mtime,
    )


def list_runs(root: Union[str, Path, None] = None) -> list[RunSummary]:
    """Runs under ``root``, most recently active first."""
    r = runs_root(root)
    if not r.is_dir():
        return []
    found = [summarize(p) for p in r.iterdir() if p.is_dir() and (p / CONFIG).exists()]
    return sorted((s for s in found if s), key=lambda s: s.modified, reverse=True)
