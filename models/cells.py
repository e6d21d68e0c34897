"""Hand-written recurrent step cells that read the weights of a fused ``torch.nn`` RNN layer.

The fused modules (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``) are the training path; these cells compute
the same single time step from the same parameter tensors (``weight_ih_l{k}``, ``weight_hh_l{k}``,
``bias_ih_l{k}``, ``bias_hh_l{k}``) and also return the gate activations the inspector shows.

Equations (torch's conventions and gate order; x input, h previous hidden state, c previous cell):

    Elman RNN (Elman 1990):     h' = tanh(W_ih x + b_ih + W_hh h + b_hh)

    GRU (Cho et al. 2014), rows of W ordered r, z, n:
        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)                       "reset"
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)                       "update"
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))                    "candidate"
        h' = (1 - z) * n + z * h

    LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000), rows ordered i, f, g, o:
        i = sigmoid(.) "input"   f = sigmoid(.) "forget"   g = tanh(.) "candidate"   o = sigmoid(.) "output"
        c' = f * c + i * g
        h' = o * tanh(c')

where each (.) is W_i* x + b_i* + W_h* h + b_h*.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LSTM_GATES = ("input", "forget", "candidate", "output")  # torch row order i, f, g, o
GRU_GATES = ("reset", "update", "candidate")  # torch row order r, z, n
GATE_NAMES = {"rnn": (), "gru": GRU_GATES, "lstm": LSTM_GATES}

# An intervention on a cell (``interventions.EditSet.cell_editor``): called with a gate's name (or
# "cell") and its activation (B, D), returns the activation the cell goes on with.
CellEdit = Callable[[str, Tensor], Tensor]


class CellStep(NamedTuple):
    """One layer's step: new hidden state, new LSTM cell state (else None) and gate activations."""

    h: Tensor  # (B, D)
    c: Optional[Tensor]  # (B, D) LSTM only
    gates: tuple[Tensor, ...]  # each (B, D), in the order of GATE_NAMES[kind]


class StackStep(NamedTuple):
    """One step of a whole layer stack; per-layer tensors have the layer on dim 1."""

    h: Tensor  # (B, L, D)
    c: Optional[Tensor]  # (B, L, D) LSTM only
    gates: Optional[dict[str, Tensor]]  # name -> (B, L, D); None for the Elman RNN or when not requested


def rnn_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
             nonlinearity: str = "tanh") -> CellStep:
    """One Elman RNN step, equal to ``nn.RNNCell`` with the same weights."""
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # (B, D)
    return CellStep(torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre), None, ())


def gru_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
             edit: Optional[CellEdit] = None) -> CellStep:
    """One GRU step, equal to ``nn.GRUCell`` with the same weights; gates are (reset, update, candidate).

    ``edit`` (an intervention) may replace each gate's activation before the cell uses it."""
    D = h.shape[-1]
    gi = F.linear(x, w_ih, b_ih)  # (B, 3D) rows r, z, n
    gh = F.linear(h, w_hh, b_hh)  # (B, 3D)
    rz = torch.sigmoid(gi[:, : 2 * D] + gh[:, : 2 * D])  # (B, 2D): both sigmoid gates in one call
    r, z = rz[:, :D], rz[:, D:]  # (B, D) each
    if edit is not None:
        r, z = edit("reset", r), edit("update", z)
    n = torch.tanh(gi[:, 2 * D:] + r * gh[:, 2 * D:])  # (B, D)
    if edit is not None:
        n = edit("candidate", n)
    return CellStep(n + z * (h - n), None, (r, z, n))


def lstm_cell(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
              edit: Optional[CellEdit] = None) -> CellStep:
    """One LSTM step, equal to ``nn.LSTMCell`` with the same weights; gates are (input, forget, candidate, output).

    ``edit`` (an intervention) may replace each gate's activation, and the new cell state, before use."""
    D = h.shape[-1]
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # (B, 4D) rows i, f, g, o
    ifo = torch.sigmoid(pre)  # (B, 4D); the g quarter is recomputed with tanh below
    i, f, o = ifo[:, :D], ifo[:, D: 2 * D], ifo[:, 3 * D:]  # (B, D) each
    g = torch.tanh(pre[:, 2 * D: 3 * D])  # (B, D)
    if edit is not None:
        i, f, g, o = (edit(name, v) for name, v in zip(LSTM_GATES, (i, f, g, o)))
    c_new = f * c + i * g
    if edit is not None:
        c_new = edit("cell", c_new)
    return CellStep(o * torch.tanh(c_new), c_new, (i, f, g, o))


def cell_kind(rnn: nn.RNNBase) -> str:
    """'rnn', 'gru' or 'lstm' for a fused torch recurrent module."""
    return {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "GRU": "gru", "LSTM": "lstm"}[rnn.mode]


def layer_weights(rnn: nn.RNNBase, k: int, reverse: bool = False) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(weight_ih, weight_hh, bias_ih, bias_hh) of layer ``k`` of a fused module (``reverse``: its backward direction)."""
    end = "_reverse" if reverse else ""
    return (getattr(rnn, f"weight_ih_l{k}{end}"), getattr(rnn, f"weight_hh_l{k}{end}"),
            getattr(rnn, f"bias_ih_l{k}{end}"), getattr(rnn, f"bias_hh_l{k}{end}"))


def layer_step(rnn: nn.RNNBase, k: int, x: Tensor, h: Tensor, c: Optional[Tensor] = None,
               edit: Optional[CellEdit] = None, reverse: bool = False) -> CellStep:
    """One step of layer ``k`` (``reverse``: its backward direction) of the fused module ``rnn``, by the hand-written cell."""
    weights = layer_weights(rnn, k, reverse)
    if rnn.mode == "LSTM":
        return lstm_cell(x, h, c, *weights, edit=edit)
    if rnn.mode == "GRU":
        return gru_cell(x, h, *weights, edit=edit)
    return rnn_cell(x, h, *weights, nonlinearity="tanh" if rnn.mode == "RNN_TANH" else "relu")


def step_layers(rnn: nn.RNNBase, x: Tensor, hs: Sequence[Tensor],
                cs: Optional[Sequence[Tensor]] = None, edits=None) -> list[CellStep]:
    """One time step through every layer, with per-layer states as lists of (B, D) tensors.

    Like the fused module, dropout (``rnn.dropout``) is applied to each layer's output except the
    top one, in training mode only. Training loops use this form to carry per-layer states as
    separate tensors instead of slicing and re-stacking a (B, L, D) tensor at every step.
    ``edits`` (an ``interventions.EditSet``) changes gates, cell and hidden units on the way.
    """
    if rnn.bidirectional:
        raise ValueError("step_layers steps a unidirectional stack only")
    outs = []
    top = len(hs) - 1
    for k, h in enumerate(hs):
        c = None if cs is None else cs[k]
        if edits:
            out = layer_step(rnn, k, x, h, c, edits.cell_editor(k))
            out = out._replace(h=edits.apply(out.h, "hidden", k))
        else:
            out = layer_step(rnn, k, x, h, c)
        outs.append(out)
        x = out.h
        if k < top and rnn.dropout > 0 and rnn.training:
            x = F.dropout(x, rnn.dropout, training=True)
    return outs


def stack_step(rnn: nn.RNNBase, x: Tensor, h: Tensor, c: Optional[Tensor] = None,
               with_gates: bool = True, edits=None) -> StackStep:
    """One time step through every layer of a unidirectional fused module, by the hand-written cells.

    ``x`` (B, In) is the layer-0 input, ``h`` / ``c`` (B, L, D) the previous states; inter-layer
    dropout as in ``step_layers``. Gates are stacked only if ``with_gates``.
    """
    outs = step_layers(rnn, x, h.unbind(1), None if c is None else c.unbind(1), edits)
    h_new = torch.stack([o.h for o in outs], 1)  # (B, L, D)
    c_new = torch.stack([o.c for o in outs], 1) if c is not None else None  # (B, L, D)
    names = GATE_NAMES[cell_kind(rnn)]
    gates = None
    if with_gates and names:
        gates = {name: torch.stack([o.gates[j] for o in outs], 1) for j, name in enumerate(names)}  # (B, L, D) each
    return StackStep(h_new, c_new, gates)


def make_rnn(cell: str, input_size: int, hidden: int, layers: int, dropout: float = 0.0,
             bidirectional: bool = False) -> nn.RNNBase:
    """A batch-first fused recurrent stack: 'rnn' (tanh), 'gru' or 'lstm'."""
    kwargs = dict(input_size=input_size, hidden_size=hidden, num_layers=layers, batch_first=True,
                  dropout=dropout if layers > 1 else 0.0, bidirectional=bidirectional)
    if cell == "rnn":
        return nn.RNN(nonlinearity="tanh", **kwargs)
    if cell == "gru":
        return nn.GRU(**kwargs)
    if cell == "lstm":
        return nn.LSTM(**kwargs)
    raise ValueError(f"unknown recurrent cell {cell!r}; choose one of: rnn, gru, lstm")


def to_fused_hidden(h: Tensor) -> Tensor:
    """Batch-first per-layer state (B, L, D) -> the (L, B, D) layout fused modules take."""
    return h.transpose(0, 1).contiguous()  # (L, B, D)

