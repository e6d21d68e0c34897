"""What machine the benchmarks ran on, and how busy other processes kept it meanwhile."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from typing import Any, Optional

from .core import ROOT

BUSY_LOAD_FRACTION = 0.5  # warn when the load average before a benchmark exceeds this × cores
BUSY_OTHER_CORES = 0.25  # warn when other processes used more than this many cores on average


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def load_average() -> Optional[float]:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, Any]:
    """CPU, cores, versions and the load average now (torch is imported here)."""
    import torch

    info = {
        "cpu": cpu_model(),
        "cores": cores(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads_default": torch.get_num_threads(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "commit": _git_commit(),
    }
    try:
        import textual

        info["textual"] = getattr(textual, "__version__", "")
    except ImportError:  # pragma: no cover
        info["textual"] = None
    return info


def _memory_gib() -> Optional[float]:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine_line(info: dict[str, Any]) -> str:
    """One line for the README: CPU, cores, torch, load average at start."""
    load = info.get("load_average") or [None]
    load_text = f"load average at start {load[0]:.2f}" if load[0] is not None else "load average unknown"
    return (f"{info['cpu']}, {info['cores']} cores, {info.get('memory_gib')} GiB; Python {info['python']}, "
            f"torch {info['torch']} ({info['torch_threads_default']} threads by default), "
            f"textual {info.get('textual')}; {load_text}; commit {info.get('commit') or '?'}")


def _proc_stat() -> Optional[tuple[float, float]]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            parts = f.readline().split()
    except OSError:
        return None
    ticks = [int(x) for x in parts[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    total = sum(ticks[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return (total - idle) / hz, total / hz


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuMeter:
    """How many cores *other* processes kept busy between ``start()`` and ``stop()``.

    Machine busy time (from /proc/stat) minus this process's own CPU time (threads and waited
    children included), divided by wall time. Steal time from the hypervisor counts as other.
    """

    def start(self) -> "CpuMeter":
        self._stat, self._own, self._wall = _proc_stat(), _own_cpu(), time.perf_counter()
        return self

    def stop(self) -> Optional[float]:
        stat = _proc_stat()
        if stat is None or self._stat is None:
            return None
        wall = time.perf_counter() - self._wall
        if wall <= 0:
            return None
        busy = stat[0] - self._stat[0]
        own = _own_cpu() - self._own
        return max(0.0, (busy - own) / wall)


def busy_warnings(load_before: Optional[float], other_cpu: Optional[float]) -> list[str]:
    """One warning for a benchmark that ran while other processes were busy (empty when quiet)."""
    n = cores()
    reasons = []
    if load_before is not None and load_before > BUSY_LOAD_FRACTION * n:
        reasons.append(f"load average {load_before:.2f} at start (> {BUSY_LOAD_FRACTION:g} × {n} cores)")
    if other_cpu is not None and other_cpu > BUSY_OTHER_CORES:
        reasons.append(f"other processes used {other_cpu:.2f} of {n} cores on average while it ran")
    return [f"{'; '.join(reasons)}: figures are pessimistic"] if reasons else []


def python_executable() -> str:
    return sys.executable
