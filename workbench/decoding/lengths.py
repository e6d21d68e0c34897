"""Length extrapolation: exact match and attention sharpness by source length, run by run.

A model trained on sources up to some length may or may not carry on past it; the ``long`` split
(synthetic tasks: lengths 13-20 after training on 3-12) is where it shows. For every source length
of the chosen splits this measures

- exact match of greedy decoding (as evaluation decodes);
- the sharpness of the cross-attention, teacher-forced on the reference: the mean entropy (nats)
  of each head's distribution over the source and the mean weight of its largest entry, averaged
  over layers, heads and target steps. A model that still aligns at a length it never saw keeps a
  low entropy and a high peak there; one that lost track of position spreads its attention, the
  entropy climbing towards log S (uniform attention).

``seqbench lengths RUN [RUN...]`` prints the table, the app draws it as charts (the inspector's and
the dashboard's ``L``), and ``benchmarks/positions.py`` compares the positional schemes with it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import torch

from ..errors import UserError
from .batch import content_ids


@dataclass
class LengthStats:
    """One source length of one split: examples, exact match (0-1), entropy (nats) and peak (NaN: no attention)."""

    n: int
    exact: float
    entropy: float = math.nan
    peak: float = math.nan


@dataclass
class LengthProfile:
    """One model's figures by source length (splits in the order asked; lengths ascending within each)."""

    label: str  # the run's name (or what the caller calls the model)
    description: str  # its architecture, as ``models.describe`` says it
    trained_up_to: int  # longest source seen in training (tokens)
    splits: dict[str, dict[int, LengthStats]] = field(default_factory=dict)
    attention: bool = True  # the model has a cross-attention whose sharpness was measured

    def by_length(self) -> dict[int, LengthStats]:
        """Every split merged: one LengthStats per source length (the splits' examples pooled)."""
        merged: dict[int, list[LengthStats]] = defaultdict(list)
        for rows in self.splits.values():
            for length, stats in rows.items():
                merged[length].append(stats)
        return {length: _pool(parts) for length, parts in sorted(merged.items())}

    def pooled(self, split: str) -> LengthStats:
        """The whole split as one row."""
        return _pool(list(self.splits.get(split, {}).values()))

    def to_json(self) -> dict[str, Any]:
        def row(length: int, s: LengthStats) -> dict[str, Any]:
            return {"length": length, "n": s.n, "exact": s.exact, "entropy": _finite(s.entropy), "peak": _finite(s.peak)}

        return {"label": self.label, "description": self.description, "trained_up_to": self.trained_up_to,
                "splits": {name: [row(k, s) for k, s in rows.items()] for name, rows in self.splits.items()}}


def _finite(x: float) -> Optional[float]:
    return x if math.isfinite(x) else None


def _pool(parts: list[LengthStats]) -> LengthStats:
    n = sum(p.n for p in parts)
    if not n:
        return LengthStats(0, math.nan)

    def mean(key: str) -> float:
        return sum(getattr(p, key) * p.n for p in parts) / n

    return LengthStats(n, mean("exact"), mean("entropy"), mean("peak"))


def default_splits(task: Any) -> list[str]:
    """The held-out splits worth a length profile: test (the trained lengths) and long (beyond them)."""
    chosen = [s for s in ("test", "long") if s in task.split_names and task.examples(s)]
    return chosen or [s for s in task.split_names[1:] if task.examples(s)][:1]


def length_profile(model: Any, task: Any, splits: Optional[Sequence[str]] = None, *, limit: Optional[int] = None,
                   label: str = "", batch_size: int = 256) -> LengthProfile:
    """Exact match and attention sharpness by source length over ``splits`` (default: test and long),
    at most ``limit`` examples of each. The model is left in the mode it was in."""
    from models import describe

    if task.family != "seq2seq":
        raise UserError(f"a length profile needs an encoder-decoder run; task {task.name} is a "
                        f"{'language model' if task.family == 'lm' else 'tagging/classification task'}")
    splits = list(splits or default_splits(task))
    for split in splits:
        if split not in task.split_names:
            raise UserError(f"task {task.name} has no split {split!r} (it has {', '.join(task.split_names)})")
    attention = bool(model.capabilities.cross_attention)
    train = task.examples(task.split_names[0])
    profile = LengthProfile(label, describe(model.config), max((len(ex.src) for ex in train), default=0),
                            attention=attention)
    was_training = model.training
    model.eval()
    try:
        for split in splits:
            profile.splits[split] = _split_by_length(model, task, split, limit, batch_size, attention)
    finally:
        model.train(was_training)
    return profile


def _split_by_length(model, task, split: str, limit, batch_size: int, attention: bool) -> dict[int, LengthStats]:
    from .batch import greedy_decode_batch

    vocab = task.tgt_vocab
    sums: dict[int, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])  # n, exact, entropy, peak
    max_len = int(task.max_target_len(split) * 1.5) + 5  # as evaluation decodes
    device = model.device
    for batch in task.eval_batches(split, batch_size, limit, by_length=True):
        batch = batch.to(device)
        with torch.inference_mode():
            preds = greedy_decode_batch(model, batch.src, batch.src_lengths, bos_id=vocab.bos_id,
                                        eos_id=vocab.eos_id, max_len=max_len)
            entropy, peak = attention_sharpness(model, batch, vocab.pad_id) if attention else (None, None)
        for row, pred in enumerate(preds):
            ref = [i for i in batch.tgt_out[row].tolist() if i not in (vocab.pad_id, vocab.eos_id)]
            s = sums[int(batch.src_lengths[row])]
            s[0] += 1
            s[1] += float(content_ids(pred, vocab) == ref)
            if entropy is not None:
                s[2] += float(entropy[row])
                s[3] += float(peak[row])
    nan = math.nan
    return {length: LengthStats(int(n), e / n, h / n if attention else nan, p / n if attention else nan)
            for length, (n, e, h, p) in sorted(sums.items())}


def attention_sharpness(model: Any, batch: Any, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row (B,): mean entropy and mean peak weight of the cross-attention, teacher-forced on the
    reference, over layers, heads and the target steps that predict a token or <eos>."""
    with torch.inference_mode():
        state = model.start(batch.src, batch.src_lengths)
        entropies, peaks = [], []
        for t in range(batch.tgt_in.shape[1]):
            out = model.step(state, batch.tgt_in[:, t])
            state = out.state
            att = out.trace.cross_attention.float()  # (B, L, H, S)
            plogp = torch.where(att > 0, att * att.clamp_min(1e-12).log(), torch.zeros_like(att))
            entropies.append(-plogp.sum(-1).mean((1, 2)))  # (B,)
            peaks.append(att.amax(-1).mean((1, 2)))  # (B,)
        real = (batch.tgt_out != pad_id).float()  # (B, T)
        count = real.sum(1).clamp_min(1)
        return ((torch.stack(entropies, 1) * real).sum(1) / count,
                (torch.stack(peaks, 1) * real).sum(1) / count)
