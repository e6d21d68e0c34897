"""Training overhead: seqbench's Trainer against a bare PyTorch loop written here.

Both sides train the same model (``models.build_model`` from the same seed), on the same batches
(``task.train_batch`` with the same generator seed, so the same tokens), with AdamW at the same
learning-rate schedule (warm-up, cosine) and weight decay, gradient clipping at the config's value,
for the same number of steps (so they compute the same numbers: a learning rate that differs would
change the weights, and with them the speed of some kernels), in the same process with the same torch thread count. Only the steps are timed: the
trainer from its start checkpoint to the Progress event of its last step (its periodic evaluation
is pushed past the end), the bare loop from its first to its last step. Runs alternate
trainer, bare, bare, trainer, ... and the figure is the median of the per-pair ratios.
"""

from __future__ import annotations

import math
import time
from typing import Any, Optional

from .core import Context, benchmark, interleave, median, paired_ratios
from .trainruns import build, charlm_overrides, run_trainer, tokens_per_second

TARGET = 0.95

# name -> (label, config overrides, full-mode steps)
MODELS: dict[str, tuple[str, dict[str, Any], int]] = {
    "rnn-attention": ("GRU seq2seq + attention (reverse default)", {"task.name": "reverse"}, 300),
    "lstm-lm": ("LSTM language model (charlm default)", charlm_overrides(), 200),
    "transformer": ("Transformer seq2seq (reverse, cell=transformer)",
                    {"task.name": "reverse", "model.cell": "transformer"}, 300),
}


def schedule(step: int, tc) -> float:
    """Linear warm-up then cosine decay to ``lr * min_lr_ratio``: the same numbers as the trainer's."""
    if tc.warmup and step < tc.warmup:
        return tc.lr * (step + 1) / tc.warmup
    progress = min(1.0, (step - tc.warmup) / max(1, tc.steps - tc.warmup))
    return tc.lr * (tc.min_lr_ratio + (1 - tc.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def bare_loop(config, task, steps: int, clock: Optional[list] = None) -> tuple[float, int, float]:
    """Train ``steps`` steps the plain way; returns (seconds, tokens, last loss).

    ``clock`` receives the perf_counter at which each step draws its batch (as the trainer's does).
    """
    import torch
    import torch.nn.functional as F

    from models import build_model

    tc = config.train
    torch.manual_seed(tc.seed)
    model = build_model(config.model)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    generator = torch.Generator().manual_seed(tc.seed)
    pad = task.tgt_vocab.pad_id
    tokens = 0
    start = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = schedule(step, tc)
        if clock is not None:
            clock.append(time.perf_counter())
        batch = task.train_batch(tc.batch_size, generator)
        logits = model(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=pad)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if tc.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip)
        optimizer.step()
        tokens += batch.n_tokens
    return time.perf_counter() - start, tokens, loss.item()


def measure_model(ctx: Context, key: str) -> None:
    import torch

    from workbench.device import set_threads
    from workbench.tasks import build_task

    label, overrides, full_steps = MODELS[key]
    steps = 15 if ctx.quick else full_steps
    rounds = 1 if ctx.quick else 3
    overrides = {**overrides, **ctx.train_overrides, "train.steps": steps, "train.eval_every": steps * 100}
    config = build(overrides)
    threads = set_threads(config.train.threads)
    task = build_task(config.task)
    config.model.src_vocab = len(task.src_vocab) if task.src_vocab else 0
    config.model.tgt_vocab = len(task.tgt_vocab)
    config.model.pad_id = task.tgt_vocab.pad_id
    counted: dict[str, int] = {}
    steps_seen: dict[str, list[list[float]]] = {"trainer": [], "bare": []}  # per run: seconds of each step

    def trainer() -> float:
        tl = run_trainer(build(overrides), ctx.scratch / "runs", stop_after_last_step=True)
        if tl.tokens != counted["tokens"]:
            raise RuntimeError(f"trainer saw {tl.tokens} tokens, the bare loop {counted['tokens']}: not the same batches")
        steps_seen["trainer"].append(intervals(tl.batch_clock, tl.last_step_at))
        return tokens_per_second(tl)

    def bare() -> float:
        torch.set_num_threads(threads)
        clock: list[float] = []
        seconds, tokens, _ = bare_loop(config, task, steps, clock)
        counted["tokens"] = tokens
        steps_seen["bare"].append(intervals(clock, clock[0] + seconds))
        return tokens / seconds

    bare()  # warm-up (allocator, kernels); also counts the tokens the trainer's identical batches hold
    trainer()  # warm-up: a first Trainer in the process pays one-time costs (imports, run files)
    steps_seen["bare"].clear()
    steps_seen["trainer"].clear()
    ctx.log(f"{label}: {steps} steps × {rounds * 2} runs per side, {threads} threads")
    runs = interleave({"trainer": trainer, "bare": bare}, rounds * 2, log=lambda m: ctx.log(f"  {key} {m} tokens/s"))
    ratio = median(paired_ratios(runs["trainer"], runs["bare"]))
    ctx.figure(f"trainer / bare loop tokens/s, {label}", ratio, "", target=TARGET, op=">=",
               note=f"median of {len(runs['bare'])} interleaved pairs")
    per_step = [b / t for tr, br in zip(steps_seen["trainer"], steps_seen["bare"]) for t, b in zip(tr, br) if t > 0]
    ctx.figure(f"per-step time ratio bare / trainer (same batch, median), {label}", median(per_step), "",
               note="robust to load bursts; periodic costs (Progress, metrics file) excluded")
    ctx.figure(f"trainer tokens/s, {label}", median(runs["trainer"]), "tok/s")
    ctx.detail(key, {"label": label, "steps": steps, "threads": threads, "tokens_per_run": counted["tokens"],
                     "trainer_tokens_per_s": runs["trainer"], "bare_tokens_per_s": runs["bare"],
                     "median_step_ms": {k: [1000 * median(r) for r in v] for k, v in steps_seen.items()}})


def intervals(clock: list[float], end: float) -> list[float]:
    """Seconds each step took, from the times its batch (and the next step's) was drawn."""
    marks = clock + [end]
    return [b - a for a, b in zip(marks, marks[1:])]


@benchmark("overhead", "training overhead: Trainer vs a bare PyTorch loop (tokens/s ratio)")
def training_overhead(ctx: Context) -> None:
    for key in MODELS:
        measure_model(ctx, key)
