"""Length extrapolation by positional scheme: one small Transformer per ``model.positions`` on reverse.

Each scheme trains the same encoder-decoder (2 layers, width 64, 4 heads) for the same number of
steps on the reverse task (lengths 3-12), then is scored on the test split (in-distribution) and
on the ``long`` split (lengths 13-20, never seen in training), by source length:

- exact match of greedy decoding;
- cross-attention sharpness, teacher-forced on the reference: the mean entropy (nats) of each
  head's distribution over the source, and the mean weight of its largest entry. A model that still
  aligns at a length it never saw keeps a low entropy and a high peak there; one that lost track
  of position spreads its attention (entropy climbs toward log S).

The figures say which scheme extrapolates; the table by length shows where each one breaks.
Quick mode trains a few dozen steps: it proves the plumbing, not the comparison.
"""

from __future__ import annotations

import math
from collections import defaultdict

from .core import Context, benchmark
from .trainruns import build, run_trainer

SCHEMES = ("sinusoidal", "learned", "relative", "rotary")
MODEL = {"model.cell": "transformer", "model.attention": "multihead", "model.hidden": 64, "model.heads": 4,
         "model.layers": 2, "model.bidirectional": False}
TRAIN = {"train.steps": 700, "train.eval_every": 350, "train.lr": 2e-3, "train.warmup": 100}


def by_length(model, task, split: str) -> dict[int, dict[str, float]]:
    """Source length -> {n, exact, entropy, peak} over ``split`` (greedy exact match, teacher-forced attention)."""
    from workbench.decoding import greedy_decode_batch

    vocab = task.tgt_vocab
    sums: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    model.eval()
    for batch in task.eval_batches(split, 256, by_length=True):
        out = greedy_decode_batch(model, batch.src, batch.src_lengths, bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                                  max_len=batch.tgt_out.shape[1] + 2)
        entropy, peak = _attention_sharpness(model, batch, vocab.pad_id)  # (B,) each
        for row, ids in enumerate(out):
            ref = [i for i in batch.tgt_out[row].tolist() if i not in (vocab.pad_id, vocab.eos_id)]
            s = sums[int(batch.src_lengths[row])]
            s["n"] += 1
            s["exact"] += float(ids == ref)
            s["entropy"] += float(entropy[row])
            s["peak"] += float(peak[row])
    return {length: {"n": s["n"], **{k: s[k] / s["n"] for k in ("exact", "entropy", "peak")}}
            for length, s in sorted(sums.items())}


def _attention_sharpness(model, batch, pad_id: int):
    """Per row: mean entropy and mean peak weight of the cross-attention, over layers, heads and target steps."""
    import torch

    with torch.inference_mode():
        state = model.start(batch.src, batch.src_lengths)
        entropies, peaks = [], []
        for t in range(batch.tgt_in.shape[1]):
            out = model.step(state, batch.tgt_in[:, t])
            state = out.state
            att = out.trace.cross_attention  # (B, L, H, S)
            plogp = torch.where(att > 0, att * att.clamp_min(1e-12).log(), torch.zeros_like(att))
            entropies.append(-plogp.sum(-1).mean((1, 2)))  # (B,)
            peaks.append(att.amax(-1).mean((1, 2)))  # (B,)
        real = (batch.tgt_out != pad_id).float()  # (B, T): steps that predict a reference token or EOS
        count = real.sum(1).clamp_min(1)
        return ((torch.stack(entropies, 1) * real).sum(1) / count,
                (torch.stack(peaks, 1) * real).sum(1) / count)


def pooled(rows: dict[int, dict[str, float]], key: str) -> float:
    n = sum(r["n"] for r in rows.values())
    return sum(r[key] * r["n"] for r in rows.values()) / n if n else math.nan


@benchmark("positions", "Transformer positional schemes on reverse: exact match and attention sharpness by length")
def positions(ctx: Context) -> None:
    table: list[list] = []
    summary: list[list] = []
    for scheme in SCHEMES:
        overrides = {"task.name": "reverse", **MODEL, **TRAIN, "model.positions": scheme, **ctx.train_overrides}
        if ctx.quick:
            overrides.update({"train.steps": 40, "train.eval_every": 40, "train.eval_examples": 100})
        tl = run_trainer(build(overrides), ctx.scratch / "runs")
        trainer = tl.trainer  # type: ignore[attr-defined]
        model, task = trainer.model, trainer.task
        test, long = by_length(model, task, "test"), by_length(model, task, "long")
        ctx.log(f"{scheme}: {tl.steps} steps in {tl.end_seconds:.0f} s")
        ctx.figure(f"{scheme}: test exact match (lengths 3-12)", 100 * pooled(test, "exact"), "%")
        ctx.figure(f"{scheme}: `long` exact match (lengths 13-20)", 100 * pooled(long, "exact"), "%",
                   note=f"attention entropy {pooled(test, 'entropy'):.2f} -> {pooled(long, 'entropy'):.2f} nats, "
                        f"peak {pooled(test, 'peak'):.2f} -> {pooled(long, 'peak'):.2f}")
        summary.append([scheme, f"{100 * pooled(test, 'exact'):.1f}%", f"{100 * pooled(long, 'exact'):.1f}%",
                        f"{pooled(test, 'entropy'):.2f} / {pooled(long, 'entropy'):.2f}",
                        f"{pooled(test, 'peak'):.2f} / {pooled(long, 'peak'):.2f}", f"{tl.end_seconds:.0f} s"])
        for length, r in {**test, **long}.items():
            table.append([scheme, length, int(r["n"]), f"{100 * r['exact']:.0f}%", f"{r['entropy']:.2f}",
                          f"{r['peak']:.2f}"])
        ctx.detail(scheme, {"steps": tl.steps, "seconds": tl.end_seconds, "test": test, "long": long})
    ctx.detail("tables", {
        "positional schemes on reverse (test lengths 3-12 / long 13-20)": {
            "columns": ["positions", "test exact", "long exact", "entropy test / long", "peak test / long",
                        "training"], "rows": summary},
        "by source length": {"columns": ["positions", "length", "n", "exact", "entropy", "peak"], "rows": table},
    })
