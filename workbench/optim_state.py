"""Optimiser state as flat named tensors, so checkpoints are safetensors (no pickle)."""

from __future__ import annotations

import torch


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """{"<param index>.<name>": tensor} for every tensor in the optimiser's per-parameter state."""
    out = {}
    for index, slots in optimizer.state_dict()["state"].items():
        for name, value in slots.items():
            out[f"{index}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return out


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                           groups: list[dict]) -> None:
    """Restore what ``optimizer_to_tensors`` wrote, with the saved hyperparameters of each group."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        index, _, name = key.partition(".")
        if not index.isdigit() or int(index) >= len(params):
            raise ValueError(f"{key!r} names no parameter")
        if value.dim() and value.shape != params[int(index)].shape:  # moments match their parameter; step is 0-d
            raise ValueError(f"{key!r} has shape {tuple(value.shape)}, its parameter {tuple(params[int(index)].shape)}")
        state.setdefault(int(index), {})[name] = value
    current = optimizer.state_dict()["param_groups"]
    merged = [{**cur, **saved, "params": cur["params"]} for cur, saved in zip(current, groups or current)]
    optimizer.load_state_dict({"state": state, "param_groups": merged})
