"""Units across a corpus (LSTMVis's idea): where in a split a hidden unit is most on, and what is under it.

    found = unit_peaks(model, task, [parse_unit("L0:U12")], split="val", top=10)
    found[0].peaks[0]          # the highest activation: example, position, the tokens around it

The model reads the split teacher-forced through the step path (batched); a unit's activation at
position t is the decoder's hidden state after reading input token t (a language model's window,
or an encoder-decoder's <bos> + reference), so the token "under" a peak is the one just read.
Testing a hypothesis such as "this unit tracks quotes" is then reading the peaks' contexts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import torch

from ..errors import UserError
from .interventions import teacher_forced_steps

_SPEC = re.compile(r"^L(?P<layer>\d+):U(?P<unit>\d+)$", re.IGNORECASE)
BATCH = 256


@dataclass(frozen=True)
class UnitRef:
    """One hidden unit: decoder layer and index."""

    layer: int
    unit: int

    @property
    def label(self) -> str:
        return f"L{self.layer}:U{self.unit}"


def parse_unit(spec: str) -> UnitRef:
    """``"L0:U12"`` -> UnitRef(0, 12); UserError showing the syntax otherwise."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise UserError(f"bad --unit {spec!r}: expected L<layer>:U<unit>, e.g. L0:U12")
    return UnitRef(int(m["layer"]), int(m["unit"]))


@dataclass(frozen=True)
class Peak:
    """One place where the unit is high, with the tokens around it and the unit's value under each."""

    value: float
    example: int  # index in the split
    position: int  # input position (0 = the first token read: <bos> for an encoder-decoder)
    tokens: list[str]  # the context window of input tokens
    activations: list[float]  # the unit under each token of ``tokens``
    center: int  # index of ``position`` within ``tokens``


@dataclass
class UnitPeaks:
    """A unit's highest activations over a split, and its range there (for colouring)."""

    unit: UnitRef
    low: float
    high: float
    mean: float
    peaks: list[Peak] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"unit": self.unit.label, "layer": self.unit.layer, "index": self.unit.unit, "min": self.low,
                "max": self.high, "mean": self.mean,
                "top": [{"value": p.value, "example": p.example, "position": p.position, "tokens": p.tokens,
                         "activations": p.activations, "center": p.center} for p in self.peaks]}


def check_units(model: Any, units: Sequence[UnitRef]) -> None:
    caps, width = model.capabilities, model.config.hidden
    for u in units:
        if not 0 <= u.layer < caps.layers:
            raise UserError(f"--unit {u.label}: decoder layers are 0..{caps.layers - 1}")
        if not 0 <= u.unit < width:
            raise UserError(f"--unit {u.label}: units are 0..{width - 1}")


def activations(model: Any, task: Any, split: str, units: Sequence[UnitRef], limit: Optional[int] = None):
    """(inputs, acts): per example of the split (by index) its input ids (T,) and each unit's values (U, T)."""
    if split not in task.split_names:
        raise UserError(f"task {task.name} has no split {split!r} (it has {', '.join(task.split_names)})")
    check_units(model, units)
    layers = torch.tensor([u.layer for u in units])
    index = torch.tensor([u.unit for u in units])
    inputs, acts, ordinal = {}, {}, 0
    windows = _lm_windows(task, split, limit)  # seq2seq batches by length carry their rows' indices
    with torch.inference_mode():
        for batch in task.eval_batches(split, BATCH, limit, by_length=not windows):
            batch = batch.to(model.device)
            steps = [out.trace.hidden[:, layers, index].float().cpu() for _, out, _ in  # (B, U) each
                     teacher_forced_steps(model, batch)]
            values = torch.stack(steps, 2)  # (B, U, T)
            lengths = (batch.tgt_out != task.tgt_vocab.pad_id).sum(1).tolist()  # (B,) real positions
            rows = batch.index.tolist() if batch.index is not None else windows[ordinal: ordinal + len(batch)]
            ordinal += len(batch)
            for row, example in enumerate(rows):
                inputs[example] = batch.tgt_in[row, : lengths[row]].tolist()
                acts[example] = values[row, :, : lengths[row]]
    if not inputs:
        raise UserError(f"the {split} split has no examples")
    return inputs, acts


def _lm_windows(task: Any, split: str, limit: Optional[int]) -> list[int]:
    """A language model's batches carry no example index: the windows ``eval_batches`` reads, in order."""
    if task.family != "lm":
        return []
    from ..tasks.lm_task import spread

    return spread(len(task.examples(split)), limit).tolist()


def unit_peaks(model: Any, task: Any, units: Sequence[UnitRef], *, split: str = "val", top: int = 10,
               context: int = 10, limit: Optional[int] = None) -> list[UnitPeaks]:
    """Each unit's ``top`` highest activations over the split, with ``context`` tokens either side."""
    inputs, acts = activations(model, task, split, units, limit)
    order = sorted(acts)
    where = [(e, t) for e in order for t in range(acts[e].shape[1])]  # flat position -> (example, t)
    itos = task.tgt_vocab.itos
    found = []
    for k, unit in enumerate(units):
        flat = torch.cat([acts[e][k] for e in order])  # (N,) every position of the split
        best = flat.topk(min(top, flat.numel())).indices.tolist()
        peaks = []
        for i in best:
            e, t = where[i]
            lo, hi = max(0, t - context), min(len(inputs[e]), t + context + 1)
            peaks.append(Peak(float(flat[i]), e, t, [itos[j] for j in inputs[e][lo:hi]],
                              acts[e][k, lo:hi].tolist(), t - lo))
        found.append(UnitPeaks(unit, float(flat.min()), float(flat.max()), float(flat.mean()), peaks))
    return found
