"""Adaptive CPU threads: keep torch on the thread count that trains fastest on this machine *now*.

On a quiet 2-core machine two torch threads train 1.3-1.7x faster than one; as soon as another
process keeps a core busy, two threads fall to 0.4-0.5x of one (OpenMP threads spin-wait for a
core that is not there). No fixed count is right on a laptop whose load comes and goes, so with
``--threads 0`` (the default) the trainer measures instead:

- after a warm-up it times each candidate count for a short window and keeps the fastest;
- it then watches throughput; when it drops well below what the choice gave (the machine got
  busy), or every ``recheck`` seconds anyway (the machine may have become quiet), it times the
  candidates again. A probe costs a fraction of a second.
- where the kernel reports CPU use (Linux's /proc/stat, ``OtherLoad``), a machine on which other
  processes use less than a third of a core is quiet: on the most threads, the tuner then stays
  there without timing the others, so a quiet machine pays nothing for the watching. A slowdown
  is always timed, and so is the way back up after a busy spell.

Only the number of threads changes, so results differ from a fixed count by float reordering at
most. The tuner is plain arithmetic over (tokens, seconds) observations; ``apply`` sets the count.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

WARMUP_STEPS = 5  # the first steps build caches and thread pools: never timed
QUIET_CORES = 0.3  # other processes using less than this many cores leave the machine quiet
SETTLE_STEPS = 1  # steps after a switch that are not timed (the new thread team starts up)


@dataclass
class ThreadChange:
    """The tuner moved to ``threads``; ``reason`` says why, for people (progress line, dashboard)."""

    before: int
    threads: int
    reason: str
    rates: dict[int, float]  # tokens/s measured for each candidate in the last comparison


class ThreadTuner:
    """Chooses among ``candidates`` thread counts by measured tokens/s (see the module docstring)."""

    def __init__(self, candidates: list[int], apply: Callable[[int], None], *, window: float = 1.0,
                 probe: float = 0.4, recheck: float = 15.0, drop: float = 0.7,
                 others: Optional[Callable[[], Optional[float]]] = None, busy_now: bool = False):
        self.candidates = sorted(set(candidates), reverse=True)  # most threads first: the quiet-machine favourite
        self.apply = apply
        self.window, self.probe, self.recheck, self.drop = window, probe, recheck, drop
        self.others = others or (lambda: None)  # cores other processes used lately (None: unknown)
        # the count torch uses now (a probe may be trying another); on a machine already busy, the
        # fewest: too many threads on a busy machine are slower by 10x and more, too few by < 2x
        self.current = self.candidates[-1] if busy_now else self.candidates[0]
        self.chosen = self.current  # the count the last comparison chose
        self.chosen_rate: Optional[float] = None  # tokens/s of the current choice when it was made
        self.since_choice = 0.0  # seconds of steady training since the last comparison
        self._queue: list[int] = []  # counts still to time in this comparison
        self._rates: dict[int, float] = {}
        self._steps = 0
        self._settle = WARMUP_STEPS
        self._tokens = 0
        self._seconds = 0.0
        self.apply(self.current)
        self._queue = []  # the first window after warm-up decides: quiet (keep) or compare
        self._rates = {}

    @property
    def adaptive(self) -> bool:
        return len(self.candidates) > 1

    def observe(self, tokens: int, seconds: float) -> Optional[ThreadChange]:
        """Record one training step; returns a change when the thread count was switched."""
        if not self.adaptive:
            return None
        if self._settle > 0:
            self._settle -= 1
            return None
        self._tokens += tokens
        self._seconds += seconds
        span = self.probe if self._queue else self.window
        if self._seconds < span:
            return None
        rate = self._tokens / self._seconds
        self._tokens, self._seconds = 0, 0.0
        if self._queue:
            return self._probe_done(rate)
        return self._steady(rate, span)

    # ---- comparisons --------------------------------------------------------------------------

    def _start_comparison(self) -> None:
        order = [self.chosen] + [c for c in self.candidates if c != self.chosen]
        self._queue = order
        self._rates = {}

    def _quiet(self) -> bool:
        """True when other processes are known to leave every core to this one."""
        used = self.others()
        return used is not None and used < QUIET_CORES

    def _probe_done(self, rate: float) -> Optional[ThreadChange]:
        self._rates[self._queue.pop(0)] = rate
        if self._queue:
            return self._switch(self._queue[0])
        best = max(self._rates, key=self._rates.get)
        self.chosen_rate = self._rates[best]
        self.since_choice = 0.0
        before, self.chosen = self.chosen, best
        self._switch(best)
        if best == before:
            return None
        return ThreadChange(before, best, self._why(before, best), dict(self._rates))

    def _steady(self, rate: float, span: float) -> Optional[ThreadChange]:
        self.since_choice += span
        slowed = self.chosen_rate is not None and rate < self.drop * self.chosen_rate
        if self.chosen_rate is None or slowed or self.since_choice >= self.recheck:
            if not slowed and self.chosen == self.candidates[0] and self._quiet():
                return self._keep(rate)  # nothing else runs: the most threads win, untimed
            self._start_comparison()
            self._rates[self._queue.pop(0)] = rate  # the window just measured is the current count's
            return self._switch(self._queue[0])
        return None

    def _keep(self, rate: float) -> None:
        """Stay on the most threads without a comparison (the machine is quiet)."""
        self.chosen_rate = rate
        self.since_choice = 0.0

    def _switch(self, threads: int) -> None:
        """Move to ``threads`` (silently: only the final choice of a comparison is reported)."""
        if threads != self.current:
            self.current = threads
            self.apply(threads)
        self._settle = SETTLE_STEPS
        return None

    def _why(self, before: int, after: int) -> str:
        gain = self._rates[after] / max(self._rates[before], 1e-9)
        busy = " (the machine is busy)" if after < before else " (the machine is quiet again)"
        return (f"{before} -> {after} thread{'s' if after != 1 else ''}: {gain:.1f}x the tokens/s "
                f"of {before}{busy}")


def candidates_for(threads: int, cores: int, cpu: bool) -> list[int]:
    """Thread counts to choose among: the one given, or with 0 every count up to the cores (at most 4)."""
    if threads > 0 or not cpu:
        return [max(threads, 1)]
    top = max(1, min(4, cores))
    return sorted({1, top, *([2] if top >= 2 else [])})


def busy_at_start(cores: int) -> bool:
    """True when the machine's run queue already fills its cores (the 1-minute load average)."""
    try:
        return os.getloadavg()[0] > cores - 0.5
    except (AttributeError, OSError):
        return False


class OtherLoad:
    """Cores that processes other than this one used since the last call (Linux; None elsewhere).

    /proc/stat counts every core's busy time; this process's own CPU time (``os.times``) is
    subtracted, so the figure is what the rest of the machine took.
    """

    def __init__(self, path: str = "/proc/stat"):
        self.path = path
        self._last = self._read()

    def _read(self) -> Optional[tuple[float, float, float]]:
        try:
            with open(self.path, encoding="ascii") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        if len(fields) < 5:
            return None
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / tick  # all but idle and iowait, in core-seconds
        own = os.times()
        return time.monotonic(), busy, own.user + own.system

    def __call__(self) -> Optional[float]:
        now, last = self._read(), self._last
        if now is None or last is None:
            return None
        self._last = now
        wall = now[0] - last[0]
        if wall < 0.05:
            return None
        return max(0.0, ((now[1] - last[1]) - (now[2] - last[2])) / wall)
