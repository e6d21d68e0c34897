"""Split-wide ablation: the cost of `seqbench ablate` over every hidden unit of the reverse task's
default model (GRU 128, bidirectional encoder, general attention) on its test split.

Each unit costs one teacher-forced pass of the step path over the split with the unit zeroed
(exact match is read from the same pass), so the cost does not depend on the weights: the model is
untrained here. Quick mode ablates every unit over the first 100 test examples.
"""

from __future__ import annotations

from .core import Context, Stopwatch, benchmark

TARGET_S = 60.0
QUICK_EXAMPLES = 100


@benchmark("ablation", "ablate every hidden unit of the reverse default model over the test split")
def ablation(ctx: Context) -> None:
    import torch

    from workbench.decoding.ablation import ablate

    from .decoding import untrained

    model, task = untrained({"task.name": "reverse"})
    limit = QUICK_EXAMPLES if ctx.quick else None
    with Stopwatch() as sw:
        report = ablate(model, task, "test", what="hidden", limit=limit)
    units = len(report.rows)
    ctx.figure(f"ablate all {units} hidden units, reverse default, {report.examples} test examples "
               f"({torch.get_num_threads()} threads)", sw.seconds, "s", target=TARGET_S, op="<=", judge=not ctx.quick,
               note=f"{1000 * sw.seconds / units:.0f} ms per unit, encoder run once")
    ctx.detail("per_unit_ms", 1000 * sw.seconds / units)
    ctx.detail("top", [r.to_json() for r in report.rows[:5]])
