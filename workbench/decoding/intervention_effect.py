"""What an intervention did to one decoded input: the new continuation against the unedited one,
which output tokens changed, and how the reference's log-probability moved.

    effect = intervention_effect(job, model, task, config)    # job.interventions set by job.intervene
    effect.changed                                           # output positions whose token differs
    effect.reference_delta                                   # log p(reference) edited - unedited
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

from rich.console import Console
from rich.text import Text

from .records import Hypothesis
from .render import token_label
from .scoring import ReferenceScore


@dataclass
class InterventionEffect:
    """The same input decoded with and without the job's interventions."""

    specs: list[dict]  # the edits, with the step each starts at
    baseline: Hypothesis  # best output without the interventions
    edited: Hypothesis  # best output with them
    reference_baseline: Optional[float] = None  # log p(reference) without / with, when there is a reference
    reference_edited: Optional[float] = None

    @property
    def changed(self) -> list[int]:
        """Output positions (from 0) whose token differs, a missing token counting as different."""
        a, b = self.baseline.tokens, self.edited.tokens
        return [t for t in range(max(len(a), len(b))) if t >= len(a) or t >= len(b) or a[t] != b[t]]

    @property
    def reference_delta(self) -> Optional[float]:
        if self.reference_baseline is None or self.reference_edited is None:
            return None
        return self.reference_edited - self.reference_baseline

    def to_json(self, itos: Optional[Sequence[str]] = None) -> dict[str, Any]:
        num = (lambda x: x if x is not None and math.isfinite(x) else None)
        return {"interventions": self.specs, "baseline": self.baseline.to_json(itos),
                "edited": self.edited.to_json(itos), "changed": self.changed,
                "reference_logprob": {"baseline": num(self.reference_baseline), "edited": num(self.reference_edited),
                                      "delta": num(self.reference_delta)}}


def intervention_effect(job: Any, model: Any, task: Any, config: Any, edited: Optional[Any] = None,
                        edited_score: Optional[ReferenceScore] = None) -> InterventionEffect:
    """Decode ``job``'s input without its interventions (and with them unless ``edited``, a finished
    session, is given) and score the reference both ways."""
    plain = replace(job, interventions=[])
    if edited is None:
        edited = job.session(model, task, config, history=False)
        edited.run()
    baseline = plain.session(model, task, config, history=False)
    baseline.run()
    ref_base = ref_edit = None
    if job.reference_ids is not None:
        ref_base = _score(plain, model, task).logprob
        ref_edit = (edited_score or _score(job, model, task)).logprob
    specs = [{"from_step": start, "site": e.site, "layer": e.layer, "index": e.index, "value": e.value,
              "gate": e.gate or None, "attention": e.attention if e.site == "head" else None}
             for start, e in job.interventions]
    return InterventionEffect(specs, baseline.result()[0], edited.result()[0], ref_base, ref_edit)


def _score(job: Any, model: Any, task: Any) -> ReferenceScore:
    return ReferenceScore.from_session(job.teacher_session(model, task, show_k=1, history=False))


def print_effect(out: Console, effect: InterventionEffect, text, itos: Sequence[str], specs: Sequence[str]) -> None:
    """The block ``seqbench decode --intervene`` prints under the summary (whose output is the edited one)."""
    out.print(Text.assemble(("edited  ", "bold magenta"), ", ".join(specs), ("  (the output above)", "dim")))
    out.print(Text.assemble(("unedited ", "bold"), text(effect.baseline.tokens) or "(empty)",
                            (f"  log-prob {effect.baseline.logprob:.4f}", "dim")))
    changed = effect.changed
    if not changed:
        out.print(Text("         the intervention changes no output token", style="green"))
    else:
        line = Text(f"         {len(changed)} output token(s) changed, first at step {changed[0]}: ", style="yellow")
        for t in changed[:8]:
            a = itos[effect.baseline.tokens[t]] if t < len(effect.baseline.tokens) else "∅"
            b = itos[effect.edited.tokens[t]] if t < len(effect.edited.tokens) else "∅"
            line.append(f"{t}:{token_label(a)}→{token_label(b)} ", style="bold")
        out.print(line)
    delta = effect.reference_delta
    if delta is not None and math.isfinite(delta):
        out.print(Text(f"         reference log-prob {effect.reference_baseline:.4f} → {effect.reference_edited:.4f} "
                       f"({delta:+.4f})", style="dim"))
