"""What the encoder inspector draws, as Rich renderables built from an ``EncoderView`` (no Textual here).

The app's encoder inspector only chooses which of these to show; ``seqbench decode`` prints the
same pieces (``encoding_report.py``). Views of the trace, cycled with ``v``:

    hidden    the layer's hidden states per position, one strip per direction (forward, backward)
    attention the Transformer's self-attention of one layer and head (or the mean over heads)
    pooling   a classifier's pooling weights over the positions
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from rich.console import Group, RenderableType
from rich.text import Text

from .encoding import EncoderView, UnmaskStep
from .render import heat_color, heatmap, hidden_strip, token_label


@dataclass
class TraceOptions:
    """Which slice of the trace to draw."""

    view: str = "hidden"
    layer: int = -1  # -1: the top layer
    head: Optional[int] = None  # None: mean over heads


def trace_views(caps: Any) -> list[str]:
    """The views this model's trace has."""
    views = ["hidden"]
    if caps.encoder_self_attention:
        views.append("attention")
    if caps.pooling is not None:
        views.append("pooling")
    return views


def predictions(view: EncoderView, head: str, steps: list[UnmaskStep], shown: int, width: int = 80) -> RenderableType:
    """Tokens with what the model predicts: tags under tokens, a class, or masks filled after ``shown`` steps."""
    if head == "classify":
        lines = [Text.assemble(("class ", "bold"), (view.top[0][0][0], "bold cyan"),
                               f"  p = {view.top[0][0][1]:.3f}" +
                               (f"   reference {view.reference[0]}" if view.reference else ""))]
        for label, p in view.top[0]:
            lines.append(Text.assemble(f"{token_label(label):>10} {p:5.3f} ", ("█" * round(24 * p), heat_color(p))))
        return Group(Text(" ".join(token_label(t) for t in view.tokens)), *lines)
    if head == "mlm":
        return _unmasking(view, steps, shown)
    blocks: list[list[Text]] = []
    used = width + 1
    for i, token in enumerate(view.tokens):
        tag, p = view.top[i][0]
        ref = view.reference[i] if view.reference and i < len(view.reference) else ""
        cell = max(len(token_label(token)), len(tag), len(ref), 4) + 1
        if used + cell > width:  # a new block of rows: columns stay aligned when a sentence wraps
            blocks.append([Text(), Text(), Text(style="dim")] + ([Text(style="green")] if view.reference else []))
            used = 0
        rows = blocks[-1]
        used += cell
        rows[0].append(token_label(token).ljust(cell), style="bold")
        rows[1].append(tag.ljust(cell), style=("bold red" if ref and ref != tag else heat_color(p)))
        rows[2].append(f"{p:.2f}".ljust(cell))
        if view.reference:
            rows[3].append(ref.ljust(cell))
    note = Text("rows: input, predicted tag (colour: probability; red: differs from the reference), p"
                + (", reference" if view.reference else ""), style="dim")
    return Group(*(row for rows in blocks for row in rows), note)


def _unmasking(view: EncoderView, steps: list[UnmaskStep], shown: int) -> RenderableType:
    """The text after ``shown`` unmasking steps; the step's mask highlighted, its candidates listed."""
    tokens = steps[shown - 1].tokens if shown else view.tokens
    filled = {s.position for s in steps[:shown]}
    text = Text()
    words = any(len(t) > 1 for t in view.tokens if t != "<mask>")  # a word-level model: tokens spaced apart
    for i, tok in enumerate(tokens):
        if i and words:
            text.append(" ")
        if shown and i == steps[shown - 1].position:
            text.append(token_label(tok), style="bold black on yellow")
        elif i in filled:
            text.append(token_label(tok), style="bold cyan")
        elif tok == "<mask>":
            text.append("▒", style="bold magenta")
        else:
            text.append(token_label(tok))
    lines: list[RenderableType] = [text, Text(f"unmasking step {shown}/{len(steps)} (→ next, ← back, f force a token at the next mask)",
                                                 style="dim")]
    if shown:
        s = steps[shown - 1]
        lines.append(Text(f"filled position {s.position} with {token_label(s.token)!s} (p {s.prob:.2f})"
                          + (", forced" if s.forced else "") + "; candidates: "
                          + "  ".join(f"{token_label(t)} {p:.2f}" for t, p in s.candidates)))
    elif steps:
        nxt = steps[0]
        lines.append(Text(f"most confident mask: position {nxt.position}: "
                          + "  ".join(f"{token_label(t)} {p:.2f}" for t, p in nxt.candidates)))
    return Group(*lines)


def trace_panel(view: EncoderView, caps: Any, opts: TraceOptions, width: int) -> RenderableType:
    """The chosen slice of the trace, titled with what it is."""
    enc = view.encoding
    labels = ["[CLS]"] * enc.prefix + view.tokens
    layers = enc.hidden.shape[1]
    layer = opts.layer % layers
    if opts.view == "attention" and enc.self_attention is not None:
        att = enc.self_attention[0, layer].float().cpu()  # (H, S', S')
        which = "mean over heads" if opts.head is None else f"head {opts.head + 1}/{att.shape[0]}"
        weights = att.mean(0) if opts.head is None else att[opts.head % att.shape[0]]
        return Group(Text(f"self-attention, layer {layer + 1}/{layers}, {which} (row attends to column)",
                          style="bold"), heatmap(weights, labels, labels, width=width))
    if opts.view == "pooling" and enc.pooling is not None:
        weights = enc.pooling[0].float().cpu()  # (S',)
        top = max(float(weights.max()), 1e-8)
        return Group(Text(f"pooling weights ({caps.pooling}): each position's share of the pooled vector", style="bold"),
                     heatmap((weights / top).unsqueeze(0), ["pool"], labels, width=width,
                             note=f"scaled by the largest weight, {top:.3f}"))
    parts: list[RenderableType] = []
    for r, name in enumerate(("forward", "backward")[: enc.hidden.shape[2]]):
        title = f"hidden states, layer {layer + 1}/{layers}" + (f", {name} direction" if enc.hidden.shape[2] > 1 else "")
        parts += [Text(title, style="bold"), hidden_strip(enc.hidden[0, layer, r].float().cpu(), labels, width=width)]
    return Group(*parts)
