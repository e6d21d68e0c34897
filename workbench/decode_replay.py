"""A decode's replay file: what ``seqbench decode --replay FILE`` needs to reopen the same decoding.

``--export DIR`` writes ``DIR/replay.json``: the run's path, a hash of its weights, the input and
every decoding option, and the output it gave. ``--replay`` reads it back into the options (the
run given on the command line, if any, wins over the recorded path, for a run that moved) and warns
when the weights are no longer the ones recorded or the output differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import UserError

SCHEMA = "seqbench.replay/1"
# decode options a replay restores: what to decode and how (not what to show or where to write)
OPTIONS = ("input", "example", "reference", "beam", "alpha", "greedy", "sample", "temperature", "top_k", "top_p", "seed",
           "max_len", "length", "force", "intervene")


def weights_hash(model: Any) -> str:
    """sha256 over the model's parameters and buffers (names, shapes, dtypes, bytes), in state-dict order."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())  # raw bytes, whatever the dtype
    return digest.hexdigest()


def replay_record(loaded: Any, args: argparse.Namespace, output: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "run": str(Path(loaded.path).resolve()), "step": loaded.step,
            "weights": weights_hash(loaded.model), "options": {k: getattr(args, k, None) for k in OPTIONS},
            "output": output}


def check_replay(record: dict[str, Any], loaded: Any, output: str) -> list[str]:
    """Warnings when the replay may not be faithful: other weights, or another output than recorded."""
    notes = []
    if record.get("weights") != weights_hash(loaded.model):
        notes.append(f"the run's weights are not those recorded (recorded at step {record.get('step')}, "
                     f"now step {loaded.step}): the output may differ")
    if record.get("output") is not None and record["output"] != output:
        notes.append(f"the output differs from the recorded one ({record['output']!r})")
    return notes


def write_replay(path: Path, record: dict[str, Any]) -> None:
    from .fileio import atomic_write

    atomic_write(path, json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def read_replay(path: str) -> dict[str, Any]:
    """The replay file's record; UserError (one line) when it is missing or not a replay."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"--replay {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"--replay {path}: not a replay file ({exc})") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA or not isinstance(record.get("options"), dict):
        raise UserError(f"--replay {path}: not a seqbench replay file (expected schema {SCHEMA})")
    return record


def apply_replay(args: argparse.Namespace) -> dict[str, Any]:
    """Set ``args``'s decode options (and its run, unless given) from ``args.replay``; returns the record."""
    record = read_replay(args.replay)
    given = [k for k in OPTIONS if getattr(args, k, None) not in (None, [], False, 0.0)]
    if given:
        raise UserError(f"--replay restores the recorded options; drop --{given[0].replace('_', '-')} "
                        "(only --show, --json, --export and --device go with it)")
    for key in OPTIONS:
        if key in record["options"]:
            setattr(args, key, record["options"][key])
    if args.run is None:
        args.run = record.get("run")
    return record
