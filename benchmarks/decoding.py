"""Decoding speed: one engine step with beam 5, batched evaluation vs one-by-one, and the
Transformer's step time against the prefix length (its key/value cache makes a step O(prefix)).

The reverse model is the task's default, trained briefly here so that hypotheses end at EOS as a
trained model's do; other default models are untrained (a step's cost does not depend on the
weights, only how many steps run does).
"""

from __future__ import annotations

import math
import time
from typing import Any

from .core import Context, benchmark, interleave, median
from .trainruns import build, charlm_overrides, run_trainer

STEP_TARGET_MS = 10.0
BATCH_SPEEDUP_TARGET = 20.0
EXPONENT_TARGET = 1.0  # step time ~ prefix^k between short and long prefixes; O(prefix²) recompute gives ~2

STEP_MODELS: dict[str, dict[str, Any]] = {
    "reverse default (GRU + general attention, trained)": {"task.name": "reverse"},
    "dates default (GRU + general attention)": {"task.name": "dates"},
    "numbers default (GRU + general attention)": {"task.name": "numbers"},
    "charlm default (LSTM, 2×256)": charlm_overrides(),
    "reverse, Transformer": {"task.name": "reverse", "model.cell": "transformer"},
}


def trained_reverse(ctx: Context):
    """The reverse task's default model after a short training (cached for this benchmark)."""
    steps = 20 if ctx.quick else 400
    ctx.log(f"training the reverse default for {steps} steps (decoding fixture)")
    tl = run_trainer(build({"task.name": "reverse", **ctx.train_overrides, "train.steps": steps,
                            "train.eval_every": steps * 100}), ctx.scratch / "runs", stop_after_last_step=True)
    return tl.trainer.model.eval(), tl.trainer.task


def untrained(overrides: dict[str, Any]):
    from models import build_model
    from workbench.tasks import build_task

    config = build(overrides)
    task = build_task(config.task)
    config.model.src_vocab = len(task.src_vocab) if task.src_vocab else 0
    config.model.tgt_vocab = len(task.tgt_vocab)
    config.model.pad_id = task.tgt_vocab.pad_id
    return build_model(config.model).eval(), task


def session_for(model, task, example, beam: int, max_len: int):
    from workbench.decoding import DecodeConfig, DecodeSession

    vocab = task.tgt_vocab
    cfg = DecodeConfig(strategy="beam", beam=beam, max_len=max_len)
    if task.family == "lm":
        prompt = vocab.encode(example.tgt[:16])
        return DecodeSession(model, None, bos_id=vocab.bos_id, eos_id=vocab.eos_id, config=cfg, prompt=prompt,
                             ban=(vocab.pad_id, vocab.bos_id))
    src = task.src_vocab.encode(example.src)
    return DecodeSession(model, src, bos_id=vocab.bos_id, eos_id=vocab.eos_id, config=cfg,
                         ban=(vocab.pad_id, vocab.bos_id))


def step_times(model, task, n_examples: int, beam: int = 5, max_len: int = 40) -> list[float]:
    """Seconds per ``session.step()`` over whole beam searches of a few test examples."""
    split = "val" if task.family == "lm" else "test"
    times = []
    for example in task.examples(split)[:n_examples]:
        session = session_for(model, task, example, beam, max_len)
        while not session.done:
            t0 = time.perf_counter()
            if session.step() is None:
                break
            times.append(time.perf_counter() - t0)
    return times


def engine_step(ctx: Context, fixture) -> None:
    n = 2 if ctx.quick else 12
    rows = []
    for label, overrides in STEP_MODELS.items():
        model, task = fixture if "trained" in label else untrained(overrides)
        step_times(model, task, 1)  # warm-up
        times = step_times(model, task, n)
        ms = sorted(1000 * t for t in times)
        p90 = ms[int(0.9 * (len(ms) - 1))]
        ctx.figure(f"engine step, beam 5, {label}", median(ms), "ms", target=STEP_TARGET_MS, op="<=",
                   note=f"median of {len(ms)} steps; p90 {p90:.1f} ms")
        rows.append([label, f"{median(ms):.2f}", f"{p90:.2f}", str(len(ms))])
    ctx.result.details.setdefault("tables", {})["engine step, beam 5 (ms)"] = {
        "columns": ["model", "median ms", "p90 ms", "steps"], "rows": rows}


def batched_vs_single(ctx: Context, model, task) -> None:
    """Greedy-decode the test split as evaluation does (batches of 256 grouped by source length),
    in split-order batches, and one example per call, interleaved; all must give the same outputs."""
    import torch

    from workbench.decoding import greedy_decode_batch

    vocab = task.tgt_vocab
    n = 100 if ctx.quick else 1000
    max_len = int(task.max_target_len("test") * 1.5) + 5
    evaluation = "batches of 256 by length (as evaluation)"
    variants = {evaluation: (256, True), "batches of 256 in split order": (256, False),
                "batches of 64 in split order": (64, False), "one-by-one": (1, False)}
    outputs: dict[str, dict[int, list[int]]] = {}

    def variant(name: str, rows: int, by_length: bool):
        def run() -> float:
            out = {}
            t0 = time.perf_counter()
            for batch in task.eval_batches("test", rows, n, by_length=by_length):
                preds = greedy_decode_batch(model, batch.src, batch.src_lengths, bos_id=vocab.bos_id,
                                            eos_id=vocab.eos_id, max_len=max_len)
                out.update(zip(batch.index.tolist() if by_length else range(len(out), len(out) + len(preds)), preds))
            seconds = time.perf_counter() - t0
            outputs[name] = out
            return seconds
        return run

    runs = interleave({name: variant(name, *v) for name, v in variants.items()}, 2 if ctx.quick else 3,
                      log=lambda m: ctx.log(f"  {m} s"))
    seconds = {name: median(values) for name, values in runs.items()}
    single = seconds["one-by-one"]
    ctx.figure(f"batched vs one-by-one greedy decoding, {n} reverse test examples ({torch.get_num_threads()} "
               f"threads)", single / seconds[evaluation], "x", target=BATCH_SPEEDUP_TARGET, op=">=",
               note=f"{evaluation}: {1000 * seconds[evaluation]:.0f} ms vs one-by-one {1000 * single:.0f} ms, "
                    f"medians of {len(runs[evaluation])}")
    for name in variants:
        if name not in (evaluation, "one-by-one"):
            ctx.figure(f"the same with {name}", single / seconds[name], "x", note=f"{1000 * seconds[name]:.0f} ms")
        if outputs[name] != outputs["one-by-one"]:
            diff = sum(outputs[name][i] != outputs["one-by-one"][i] for i in outputs["one-by-one"])
            ctx.warn(f"{name} and one-by-one greedy decoding disagree on {diff} of {n} outputs")
    threads = torch.get_num_threads()
    if threads > 1:  # --threads 1 (what a busy machine calls for): the same comparison on one
        torch.set_num_threads(1)
        try:
            one = {name: median(values) for name, values in interleave(
                {name: variant(name, *variants[name]) for name in (evaluation, "one-by-one")}, 2).items()}
        finally:
            torch.set_num_threads(threads)
        ctx.figure("the same on 1 thread", one["one-by-one"] / one[evaluation], "x",
                   note=f"{1000 * one[evaluation]:.0f} ms vs {1000 * one['one-by-one']:.0f} ms")
    everything = next(iter(task.eval_batches("test", n, n)))
    session_baseline(ctx, model, task, everything, min(n, 100), max_len, single / n)


def session_baseline(ctx: Context, model, task, batch, n: int, max_len: int, per_example: float) -> None:
    """One-by-one through the inspector's DecodeSession (greedy): what a naive evaluation would cost."""
    from workbench.decoding import DecodeConfig, DecodeSession

    vocab = task.tgt_vocab
    t0 = time.perf_counter()
    for i in range(n):
        src = batch.src[i, : int(batch.src_lengths[i])].tolist()
        DecodeSession(model, src, bos_id=vocab.bos_id, eos_id=vocab.eos_id, ban=(vocab.pad_id, vocab.bos_id),
                      config=DecodeConfig(strategy="greedy", max_len=max_len)).run()
    session = (time.perf_counter() - t0) / n
    ctx.figure("one-by-one through DecodeSession (greedy, with records) per example", 1000 * session, "ms",
               note=f"greedy_decode_batch with 1 row: {1000 * per_example:.2f} ms")


def transformer_prefix(ctx: Context) -> None:
    """Step time at growing prefix lengths: with the cache vs recomputing the prefix (no cache)."""
    import torch

    model, _ = untrained({**charlm_overrides(), "model.cell": "transformer"})
    rows, limit = 5, (128 if ctx.quick else 480)
    marks = [p for p in (16, 32, 64, 128, 256, 448) if p <= limit]
    cached: dict[int, list[float]] = {p: [] for p in marks}
    recompute: dict[int, list[float]] = {p: [] for p in marks}
    tokens = torch.randint(4, model.config.tgt_vocab, (rows, limit + 1))  # (B, T)
    with torch.inference_mode():
        for _ in range(1 if ctx.quick else 7):
            state = model.start(None, None, batch_size=rows)
            for t in range(limit):
                t0 = time.perf_counter()
                state = model.step(state, tokens[:, t]).state
                if t + 1 in cached:
                    cached[t + 1].append(time.perf_counter() - t0)
            for p in marks:
                t0 = time.perf_counter()
                model(None, None, tokens[:, :p])  # what a step costs without a cache: the whole prefix again
                recompute[p].append(time.perf_counter() - t0)
    lo, hi = marks[1], marks[-1]
    exponent = growth_exponent({p: median(v) for p, v in cached.items() if p >= lo})
    exponent_rc = growth_exponent({p: median(v) for p, v in recompute.items() if p >= lo})
    ctx.figure(f"Transformer LM step-time growth exponent k (time ∝ prefix^k, prefix {lo}→{hi}, beam rows 5)",
               exponent, "", target=EXPONENT_TARGET, op="<=",
               note=f"without the cache k = {exponent_rc:.2f}")
    table = [[str(p), f"{1000 * median(cached[p]):.2f}", f"{1000 * median(recompute[p]):.2f}"] for p in marks]
    ctx.result.details.setdefault("tables", {})["Transformer LM (2×256) step time vs prefix, 5 rows"] = {
        "columns": ["prefix length", "cached step ms", "recompute prefix ms"], "rows": table}


def growth_exponent(times: dict[int, float]) -> float:
    """Least-squares slope of log(time) against log(prefix): 1 is linear growth, 2 quadratic."""
    xs = [math.log(p) for p in times]
    ys = [math.log(t) for t in times.values()]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


@benchmark("decoding", "decoding engine: beam-5 step, batched vs one-by-one, Transformer step vs prefix")
def decoding(ctx: Context) -> None:
    fixture = trained_reverse(ctx)
    engine_step(ctx, fixture)
    batched_vs_single(ctx, *fixture)
    transformer_prefix(ctx)
