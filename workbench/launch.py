"""The TUI's side of the engine: loading it off the UI thread, and turning the launcher's form into a RunConfig.

Importing torch takes seconds, so the app paints the launcher first and calls ``load_catalog`` in a
thread worker. Everything here that touches ``workbench.config`` (which imports torch) is only
called once that has happened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# (section, key, label, hint) for the hyperparameter form, in display order
FIELDS: list[tuple[str, str, str, str]] = [
    ("model", "emb_dim", "embedding", "E (Transformer: D)"),
    ("model", "hidden", "hidden", "model width D"),
    ("model", "layers", "layers", "encoder and decoder"),
    ("model", "heads", "heads", "attention heads H"),
    ("model", "local_window", "window", "local half-window"),
    ("model", "dropout", "dropout", "0 ≤ p < 1"),
    ("train", "steps", "steps", "optimiser steps"),
    ("train", "batch_size", "batch size", "sequences per step"),
    ("train", "lr", "learning rate", "peak, AdamW"),
    ("train", "warmup", "warm-up", "then cosine decay"),
    ("train", "clip", "grad clip", "0 = off"),
    ("train", "eval_every", "eval every", "and checkpoint"),
    ("train", "eval_examples", "val examples", "per evaluation"),
    ("train", "seed", "seed", "weights and batches"),
    ("train", "threads", "CPU threads", "0 = all cores (≤ 4)"),
    ("train", "max_seconds", "time limit", "seconds, 0 = none"),
]

@dataclass
class Catalog:
    """What the launcher needs from the engine: devices and the runs directory's contents."""

    devices: list  # workbench.device.DeviceInfo, best first
    runs: list  # workbench.runs.RunSummary, newest first
    runs_root: Path


def load_catalog(runs_dir: Optional[str]) -> Catalog:
    """Import torch and the engine (slow: call in a thread), then list devices and runs."""
    import workbench.training  # noqa: F401  torch, models, tasks: everything a first run needs
    from workbench.device import available_devices
    from workbench.runs import list_runs, runs_root

    return Catalog(available_devices(), list_runs(runs_dir), runs_root(runs_dir))


def device_options(devices: list) -> list[tuple[str, str]]:
    """(label, key) pairs for the device selector: auto (what it resolves to) first, then what exists."""
    return [(f"auto → {devices[0].label}", "auto")] + [(info.label, info.key) for info in devices]


def check_field(section: str, key: str, text: str) -> Optional[str]:
    """The message for one form value (the very line ``seqbench train`` prints), or None when it is allowed."""
    from workbench.config import parse_setting
    from workbench.errors import UserError

    try:
        parse_setting(section, key, text)
    except UserError as exc:
        return str(exc)
    return None


def field_value(cfg, section: str, key: str) -> str:
    """How a config value is shown in the form."""
    value = getattr(getattr(cfg, section), key)
    return f"{value:g}" if isinstance(value, float) else str(value)


def make_config(task: str, data: str, arch: dict, values: dict[tuple[str, str], str], device: str):
    """The RunConfig the launcher describes, or the UserError ``seqbench train`` would give for it."""
    from workbench.config import build_config

    overrides: dict[str, str] = {"task.name": task, "train.device": device}
    if data.strip():
        overrides["task.data"] = str(Path(data.strip()).expanduser())
    for key, value in arch.items():
        overrides[f"model.{key}"] = value
    for (section, key), text in values.items():
        overrides[f"{section}.{key}"] = text.strip()
    return build_config(overrides=overrides)


def check_data_path(task: str, text: str) -> tuple[bool, str]:
    """(ok, message) for the data path as typed: cheap checks only; the file is parsed at start."""
    path = text.strip()
    if not path:
        if task == "tsv":
            return False, "the tsv task needs a file: one 'source<TAB>target' per line"
        return True, {"charlm": "empty: Python's bundled documentation"}.get(task, "empty: the bundled sample data")
    p = Path(path).expanduser()
    if not p.exists():
        return False, f"no such file: {p}"
    if not p.is_file():
        return False, f"not a file: {p}"
    if not os.access(p, os.R_OK):
        return False, f"cannot read {p}"
    size = p.stat().st_size
    if size == 0:
        return False, f"{p} is empty"
    return True, f"{size / 1024:,.0f} KiB, checked when training starts"
