"""Choosing where to train: CUDA, then MPS, then CPU; and how many CPU threads torch uses."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .errors import UserError


@dataclass
class DeviceInfo:
    """One device a user can pick, with a name people recognise."""

    key: str  # what --device takes: "cpu", "cuda:0", "mps"
    label: str  # e.g. "CUDA 0: NVIDIA A100 (40 GiB)"


def available_devices() -> list[DeviceInfo]:
    """Every device torch can use here, best first."""
    found = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(DeviceInfo(f"cuda:{i}", f"CUDA {i}: {props.name} ({props.total_memory / 2**30:.0f} GiB)"))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append(DeviceInfo("mps", "Apple MPS"))
    found.append(DeviceInfo("cpu", f"CPU ({os.cpu_count() or 1} cores)"))
    return found


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit device that is not here is a UserError."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device(available_devices()[0].key)
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {name!r} requested but CUDA is not available here; use --device auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise UserError("device 'mps' requested but MPS is not available here; use --device auto or cpu")
    elif device.type != "cpu":
        raise UserError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def set_threads(threads: int) -> int:
    """Set torch's intra-op CPU threads (0 = all cores, at most 4) and return the number in use."""
    n = threads if threads > 0 else max(1, min(4, os.cpu_count() or 1))
    torch.set_num_threads(n)
    return n


def one_thread_here() -> None:
    """Run the calling thread's CPU torch ops on one thread, leaving other threads' settings alone.

    For the app's UI thread, which steps the inspector's model while a trainer thread trains. Once a
    second thread owns an OpenMP team, the process has more OpenMP threads than cores and libgomp
    stops spin-waiting: a 2-thread trainer on 2 cores drops to about half speed. The thread count is
    per thread once a thread has set it up; ``get_num_threads`` makes it do so now, so that a later
    trainer changing the process-wide default cannot resize this thread's.
    """
    torch.set_num_threads(1)
    torch.get_num_threads()


def describe(device: torch.device, threads: int) -> str:
    for info in available_devices():
        if torch.device(info.key) == device or (device.type == "cuda" and info.key == f"cuda:{device.index or 0}"):
            return info.label if device.type != "cpu" else f"CPU ({threads} thread{'s' if threads != 1 else ''})"
    return str(device)
