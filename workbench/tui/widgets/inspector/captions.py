"""What each inspector panel means, in one line a newcomer can read, and the sentence of a step.

Captions sit under each panel's title; ``SYMBOLS`` explains every mark the panels draw (also on the
``?`` sheet). ``step_sentence`` ties the panels together: what the model looked at, what it emitted.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

ATTENTION = {
    "cross": "rows: output tokens · columns: input tokens · each row sums to 1",
    "self": "rows: output tokens · columns: <bos> and earlier outputs · rows sum to 1",
    "encoder": "rows, columns: input tokens · row i: where input i looks · rows sum to 1",
    "probe": "a fixed probe at a past training step · rows: output, columns: input · space plays",
}

STATE = {
    "signed": "rows: steps · cells: units, blue < 0 < red · {norm}: vector length",
    "gate": "rows: steps · cells: units, dark 0 (closed) → bright 1 (open)",
    "encoder": "rows: input tokens · cells: units, blue < 0 < red · {norm}: vector length",
}

SYMBOLS = [
    ("◀", "the step being decoded now (heatmap row)"),
    ("▶", "the hypothesis the panels follow (beam) / a token that was chosen (next token)"),
    ("✓ ✗", "a candidate kept in the beam / pruned"),
    ("rk", "the candidate's rank among its parent's next tokens (1 = most likely)"),
    ("α", "length penalty: score = log p / lp(length); α = 0 scores by log p alone"),
    ("▲", "first step where greedy decoding leaves the reference"),
    ("‖h‖ ‖c‖ ‖g‖", "length (L2 norm) of the hidden state, cell state or context, gate vector"),
    ("┃ ▼", "the unit followed over time (, . and < > move it)"),
    ("a₂", "a repeated token, numbered by its position"),
    ("ref", "the reference token (teacher-forced mode)"),
]


def attention_caption(view: str, replaying: bool) -> str:
    return ATTENTION["probe"] if replaying else ATTENTION.get(view, ATTENTION["cross"])


def state_caption(kind: str, signed: bool, norm: str) -> str:
    if kind == "encoder":
        return STATE["encoder"].format(norm=norm)
    return (STATE["signed"] if signed else STATE["gate"]).format(norm=norm)


def step_sentence(weights: Optional[np.ndarray], cols: Sequence[str], emitted: Optional[str],
                  prob: Optional[float], step: Optional[int], forced: bool = False) -> str:
    """"step 3: attended to c (0.97) → emitted c (p 0.99)"; without attention only what was emitted."""
    if step is None or emitted is None:
        return "press → to decode the first token"
    head = f"step {step}: "
    if weights is not None and len(weights) and len(cols) == len(weights):
        j = int(np.argmax(weights))
        head += f"attended most to {cols[j]} ({float(weights[j]):.2f}) → "
    how = "forced" if forced else "emitted"
    return head + f"{how} {emitted}" + (f" (p {prob:.2f})" if prob is not None else "")


def vocabulary_text(itos: Sequence[str], limit: int = 40) -> str:
    """The ordinary tokens of a vocabulary, as a user would type them (the first ``limit``)."""
    from . import palette as P

    tokens = [P.label(t) for t in itos if not (t.startswith("<") and t.endswith(">"))]
    more = f" … ({len(tokens)} in all)" if len(tokens) > limit else ""
    return " ".join(tokens[:limit]) + more


def probe_sentence(target: Sequence[str], source: Sequence[str], joiner: str) -> str:
    """The probe example in full: its input and the reference output the rows follow."""
    from . import palette as P

    return f" · probe: {joiner.join(P.label(t) for t in source)} → {joiner.join(P.label(t) for t in target)}"
