"""Run configuration: task + model + training, with one override path (TOML file and --key value).

A run's ``config.toml`` has three tables, ``[task]``, ``[model]`` and ``[train]``, whose keys are
the fields of ``TaskConfig``, ``ModelConfig`` and ``TrainConfig``. Unknown keys and values of the
wrong type are errors that name the key.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional, Union, get_args, get_origin, get_type_hints

from models.base import ModelConfig

from .defaults import LM_TASKS, TASK_NAMES, task_defaults
from .errors import UserError
from .tasks import TaskConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class TrainConfig:
    """How to train: optimiser, schedule, evaluation and where it runs."""

    steps: int = 2000  # optimiser steps in total
    batch_size: int = 64  # sequences (or LM windows) per step
    lr: float = 3e-3  # peak learning rate (AdamW)
    weight_decay: float = 0.01  # AdamW weight decay
    warmup: int = 100  # linear warm-up steps, then cosine decay
    min_lr_ratio: float = 0.1  # the cosine decays to lr * min_lr_ratio at the last step
    clip: float = 1.0  # gradient-norm clipping (0 = off)
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    teacher_forcing: float = 1.0  # probability of feeding the reference token; < 1 = scheduled sampling
    eval_every: int = 250  # evaluate (and checkpoint) every N steps
    eval_examples: int = 500  # validation examples (LM: windows) per evaluation
    samples: int = 3  # sample predictions shown per evaluation
    seed: int = 0  # seeds weights, batches and sampling
    device: str = "auto"  # auto (CUDA, then MPS, then CPU) | cpu | cuda | cuda:N | mps
    threads: int = 0  # CPU threads for torch (0 = automatic)
    max_seconds: float = 0.0  # stop after this much training time (0 = no limit)
    tensorboard: bool = False  # also write TensorBoard event files (needs the tensorboard extra)


@dataclass
class RunConfig:
    """Everything that defines a run; saved as the run's config.toml."""

    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        def section(obj) -> dict[str, Any]:
            return {f.name: getattr(obj, f.name) for f in fields(obj) if getattr(obj, f.name) is not None}

        return {"task": section(self.task), "model": section(self.model), "train": section(self.train)}

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())


SECTIONS = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Convert ``value`` (from TOML or a command line string) to the field's type, or fail naming key."""
    origin = get_origin(hint)
    if origin is Union or origin is getattr(types, "UnionType", None):  # Optional[X] / X | None
        args = [a for a in get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("", "none")):
            return None
        hint = args[0]
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
                return value.lower() in ("true", "yes", "1", "on")
            raise ValueError
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if hint is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    name = getattr(hint, "__name__", str(hint))
    raise UserError(f"{key}: expected {name}, got {value!r}")


def apply(cfg: RunConfig, section: str, values: dict[str, Any], source: str = "") -> None:
    """Set ``values`` on ``cfg.<section>``, checking keys and types (errors name ``section.key``)."""
    if section not in SECTIONS:
        raise UserError(f"{source}unknown section [{section}]; use one of: {', '.join(SECTIONS)}")
    target = getattr(cfg, section)
    hints = get_type_hints(type(target))
    known = {f.name for f in fields(target)}
    for key, value in values.items():
        if key not in known:
            raise UserError(f"{source}unknown option {section}.{key}; valid: {', '.join(sorted(known))}")
        setattr(target, key, _coerce(f"{source}{section}.{key}", value, hints[key]))


def default_config(task: str) -> RunConfig:
    """The task's solving defaults (see ``workbench/defaults.py``)."""
    if task not in TASK_NAMES:
        raise UserError(f"unknown task {task!r}; choose one of: {', '.join(TASK_NAMES)}")
    cfg = RunConfig(task=TaskConfig(name=task))
    defaults = task_defaults(task)
    cfg.model.family = "lm" if task in LM_TASKS else "seq2seq"
    for section, values in defaults.items():
        apply(cfg, section, values)
    return cfg


def read_toml(path: Union[str, Path]) -> dict[str, dict[str, Any]]:
    """Read a config TOML file, with one-line errors for a missing or malformed file."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"config file not found: {p}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: not valid TOML ({exc})") from None
    for section, values in data.items():
        if not isinstance(values, dict):
            raise UserError(f"{p}: '{section}' must be a table like [train]")
    return data


def build_config(toml: Optional[dict] = None, overrides: Optional[dict[str, Any]] = None,
                 task: Optional[str] = None, source: str = "") -> RunConfig:
    """Defaults of the task, then the TOML file, then command-line overrides ("section.key" -> value)."""
    toml = toml or {}
    overrides = overrides or {}
    name = overrides.get("task.name") or task or toml.get("task", {}).get("name") or "reverse"
    cfg = default_config(name)
    for section, values in toml.items():
        apply(cfg, section, values, source)
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        apply(cfg, section, {key: value})
    check_compatible(cfg)
    return cfg


def check_compatible(cfg: RunConfig) -> None:
    """Errors for an architecture that cannot do the task (one line, naming what would work)."""
    is_lm_task = cfg.task.name in LM_TASKS
    cfg.model.family = "lm" if is_lm_task else "seq2seq"  # the task decides; a TOML value cannot contradict it
    if is_lm_task and cfg.model.attention not in ("none",):
        if cfg.model.cell == "transformer":
            cfg.model.attention = "none"
        else:
            raise UserError(
                f"task {cfg.task.name!r} is language modelling and has no source to attend to; "
                f"use --attention none (or --arch transformer for self-attention)"
            )
    if cfg.model.cell == "transformer" and cfg.model.family == "seq2seq":
        cfg.model.attention = "multihead"
    if cfg.model.cell == "transformer":
        cfg.model.emb_dim = cfg.model.hidden  # its embeddings are its width D: config.toml says so
    from models import ConfigError, validate_config

    try:  # vocabulary sizes are known only once the task is built
        validate_config(cfg.model.with_(src_vocab=max(cfg.model.src_vocab, 1), tgt_vocab=max(cfg.model.tgt_vocab, 1)))
    except ConfigError as exc:
        raise UserError(str(exc)) from None

