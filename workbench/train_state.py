"""A trainer's state as checkpoint files and back: weights, optimiser moments, random generators.

Everything is safetensors or JSON (no pickle). ``pack`` refuses non-finite weights, so a
checkpoint never holds NaN; ``unpack`` checks every file and says which one is wrong in one line.
"""

from __future__ import annotations

from typing import Any

import torch

from . import runs
from .errors import RunError
from .optim_state import optimizer_from_tensors, optimizer_to_tensors

RNG_KEYS = ("data", "torch", "tf")


def _save(named: dict[str, torch.Tensor]) -> bytes:
    from safetensors.torch import save

    return save({k: v.detach().cpu().clone().contiguous() for k, v in named.items()})


def pack(trainer) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(checkpoint files as bytes, trainer.json) for ``trainer`` now; RunError if any weight is not finite."""
    with trainer.lock:
        model = dict(trainer.model.state_dict())
        runs.check_finite(model, trainer.run_dir / "model (in memory)")
        files = {"model.safetensors": _save(model), "optimizer.safetensors": _save(optimizer_to_tensors(trainer.optimizer))}
    rng = {"data": trainer.data_gen.get_state(), "torch": torch.get_rng_state(), "tf": trainer.tf_gen.get_state()}
    if trainer.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(trainer.device)
    files["rng.safetensors"] = _save(rng)
    state = {"step": trainer.step, "elapsed": trainer.elapsed, "best": trainer.best, "skipped": trainer.skipped,
             "optimizer_groups": [{k: v for k, v in g.items() if k != "params"} for g in trainer.optimizer.param_groups]}
    return files, state


def unpack(trainer, ckpt: "runs.Checkpoint") -> None:
    """Restore ``trainer`` from a complete checkpoint; a file with wrong contents is a one-line RunError."""
    runs.load_weights(trainer.model, ckpt)
    where = ckpt.path / "optimizer.safetensors"
    moments = ckpt.tensors("optimizer", device=str(trainer.device))
    runs.check_finite(moments, where)
    try:
        optimizer_from_tensors(trainer.optimizer, moments, ckpt.state.get("optimizer_groups", []))
    except (ValueError, KeyError, RuntimeError, TypeError, IndexError) as exc:
        raise RunError(f"{where}: does not fit the model's optimiser ({str(exc).splitlines()[0][:100]})") from None
    where = ckpt.path / "rng.safetensors"
    rng = ckpt.tensors("rng")
    try:
        trainer.data_gen.set_state(rng["data"])
        torch.set_rng_state(rng["torch"])
        trainer.tf_gen.set_state(rng["tf"])
        if "cuda" in rng and trainer.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], trainer.device)
    except (KeyError, RuntimeError, TypeError) as exc:
        raise RunError(f"{where}: not the random generators' states ({str(exc).splitlines()[0][:100]})") from None
    state = ckpt.state
    trainer.step, trainer.elapsed, trainer.best = int(state["step"]), float(state["elapsed"]), state.get("best")
    trainer.skipped = int(state.get("skipped", 0) or 0)
