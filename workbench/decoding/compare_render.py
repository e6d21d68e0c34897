"""How ``seqbench compare`` draws a comparison on a Rich console (token text always as ``Text``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .compare import InputComparison, SplitComparison
from .render import escape_control, token_label

ROWS = 16  # aligned positions drawn (more when the runs part later)


def render_input(out: Console, cmp: InputComparison) -> None:
    """The aligned outputs, the divergence step and what each run weighed there."""
    out.print(Text.assemble(("input   ", "bold"), escape_control(cmp.input_text)))
    if cmp.reference is not None:
        out.print(Text.assemble(("reference ", "bold"), escape_control("".join(cmp.reference)
                                                                      if _chars(cmp.reference) else " ".join(cmp.reference))))
    for o in cmp.outputs:
        shown = " ".join(token_label(x) for x in o.tokens) if not _chars(o.tokens) else escape_control("".join(o.tokens))
        out.print(Text.assemble((f"{o.label}: ", "bold"), shown or "(empty)",
                                (f"  log-prob {o.logprob:.3f}" + (" · cut at max length" if o.status != "eos" else ""),
                                 "dim")))
    t = cmp.divergence
    table = Table(title="aligned", title_justify="left", expand=False)
    table.add_column("t", justify="right")
    for o in cmp.outputs:
        table.add_column(o.label, overflow="fold")
    rows = min(cmp.length, max(ROWS, (t or 0) + ROWS // 2))
    for i in range(rows):
        col = cmp.column(i)
        style = "bold red" if t is not None and i >= t and len(set(col)) > 1 else ""
        table.add_row(Text(str(i), style="bold" if i == t else "dim"), *(Text(token_label(c), style=style) for c in col))
    out.print(table)
    if rows < cmp.length:
        out.print(Text(f"… {cmp.length - rows} more positions (all of them in --json)", style="dim"))
    if t is None:
        out.print(Text("no divergence: every run produces the same output", style="green"))
        return
    out.print(Text(f"the runs first part at step {t}", style="bold yellow"))
    for view in cmp.at_divergence:
        line = Text.assemble((f"  {view.label}: ", "bold"), ("chose ", "dim"), (token_label(view.chosen), "bold"),
                             ("  top ", "dim"))
        for tok, p in view.top:
            line.append(f"{token_label(tok)} {p:.2f}  ")
        if view.attended is not None:
            pos, tok, w = view.attended
            line.append(f"attended to source position {pos} ", style="dim")
            line.append(token_label(tok), style="bold")
            line.append(f" ({w:.2f})", style="dim")
        out.print(line)


def render_many(out: Console, results: list[InputComparison]) -> None:
    """One line per input: identical, or the step and tokens where the runs part."""
    same = sum(r.divergence is None for r in results)
    for i, r in enumerate(results):
        t = r.divergence
        line = Text.assemble((f"{i:>4} ", "dim"), (escape_control(r.input_text)[:40].ljust(40), ""), "  ")
        if t is None:
            line.append("same", style="green")
        else:
            line.append(f"part at step {t}: ", style="yellow")
            line.append(" / ".join(token_label(c) for c in r.column(t)), style="bold")
        out.print(line)
    out.print(Text(f"{same} of {len(results)} inputs give the same output in every run", style="bold"))


def render_split(out: Console, cmp: SplitComparison) -> None:
    """Exact match per run, then for each ordered pair: what one gets right that the other does not."""
    table = Table(title=f"{cmp.split} split, {cmp.total} examples, greedy", title_justify="left", expand=False)
    for name, justify in (("run", "left"), ("exact", "right"), ("exact match", "right")):
        table.add_column(name, justify=justify)
    for label, right in zip(cmp.labels, cmp.correct):
        table.add_row(Text(label), Text(str(len(right))), Text(f"{len(right) / max(cmp.total, 1):.3f}"))
    out.print(table)
    for a, b in cmp.pairs():
        only = cmp.only(a, b)
        first = ", ".join(map(str, only[: cmp.show])) + (" …" if len(only) > cmp.show else "")
        out.print(Text.assemble((cmp.labels[a], "bold"), " right, ", (cmp.labels[b], "bold"),
                                f" wrong: {len(only)}", (f"  (examples {first})" if only else "", "dim")))


def _chars(tokens: list[str]) -> bool:
    return all(len(t) == 1 for t in tokens)
