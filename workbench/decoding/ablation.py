"""Split-wide ablation: zero each hidden unit (or attention head) in turn and rank them by what it costs.

    report = ablate(model, task, "test", what="hidden")
    report.baseline.loss, report.baseline.exact      # the unedited model
    report.rows[0]                                   # the unit whose zeroing hurts the loss most

For every unit the split is decoded through the step path with the edit active
(``models.base.intervening``), teacher-forced and batched over the whole split: the loss per
reference token, and exact match (encoder-decoder tasks only; a language model has no right
answer), which one teacher-forced pass decides exactly as greedy decoding would (see ``outcome``). Edits act only in ``step``, never in ``start``, so each
batch is encoded once and its encoder state reused for every unit: what makes a full sweep of a
default model take seconds rather than minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F

from models.base import intervening
from models.interventions import Edit

from ..errors import UserError

WHATS = ("hidden", "heads")
BATCH = 512  # rows per batch: big batches make a step's fixed cost small against its arithmetic


@dataclass(frozen=True)
class Outcome:
    """Loss and exact match of the model, edited or not, over the split."""

    loss: float  # mean cross-entropy per reference token (teacher-forced, <eos> included)
    exact: Optional[float]  # fraction of examples greedy reproduces exactly (None: a language model)


@dataclass(frozen=True)
class AblationRow:
    """What zeroing one unit or head did."""

    label: str  # "L0:U12", "cross L1:H2"
    edit: Edit
    outcome: Outcome
    d_loss: float  # loss with the edit minus without: above 0, the unit helped
    d_exact: Optional[float]  # exact match with the edit minus without: below 0, the unit helped

    def to_json(self) -> dict[str, Any]:
        e = self.edit
        return {"unit": self.label, "site": e.site, "layer": e.layer, "index": e.index,
                "attention": e.attention if e.site == "head" else None, "loss": self.outcome.loss,
                "exact": self.outcome.exact, "d_loss": self.d_loss, "d_exact": self.d_exact}


@dataclass
class AblationReport:
    """Every unit's effect, ranked: largest loss increase first, then largest exact-match drop."""

    split: str
    what: str
    examples: int
    baseline: Outcome
    rows: list[AblationRow] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"split": self.split, "what": self.what, "examples": self.examples, "seconds": self.seconds,
                "baseline": {"loss": self.baseline.loss, "exact": self.baseline.exact},
                "ranking": [r.to_json() for r in self.rows]}


def targets(model: Any, what: str) -> list[tuple[str, Edit]]:
    """(label, zeroing Edit) for every hidden unit of every decoder layer, or every attention head."""
    caps, cfg = model.capabilities, model.config
    if what == "hidden":
        return [(f"L{l}:U{u}", Edit("hidden", l, u)) for l in range(caps.layers) for u in range(cfg.hidden)]
    if what != "heads":
        raise UserError(f"--what is one of {', '.join(WHATS)}, not {what!r}")
    found = []
    for attention, present, layers in (("cross", caps.cross_attention, caps.attention_layers),
                                       ("self", caps.self_attention, caps.layers)):
        if present:
            found += [(f"{attention} L{l}:H{h}", Edit("head", l, h, attention=attention))
                      for l in range(layers) for h in range(caps.heads)]
    try:
        with intervening(model, [e for _, e in found[:1]]):
            pass
    except ValueError as exc:
        raise UserError(f"--what heads: {exc}") from None
    if not found:
        raise UserError("--what heads: this model has no attention heads")
    return found


@dataclass
class _Encoded:
    """One batch of the split with its encoder state, computed once and reused for every unit."""

    batch: Any
    state: dict


def encode_split(model: Any, task: Any, split: str, limit: Optional[int] = None) -> list[_Encoded]:
    """The split in batches of similar length, each with its encoder state."""
    if split not in task.split_names:
        raise UserError(f"task {task.name} has no split {split!r} (it has {', '.join(task.split_names)})")
    out = []
    with torch.inference_mode():
        for batch in task.eval_batches(split, BATCH, limit, by_length=True):
            batch = batch.to(model.device)
            state = model.start(batch.src, batch.src_lengths, batch_size=len(batch))
            out.append(_Encoded(batch, state))
    if not out:
        raise UserError(f"the {split} split has no examples")
    return out


def outcome(model: Any, task: Any, encoded: list[_Encoded], *, decode: bool = True) -> Outcome:
    """Loss and exact match of ``model`` as it is edited now, from one teacher-forced pass of the step path.

    Exact match needs no second, free-running pass: until greedy decoding first leaves the
    reference, its prefix *is* the reference prefix, so greedy reproduces an example exactly when
    the teacher-forced argmax (<pad> and <bos> banned, as decoding bans them) is the reference
    token at every step, <eos> included. An edit active from step 0 acts alike in both.
    """
    vocab = task.tgt_vocab
    total, tokens, right, rows = 0.0, 0, 0, 0
    banned = torch.tensor([vocab.pad_id, vocab.bos_id], device=model.device)
    with torch.inference_mode():
        for e in encoded:
            logits = _teacher_forced_logits(model, e)  # (B, T, V)
            gold, real = e.batch.tgt_out, e.batch.tgt_out != vocab.pad_id  # (B, T) each
            total += float(F.cross_entropy(logits.transpose(1, 2), gold, ignore_index=vocab.pad_id, reduction="sum"))
            tokens += int(real.sum())
            if decode:
                hit = logits.index_fill(2, banned, float("-inf")).argmax(-1) == gold  # (B, T)
                right += int((hit | ~real).all(1).sum())
            rows += len(e.batch)
    return Outcome(total / max(tokens, 1), right / rows if decode else None)


def _teacher_forced_logits(model: Any, e: _Encoded) -> torch.Tensor:
    """Logits (B, T, V) of the batch's references, fed one step at a time from the cached encoder state."""
    state, steps = e.state, []
    for t in range(e.batch.tgt_in.shape[1]):
        out = model.step(state, e.batch.tgt_in[:, t])
        state = out.state
        steps.append(out.logits)
    return torch.stack(steps, 1).float()  # (B, T, V)


def ablate(model: Any, task: Any, split: str, *, what: str = "hidden", limit: Optional[int] = None,
           progress: Optional[Callable[[int, int], None]] = None) -> AblationReport:
    """Zero each unit (or head) in turn over ``split``; rows ranked by effect. ``progress(done, total)``."""
    t0 = time.perf_counter()
    units = targets(model, what)
    decode = task.family != "lm"
    encoded = encode_split(model, task, split, limit)
    base = outcome(model, task, encoded, decode=decode)
    rows = []
    for done, (label, edit) in enumerate(units):
        with intervening(model, [edit]):
            got = outcome(model, task, encoded, decode=decode)
        d_exact = None if got.exact is None else got.exact - base.exact
        rows.append(AblationRow(label, edit, got, got.loss - base.loss, d_exact))
        if progress:
            progress(done + 1, len(units))
    rows.sort(key=lambda r: (-r.d_loss, r.d_exact or 0.0))
    return AblationReport(split, what, sum(len(e.batch) for e in encoded), base, rows, time.perf_counter() - t0)
