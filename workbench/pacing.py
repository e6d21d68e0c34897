"""The trainer's clocks: session time (what the time limit and the ETA count) and the averages between Progress events."""

from __future__ import annotations

import time


class Session:
    """Time in this process's session: what the time limit and the ETA count (pauses excluded)."""

    def __init__(self, elapsed_before: float, start_step: int):
        self.start = time.perf_counter()
        self.before, self.start_step = elapsed_before, start_step
        self.paused_for = 0.0

    def seconds(self) -> float:
        return time.perf_counter() - self.start - self.paused_for

    def elapsed(self) -> float:
        """Training seconds of the whole run: earlier sessions plus this one."""
        return self.before + self.seconds()

    def eta(self, step: int, total: int, max_seconds: float) -> float:
        """Seconds to the end: the steps left at this session's speed, or the time limit if sooner."""
        done, seconds = step - self.start_step, self.seconds()
        eta = (total - step) * seconds / done if done > 0 and seconds > 0 else 0.0
        if max_seconds:
            eta = min(eta, max(0.0, max_seconds - seconds)) if eta else max(0.0, max_seconds - seconds)
        return eta


class Window:
    """Running sums between two Progress events."""

    def __init__(self):
        self.start = time.perf_counter()
        self.loss = self.norm = 0.0
        self.tokens = self.n = 0

    def add(self, loss: float, norm: float, tokens: int) -> None:
        self.loss += loss
        self.norm += norm
        self.tokens += tokens
        self.n += 1

    def age(self) -> float:
        return time.perf_counter() - self.start

    def flush(self) -> tuple[float, float, float]:
        n = max(self.n, 1)
        out = (self.loss / n, self.norm / n, self.tokens / max(self.age(), 1e-9))
        self.__init__()
        return out
