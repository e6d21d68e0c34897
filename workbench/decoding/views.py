"""Per-hypothesis views of a session's records: which trace row belongs to a hypothesis at each step,
and the alignment, self-attention and hidden-state matrices along its path.

A hypothesis of n tokens was produced by n steps; at step t its ancestor of t tokens was one of the
rows fed to the model, so its trace at step t is ``records[t].trace`` at that row. These helpers
only index tensors the records already hold.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .records import Hypothesis, StepRecord


def path_rows(records: list[StepRecord], hyp: Hypothesis) -> list[int]:
    """Trace row of ``hyp``'s ancestor at each step 0 .. len(hyp.tokens) - 1."""
    parent_of = {0: None}
    for r in records:
        for h in r.live + r.finished:
            parent_of[h.id] = h.parent
    chain = [hyp.id]
    while parent_of.get(chain[-1]) is not None:
        chain.append(parent_of[chain[-1]])
    chain.reverse()  # root (0 tokens) first; chain[t] has t tokens and is fed at step t
    return [records[t].rows.index(chain[t]) for t in range(len(hyp.tokens))]


def cross_attention_path(records: list[StepRecord], hyp: Hypothesis) -> Optional[Tensor]:
    """(T, L, H, S) alignment over the source for each token of ``hyp``; None without attention."""
    rows = path_rows(records, hyp)
    if not rows or records[0].trace.cross_attention is None:
        return None
    return torch.stack([records[t].trace.cross_attention[row] for t, row in enumerate(rows)]).float().cpu()


def chosen_path(records: list[StepRecord], hyp: Hypothesis) -> Optional[list[int]]:
    """The source position hard attention read for each token of ``hyp``; None for soft attention."""
    rows = path_rows(records, hyp)
    if not rows or records[0].trace.chosen is None:
        return None
    return [int(records[t].trace.chosen[row]) for t, row in enumerate(rows)]


def alignment(records: list[StepRecord], hyp: Hypothesis, layer: int = -1, head: Optional[int] = None) -> Optional[Tensor]:
    """(T, S) alignment of one layer, one head or (head None) the mean over heads."""
    att = cross_attention_path(records, hyp)  # (T, L, H, S)
    if att is None:
        return None
    att = att[:, layer]  # (T, H, S)
    return att.mean(dim=1) if head is None else att[:, head]


def self_attention_matrix(records: list[StepRecord], hyp: Hypothesis, layer: int = -1,
                          head: Optional[int] = None) -> Optional[Tensor]:
    """(T, P) decoder self-attention over the fed prefix (BOS, prompt, outputs), zero-padded on the right.

    Row t attends over the t + P0 + 1 positions fed so far (P0 = prompt length).
    """
    rows = path_rows(records, hyp)
    if not rows or records[0].trace.self_attention is None:
        return None
    per_step = []
    for t, row in enumerate(rows):
        att = records[t].trace.self_attention[row, layer].float().cpu()  # (H, t')
        per_step.append(att.mean(dim=0) if head is None else att[head])
    width = max(a.numel() for a in per_step)
    out = torch.zeros(len(per_step), width)
    for t, a in enumerate(per_step):
        out[t, : a.numel()] = a
    return out


def hidden_path(records: list[StepRecord], hyp: Hypothesis, layer: int = -1) -> Optional[Tensor]:
    """(T, D) hidden state of one decoder layer after each step of ``hyp``."""
    rows = path_rows(records, hyp)
    if not rows or records[0].trace.hidden is None:
        return None
    return torch.stack([records[t].trace.hidden[row, layer] for t, row in enumerate(rows)]).float().cpu()


def hidden_stack(records: list[StepRecord], hyp: Hypothesis) -> Optional[Tensor]:
    """(T, L, D) hidden state of every decoder layer after each step of ``hyp``."""
    rows = path_rows(records, hyp)
    if not rows or records[0].trace.hidden is None:
        return None
    return torch.stack([records[t].trace.hidden[row] for t, row in enumerate(rows)]).float().cpu()
