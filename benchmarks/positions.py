"""Length extrapolation by positional scheme: one small Transformer per ``model.positions`` on reverse.

Each scheme trains the same encoder-decoder (2 layers, width 64, 4 heads) for the same number of
steps on the reverse task (lengths 3-12), then is scored on the test split (in-distribution) and
on the ``long`` split (lengths 13-20, never seen in training), by source length:

- exact match of greedy decoding;
- cross-attention sharpness, teacher-forced on the reference: the mean entropy (nats) of each
  head's distribution over the source, and the mean weight of its largest entry. A model that still
  aligns at a length it never saw keeps a low entropy and a high peak there; one that lost track
  of position spreads its attention (entropy climbs toward log S).

The figures say which scheme extrapolates; the table by length shows where each one breaks. Both are
``workbench.decoding.lengths`` (what ``seqbench lengths`` and the app's length chart use); each
scheme's line, entropy and peak included, is logged as soon as it is measured, so a run cut short
still shows the schemes it finished.
Quick mode trains a few dozen steps: it proves the plumbing, not the comparison.
"""

from __future__ import annotations

from .core import Context, benchmark
from .trainruns import build, run_trainer

SCHEMES = ("sinusoidal", "learned", "relative", "rotary")
MODEL = {"model.cell": "transformer", "model.attention": "multihead", "model.hidden": 64, "model.heads": 4,
         "model.layers": 2, "model.bidirectional": False}
TRAIN = {"train.steps": 700, "train.eval_every": 350, "train.lr": 2e-3, "train.warmup": 100}


@benchmark("positions", "Transformer positional schemes on reverse: exact match and attention sharpness by length")
def positions(ctx: Context) -> None:
    from workbench.decoding.lengths import length_profile

    table: list[list] = []
    summary: list[list] = []
    for scheme in SCHEMES:
        overrides = {"task.name": "reverse", **MODEL, **TRAIN, "model.positions": scheme, **ctx.train_overrides}
        if ctx.quick:
            overrides.update({"train.steps": 40, "train.eval_every": 40, "train.eval_examples": 100})
        tl = run_trainer(build(overrides), ctx.scratch / "runs")
        trainer = tl.trainer  # type: ignore[attr-defined]
        profile = length_profile(trainer.model, trainer.task, ("test", "long"), label=scheme)
        test, long = profile.pooled("test"), profile.pooled("long")
        sharp = (f"attention entropy {test.entropy:.2f} -> {long.entropy:.2f} nats, "
                 f"peak {test.peak:.2f} -> {long.peak:.2f}")
        ctx.log(f"{scheme}: {tl.steps} steps in {tl.end_seconds:.0f} s; exact {100 * test.exact:.1f}% -> "
                f"{100 * long.exact:.1f}%; {sharp}")
        ctx.figure(f"{scheme}: test exact match (lengths 3-12)", 100 * test.exact, "%")
        ctx.figure(f"{scheme}: `long` exact match (lengths 13-20)", 100 * long.exact, "%", note=sharp)
        summary.append([scheme, f"{100 * test.exact:.1f}%", f"{100 * long.exact:.1f}%",
                        f"{test.entropy:.2f} / {long.entropy:.2f}", f"{test.peak:.2f} / {long.peak:.2f}",
                        f"{tl.end_seconds:.0f} s"])
        for length, r in profile.by_length().items():
            table.append([scheme, length, r.n, f"{100 * r.exact:.0f}%", f"{r.entropy:.2f}", f"{r.peak:.2f}"])
        ctx.detail(scheme, {"steps": tl.steps, "seconds": tl.end_seconds, **profile.to_json()})
        ctx.detail("tables", {
            "positional schemes on reverse (test lengths 3-12 / long 13-20)": {
                "columns": ["positions", "test exact", "long exact", "entropy test / long", "peak test / long",
                            "training"], "rows": list(summary)},
            "by source length": {"columns": ["positions", "length", "n", "exact", "entropy", "peak"],
                                 "rows": list(table)},
        })
