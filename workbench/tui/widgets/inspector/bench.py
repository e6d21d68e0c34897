"""How long one inspector step takes: the engine's step plus the redraw of every panel.

For the benchmark suite and the test that guards the budget (≤ 50 ms at 120×40, beam 5)::

    from workbench.tui.widgets.inspector.bench import measure_step_ms
    stats = measure_step_ms(model, task, size=(120, 40), strategy="beam", beam=5, steps=12)
    stats["step_ms"]     # median CPU ms from the → key to the repainted screen (engine + all panels)
    stats["engine_ms"]   # median ms of the engine's step alone
    stats["idle_ms"]     # the same key path with a key that changes nothing (Textual's own overhead)

Times are process CPU time with torch on one thread, so the sleeps Pilot inserts while waiting for the
app to go idle are not counted, and all work (engine, layout, panel strips, compositor) is.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from typing import Any


def measure_step_ms(model: Any, task: Any, *, size: tuple[int, int] = (120, 40), strategy: str = "beam",
                    beam: int = 5, steps: int = 12, example: int = 0, freeze_gc: bool = True) -> dict[str, float]:
    """Median/max ms per → step of the inspector at ``size`` (see module docstring).

    ``freeze_gc`` does what ``run_inspector`` does (``gc.freeze()`` once torch is loaded); without it a
    full garbage-collector pass over torch's objects lands on an occasional step (``step_max_ms``).
    """
    if freeze_gc:
        gc.freeze()
    return asyncio.run(_measure(model, task, size, strategy, beam, steps, example))


async def _measure(model, task, size, strategy, beam, steps, example) -> dict[str, float]:
    import torch

    from ...screens.inspector import InspectorApp

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        app = InspectorApp(model, task)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            screen = app.screen
            screen.ins.set_options(beam=beam, max_len=0)
            screen.ins.load_example(example)
            screen.ins.set_mode(strategy)
            screen.redraw()
            await pilot.pause()
            step, idle, engine = [], [], []
            for _ in range(steps):
                if screen.ins.done:
                    break
                step.append(await _cpu_ms(pilot, "right"))
                idle.append(await _cpu_ms(pilot, "x"))
            while screen.ins.back():
                pass
            for _ in range(len(step)):
                t0 = time.perf_counter()
                screen.ins.step()
                engine.append((time.perf_counter() - t0) * 1000)
    finally:
        torch.set_num_threads(threads)
    return {"step_ms": statistics.median(step), "step_max_ms": max(step), "engine_ms": statistics.median(engine),
            "idle_ms": statistics.median(idle), "steps": float(len(step))}


async def _cpu_ms(pilot, key: str) -> float:
    t0 = time.process_time()
    await pilot.press(key)
    await pilot.pause()
    return (time.process_time() - t0) * 1000
