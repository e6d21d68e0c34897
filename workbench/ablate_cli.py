"""``seqbench ablate RUN --split test``: zero each hidden unit or attention head in turn, rank by the damage.

Prints a ranked table (loss and exact-match change per unit, the most harmful ablation first);
``--json`` writes every unit's row. Only argparse is imported until ``run`` is called.
"""

from __future__ import annotations

import argparse

from .errors import UserError

WHATS = ("hidden", "heads")  # as decoding.ablation.WHATS, repeated here to keep --help torch-free
THREADS = 1  # the benchmark (benchmarks/ablation.py) measures the sweep at this default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run directory")
    parser.add_argument("--split", default="test", help="split to ablate over: val, test or long "
                        "(a language model: val) (default: test)")
    parser.add_argument("--what", choices=WHATS, default="hidden", help="hidden: every unit of every decoder layer; "
                        "heads: every attention head, cross and self (multi-head models) (default: hidden)")
    parser.add_argument("--limit", metavar="N", type=int, help="only the first N examples (default: all)")
    parser.add_argument("--top", metavar="N", type=int, default=20, help="rows shown, most harmful first; "
                        "--json has them all (default: 20)")
    parser.add_argument("--json", metavar="FILE", help="write the whole ranking as JSON (default: none)")
    parser.add_argument("--threads", metavar="N", type=int, default=THREADS, help="CPU threads for torch, 0 = "
                        "torch's default; one thread wastes little on this sweep's small steps, and two fall to a "
                        "tenth of its speed when another process keeps a core busy (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default: cpu)")


def run(args: argparse.Namespace) -> int:
    for flag in ("limit", "top"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag} must be at least 1 (got {value})")
    if args.threads < 0:
        raise UserError(f"--threads must be at least 0 (got {args.threads})")
    from rich.console import Console
    from rich.progress import Progress

    from .compare_cli import write_json
    from .decoding.ablation import ablate
    from .runs import load_run

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    loaded = load_run(args.run, device=args.device)
    err = Console(stderr=True)
    with Progress(console=err, transient=True) as bar:
        job = bar.add_task(f"ablating {args.what}", total=None)
        report = ablate(loaded.model, loaded.task, args.split, what=args.what, limit=args.limit,
                        progress=lambda done, total: bar.update(job, completed=done, total=total))
    draw(Console(), report, args.top)
    if args.json:
        write_json(args.json, {"schema": "seqbench.ablate/1", "run": str(loaded.path), **report.to_json()})
    return 0


def draw(out, report, top: int) -> None:
    """The ranked table: one row per unit, the most harmful ablation first."""
    from rich.table import Table
    from rich.text import Text

    base = report.baseline
    exact = "" if base.exact is None else f", exact match {base.exact:.1%}"
    out.print(Text(f"{report.split} split, {report.examples} examples: loss {base.loss:.4f} per token{exact}; "
                   f"{len(report.rows)} {report.what} ablations in {report.seconds:.1f} s", style="bold"))
    table = Table(title=f"zeroing each {'unit' if report.what == 'hidden' else 'head'}, most harmful first",
                  title_justify="left")
    table.add_column("rank", justify="right", style="dim")
    table.add_column("unit")
    table.add_column("Δ loss", justify="right")
    table.add_column("loss", justify="right", style="dim")
    if base.exact is not None:
        table.add_column("Δ exact", justify="right")
        table.add_column("exact", justify="right", style="dim")
    worst = max((abs(r.d_loss) for r in report.rows), default=0.0) or 1.0
    for rank, r in enumerate(report.rows[:top], 1):
        style = "bold red" if r.d_loss > 0.5 * worst else "red" if r.d_loss > 0.1 * worst else ""
        cells = [str(rank), r.label, Text(f"{r.d_loss:+.4f}", style=style), f"{r.outcome.loss:.4f}"]
        if base.exact is not None:
            cells += [f"{100 * r.d_exact:+.1f} pt", f"{r.outcome.exact:.1%}"]
        table.add_row(*cells)
    out.print(table)
    if len(report.rows) > top:
        out.print(Text(f"… {len(report.rows) - top} more (--top N, or --json for all)", style="dim"))
