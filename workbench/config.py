"""Run configuration: task + model + training, with one override path (TOML file and --key value).

A run's ``config.toml`` has three tables, ``[task]``, ``[model]`` and ``[train]``, whose keys are
the fields of ``TaskConfig``, ``ModelConfig`` and ``TrainConfig``. Unknown keys and values of the
wrong type are errors that name the key.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional, Union

from models.config import ModelConfig, validate_config
from models.settings import Allowed, ConfigError, check_fields, parse_value, refusal, setting

from .defaults import option_defaults, task_defaults
from .errors import UserError
from .tasks.catalog import TASKS
from .tasks.config import TaskConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEVICES = "auto, cpu, cuda, cuda:N or mps"


@dataclass
class TrainConfig:
    """How to train: optimiser, schedule, evaluation and where it runs."""

    steps: int = setting(2000, int, ge=1)  # optimiser steps in total
    batch_size: int = setting(64, int, ge=1, le=65536)  # sequences (or LM windows) per step
    lr: float = setting(3e-3, float, gt=0)  # peak learning rate (AdamW)
    weight_decay: float = setting(0.01, float, ge=0)  # AdamW weight decay
    warmup: int = setting(100, int, ge=0)  # linear warm-up steps, then cosine decay
    min_lr_ratio: float = setting(0.1, float, ge=0, le=1)  # the cosine decays to lr * min_lr_ratio at the last step
    clip: float = setting(1.0, float, ge=0)  # gradient-norm clipping (0 = off)
    label_smoothing: float = setting(0.0, float, ge=0, lt=1)  # cross-entropy label smoothing
    # probability of feeding the reference token; < 1 = scheduled sampling
    teacher_forcing: float = setting(1.0, float, ge=0, le=1)
    # draw each batch from examples of similar length (seq2seq): little padding, so faster steps
    length_batches: bool = setting(False, bool)
    eval_every: int = setting(250, int, ge=1)  # evaluate (and checkpoint) every N steps
    eval_examples: int = setting(500, int, ge=1)  # validation examples (LM: windows) per evaluation
    samples: int = setting(3, int, ge=0, le=100)  # sample predictions shown per evaluation
    # encoder-decoders: beam width of the final test evaluation, and what `seqbench decode` uses on the run
    # unless told otherwise (1 = greedy); validation during training stays greedy, which is cheaper
    eval_beam: int = setting(1, int, ge=1, le=64)
    eval_alpha: float = setting(0.0, float, ge=0, le=5)  # with eval_beam > 1: GNMT length penalty exponent
    seed: int = setting(0, int, ge=0, le=2**32 - 1)  # seeds weights, batches and sampling
    # auto (CUDA, then MPS, then CPU) | cpu | cuda | cuda:N | mps
    device: str = setting("auto", str, pattern=r"auto|cpu|mps|cuda(:\d+)?", text=DEVICES)
    threads: int = setting(0, int, ge=0, le=1024)  # CPU threads for torch (0 = automatic)
    # stop after this much training time in one session; a resumed run gets it again (0 = no limit)
    max_seconds: float = setting(0.0, float, ge=0)
    # with max_seconds, "clock" fits warm-up and decay to the time limit; "steps" keeps the step schedule
    schedule: str = setting("clock", str, choices=("clock", "steps"))
    hold: float = setting(0.7, float, ge=0, lt=1)  # clock schedule: the peak rate holds for this share of the time
    tensorboard: bool = setting(False, bool)  # also write TensorBoard event files (needs the tensorboard extra)


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


def allowed_for(section: str, key: str, source: str = "") -> Allowed:
    """The declared allowed values of ``section.key``, or a UserError for an unknown section or key."""
    if section not in SECTIONS:
        raise UserError(f"{source}unknown section [{section}]; use one of: {', '.join(SECTIONS)}")
    known = {f.name: f for f in fields(SECTIONS[section])}
    if key not in known:
        raise UserError(f"{source}unknown option {section}.{key}; valid: {', '.join(sorted(known))}")
    return known[key].metadata["allowed"]


def parse_setting(section: str, key: str, value: Any, from_text: bool = True, source: str = "") -> Any:
    """The one check of a single value: ``value`` for ``section.key`` in its type, or a one-line UserError.

    ``from_text``: ``value`` may be command-line text ("5", "true"); without it (TOML) it must
    already have the field's type. The message is what the CLI prints after ``seqbench: error:``.
    """
    allowed = allowed_for(section, key, source)
    try:
        return parse_value(f"{section}.{key}", value, allowed, from_text)
    except ConfigError as exc:
        raise UserError(f"{source}{exc}") from None


def apply(cfg: RunConfig, section: str, values: dict[str, Any], source: str = "", from_text: bool = True) -> None:
    """Set ``values`` on ``cfg.<section>``, each checked by ``parse_setting`` (errors name ``section.key``)."""
    if section not in SECTIONS:
        raise UserError(f"{source}unknown section [{section}]; use one of: {', '.join(SECTIONS)}")
    target = getattr(cfg, section)
    for key, value in values.items():
        setattr(target, key, parse_setting(section, key, value, from_text, source))


def default_config(task: str) -> RunConfig:
    """The task's solving defaults (see ``workbench/defaults.py``)."""
    name = parse_setting("task", "name", task, from_text=False)
    cfg = RunConfig(task=TaskConfig(name=name))
    cfg.model.family = TASKS[name].family
    cfg.model.head = TASKS[name].head or cfg.model.head  # the encoder family: the task's head
    for section, values in task_defaults(name).items():
        apply(cfg, section, values, from_text=False)
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
    """Defaults of the task, then the TOML file, then command-line overrides ("section.key" -> value), checked."""
    toml = toml or {}
    overrides = overrides or {}
    name = overrides.get("task.name") or task or toml.get("task", {}).get("name") or "reverse"
    cfg = default_config(name)
    for section, values in toml.items():
        apply(cfg, section, values, source, from_text=False)
    apply_overrides(cfg, overrides)
    given = set(overrides) | {f"{section}.{key}" for section, values in toml.items() for key in values}
    for section, values in option_defaults(cfg.task.name, vars(cfg.model)).items():
        for key, value in values.items():
            if f"{section}.{key}" not in given:
                setattr(getattr(cfg, section), key, value)
    check_config(cfg)
    return cfg


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any]) -> None:
    """Set command-line overrides ("section.key" -> text or value) on ``cfg``."""
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        apply(cfg, section, {key: value})


def check_config(cfg: RunConfig) -> None:
    """The one check of a whole run config: every field, then the rules between fields (UserError).

    The task settles the model's family; a Transformer settles its attention and embedding width.
    Every face (flags, --set, --config, --resume, the launcher) ends here before anything is written.
    """
    settle(cfg)
    cfg.task.validate()
    try:
        check_fields(cfg.train, "train")
        if cfg.model.share_embeddings and not cfg.task.shared_vocab:
            raise refusal("model.share_embeddings", True, "false unless task.shared_vocab is true (one vocabulary for both sides)")
        if cfg.model.family == "lm" and cfg.model.attention != "none":
            raise refusal("model.attention", cfg.model.attention,
                          f"none for task {cfg.task.name}: a language model has no source to attend to "
                          f"(--arch transformer has self-attention)")
        if cfg.model.decoders == "skip-thought" and cfg.task.name != "skipthought":
            raise refusal("model.decoders", cfg.model.decoders,
                          f"one for task {cfg.task.name}: skip-thought's decoders write a sentence's neighbours "
                          "(task skipthought)")
        if cfg.model.family == "encoder" and cfg.train.teacher_forcing < 1:
            raise refusal("train.teacher_forcing", cfg.train.teacher_forcing,
                          f"1 for task {cfg.task.name}: an encoder reads its whole input and feeds back nothing")
        # vocabulary sizes are known only once the task is built
        validate_config(cfg.model.with_(src_vocab=max(cfg.model.src_vocab, 1), tgt_vocab=max(cfg.model.tgt_vocab, 1)))
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def settle(cfg: RunConfig) -> None:
    """Values the task and the architecture decide (a TOML value cannot contradict them)."""
    info = TASKS[cfg.task.name]
    cfg.model.family = info.family
    if info.head is not None:  # the encoder family: the task decides the head; no decoder, no attention
        cfg.model.head = info.head
        cfg.model.attention = "none"
    if cfg.model.cell == "transformer":
        cfg.model.attention = "multihead" if info.family == "seq2seq" else "none"
        cfg.model.emb_dim = cfg.model.hidden  # its embeddings are its width D: config.toml says so


# what a resumed run may change: its length and how it runs, never what it computes
RESUME_SETTINGS = ("train.steps", "train.eval_every", "train.samples", "train.device", "train.threads",
                   "train.max_seconds", "train.tensorboard")


def resume_config(stored: RunConfig, overrides: Optional[dict[str, Any]] = None, toml: Optional[dict] = None,
                  source: str = "") -> RunConfig:
    """A saved run's config with the settings a resume may change; a UserError names any other change.

    A value equal to the stored one is no change, so repeating the run's own settings is fine.
    """
    wanted = copy.deepcopy(stored)
    for section, values in (toml or {}).items():
        apply(wanted, section, values, source, from_text=False)
    apply_overrides(wanted, overrides or {})
    check_config(wanted)
    changed = [f"{section}.{f.name}" for section in SECTIONS for f in fields(SECTIONS[section])
               if getattr(getattr(wanted, section), f.name) != getattr(getattr(stored, section), f.name)]
    refused = [key for key in changed if key not in RESUME_SETTINGS]
    if refused:
        raise UserError(f"--resume continues a run as configured; it cannot change {', '.join(refused)} "
                        f"(a resume may change {', '.join(RESUME_SETTINGS)})")
    return wanted
