"""Interventions as a user writes them: ``zero:hidden:L0:U12@3`` -> the model edits a session applies.

Syntax (one intervention; ``seqbench decode --intervene`` repeats)::

    OP:SITE:L<layer>:U<unit>[@STEP]      units: SITE is hidden, cell (LSTM) or gate.NAME
    OP:head[.cross|.self]:L<layer>:H<head>[@STEP]
    pin:[L<layer>:]S<position>[@STEP]    cross-attention on one source position (every layer without L)

    OP is zero, clamp=VALUE or mean (the unit's mean over teacher-forced decoding of up to
    MEAN_EXAMPLES validation examples); STEP is the first output step (from 0) it applies to
    (default 0: every step). Gates: input/forget/candidate/output (LSTM), reset/update/candidate (GRU).

Examples: ``zero:hidden:L0:U12@3``, ``clamp=1:gate.forget:L1:U4``, ``mean:cell:L0:U7``,
``zero:head.cross:L1:H2``, ``pin:S0@2``.

The models see only ``models.interventions.Edit`` values, set per step by the session
(``DecodeSession(..., interventions=[(start, edit), ...])``); what "from step t on" means is decided
here, so a model never counts steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import torch

from models.interventions import Edit

from ..errors import UserError

MEAN_EXAMPLES = 64  # validation examples a "mean" intervention averages over
_UNIT = re.compile(r"^(zero|mean|clamp=(?P<value>[-+0-9.eE]+)):(?P<site>hidden|cell|gate\.\w+):L(?P<layer>\d+):"
                   r"U(?P<index>\d+)(@(?P<start>\d+))?$")
_HEAD = re.compile(r"^(zero|clamp=(?P<value>[-+0-9.eE]+)):head(\.(?P<attention>cross|self))?:L(?P<layer>\d+):"
                   r"H(?P<index>\d+)(@(?P<start>\d+))?$")
_PIN = re.compile(r"^pin:(L(?P<layer>\d+):)?S(?P<index>\d+)(@(?P<start>\d+))?$")
SYNTAX = ("OP:SITE:L<layer>:U<unit>[@STEP] (OP zero, clamp=V or mean; SITE hidden, cell or gate.NAME), "
          "OP:head[.cross|.self]:L<layer>:H<head>[@STEP] or pin:[L<layer>:]S<position>[@STEP]")


@dataclass(frozen=True)
class Intervention:
    """One parsed ``--intervene`` spec."""

    spec: str  # as the user wrote it
    op: str  # zero | clamp | mean | pin
    site: str  # hidden | cell | gate | head | pin
    layer: Optional[int]
    index: int
    start: int = 0  # first output step it applies to
    value: float = 0.0  # clamp's value
    gate: str = ""
    attention: str = ""  # head: cross | self ("" until resolved against the model)


def parse_intervention(spec: str) -> Intervention:
    """One spec -> Intervention; UserError that shows the syntax when it does not parse."""
    text = spec.strip().replace(" ", "")
    for pattern, kind in ((_UNIT, "unit"), (_HEAD, "head"), (_PIN, "pin")):
        m = pattern.match(text)
        if not m:
            continue
        g = m.groupdict()
        op = "pin" if kind == "pin" else text.split(":", 1)[0].split("=", 1)[0]
        try:
            value = float(g["value"]) if g.get("value") else 0.0
        except ValueError:
            raise UserError(f"bad --intervene {spec!r}: {g['value']!r} is not a number") from None
        site = "pin" if kind == "pin" else "head" if kind == "head" else g["site"].split(".")[0]
        return Intervention(spec, op, site, None if g["layer"] is None else int(g["layer"]), int(g["index"]),
                            int(g["start"] or 0), value, g["site"].split(".", 1)[1] if site == "gate" else "",
                            g.get("attention") or "")
    raise UserError(f"bad --intervene {spec!r}: expected {SYNTAX}")


def resolve(specs: Sequence[Intervention], model: Any, task: Any, source_len: Optional[int]) -> list[tuple[int, Edit]]:
    """(start step, Edit) pairs for a session; UserError for an edit this model or input cannot take."""
    from models.base import intervening

    caps = model.capabilities
    means = unit_means(model, task, [s for s in specs if s.op == "mean"])
    out = []
    for s in specs:
        if s.site == "pin" and source_len is not None and s.index >= source_len:
            raise UserError(f"--intervene {s.spec}: the input has {source_len} source positions, S0..S{source_len - 1} "
                            "(S counts from 0, as L, U and H do)")
        attention = (s.attention or ("cross" if caps.cross_attention else "self")) if s.site == "head" else "cross"
        value = means[s].item() if s.op == "mean" else s.value
        out.append((s.start, Edit(s.site, s.layer, s.index, value, s.gate, attention)))
    try:
        with intervening(model, [e for _, e in out]):
            pass
    except ValueError as exc:
        raise UserError(f"--intervene: {exc}") from None
    return out


def teacher_forced_steps(model: Any, batch: Any) -> Iterator[tuple[int, Any, torch.Tensor]]:
    """(t, StepOutput, real (B,) bool) for every target position of ``batch``, through the step path."""
    state = model.start(batch.src, batch.src_lengths, batch_size=len(batch))
    for t in range(batch.tgt_in.shape[1]):
        out = model.step(state, batch.tgt_in[:, t])
        state = out.state
        yield t, out, batch.tgt_out[:, t] != 0


def unit_means(model: Any, task: Any, specs: Sequence[Intervention]) -> dict[Intervention, torch.Tensor]:
    """Each spec's unit averaged over teacher-forced decoding of up to MEAN_EXAMPLES validation examples."""
    if not specs:
        return {}
    for s in specs:
        if s.site not in ("hidden", "cell", "gate"):
            raise UserError(f"--intervene {s.spec}: mean applies to hidden, cell and gate units (use zero or clamp)")
    split = "val" if "val" in task.split_names else task.split_names[-1]
    sums = {s: 0.0 for s in specs}
    count = 0
    with torch.inference_mode():
        for batch in task.eval_batches(split, 32, MEAN_EXAMPLES):
            batch = batch.to(model.device)
            for _, out, real in teacher_forced_steps(model, batch):
                for s in specs:
                    sums[s] += float(_unit(out.trace, s)[real].sum())
                count += int(real.sum())
    if count == 0:
        raise UserError(f"--intervene mean: the {split} split has no examples to average over")
    return {s: torch.tensor(sums[s] / count) for s in specs}


def _unit(trace: Any, s: Intervention) -> torch.Tensor:
    """(B,) the spec's unit in one step's trace."""
    if s.site == "gate":
        if not trace.gates or s.gate not in trace.gates:
            raise UserError(f"--intervene {s.spec}: this model has no {s.gate!r} gate")
        source = trace.gates[s.gate]
    else:
        source = trace.hidden if s.site == "hidden" else trace.cell
    if source is None:
        raise UserError(f"--intervene {s.spec}: this model reports no {s.site} state")
    if not (0 <= s.layer < source.shape[1] and 0 <= s.index < source.shape[2]):
        raise UserError(f"--intervene {s.spec}: layers are 0..{source.shape[1] - 1}, units 0..{source.shape[2] - 1}")
    return source[:, s.layer, s.index].float()
