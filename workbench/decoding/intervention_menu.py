"""What the inspector offers to intervene on at its current step, as ``--intervene`` specs.

The app's intervention dialog lists these; choosing one hands its spec to ``Inspection.intervene``,
so the app and ``seqbench decode --intervene`` go through the same parser and the same edits.

    choices = intervention_choices(ins, opts)   # the unit the hidden-state panel follows, its heads, pins
    ins.intervene(choices[0].spec)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import panels as X
from .inspection import Inspection

VALUE_MARK = "{value}"  # where a clamp choice's value goes (the user may change the one suggested)


@dataclass(frozen=True)
class Choice:
    """One intervention the user can pick."""

    spec: str  # an ``--intervene`` spec; a clamp's value is VALUE_MARK, filled in by ``with_value``
    label: str  # what the dialog shows
    value: Optional[float] = None  # a clamp's suggested value: the unit's own value now

    def with_value(self, value: Optional[float] = None) -> str:
        """The spec with the clamp value filled in (the suggested one by default)."""
        shown = self.value if value is None else value
        return self.spec.replace(VALUE_MARK, f"{shown:.6g}" if shown is not None else "0")


def current_step(ins: Inspection) -> int:
    """The step an edit starts at: the last decoded one (as for forcing), 0 before any step."""
    return max(0, ins.t - 1)


def unit_site(ins: Inspection, opts: X.ViewOptions) -> tuple[str, str]:
    """(spec site, name shown) of the state the hidden-state panel shows; hidden for context/encoder views."""
    kind = opts.state if opts.state in X.state_choices(ins) else "hidden"
    if kind == "cell":
        return "cell", "LSTM cell unit"
    if kind in (ins.model.capabilities.gates or ()):
        return f"gate.{kind}", f"{kind} gate unit"
    return "hidden", "hidden unit"


def intervention_choices(ins: Inspection, opts: X.ViewOptions, unit_value: Optional[float] = None) -> list[Choice]:
    """Edits of the followed unit (zero, clamp, mean), of each attention head (multi-head models) and
    pins of the cross-attention to each source position, all from the current step on."""
    if ins.session is None:
        return []
    caps = ins.model.capabilities
    step = current_step(ins)
    site, name = unit_site(ins, opts)
    layer = X._layer(caps.layers, opts.layer)
    where = f"L{layer}:U{opts.unit}@{step}"
    out = [Choice(f"zero:{site}:{where}", f"zero {name} L{layer}:U{opts.unit} from step {step}"),
           Choice(f"clamp={VALUE_MARK}:{site}:{where}", f"clamp {name} L{layer}:U{opts.unit} from step {step}",
                  unit_value if unit_value is not None else 0.0),
           Choice(f"mean:{site}:{where}", f"mean-replace {name} L{layer}:U{opts.unit} from step {step} "
                  "(its mean over validation data)")]
    if caps.heads > 1:
        kind = "cross" if caps.cross_attention else "self"
        head_layer = X._layer(caps.attention_layers if kind == "cross" else caps.layers, opts.layer)
        heads = [opts.head] if opts.head is not None else range(caps.heads)
        out += [Choice(f"zero:head.{kind}:L{head_layer}:H{h}@{step}",
                       f"zero {kind}-attention head {h + 1} of layer {head_layer + 1} from step {step}") for h in heads]
    if caps.cross_attention:
        for pos, token in enumerate(ins.input_tokens):
            out.append(Choice(f"pin:S{pos}@{step}", f"pin the attention to source position {pos + 1} ({token!r}) "
                              f"from step {step}"))
    return out
