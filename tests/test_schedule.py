"""The learning-rate schedule over steps, or over time with --max-seconds."""

import math

from workbench.config import TrainConfig
from workbench.schedule import lr_at


def test_step_schedule_warms_up_then_decays_to_the_floor_at_the_last_step():
    cfg = TrainConfig(steps=1000, warmup=100, lr=1e-3, min_lr_ratio=0.1)
    assert math.isclose(lr_at(0, cfg), 1e-5) and math.isclose(lr_at(99, cfg), 1e-3)
    assert math.isclose(lr_at(100, cfg), 1e-3)
    assert math.isclose(lr_at(1000, cfg), 1e-4)
    assert lr_at(550, cfg) < lr_at(300, cfg)


def test_time_limited_schedule_reaches_the_floor_when_time_runs_out():
    cfg = TrainConfig(steps=3000, warmup=150, lr=2e-3, min_lr_ratio=0.1, max_seconds=60.0)
    assert lr_at(10, cfg, elapsed=0.5) < 2e-3  # warming up: 5% of the time budget
    assert math.isclose(lr_at(100, cfg, elapsed=3.0), 2e-3)  # warm-up over at 5% of 60 s
    assert math.isclose(lr_at(900, cfg, elapsed=60.0), 2e-4)  # the floor, at step 900 of 3000
    assert math.isclose(lr_at(400, cfg, elapsed=40.0), 2e-3)  # the peak holds for 70% of the budget
    mid = lr_at(700, cfg, elapsed=51.0)  # half way through the decay (42 s to 60 s)
    assert math.isclose(mid, 2e-3 * (0.1 + 0.9 * 0.5), rel_tol=1e-6)


def test_the_step_budget_still_ends_the_schedule_when_it_comes_first():
    cfg = TrainConfig(steps=100, warmup=0, lr=1e-3, min_lr_ratio=0.0, max_seconds=3600.0)
    assert math.isclose(lr_at(100, cfg, elapsed=5.0), 0.0, abs_tol=1e-12)


def test_the_step_schedule_can_be_kept_under_a_time_limit():
    cfg = TrainConfig(steps=1000, warmup=100, lr=1e-3, min_lr_ratio=0.1, max_seconds=60.0, schedule="steps")
    assert math.isclose(lr_at(550, cfg, elapsed=59.0), lr_at(550, TrainConfig(steps=1000, warmup=100, lr=1e-3,
                                                                                min_lr_ratio=0.1)))
