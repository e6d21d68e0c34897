"""Sentences that explain what the inspector shows: typed input the model cannot read, and each step."""

from __future__ import annotations

import math
from typing import Any, Optional

from .captions import step_sentence, vocabulary_text
from .heatmap import distinct_labels


def longest_training_input(task: Any) -> Optional[int]:
    """Length of the longest source the model was trained on (None: a language model, or no split)."""
    if getattr(task, "src_vocab", None) is None or "train" not in getattr(task, "split_names", []):
        return None
    return max((len(ex.src) for ex in task.examples("train")), default=None)


def explain_input(ins: Any, task: Any, text: str, warnings: list[str]) -> list[str]:
    """The engine's warnings for typed input, with the vocabulary when tokens were unknown and a note
    when the input is longer than anything the model saw in training."""
    out = []
    for warning in warnings:
        if "not in the vocabulary" in warning:
            itos = ins.itos if ins.is_lm else ins.src_itos
            warning += f" · the vocabulary is: {vocabulary_text(itos)}"
        out.append(warning)
    longest = longest_training_input(task)
    if longest is not None and len(ins.input_tokens) > longest:
        out.append(f"the input has {len(ins.input_tokens)} tokens; the model was trained on at most {longest}, "
                   "so expect mistakes past that length")
    return out


def step_sentence_for(ins: Any, heat: Any, hyp: Any, forced: set[int]) -> str:
    """"step 3: attended most to c (0.97) → emitted c (p 0.99)" for the focus hypothesis's last token."""
    if hyp is None or not hyp.tokens:
        return step_sentence(None, [], None, None, None)
    step = len(hyp.tokens) - 1
    emitted = ins.text(hyp.tokens)[-1]
    lp = ins.path_candidates(hyp)[-1].token_logprob
    prob = math.exp(lp) if math.isfinite(lp) else 0.0
    weights = None
    if heat.current is not None and heat.matrix.size and heat.current < heat.matrix.shape[0]:
        weights = heat.matrix[heat.current]
    from . import palette as P

    return step_sentence(weights, distinct_labels(heat.cols), P.label(emitted), prob, step, step in forced)
