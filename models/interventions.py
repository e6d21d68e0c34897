"""Edits to what a decoder computes at a step: set a hidden unit, a cell unit, a gate unit or an
attention head's output to a value, or pin the cross-attention to one source position.

The seam is one model attribute, ``model.edits`` (None by default), set only inside
``models.base.intervening(model, edits)``. The hand-written ``step`` path reads it; ``forward``
(training) and ``start`` (the encoder) never do, so training and the fidelity invariant are
untouched, and a step without edits pays one ``if``.

    with intervening(model, [Edit("hidden", layer=0, index=12)]):     # zero unit 12 of layer 0
        out = model.step(state, tokens)

Where each edit acts (D hidden width, Dh head width):
    hidden  (layer l, unit u)   the layer's new state h_t[u] (RNN) / residual stream after layer l
                                (Transformer), before the next layer and the next step read it
    cell    (layer l, unit u)   the LSTM cell state c_t[u], before h_t = o * tanh(c_t) is computed
    gate    (layer l, unit u)   one gate activation (``gate`` names it: input/forget/candidate/output,
                                reset/update/candidate) before the cell uses it
    head    (layer l, head h)   head h's attended values (B, Dh) before the output projection W^O;
                                ``attention`` says which: "cross" (over the source) or "self"
    pin     (layer l or None)   the cross-attention weights become one-hot on source position
                                ``index`` (every head; every attention layer when ``layer`` is None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from torch import Tensor

SITES = ("hidden", "cell", "gate", "head", "pin")


@dataclass(frozen=True)
class Edit:
    """One edit of the decoder step (see the module docstring for where each site acts)."""

    site: str  # one of SITES
    layer: Optional[int]  # decoder layer from 0; None only for "pin" (every attention layer)
    index: int  # unit (hidden / cell / gate), head (head) or source position (pin)
    value: float = 0.0  # what the unit or every feature of the head's output is set to (not used by pin)
    gate: str = ""  # gate name, site "gate" only
    attention: str = "cross"  # site "head": "cross" or "self"


class EditSet:
    """Edits grouped by where the step path looks them up (a dict lookup per layer and site)."""

    def __init__(self, edits: Iterable[Edit]):
        self.edits = tuple(edits)
        self._by: dict[tuple, list[Edit]] = {}
        for e in self.edits:
            key = (e.site, e.layer, e.gate if e.site == "gate" else e.attention if e.site == "head" else "")
            self._by.setdefault(key, []).append(e)

    def __bool__(self) -> bool:
        return bool(self.edits)

    def apply(self, x: Tensor, site: str, layer: int, name: str = "") -> Tensor:
        """``x`` (..., D) with the edited units of (site, layer, name) set; ``x`` itself when none are."""
        found = self._by.get((site, layer, name))
        if not found:
            return x
        x = x.clone()
        for e in found:
            x[..., e.index] = e.value
        return x

    def cell_editor(self, layer: int) -> Optional[Callable[[str, Tensor], Tensor]]:
        """What a recurrent cell calls on each gate (by name) and on "cell"; None when layer has no such edits."""
        if not any(k[0] in ("gate", "cell") and k[1] == layer for k in self._by):
            return None
        return lambda name, x: self.apply(x, "cell", layer) if name == "cell" else self.apply(x, "gate", layer, name)

    def heads(self, attention: str, layer: int) -> list[Edit]:
        return self._by.get(("head", layer, attention), [])

    def pin(self, layer: int) -> Optional[int]:
        """Source position the cross-attention of ``layer`` is pinned to, or None."""
        found = self._by.get(("pin", layer, "")) or self._by.get(("pin", None, ""))
        return found[-1].index if found else None

    def edit_heads(self, y: Tensor, attention: str, layer: int) -> Tensor:
        """Per-head values (B, H, Tq, Dh) with the edited heads set."""
        found = self.heads(attention, layer)
        if not found:
            return y
        y = y.clone()
        for e in found:
            y[:, e.index] = e.value
        return y


def check_edits(model, edits: Iterable[Edit]) -> None:
    """ValueError naming the first edit ``model`` cannot apply (wrong layer, unit, gate, head or site)."""
    caps, cfg = model.capabilities, model.config
    multihead = cfg.cell == "transformer" or cfg.attention == "multihead"
    for e in edits:
        where = f"{e.site} edit (layer {e.layer}, index {e.index})"
        if e.site not in SITES:
            raise ValueError(f"unknown edit site {e.site!r}; choose one of: {', '.join(SITES)}")
        if e.site == "pin":
            if not caps.cross_attention:
                raise ValueError("this model has no attention over the source to pin")
            if e.layer is not None and not 0 <= e.layer < caps.attention_layers:
                raise ValueError(f"{where}: attention layers are 0..{caps.attention_layers - 1}")
            if e.index < 0:
                raise ValueError(f"{where}: source positions count from 0")
            continue
        if e.layer is None or not 0 <= e.layer < caps.layers:
            raise ValueError(f"{where}: decoder layers are 0..{caps.layers - 1}")
        if e.site == "head":
            _check_head(e, caps, multihead, where)
            continue
        if not 0 <= e.index < cfg.hidden:
            raise ValueError(f"{where}: units are 0..{cfg.hidden - 1}")
        if e.site == "cell" and not caps.cell_state:
            raise ValueError("only an LSTM has a cell state to edit")
        if e.site == "gate" and e.gate not in caps.gates:
            have = ", ".join(caps.gates) if caps.gates else "none (this cell has no gates)"
            raise ValueError(f"unknown gate {e.gate!r}; this model's gates: {have}")


def _check_head(e: Edit, caps, multihead: bool, where: str) -> None:
    if not multihead:
        raise ValueError("only multi-head attention (multihead, transformer) has heads to edit")
    if e.attention not in ("cross", "self"):
        raise ValueError(f"{where}: attention is 'cross' or 'self', not {e.attention!r}")
    has = caps.cross_attention if e.attention == "cross" else caps.self_attention
    if not has:
        raise ValueError(f"this model has no {e.attention}-attention")
    layers = caps.attention_layers if e.attention == "cross" else caps.layers
    if not 0 <= e.layer < layers:
        raise ValueError(f"{where}: {e.attention}-attention layers are 0..{layers - 1}")
    if not 0 <= e.index < caps.heads:
        raise ValueError(f"{where}: heads are 0..{caps.heads - 1}")
