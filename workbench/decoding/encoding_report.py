"""``seqbench decode`` for an encoder-family run: tags under tokens, a class with probabilities, masks filled.

Panels (``--show``): ``probs`` the best k per position, ``hidden`` the top layer's states per direction,
``attention`` the Transformer's self-attention (last layer, mean over heads) and a classifier's
pooling weights. ``--json`` writes the view (and the unmasking steps); ``--export DIR`` writes the
hidden states and attention as .npy beside ``encoding.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import UserError
from .encoding import EncoderView, UnmaskStep, inspect_encoder, prepare_encoder, unmask
from .render import heat_color, heatmap, hidden_strip, token_label

SHOWN_MASK = "▒"


def run_encoder(loaded: Any, args: Any, panels: list[str]) -> int:
    """Encode one input (``--input`` or ``--example``) with a loaded run and print what the model predicts."""
    from models import describe

    console, err = Console(), Console(stderr=True)
    for flag in ("beam", "reference", "length", "max_len", "intervene"):
        if getattr(args, flag, None):
            raise UserError(f"--{flag.replace('_', '-')} is for decoders; an encoder reads its input at once")
    caps = loaded.model.capabilities
    job = prepare_encoder(loaded.task, caps, text=args.input, example=args.example, force=args.force)
    for warning in job.warnings:
        err.print(Text.assemble(("warning: ", "bold yellow"), warning))
    view = inspect_encoder(loaded.model, loaded.task, job)
    steps = unmask(loaded.model, loaded.task, job) if job.head == "mlm" else []
    console.print(Text(f"{describe(loaded.config.model)} · step {loaded.step}", style="dim"))
    {"tag": print_tags, "classify": print_class, "mlm": print_masks}[job.head](console, view, steps)
    for name in panels:
        print_panel(console, view, name, caps)
    if args.json or args.export:
        record = {**view.to_json(), "unmasking": [s.to_json() for s in steps]}
        if args.json:
            _write(Path(args.json), json.dumps(record, ensure_ascii=False, indent=1))
        if args.export:
            export(Path(args.export), view, record)
    return 0


def columns(console: Console, rows: list[tuple[str, list[str], str]]) -> None:
    """Print aligned rows (label, cells, style), wrapped to the console's width."""
    n = max(len(cells) for _, cells, _ in rows)
    widths = [max(len(token_label(cells[i])) if i < len(cells) else 0 for _, cells, _ in rows) + 1 for i in range(n)]
    label_w = max(len(label) for label, _, _ in rows) + 1
    start = 0
    while start < n:
        stop, used = start, label_w
        while stop < n and (used + widths[stop] <= console.width or stop == start):
            used += widths[stop]
            stop += 1
        for label, cells, style in rows:
            line = Text(label.ljust(label_w), style="bold")
            for i in range(start, stop):
                line.append((token_label(cells[i]) if i < len(cells) else "").ljust(widths[i]), style=style)
            console.print(line)
        start = stop


def print_tags(console: Console, view: EncoderView, steps: list[UnmaskStep]) -> None:
    predicted = view.predicted[: len(view.tokens)]
    rows = [("input", view.tokens, ""), ("tag", predicted, "bold cyan"),
            ("p", [f"{row[0][1]:.2f}".lstrip("0") for row in view.top[: len(view.tokens)]], "dim")]
    if view.reference:
        rows.append(("reference", view.reference, "green"))
    columns(console, rows)
    if view.reference:
        right = sum(p == r for p, r in zip(predicted, view.reference))
        console.print(f"{right}/{len(view.reference)} tags match the reference")


def print_class(console: Console, view: EncoderView, steps: list[UnmaskStep]) -> None:
    console.print(Text.assemble(("input  ", "bold"), " ".join(view.tokens)))
    label, prob = view.top[0][0]
    console.print(Text.assemble(("class  ", "bold"), (label, "bold cyan"), f"   p = {prob:.3f}"))
    for name, p in view.top[0]:
        console.print(Text.assemble(f"  {token_label(name):>12} {p:6.3f} ", ("█" * round(30 * p), heat_color(p))))
    if view.reference:
        mark = "✓" if view.reference[0] == label else "✗"
        console.print(Text.assemble(("reference  ", "bold"), view.reference[0], f"  {mark}"))


def print_masks(console: Console, view: EncoderView, steps: list[UnmaskStep]) -> None:
    masked = {s.position for s in steps}
    shown = [SHOWN_MASK if i in masked else tok for i, tok in enumerate(view.tokens)]
    console.print(Text.assemble(("input   ", "bold"), "".join(shown) if _chars(view) else " ".join(shown)))
    if not steps:
        return
    final = steps[-1].tokens
    console.print(Text.assemble(("filled  ", "bold"), "".join(final) if _chars(view) else " ".join(final)))
    if view.reference:
        right = sum(final[s.position] == view.reference[s.position] for s in steps)
        console.print(f"{right}/{len(steps)} masks filled with the original token")
    table = Table("step", "position", "filled", "p", "candidates before filling", box=None)
    for n, s in enumerate(steps, 1):
        cands = "  ".join(f"{token_label(t)} {p:.2f}" for t, p in s.candidates)
        table.add_row(str(n), str(s.position), token_label(s.token) + (" (forced)" if s.forced else ""),
                      f"{s.prob:.2f}", cands)
    console.print("iterative unmasking, most confident mask first:")
    console.print(table)


def _chars(view: EncoderView) -> bool:
    return all(len(t) == 1 for t in view.tokens if t != "<mask>")


def print_panel(console: Console, view: EncoderView, name: str, caps: Any) -> None:
    enc, width = view.encoding, console.width
    labels = ["[CLS]"] * enc.prefix + view.tokens
    if name == "probs":
        table = Table("position", "token", "best k", box=None)
        for i, row in enumerate(view.top):
            table.add_row(str(i), token_label(view.tokens[i]) if len(view.top) > 1 else "(sequence)",
                          "  ".join(f"{token_label(t)} {p:.2f}" for t, p in row))
        console.print(table)
    elif name == "hidden":
        for r, direction in enumerate(("forward", "backward")[: caps.directions]):
            console.print(Text(f"top layer, {direction} direction: one row per position", style="bold"))
            console.print(hidden_strip(enc.hidden[0, -1, r].float().cpu(), labels, width=width))
    elif name == "attention":
        if enc.self_attention is not None:
            weights = enc.self_attention[0, -1].float().mean(0).cpu()  # (S', S') last layer, mean over heads
            console.print(Text("self-attention, last layer, mean over heads (row attends to column)", style="bold"))
            console.print(heatmap(weights, labels, labels, width=width))
        if enc.pooling is not None:
            console.print(Text(f"pooling weights ({caps.pooling}): each position's share of the pooled vector",
                               style="bold"))
            console.print(heatmap(enc.pooling[0].float().cpu().unsqueeze(0), ["pool"], labels, width=width))
        if enc.self_attention is None and enc.pooling is None:
            console.print(Text("this encoder has no attention to show (recurrent, not classifying)", style="dim"))
    else:
        console.print(Text(f"--show {name}: not shown for an encoder (it has no decoding steps)", style="dim"))


def export(out: Path, view: EncoderView, record: dict) -> None:
    """encoding.json, hidden.npy (L, R, S', D) and, where the model has it, attention.npy (L, H, S', S')."""
    import numpy as np

    try:
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "hidden.npy", view.encoding.hidden[0].float().cpu().numpy())
        if view.encoding.self_attention is not None:
            np.save(out / "attention.npy", view.encoding.self_attention[0].float().cpu().numpy())
    except OSError as exc:
        raise UserError(f"cannot write --export {out}: {exc.strerror or exc}") from None
    _write(out / "encoding.json", json.dumps(record, ensure_ascii=False, indent=1))


def _write(path: Path, text: str) -> None:
    from ..fileio import atomic_write

    try:
        atomic_write(path, text)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def confusion_table(labels: list[str], counts: list[list[int]]) -> Table:
    """Reference labels down, predictions across; the diagonal is what the classifier got right."""
    shown = [token_label(label)[:12] for label in labels]
    table = Table(box=None)
    table.add_column("")
    for label in shown:
        table.add_column(label, justify="right")
    for i, (label, row) in enumerate(zip(shown, counts)):
        table.add_row(label, *[Text(str(n), style="bold green" if i == j else ("red" if n else "dim"))
                               for j, n in enumerate(row)])
    return table


def print_confusion(console: Console, run_dir: str) -> None:
    """The confusion matrix of a classification run's newest checkpoint on its test split."""
    from ..encoder_metrics import confusion
    from ..runs import load_run

    loaded = load_run(run_dir)
    split = "test" if "test" in loaded.task.split_names else loaded.task.split_names[-1]
    labels, counts = confusion(loaded.model, loaded.task.full(), split)
    if len(labels) <= 20:
        console.print(Text(f"confusion matrix on {split}: rows reference, columns predicted", style="bold"))
        console.print(confusion_table(labels, counts))
