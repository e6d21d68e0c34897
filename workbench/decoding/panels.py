"""What each inspector panel draws, sliced from the engine's records: matrices, strips, labels.

Only indexing of tensors the engine reported (``Trace``, ``EncoderTrace``, probe snapshots), by the
focus hypothesis's path (``decoding.views``), layer and head. ``ViewOptions`` is what the user
picked with the keys; every ``*_choices`` function lists what the model actually has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from .views import chosen_path, cross_attention_path, self_attention_matrix

from .inspection import Inspection

VIEW_NAMES = {"cross": "cross-attention", "self": "decoder self-attention", "encoder": "encoder self-attention"}
UNSIGNED_GATES = ("input", "forget", "output", "reset", "update")  # sigmoid gates, in [0, 1]


@dataclass
class ViewOptions:
    """The user's choice of what the panels show."""

    view: str = "cross"  # cross | self | encoder (attention kinds the model has)
    layer: int = -1  # -1: the top layer
    head: Optional[int] = None  # None: mean over heads
    state: str = "hidden"  # hidden | cell | a gate name | context | encoder
    unit: int = 0  # hidden unit followed over time
    probe: Optional[int] = None  # probe example replayed over training time (None: live decoding)
    probe_step: int = -1  # index of the probe snapshot (-1: the latest)


@dataclass
class Grid:
    """A matrix for the heatmap: rows x cols weights with labels."""

    values: np.ndarray  # (R, C)
    rows: list[str]
    cols: list[str]
    current: Optional[int] = None  # the row to highlight
    title: str = ""
    message: str = ""  # shown instead of a matrix when there is none
    vector: Optional[np.ndarray] = None  # with a message: a vector to show (the fixed context c)
    note: str = ""  # a last line under the legend (the training-time scrubber)
    marks: Optional[list[int]] = None  # per row, a column to mark: the source position hard attention read


@dataclass
class Strips:
    """Vectors for the hidden-state panel: one row per step (or source position)."""

    values: np.ndarray  # (N, D)
    rows: list[str]
    title: str = ""
    signed: bool = True
    current: Optional[int] = None
    norm_name: str = "‖h‖"
    notes: list[str] = field(default_factory=list)


# ---- what the model has -------------------------------------------------------------------------

def view_choices(ins: Inspection) -> list[str]:
    """Attention views the model has: "cross", "self", "encoder"."""
    return list(ins.model.capabilities.views)


def state_choices(ins: Inspection) -> list[str]:
    trace = ins.records[0].trace if ins.records else None
    out = ["hidden"]
    if trace is not None:
        if trace.cell is not None:
            out.append("cell")
        out.extend(trace.gates or {})
        if trace.context is not None:
            out.append("context")
    if ins.session is not None and ins.session.encoder is not None and ins.session.encoder.hidden is not None:
        out.append("encoder")
    return out


def layer_count(ins: Inspection, opts: ViewOptions) -> int:
    """Layers of what is shown: attention layers for the heatmap view, else decoder layers."""
    caps = ins.model.capabilities
    return caps.attention_layers if opts.view == "cross" else caps.layers


def head_count(ins: Inspection) -> int:
    return ins.model.capabilities.heads


def _layer(n: int, layer: int) -> int:
    return n - 1 if layer < 0 or layer >= n else layer


def _heads(att: torch.Tensor, head: Optional[int]) -> torch.Tensor:
    """(..., H, X) -> (..., X): one head, or the mean over heads."""
    if head is None or head >= att.shape[-2]:
        return att.mean(dim=-2)
    return att[..., head, :]


def _head_name(head: Optional[int], n: int) -> str:
    if n == 1:
        return ""
    return f" · mean of {n} heads" if head is None or head >= n else f" · head {head + 1}/{n}"


# ---- the heatmap ----------------------------------------------------------------------------------

def attention_grid(ins: Inspection, opts: ViewOptions) -> Grid:
    """The alignment (or self-attention) matrix of the focus hypothesis, as the engine traced it."""
    views = view_choices(ins)
    if not views:
        return _no_attention(ins)
    view = opts.view if opts.view in views else views[0]
    n_heads = head_count(ins)
    if view == "encoder":
        att = ins.session.encoder.self_attention[0]  # (L, H, S, S)
        layer = _layer(att.shape[0], opts.layer)
        values = _heads(att[layer].permute(1, 0, 2), opts.head)  # (S, H, S) -> (S, S)
        title = f"encoder self-attention · layer {layer + 1}/{att.shape[0]}{_head_name(opts.head, n_heads)}"
        return Grid(values.float().cpu().numpy(), ins.input_tokens, ins.input_tokens, None, title)
    hyp = ins.focus_hyp()
    empty_cols = ins.input_tokens if view == "cross" else ins.fed_prefix
    if hyp is None or not hyp.tokens:
        return Grid(np.zeros((0, len(empty_cols))), [], empty_cols, None, VIEW_NAMES[view],
                    message="press → to decode the first token")
    rows = ins.text(hyp.tokens)
    if view == "cross":
        att = cross_attention_path(ins.records, hyp)  # (T, L, H, S)
        layer = _layer(att.shape[1], opts.layer)
        values = _heads(att[:, layer], opts.head)  # (T, S)
        cols = ins.input_tokens
        marks = chosen_path(ins.records, hyp)
    else:
        layer = _layer(ins.model.config.layers, opts.layer)
        values = self_attention_matrix(ins.records, hyp, layer=layer, head=opts.head)  # (T, P)
        cols = (ins.fed_prefix + rows)[: values.shape[1]]
    n_layers = layer_count(ins, ViewOptions(view=view))
    title = f"{VIEW_NAMES[view]} · layer {layer + 1}/{n_layers}{_head_name(opts.head, n_heads)}"
    if view == "cross" and marks is not None:
        title += " · hard: ● read"
    return Grid(values.float().cpu().numpy(), rows, cols, len(rows) - 1, title,
                marks=marks if view == "cross" else None)


CONTEXT_RULES = {
    "last": "c is the encoder's final state",
    "transform": "c = tanh(W h_last): a learned map of the encoder's final state",
    "mean": "c is the mean of all encoder states",
    "max": "c is the unit-wise max over all encoder states",
}


def context_origin(ins: Inspection) -> str:
    """Which encoder states fed the fixed context c, e.g. 'c is the mean of all encoder states: a 0.25 · b 0.25 …'."""
    cfg = ins.model.config
    encoder = ins.session.encoder if ins.session is not None else None
    sources = getattr(encoder, "context_sources", None) if encoder is not None else None
    if sources is None:  # a 1-vs-N vector encoder: every source token adds its own term to x
        return "c = x = tanh(Σ_s W_p(s) e(x_s) + b): one vector made of every source token."
    shares = sources[0].float().cpu().tolist()  # (S,) the same input on every row
    fed = [(f"{i + 1}:{tok}", share) for i, (tok, share) in enumerate(zip(ins.input_tokens, shares)) if share > 0]
    listed = " · ".join(f"{tok} {share:.2f}" for tok, share in fed[:12]) + (" …" if len(fed) > 12 else "")
    return f"{CONTEXT_RULES.get(cfg.context_from, 'c')}; share of c each state fed: {listed}."


def _no_attention(ins: Inspection) -> Grid:
    cfg = ins.model.config
    if cfg.family == "lm":
        message = ("This language model has no attention: each token depends on the prompt only through the "
                   "recurrent hidden state (see the hidden-state panel).")
        return Grid(np.zeros((0, 0)), [], [], message=message, title="no attention")
    vector = None
    if ins.records and ins.records[0].trace.context is not None:
        vector = ins.records[0].trace.context[0].float().cpu().numpy()  # (Dc,) the same for every step and row
    if ins.decoder is not None:  # skip-thought: two decoders, one sentence vector
        which = "the sentence before (i−1)" if ins.decoder == "prev" else "the sentence after (i+1)"
        message = ("Skip-thought (Kiros et al. 2015): no attention. The encoder's final state over this sentence "
                   f"is its vector h_i; this decoder writes {which}, and both decoders read the same h_i at every "
                   "step (d switches decoder, N shows the sentences whose vectors are nearest). h_i for this input:")
        return Grid(np.zeros((0, 0)), [], [], message=message, vector=vector, title="no attention · sentence vector h_i")
    how = "as the decoder's initial state" if cfg.context == "init" else "as an input at every step"
    message = (f"This encoder-decoder has no attention: the decoder sees the source only through the fixed "
               f"context c, used {how}. {context_origin(ins)} c for this input:")
    return Grid(np.zeros((0, 0)), [], [], message=message, vector=vector, title="no attention · fixed context c")


def probe_grid(probes: list, opts: ViewOptions) -> Grid:
    """The alignment of probe example ``opts.probe`` recorded at snapshot ``opts.probe_step``."""
    index = opts.probe_step % len(probes)
    snapshot = probes[index]
    probe = snapshot.probes[opts.probe % len(snapshot.probes)]
    att = torch.from_numpy(np.asarray(probe.attention, dtype=np.float32))  # (L, H, T, S)
    layer = _layer(att.shape[0], opts.layer)
    values = _heads(att[layer].permute(1, 0, 2), opts.head)  # (T, H, S) -> (T, S)
    title = (f"probe {opts.probe % len(snapshot.probes) + 1}/{len(snapshot.probes)} at training step "
             f"{snapshot.step:,} ({index + 1}/{len(probes)}) · layer {layer + 1}/{att.shape[0]}"
             f"{_head_name(opts.head, att.shape[1])}")
    return Grid(values.numpy(), list(probe.target_tokens), list(probe.source_tokens), None, title,
                note=scrubber([p.step for p in probes], index))


def scrubber(steps: list[int], index: int, width: int = 24) -> str:
    """A one-line timeline of the probe snapshots with the shown one marked."""
    cells = ["─"] * min(width, len(steps))
    cells[round(index * (len(cells) - 1) / max(1, len(steps) - 1))] = "●"
    return f"training step {steps[0]:,} ├{''.join(cells)}┤ {steps[-1]:,}   [ ] scrub · p next probe"


def receptive_fields(ins: Inspection) -> list[str]:
    """For a convolutional encoder: which source tokens each encoder state read (empty otherwise)."""
    field = ins.model.capabilities.receptive_field
    if field is None:
        return []
    half, tokens = (field - 1) // 2, ins.input_tokens
    spans = [f"{i + 1}:{tok} ← {max(1, i + 1 - half)}–{min(len(tokens), i + 1 + half)}" for i, tok in enumerate(tokens)]
    return [f"convolutional encoder: each state reads ±{half} tokens (receptive field {field})", " · ".join(spans)]


# ---- the hidden-state panel ---------------------------------------------------------------------

def state_strips(ins: Inspection, opts: ViewOptions) -> Strips:
    """The chosen state vector at each step of the focus hypothesis (or each source position)."""
    choices = state_choices(ins)
    kind = opts.state if opts.state in choices else "hidden"
    if kind == "encoder":
        enc = ins.session.encoder.hidden[0].float().cpu().numpy()  # (S, De)
        return Strips(enc, ins.input_tokens, f"encoder states · De={enc.shape[1]}", norm_name="‖h‖",
                      notes=receptive_fields(ins))
    hyp = ins.focus_hyp()
    if hyp is None or not hyp.tokens:
        return Strips(np.zeros((0, 0)), [], kind, notes=["press → to decode the first token"])
    rows = ins.path(hyp)
    n_layers = ins.model.config.layers
    layer = _layer(n_layers, opts.layer)
    vectors = []
    for t, row in enumerate(rows):
        trace = ins.records[t].trace
        if kind == "context":
            vectors.append(trace.context[row])  # (Dc,)
        else:
            source = trace.gates[kind] if kind in (trace.gates or {}) else getattr(trace, kind)
            vectors.append(source[row, layer])  # (D,)
    values = torch.stack(vectors).float().cpu().numpy()  # (T, D)
    where = "" if kind == "context" else f" · layer {layer + 1}/{n_layers}"
    name = {"hidden": "decoder hidden state", "cell": "LSTM cell state", "context": "context vector"}.get(
        kind, f"{kind} gate")
    norm = {"hidden": "‖h‖", "cell": "‖c‖", "context": "‖c‖"}.get(kind, "‖g‖")
    return Strips(values, ins.text(hyp.tokens), f"{name}{where} · D={values.shape[1]}",
                  signed=kind not in UNSIGNED_GATES, current=len(rows) - 1, norm_name=norm)
