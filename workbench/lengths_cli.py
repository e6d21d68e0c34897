"""``seqbench lengths RUN [RUN ...]``: exact match and attention sharpness by source length, runs side by side.

One row per source length of the chosen splits (default: test, then the longer ``long``), one
column pair per run: greedy exact match and the cross-attention's mean entropy (nats, teacher-forced;
``log S`` beside it is what uniform attention would score). A rule marks the longest source each
run trained on. ``--json`` writes every figure. Only argparse is imported until ``run`` is called.
"""

from __future__ import annotations

import argparse
import math

from .errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", metavar="RUN", nargs="+", help="run directories of encoder-decoder runs (one task)")
    parser.add_argument("--split", metavar="NAMES", help="comma-separated splits to measure, e.g. test,long "
                        "(default: test and long, where the task has them)")
    parser.add_argument("--limit", metavar="N", type=int, help="at most N examples of each split (default: all)")
    parser.add_argument("--json", metavar="FILE", help="write every run's figures by length as JSON (default: none)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default: cpu)")


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1 (got {args.limit})")
    from rich.console import Console

    from .compare_cli import write_json
    from .decoding.lengths import length_profile
    from .runs import load_run

    splits = [s.strip() for s in args.split.split(",") if s.strip()] if args.split else None
    loaded = [load_run(run, device=args.device) for run in args.runs]
    tasks = {item.config.task.name for item in loaded}
    if len(tasks) > 1:
        raise UserError(f"the runs learned different tasks ({', '.join(sorted(tasks))}): their lengths do not compare")
    profiles = [length_profile(item.model, item.task, splits, limit=args.limit, label=item.path.name)
                for item in loaded]
    draw(Console(), profiles)
    if args.json:
        write_json(args.json, {"schema": "seqbench.lengths/1", "runs": [p.to_json() for p in profiles]})
    return 0


def draw(out, profiles) -> None:
    """The side-by-side table, then one line per run and split."""
    from rich.table import Table
    from rich.text import Text

    out.print(Text("exact match and attention entropy by source length", style="bold"))
    out.print(Text("H: cross-attention entropy in nats, teacher-forced (log S: uniform attention); "
                   "a rule under the longest source trained on", style="dim"))
    table = Table()
    table.add_column("length", justify="right")
    table.add_column("log S", justify="right", style="dim")
    for p in profiles:
        table.add_column(f"{p.label}\nexact", justify="right")
        table.add_column("H", justify="right")
    lengths = sorted({k for p in profiles for k in p.by_length()})
    trained = min((p.trained_up_to for p in profiles), default=0)
    rows = [p.by_length() for p in profiles]
    for length in lengths:
        cells = [str(length), f"{math.log(length):.2f}" if length > 0 else "—"]
        for row in rows:
            s = row.get(length)
            cells += ["—", "—"] if s is None else [f"{100 * s.exact:.1f}%", _nats(s.entropy)]
        table.add_row(*cells, end_section=length == trained)
    out.print(table)
    for p in profiles:
        parts = [f"{split} {100 * p.pooled(split).exact:.1f}% (H {_nats(p.pooled(split).entropy)})"
                 for split in p.splits]
        out.print(Text.assemble((p.label, "bold"), f"  {p.description} · trained on lengths ≤ {p.trained_up_to} · ",
                                " · ".join(parts)))


def _nats(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "—"
