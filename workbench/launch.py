"""The TUI's side of the engine: loading it off the UI thread, and turning the launcher's form into a RunConfig.

Importing torch takes seconds, so the app paints the launcher first and calls ``load_catalog`` in a
thread worker. ``workbench.config`` is torch-free, so the form's hints and checks work at once;
``preview_data`` reads a whole corpus and belongs in a thread worker too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

@dataclass(frozen=True)
class Field:
    """One launcher input: its config key, its label, and the symbol and note its hint is made of.

    The hint's bounds come from the field's declaration (``setting(...)``), so the rule has one owner;
    ``note`` only says what a value means ("0 = off").
    """

    section: str
    key: str
    label: str
    symbol: str = "x"
    note: str = ""

    @property
    def hint(self) -> str:
        from workbench.config import allowed_for

        span = allowed_for(self.section, self.key).span(self.symbol)
        return f"{span}, {self.note}" if self.note else span


# the hyperparameter form, in display order
FIELDS: list[Field] = [
    Field("model", "emb_dim", "embedding", "E"),
    Field("model", "hidden", "hidden", "D"),
    Field("model", "layers", "layers", "L", "enc + dec"),
    Field("model", "heads", "heads", "H"),
    Field("model", "local_window", "window", "D", "2D+1"),
    Field("model", "dropout", "dropout", "p"),
    Field("train", "steps", "steps", "N"),
    Field("train", "batch_size", "batch size", "B"),
    Field("train", "lr", "learning rate", "lr", "AdamW peak"),
    Field("train", "warmup", "warm-up", "W", "then cosine"),
    Field("train", "clip", "grad clip", "c", "0 = off"),
    Field("train", "eval_every", "eval every", "N", "+ checkpoint"),
    Field("train", "eval_examples", "val examples", "n"),
    Field("train", "seed", "seed", "s"),
    Field("train", "threads", "CPU threads", "T", "0 = auto"),
    Field("train", "max_seconds", "time limit", "s", "0 = none"),
]

# the parallel-data options under the data file (dates, numbers, tsv), as ``seqbench train`` has them
DATA_FIELDS: list[Field] = [
    Field("task", "columns", "columns"),
    Field("task", "vocab_size", "vocab size", "V"),
    Field("task", "min_freq", "min freq", "f", "rarer: <unk>"),
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
        from workbench.tasks.catalog import TASKS

        if TASKS[task].needs_data:
            return False, f"the {task} task needs a file: {TASKS[task].description.split(': ', 1)[-1]}"
        return True, {"charlm": "empty: Python's bundled documentation",
                      "mlm": "empty: Python's bundled documentation",
                      "skipthought": "empty: the generated toy stories"}.get(task, "empty: the bundled sample data")
    p = Path(path).expanduser()
    from workbench.serve import outside_root  # under `seqbench serve`, files stay under its --root

    refused = outside_root(p)
    if refused:
        return False, refused
    if not p.exists():
        return False, f"no such file: {p}"
    if not p.is_file():
        return False, f"not a file: {p}"
    if not os.access(p, os.R_OK):
        return False, f"cannot read {p}"
    size = p.stat().st_size
    if size == 0:
        return False, f"{p} is empty"
    from workbench.tasks.config import PARALLEL

    # a parallel file's report follows (``preview_data``); other files are read when training starts
    return True, f"{size / 1024:,.0f} KiB" + ("" if task in PARALLEL else ", checked when training starts")


@dataclass
class DataPreview:
    """What training would make of a parallel data file, for the launcher to show before it starts."""

    lines: list[str]  # the DataReport's summary lines and warnings (what `seqbench train` prints)
    problem: str = ""  # the one-line refusal training would give, or ""
    hint: str = ""  # what to change in the launcher so the file reads, or ""


def preview_data(task: str, data: str, options: dict[str, str]) -> Optional[DataPreview]:
    """Read ``data`` as training would (columns, tokens, vocabularies) and report it; None for tasks without one.

    ``options`` are the launcher's texts for task keys (columns, tokens, vocab_size, min_freq). A file
    whose lines have more than two columns is read again with columns 1,2, under a hint saying so.
    Slow on a large file (it tokenises everything, and trains the subword model): call it in a thread.
    """
    from workbench.config import default_config
    from workbench.errors import DataError, UserError
    from workbench.tasks.config import PARALLEL

    if task not in PARALLEL:
        return None
    cfg = default_config(task).task
    try:
        for key, text in options.items():
            setattr(cfg, key, parse_task_option(key, text))
        cfg.data = str(Path(data.strip()).expanduser()) if data.strip() else None
        cfg.validate()
        return DataPreview(_report_lines(cfg))
    except UserError as exc:  # DataError too: a file training would refuse
        refused = exc
    tatoeba = getattr(refused, "tatoeba", None)  # a parallel.ColumnsError: lines with more than two columns
    if cfg.columns is None and tatoeba is not None:
        hint = ("the third column looks like Tatoeba's attribution: type 1,2 in columns to train on the first two"
                if tatoeba else "more than two columns: type the source and target columns, e.g. 1,2")
        cfg.columns = "1,2"
        try:
            return DataPreview(["what columns 1,2 would read:"] + _report_lines(cfg), str(refused), hint)
        except DataError:
            pass
    return DataPreview([], str(refused))


def parse_task_option(key: str, text: str):
    """A launcher text for ``task.<key>`` as its value, or the UserError ``seqbench train`` would give."""
    from workbench.config import parse_setting

    return parse_setting("task", key, text)


def _report_lines(task_cfg) -> list[str]:
    from workbench.tasks.parallel_task import build_parallel_task

    report = build_parallel_task(task_cfg).report
    return report.summary_lines() + [f"warning: {w}" for w in report.warnings]
