"""The learning-rate schedule: linear warm-up, then cosine decay to ``lr * min_lr_ratio``.

The schedule runs over whichever budget ends first: the step count, or with ``--max-seconds`` the
training time. A run stopped by its time limit then ends at its lowest learning rate, exactly
when time runs out, instead of being cut off high in a decay planned for steps it never reaches;
it holds the peak rate for the first ``train.hold`` of its budget (0.7 by default) and decays in
the rest: how many steps a minute holds is unknown in advance (a busy machine makes a fraction of
a quiet one's), and a run that decays from the start spends most of a short budget at low rates.
Warm-up is the same fraction of either budget (``warmup / steps``). ``train.schedule = "steps"``
keeps the step schedule under a time limit (the comparison the charlm-schedule benchmark makes).
"""

from __future__ import annotations

import math


def progress(step: int, elapsed: float, steps: int, max_seconds: float) -> float:
    """How far through its budget a run is, in [0, 1]: steps done, or training time used if further."""
    done = step / max(steps, 1)
    if max_seconds > 0:
        done = max(done, elapsed / max_seconds)
    return min(1.0, done)


def lr_at(step: int, cfg, elapsed: float = 0.0) -> float:
    """Learning rate for optimiser step ``step`` (from 0) after ``elapsed`` seconds of training.

    Without a time limit this is the classic step schedule: ``lr * (step + 1) / warmup`` during
    warm-up, then a cosine from ``lr`` to ``lr * min_lr_ratio`` at the last step.
    """
    if cfg.max_seconds <= 0 or cfg.schedule == "steps":
        if cfg.warmup and step < cfg.warmup:
            return cfg.lr * (step + 1) / cfg.warmup
        span = max(1, cfg.steps - cfg.warmup)
        return _cosine(cfg, min(1.0, (step - cfg.warmup) / span))
    p = progress(step, elapsed, cfg.steps, cfg.max_seconds)
    warm = min(cfg.warmup / max(cfg.steps, 1), 0.5)
    if warm and p < warm:
        return cfg.lr * max(p / warm, 1.0 / max(cfg.warmup, 1))
    hold = max(warm, cfg.hold)
    if p < hold:
        return cfg.lr
    return _cosine(cfg, (p - hold) / (1 - hold))


def _cosine(cfg, fraction: float) -> float:
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * fraction)))
