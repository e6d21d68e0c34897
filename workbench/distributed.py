"""Training on many processes with PyTorch's DistributedDataParallel, as torchrun starts them.

torchrun (or ``seqbench train --nproc N``, which runs it on this machine) starts one process per
rank with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set; ``start`` joins them into
a process group: gloo for CPU tensors, NCCL for CUDA ones. What differs from one process:

- each rank draws ``batch_size / world`` examples from its own generator (seed + rank), and its
  loss is weighted by its share of the global batch's target tokens (``token_weighted``), so the
  gradient DDP averages is the gradient of the global batch's mean loss, padding or not;
- DDP averages gradients during backward; the trainer clips afterwards, on identical gradients;
- rank 0 alone opens the run directory: it writes metrics, status, probes and checkpoints, holds
  the lock and evaluates. The others learn its run directory, its resumed state and its metrics by
  broadcast (``from_main``), so a second machine needs the data but not the run;
- whatever ends, skips or saves a step (stop, save, the time limit, a non-finite loss) is decided
  by all ranks together, so no rank waits forever in a collective another rank skipped.

Checkpoints hold rank 0's state as in one process plus every other rank's random generators
(``data.R``, ``tf.R``, ``torch.R`` in rng.safetensors). A rank that the checkpoint has no
generators for (the run resumes on more processes) starts a fresh stream seeded by seed, rank and step.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Optional

import torch
import torch.distributed as dist

from .errors import RunError, UserError
from .teacher_forcing import training_logits

TIMEOUT = timedelta(minutes=30)  # how long a rank waits for the others (rank 0 evaluating, saving)
FRESH_STRIDE = 1_000_003  # a rank with no saved generators resumes on seed + rank + FRESH_STRIDE * step
TF_STRIDE = 7_919  # rank R's scheduled-sampling generator: seed + 1 + TF_STRIDE * R (rank 0: seed + 1, as alone)
RNG_NAMES = ("data", "tf", "torch", "cuda")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # index among the processes on this machine: its CUDA device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def launched() -> bool:
    """True in a process torchrun started (it sets RANK and WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def current() -> World:
    """The world this process trains in: the process group's, or one process."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def start() -> World:
    """Join the process group torchrun described (a no-op in one process); ``stop`` leaves it."""
    if dist.is_available() and dist.is_initialized():
        return current()
    if not launched() or int(os.environ["WORLD_SIZE"]) <= 1:
        return World()
    if not dist.is_available():
        raise UserError("this PyTorch build has no torch.distributed; train on one process")
    backend = "gloo"
    if torch.cuda.is_available():  # NCCL moves CUDA gradients; gloo the small CPU messages
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backend = "cpu:gloo,cuda:nccl"
    dist.init_process_group(backend, timeout=TIMEOUT)
    return current()


def stop(finished: bool = True) -> None:
    """Leave the process group, if this process joined one.

    After a run that ended normally every rank waits for the others first, so none closes its
    connections while a peer still writes the last checkpoint or tears down its own; a rank that
    failed leaves at once (torchrun ends the rest).
    """
    if dist.is_available() and dist.is_initialized():
        if finished and dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


def rank_device(world: World, device: torch.device) -> torch.device:
    """The device this rank trains on: CUDA device LOCAL_RANK under CUDA; CPU stays CPU."""
    if not world.active:
        return device
    if device.type == "cuda":
        return torch.device("cuda", world.local_rank)
    if device.type != "cpu":
        raise UserError(f"training on several processes runs on CPU (gloo) or CUDA (NCCL), not {device.type}; "
                        f"use --device cpu or cuda")
    return device


def rank_batch(world: World, batch_size: int) -> int:
    """Examples each rank draws per step: the global batch split evenly (a UserError if it does not split)."""
    if batch_size % world.size:
        raise UserError(f"train.batch_size: {batch_size} does not split evenly across {world.size} processes; "
                        f"use a multiple of {world.size}")
    return batch_size // world.size


class _TrainingPath(torch.nn.Module):
    """The model's training forward as one module call, so DDP wraps scheduled sampling's step loop too."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch, ratio: float, generator: torch.Generator) -> torch.Tensor:
        return training_logits(self.model, batch, ratio, generator)  # (B, T, V)


def training_forward(world: World, model: torch.nn.Module) -> Callable:
    """``(batch, ratio, generator) -> logits``: the model itself alone, DDP around it on several ranks.

    DDP broadcasts rank 0's weights here, so every replica starts equal. Inputs are already on this
    rank's device (``device_ids=None``: DDP moves nothing). ``static_graph`` lets a model leave a
    parameter unused, as long as it is the same one every step.
    """
    if not world.active:
        return functools.partial(training_logits, model)
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(_TrainingPath(model), device_ids=None, static_graph=True)


def token_weighted(world: World, loss: torch.Tensor, n_tokens: int) -> tuple[torch.Tensor, float, int]:
    """(loss to backpropagate, the global batch's mean loss, the global batch's tokens).

    Each rank's ``loss`` is its own tokens' mean; scaled by ``n_tokens * world / total``, DDP's
    average of the ranks' gradients is the gradient of the mean over all tokens: what one process
    computes on the whole batch even when ranks' batches hold different numbers of target tokens.
    """
    if not world.active:
        return loss, loss.item(), n_tokens
    stats = torch.tensor([loss.item() * n_tokens, float(n_tokens)], dtype=torch.float64)
    dist.all_reduce(stats)  # every rank sees the same sum, so a non-finite loss is skipped everywhere
    total_loss, total = stats.tolist()
    return loss * (n_tokens * world.size / total), total_loss / total, int(total)


def agree(world: World, *flags) -> None:
    """Set each ``threading.Event`` on every rank if any rank has it set (stop, save requests)."""
    if not world.active:
        return
    votes = torch.tensor([float(f.is_set()) for f in flags])
    dist.all_reduce(votes, op=dist.ReduceOp.MAX)
    for flag, vote in zip(flags, votes.tolist()):
        if vote:
            flag.set()


def any_rank(world: World, condition: bool) -> bool:
    """True on every rank when ``condition`` is true on any (a time limit each rank's clock reads)."""
    return agreed_max(world, float(condition)) > 0


def agreed_max(world: World, value: float) -> float:
    """The largest of the ranks' ``value``: one figure all ranks act on (elapsed training time)."""
    if not world.active:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item()


def from_main(world: World, compute: Callable[[], Any]) -> Any:
    """``compute()`` on rank 0, its result on every rank; if it fails, every rank fails with its message."""
    if not world.active:
        return compute()
    box: list[Any] = [None]
    if world.is_main:
        try:
            box[0] = ("ok", compute())
        except BaseException as exc:
            box[0] = ("error", f"{exc}".splitlines()[0][:300] if str(exc) else type(exc).__name__)
            dist.broadcast_object_list(box, src=0, device=torch.device("cpu"))
            raise
    dist.broadcast_object_list(box, src=0, device=torch.device("cpu"))
    kind, value = box[0]
    if kind == "error":
        raise RunError(f"rank 0 failed: {value}")
    return value


# ----- a run's state shared by rank 0 -----

def _cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def shared_state(trainer, resumed: bool) -> dict:
    """What rank 0 tells the others after opening the run: its directory and, on resume, its state."""
    from . import runs

    out: dict[str, Any] = {"run_dir": str(trainer.run_dir)}
    if not resumed:
        return out
    ckpt, _ = runs.find_checkpoint(trainer.run_dir)
    out["world_size"] = int(ckpt.state.get("world_size", 1)) if ckpt is not None else 1
    if not trainer.world.active:
        return out
    rng = ckpt.tensors("rng") if ckpt is not None else {}
    out.update(vocabs=(trainer.task.src_vocab, trainer.task.tgt_vocab), step=trainer.step, elapsed=trainer.elapsed,
               skipped=trainer.skipped, optimizer=_cpu(trainer.optimizer.state_dict()),
               rng={k: v for k, v in rng.items() if "." in k})
    return out


def follow(trainer, shared: dict, resumed: bool) -> None:
    """Build a rank other than 0 from what rank 0 shared; no file of the run is opened."""
    trainer.run_dir = Path(shared["run_dir"])
    trainer._build(shared.get("vocabs"), None)
    seed, rank = trainer.config.train.seed, trainer.world.rank
    if not resumed:
        _seed(trainer, seed + rank)
        return
    trainer.optimizer.load_state_dict(shared["optimizer"])
    trainer.step, trainer.elapsed, trainer.skipped = shared["step"], shared["elapsed"], shared["skipped"]
    rng = shared["rng"]
    if f"data.{rank}" in rng:
        trainer.data_gen.set_state(rng[f"data.{rank}"])
        trainer.tf_gen.set_state(rng[f"tf.{rank}"])
        torch.set_rng_state(rng[f"torch.{rank}"])
        if f"cuda.{rank}" in rng and trainer.device.type == "cuda":
            torch.cuda.set_rng_state(rng[f"cuda.{rank}"], trainer.device)
    else:  # a rank the saved run did not have: a stream of its own, not a replay of the run's start
        _seed(trainer, seed + rank + FRESH_STRIDE * trainer.step)


def _seed(trainer, seed: int) -> None:
    trainer.data_gen.manual_seed(seed)
    trainer.tf_gen.manual_seed(seed + 1 + TF_STRIDE * trainer.world.rank)
    torch.manual_seed(seed)  # dropout masks differ between ranks, as between a batch's rows


def world_change(world: World, shared: dict) -> Optional[str]:
    """A warning when a run resumes on a different number of processes than it was saved on."""
    saved = shared.get("world_size")
    if saved is None or saved == world.size:
        return None
    return (f"resuming a run saved on {saved} process{'es' if saved != 1 else ''} on {world.size}: each process's "
            f"data stream changes, so the examples drawn differ from an uninterrupted run")


def gather_rng(world: World, trainer) -> dict[str, torch.Tensor]:
    """Every other rank's generator states, for rank 0's checkpoint (all ranks call it; others get {})."""
    if not world.active:
        return {}
    mine = [trainer.data_gen.get_state(), trainer.tf_gen.get_state(), torch.get_rng_state()]
    if trainer.device.type == "cuda":
        mine.append(torch.cuda.get_rng_state(trainer.device))
    flat = torch.cat(mine)  # (bytes,) the same length on every rank: same generators, same devices
    gathered = [torch.empty_like(flat) for _ in range(world.size)]
    dist.all_gather(gathered, flat)
    if not world.is_main:
        return {}
    sizes = [len(t) for t in mine]
    return {f"{name}.{r}": part.clone() for r in range(1, world.size)
            for name, part in zip(RNG_NAMES, gathered[r].split(sizes))}


# ----- `seqbench train --nproc N` -----

def free_port() -> int:
    """A TCP port nobody listens on now, on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def without_nproc(argv: list[str]) -> list[str]:
    """The command line minus ``--nproc N`` (the processes torchrun starts must not launch again)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``argv`` (a ``seqbench`` command line) on ``nproc`` processes of this machine with torchrun.

    torchrun starts its workers in their own sessions and passes a Ctrl+C on to them once, so this
    process ignores it and waits: the workers stop, rank 0 saves, and torchrun's exit code is ours.
    """
    threads = max(1, (os.cpu_count() or 1) // nproc)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(nproc),
           "--master-addr", "127.0.0.1", "--master-port", str(free_port()), "-m", "workbench", *without_nproc(argv)]
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)  # not SIG_IGN: torchrun would inherit it
    try:
        return subprocess.call(cmd, env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
