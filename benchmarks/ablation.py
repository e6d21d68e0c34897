"""Split-wide ablation: the cost of `seqbench ablate` over every hidden unit of the reverse task's
default model (GRU 128, bidirectional encoder, general attention) on its test split.

Each unit costs one teacher-forced pass of the step path over the split with the unit zeroed
(exact match is read from the same pass), so the cost does not depend on the weights: the model is
untrained here. The judged figure uses the command's default of one torch thread; a full run also
reports torch's default thread count, which falls far behind when other processes are busy.
Quick mode ablates every unit over the first 100 test examples.
"""

from __future__ import annotations

from .core import Context, Stopwatch, benchmark

TARGET_S = 60.0
QUICK_EXAMPLES = 100


@benchmark("ablation", "ablate every hidden unit of the reverse default model over the test split")
def ablation(ctx: Context) -> None:
    import torch

    from workbench.ablate_cli import THREADS
    from workbench.decoding.ablation import ablate

    from .decoding import untrained

    model, task = untrained({"task.name": "reverse"})
    limit = QUICK_EXAMPLES if ctx.quick else None
    threads = torch.get_num_threads()
    for n in ([THREADS] if ctx.quick or threads == THREADS else [THREADS, threads]):
        torch.set_num_threads(n)
        with Stopwatch() as sw:
            report = ablate(model, task, "test", what="hidden", limit=limit)
        units = len(report.rows)
        default = n == THREADS
        ctx.figure(f"ablate all {units} hidden units, reverse default, {report.examples} test examples "
                   f"({n} thread{'s' if n > 1 else ''}{', the default' if default else ''})", sw.seconds, "s",
                   target=TARGET_S if default else None, op="<=", judge=not ctx.quick,
                   note=f"{1000 * sw.seconds / units:.0f} ms per unit, encoder run once")
        ctx.detail(f"per_unit_ms_{n}_threads", 1000 * sw.seconds / units)
    torch.set_num_threads(threads)
    ctx.detail("top", [r.to_json() for r in report.rows[:5]])
