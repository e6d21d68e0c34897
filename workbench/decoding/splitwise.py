"""One pass over a split for the split-wide features: greedy outputs, exact match, teacher-forced ranks.

``compare --split``, ``seqbench errors`` and the ablation map all need, per example, what greedy
decoding produced and where it first leaves the reference. Both come from batched passes over the
split (``task.eval_batches(..., by_length=True)``), the same batches evaluation uses.

Where greedy first leaves the reference is read from the teacher-forced logits: until that step
the greedy prefix *is* the reference prefix, so the greedy token there is the teacher-forced
argmax (with <pad> and <bos> banned, as a decode session bans them). The model's ``forward`` is
the fused path; the fidelity invariant makes it equal to the step path the sessions use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch

from ..errors import UserError
from .batch import greedy_decode_batch


@dataclass
class ExampleOutcome:
    """What the model did on one example of a split (ids exclude <bos>; ``ref`` and ``pred`` exclude <eos>)."""

    index: int  # position in the split
    src_len: int  # source tokens
    ref: list[int]  # reference target ids
    pred: list[int]  # greedy output ids
    divergence: Optional[int]  # first step where greedy leaves ref + <eos> (None: it reproduces it)
    ref_rank: Optional[int]  # rank of the reference token at ``divergence`` (1 = most probable)
    predicted: Optional[int]  # the token greedy chose there (the teacher-forced argmax)
    loss: float  # summed cross-entropy of ref + <eos> under teacher forcing

    @property
    def correct(self) -> bool:
        return self.pred == self.ref


def check_split(task: Any, split: str) -> None:
    """UserError unless ``split`` is a split of an encoder-decoder task."""
    if task.family == "lm":
        raise UserError("split-wide comparisons need an encoder-decoder task (a language model has no right answer)")
    if split not in task.split_names:
        raise UserError(f"task {task.name} has no split {split!r} (it has {', '.join(task.split_names)})")


def split_outcomes(model: Any, task: Any, split: str, *, limit: Optional[int] = None,
                   batch_size: int = 64, decode: bool = True) -> list[ExampleOutcome]:
    """Per-example outcomes over ``split`` (first ``limit`` examples), in split order.

    ``decode=False`` skips greedy decoding (``pred`` is then empty): what the loss-only ablation needs.
    """
    check_split(task, split)
    vocab = task.tgt_vocab
    max_len = int(task.max_target_len(split) * 1.5) + 5
    device = model.device
    out: list[ExampleOutcome] = []
    with torch.inference_mode():
        for batch in task.eval_batches(split, batch_size, limit, by_length=True):
            batch = batch.to(device)
            logits = model(batch.src, batch.src_lengths, batch.tgt_in).float()  # (B, T, V)
            preds = greedy_decode_batch(model, batch.src, batch.src_lengths, bos_id=batch.tgt_in[:, 0],  # (B,) own start
                                        eos_id=vocab.eos_id, max_len=max_len, ban=(vocab.pad_id, vocab.bos_id)) \
                if decode else [[] for _ in range(len(batch))]
            out += _batch_outcomes(batch, logits, preds, vocab)
    return sorted(out, key=lambda o: o.index)


def _batch_outcomes(batch: Any, logits: torch.Tensor, preds: list[list[int]], vocab: Any) -> list[ExampleOutcome]:
    banned = logits.index_fill(2, torch.tensor([vocab.pad_id, vocab.bos_id], device=logits.device), float("-inf"))
    lprobs = banned.log_softmax(-1)  # (B, T, V)
    gold = batch.tgt_out.clamp(min=0)  # (B, T)
    gold_lp = lprobs.gather(2, gold.unsqueeze(2)).squeeze(2)  # (B, T)
    ranks = (lprobs > gold_lp.unsqueeze(2)).sum(2) + 1  # (B, T)
    argmax = lprobs.argmax(-1)  # (B, T)
    real = batch.tgt_out != vocab.pad_id  # (B, T)
    token_loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch.tgt_out, ignore_index=vocab.pad_id,
                                                   reduction="none")  # (B, T)
    rows = []
    for row, index in enumerate(batch.index.tolist()):
        n = int(real[row].sum())  # reference tokens + <eos>
        wrong = (argmax[row, :n] != batch.tgt_out[row, :n]).nonzero()
        t = int(wrong[0, 0]) if len(wrong) else None
        rows.append(ExampleOutcome(
            index=index, src_len=int(batch.src_lengths[row]), ref=batch.tgt_out[row, : n - 1].tolist(),
            pred=_until_eos(preds[row], vocab.eos_id), divergence=t,
            ref_rank=None if t is None else int(ranks[row, t]),
            predicted=None if t is None else int(argmax[row, t]), loss=float(token_loss[row, :n].sum())))
    return rows


def _until_eos(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else list(ids)
