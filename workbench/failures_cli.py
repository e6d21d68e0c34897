"""``seqbench errors RUN --split long``: where free-running greedy decoding first goes wrong, over a split.

Prints a histogram of the first wrong step, failures by input length, the reference token's rank
there and the commonest confusions; ``--beam K`` adds where beam search changes greedy's answer.
Only argparse is imported until ``run`` is called.
"""

from __future__ import annotations

import argparse

from .errors import UserError

BAR = 30  # widest histogram bar, in characters


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run directory of an encoder-decoder task")
    parser.add_argument("--split", default="long", help="split to examine: val, test or long (default: long)")
    parser.add_argument("--limit", metavar="N", type=int, help="only the first N examples (default: all)")
    parser.add_argument("--beam", metavar="K", type=int, help="also beam-decode with width K and report where it "
                        "changes greedy's answer, for better or worse (default: off)")
    parser.add_argument("--show", metavar="N", type=int, default=5, help="example ids listed per category "
                        "(default: 5)")
    parser.add_argument("--json", metavar="FILE", help="write the report, one row per example, as JSON (default: none)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default: cpu)")


def run(args: argparse.Namespace) -> int:
    for flag in ("limit", "beam", "show"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag} must be at least 1 (got {value})")
    from rich.console import Console

    from .compare_cli import write_json
    from .decoding.failures import failure_report
    from .runs import load_run

    loaded = load_run(args.run, device=args.device)
    report = failure_report(loaded.model, loaded.task, args.split, limit=args.limit, beam=args.beam, show=args.show)
    itos = loaded.task.tgt_vocab.itos
    draw(Console(), report, itos)
    if args.json:
        write_json(args.json, {"schema": "seqbench.errors/1", "run": str(loaded.path), **report.to_json(itos)})
    return 0


def draw(out, report, itos) -> None:
    from rich.text import Text

    from .decoding.render import token_label

    n, failed = len(report.outcomes), len(report.failed)
    out.print(Text(f"{report.split} split: greedy decoding leaves the reference in {failed} of {n} examples",
                   style="bold"))
    _bars(out, "first wrong step", {str(k): v for k, v in report.by_position.items()})
    lengths = report.by_length
    _bars(out, "failures by input length (failed / examples)", {str(k): f / t for k, (f, t) in lengths.items()},
          {str(k): f"{f}/{t}" for k, (f, t) in lengths.items()})
    _bars(out, "rank of the reference token there", report.ranks)
    pairs = report.confusions(itos)
    if pairs:
        line = Text("commonest confusions (reference → greedy): ", style="bold")
        for a, b, c in pairs:
            line.append(f"{token_label(a)}→{token_label(b)} ×{c}  ")
        out.print(line)
    if report.failed:
        first = ", ".join(f"{o.index}@{o.divergence}" for o in report.failed[: report.show])
        out.print(Text(f"first failures (example@step): {first}", style="dim"))
    if report.beam is not None:
        b = report.beam
        out.print(Text(f"beam {b.width} against greedy: same answer {len(b.same)}, fixed {len(b.fixed)} "
                       f"{b.fixed[: report.show]}, broke {len(b.broke)} {b.broke[: report.show]}, "
                       f"changed but still wrong {len(b.other)}", style="bold"))


def _bars(out, title: str, counts: dict, labels: dict = None) -> None:
    from rich.text import Text

    out.print(Text(title, style="bold"))
    if not counts:
        out.print(Text("  (none)", style="dim"))
        return
    top = max(max(counts.values()), 1)
    width = max(len(k) for k in counts)
    for key, value in counts.items():
        shown = (labels or {}).get(key, str(value))
        out.print(Text.assemble(f"  {key.rjust(width)} ", ("█" * round(BAR * value / top), "cyan"), f" {shown}"))
