"""``seqbench compare RUN_A RUN_B [RUN_C ...]``: the same inputs through several runs, side by side.

With ``--input``, ``--example`` or ``--input-file``: each run's greedy output aligned token by token,
the first step where they part, and there each run's top candidates and where it attended. With
``--split``: which examples one run gets right and another does not. ``--json`` writes it all.
Only argparse is imported until ``run`` is called.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .errors import UserError

SPLITS = ("val", "test", "long")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The compare options (RUN positionals included)."""
    parser.add_argument("runs", metavar="RUN", nargs="+", help="two or more run directories trained on the same task")
    what = parser.add_argument_group("what to compare (give one)")
    what.add_argument("--input", metavar="TEXT", help="one source text (a prompt for a language model)")
    what.add_argument("--example", metavar="N", type=int, help="example N (from 0) of the test split "
                      "(val for a language model)")
    what.add_argument("--input-file", metavar="FILE", help="a UTF-8 file with one input per line; blank lines skipped")
    what.add_argument("--split", choices=SPLITS, help="every example of the split: which ones each run gets exactly "
                      "right that another gets wrong (encoder-decoder tasks)")
    how = parser.add_argument_group("options")
    how.add_argument("--limit", metavar="N", type=int, help="with --split: only the first N examples (default: all)")
    how.add_argument("--max-len", metavar="N", type=int, help="most output tokens per run (default: automatic, as "
                     "in seqbench decode)")
    how.add_argument("--top", metavar="K", type=int, default=5, help="candidates shown per run at the divergence "
                     "step (default: 5)")
    how.add_argument("--json", metavar="FILE", help="write the comparison as JSON (default: none)")
    how.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default: cpu)")


def check_args(args: argparse.Namespace) -> None:
    chosen = [f for f in ("input", "example", "input_file", "split") if getattr(args, f) is not None]
    if len(chosen) != 1:
        raise UserError("give exactly one of --input, --example, --input-file and --split")
    if len(args.runs) < 2:
        raise UserError("compare needs at least two runs (a run compared with itself is fine: give it twice)")
    if args.limit is not None and args.split is None:
        raise UserError("--limit only applies with --split")
    for flag in ("limit", "max_len", "top"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be at least 1 (got {value})")


def read_inputs(path: str) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"--input-file {path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"--input-file {path}: not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise UserError(f"--input-file {path}: {exc.strerror or exc}") from None
    inputs = [line for line in lines if line.strip()]
    if not inputs:
        raise UserError(f"--input-file {path} has no inputs (every line is blank)")
    return inputs


def run(args: argparse.Namespace) -> int:
    check_args(args)
    from rich.console import Console

    from .decoding.compare import check_same_task, compare_input, compare_split
    from .decoding.compare_render import render_input, render_many, render_split
    from .runs import load_run

    inputs = read_inputs(args.input_file) if args.input_file else None
    runs = [load_run(r, device=args.device) for r in args.runs]
    check_same_task(runs, same_examples=args.example is not None)
    out, err = Console(), Console(stderr=True)
    if args.split:
        result = compare_split(runs, args.split, limit=args.limit)
        render_split(out, result)
        data = result.to_json()
    elif inputs is not None:
        results = [compare_input(runs, text=line, max_len=args.max_len, show_k=args.top) for line in inputs]
        render_many(out, results)
        data = {"inputs": [r.to_json() for r in results]}
    else:
        result = compare_input(runs, text=args.input, example=args.example, max_len=args.max_len, show_k=args.top)
        for warning in result.warnings:
            err.print(f"warning: {warning}", markup=False, highlight=False)
        render_input(out, result)
        data = result.to_json()
    if args.json:
        write_json(args.json, {"schema": "seqbench.compare/1", "runs": [str(r.path) for r in runs], **data})
        out.print(f"wrote {args.json}", style="dim", markup=False)
    return 0


def write_json(path: str, data: dict) -> None:
    from .fileio import atomic_write

    try:
        atomic_write(Path(path), json.dumps(data, allow_nan=False) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write --json {path}: {exc.strerror or exc}") from None
