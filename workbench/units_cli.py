"""``seqbench units RUN --unit L0:U12``: where in a split a hidden unit is most on, with the tokens around it.

Each peak is printed as its context, every token on a background coloured by the unit's value
there (red above zero, blue below, scaled to the unit's largest magnitude over the split), the
peak's token underlined. ``--json`` writes the peaks and their activations. Only argparse is
imported until ``run`` is called.
"""

from __future__ import annotations

import argparse

from .errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run directory")
    parser.add_argument("--unit", metavar="L<layer>:U<unit>", action="append", required=True,
                        help="a decoder hidden unit, e.g. L0:U12; repeatable")
    parser.add_argument("--split", default="val", help="split to read: val, test or long (default: val)")
    parser.add_argument("--top", metavar="N", type=int, default=10, help="peaks shown per unit (default: 10)")
    parser.add_argument("--context", metavar="N", type=int, default=12, help="tokens shown either side of a peak "
                        "(default: 12)")
    parser.add_argument("--limit", metavar="N", type=int, help="read only N examples (a language model: windows "
                        "spread over the split) (default: all)")
    parser.add_argument("--json", metavar="FILE", help="write the peaks and activations as JSON (default: none)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default: cpu)")


def run(args: argparse.Namespace) -> int:
    for flag in ("top", "limit"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag} must be at least 1 (got {value})")
    if args.context < 0:
        raise UserError(f"--context must be at least 0 (got {args.context})")
    from .decoding.units import parse_unit

    units = [parse_unit(spec) for spec in args.unit]
    from rich.console import Console

    from .compare_cli import write_json
    from .decoding.units import unit_peaks
    from .runs import load_run

    loaded = load_run(args.run, device=args.device)
    found = unit_peaks(loaded.model, loaded.task, units, split=args.split, top=args.top, context=args.context,
                       limit=args.limit)
    out = Console()
    for unit in found:
        draw(out, unit, args.split)
    if args.json:
        write_json(args.json, {"schema": "seqbench.units/1", "run": str(loaded.path), "split": args.split,
                               "units": [u.to_json() for u in found]})
    return 0


def draw(out, found, split: str) -> None:
    """One unit: its range over the split, then one line per peak, tokens coloured by activation."""
    from rich.table import Table
    from rich.text import Text

    out.print(Text.assemble((f"{found.unit.label}", "bold"), (f"  over the {split} split: min {found.low:+.3f}, "
                            f"mean {found.mean:+.3f}, max {found.high:+.3f}; most on where", "dim")))
    scale = max(abs(found.low), abs(found.high)) or 1.0
    table = Table(show_header=True, box=None, padding=(0, 1))
    for name, justify in (("value", "right"), ("where", "right"), ("context (the peak underlined)", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "value")
    for p in found.peaks:
        table.add_row(f"{p.value:+.3f}", f"ex {p.example} @{p.position}", context_text(p, scale))
    out.print(table)
    out.print(Text.assemble(("  colour: ", "dim"), (" −max ", f"on {_colour(-1.0)}"), (" 0 ", "on rgb(0,0,0)"),
                            (" +max ", f"on {_colour(1.0)}")))


def context_text(peak, scale: float):
    """The peak's context as Rich text: each token on its activation's colour (chars joined, words spaced)."""
    from rich.text import Text

    from .decoding.render import token_label

    chars = all(len(t) == 1 for t in peak.tokens)
    text = Text()
    for i, (token, value) in enumerate(zip(peak.tokens, peak.activations)):
        shown = token if chars and token == " " else token_label(token).replace("\n", "↵")
        style = f"on {_colour(value / scale)}" + (" bold underline" if i == peak.center else "")
        text.append(shown, style=style)
        if not chars and i < len(peak.tokens) - 1:
            text.append(" ")
    return text


def _colour(v: float) -> str:
    """Diverging colour of v in [-1, 1]: blue below zero, red above, near black at zero."""
    v = max(-1.0, min(1.0, v))
    strength = round(40 + 170 * abs(v))
    return f"rgb({strength},40,40)" if v >= 0 else f"rgb(40,40,{strength})"
