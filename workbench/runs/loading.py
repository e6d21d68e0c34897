"""Reading a run back: each file validated, with one line naming the file and what is wrong.

``load_run`` gives what decoding and inspection need: the config, a task built from the run's
own vocabularies and tokeniser settings (the training data file is only read when examples are
asked for), and the model with the newest complete checkpoint's weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import RunError, UserError
from .checkpoint import Checkpoint, newest
from .files import CONFIG, VOCAB, atomic_write, check_run_dir

TASK_INFO = "task.json"


def load_config(path: Union[str, Path]):
    """The run's RunConfig; a damaged config.toml is a one-line RunError."""
    from ..config import build_config, read_toml

    p = check_run_dir(path)
    try:
        data = read_toml(p / CONFIG)
        return build_config(toml=data, task=data.get("task", {}).get("name"), source=f"{p / CONFIG}: ")
    except UserError as exc:
        message = str(exc)
        raise RunError(message if str(p) in message else f"{p / CONFIG}: {message}") from None


def load_vocabs(path: Union[str, Path], config=None):
    """(source vocabulary or None, target vocabulary) from vocab.json, checked against the config's sizes."""
    from ..tasks import Vocab

    where = Path(path) / VOCAB
    try:
        data = json.loads(where.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise RunError(f"{where}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError):
        raise RunError(f"{where}: not JSON") from None
    if not isinstance(data, dict) or "tgt" not in data or not isinstance(data["tgt"], dict) \
            or not isinstance(data.get("src"), (dict, type(None))):
        raise RunError(f"{where}: expected {{\"src\": {{\"itos\": [...]}} or null, \"tgt\": {{\"itos\": [...]}}}}")
    try:
        vocabs = tuple(Vocab.from_dict(data[side]) if data.get(side) else None for side in ("src", "tgt"))
        if not all(isinstance(t, str) for v in vocabs if v for t in v.itos):
            raise ValueError("tokens must be strings")
    except (UserError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RunError(f"{where}: not a vocabulary ({exc})") from None
    if config is not None:
        for side, vocab, size in (("source", vocabs[0], config.model.src_vocab),
                                  ("target", vocabs[1], config.model.tgt_vocab)):
            if size and (vocab is None or len(vocab) != size):
                have = len(vocab) if vocab else 0
                raise RunError(f"{where}: the {side} vocabulary has {have} tokens but the model was trained with "
                               f"{size}; decoding with it would be wrong")
    return vocabs


def write_task_info(path: Path, task) -> None:
    """What decoding needs from the data without reading it again: split names and target lengths."""
    info = {"split_names": list(task.split_names),
            "max_target_len": {s: int(task.max_target_len(s)) for s in task.split_names}}
    atomic_write(Path(path) / TASK_INFO, json.dumps(info))


def _task_info(path: Path) -> Optional[dict]:
    try:
        info = json.loads((path / TASK_INFO).read_bytes().decode("utf-8"))
        names, lengths = info["split_names"], info["max_target_len"]
        if all(isinstance(lengths.get(s), int) for s in names) and names:
            return info
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        pass
    return None  # built from the data on demand, as before task.json existed


class RunTask:
    """A run's task for decoding: vocabularies, tokenisers and split facts from the run.

    The whole task is built on first use with the run's directory, so a parallel task whose data
    file is gone still tokenises typed input; asking for examples then says the file is missing.
    """

    def __init__(self, path: Path, config, vocabs):
        from ..tasks import TASKS

        self.path, self.config, self.name = path, config, config.name
        info = TASKS[config.name]
        self.family, self.is_translation = info.family, info.is_translation
        self.src_vocab, self.tgt_vocab = vocabs
        self._info = _task_info(path)
        self._full = None
        self._light = None  # the task without examples (parallel tasks): see ``light``

    def tokenize_src(self, text: str) -> list[str]:
        return self.light().tokenize_src(text)

    def tokenize_tgt(self, text: str) -> list[str]:
        return self.light().tokenize_tgt(text)

    def detokenize(self, tokens: list[str]) -> str:
        return self.light().detokenize(tokens)

    def detokenize_src(self, tokens: list[str]) -> str:
        return self.light().detokenize_src(tokens)

    @property
    def report(self):
        """The run's saved data report (``data_report.json``) for a parallel task, else None."""
        return self.light().report

    @property
    def split_names(self) -> list[str]:
        return list(self._info["split_names"]) if self._info else self.full().split_names

    def max_target_len(self, split: str) -> int:
        if self._info and split in self._info["max_target_len"]:
            return self._info["max_target_len"][split]
        return self.full().max_target_len(split)

    @property
    def missing_data(self) -> Optional[str]:
        """Why there are no examples, when the run's data file is gone; None otherwise."""
        data = self.config.data
        if data and not Path(data).expanduser().exists():
            return (f"this run's examples come from its data file {data}, which is missing (moved or deleted); "
                    "decode your own text with --input")
        return None

    def examples(self, split: str):
        """The split's examples (none when a parallel task's data file is gone: see ``missing_data``)."""
        return self.full().examples(split)

    def light(self):
        """The task without its examples when that is cheaper: a parallel task's tokenisers and data
        report come from the run, so decoding typed or filed text never reads the training file."""
        from ..tasks import build_task

        if self._full is not None or self.config.name in ("copy", "reverse", "sort") or self.family == "lm":
            return self.full()
        if self._light is None:
            self._light = build_task(self.config, vocabs=(self.src_vocab, self.tgt_vocab), run_dir=self.path,
                                     read_data=False)
        return self._light

    def full(self):
        """The whole task (reads the training data when it is there)."""
        from ..tasks import build_task

        if self._full is None:
            try:
                self._full = build_task(self.config, vocabs=(self.src_vocab, self.tgt_vocab), run_dir=self.path)
            except UserError as exc:
                raise RunError(f"this run's task needs its data file, which cannot be read now ({exc})") from None
        return self._full

    def __getattr__(self, name: str):  # anything else a Task has (batches): from the whole task
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.full(), name)


def check_finite(tensors: dict, where: Path) -> None:
    """A RunError when any tensor holds NaN or infinity."""
    import torch

    bad = sum(int((~torch.isfinite(t)).sum()) for t in tensors.values() if t.is_floating_point())
    if bad:
        raise RunError(f"{where}: {bad:,} weights are not finite (NaN or infinity); this checkpoint cannot be used")


def load_weights(model, ckpt: Checkpoint) -> None:
    """Load the checkpoint's model.safetensors into ``model``; a mismatch is a RunError naming the difference."""
    where = ckpt.path / "model.safetensors"
    weights = ckpt.tensors("model", device=str(model.device))
    own = model.state_dict()
    missing, extra = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
    bad = [k for k in own if k in weights and own[k].shape != weights[k].shape]
    if missing or extra or bad:
        detail = (f"missing {missing[:3]}" if missing else "") or (f"unexpected {extra[:3]}" if extra else "") \
            or f"shape of {bad[0]} is {tuple(weights[bad[0]].shape)}, the config says {tuple(own[bad[0]].shape)}"
        raise RunError(f"{where}: checkpoint does not fit the run's architecture ({detail})")
    check_finite(weights, where)
    model.load_state_dict(weights)


@dataclass
class LoadedRun:
    """A run ready to decode: its config, task (with the run's vocabularies) and model in eval mode."""

    path: Path
    config: Any  # RunConfig
    model: Any  # models.SeqModel, eval mode, on ``device``
    task: Any  # RunTask: behaves as a workbench.tasks.Task
    step: int
    trainer_state: dict[str, Any]


def load_run(path: Union[str, Path], device: str = "cpu") -> LoadedRun:
    """Rebuild a run's task, model and newest complete checkpoint for decoding or inspection (no lock needed)."""
    from models import build_model

    from ..device import resolve_device

    p = check_run_dir(path)
    cfg = load_config(p)
    vocabs = load_vocabs(p, cfg)
    ckpt = newest(p)
    task = RunTask(p, cfg.task, vocabs)
    model = build_model(cfg.model).to(resolve_device(device))
    load_weights(model, ckpt)
    model.eval()
    return LoadedRun(path=p, config=cfg, model=model, task=task, step=ckpt.step, trainer_state=ckpt.state)

