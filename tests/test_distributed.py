"""Training on two processes (gloo, CPU) equals one process on the same global batch; rank 0 alone opens the run.

The two-rank runs start like torchrun starts them (RANK, WORLD_SIZE, MASTER_ADDR... then
`seqbench train`), in processes spawned here, bound to 127.0.0.1 on a free port, with a deadline.
The task is the char-LM on windows of one length, so every batch has the same number of target tokens.
"""

import builtins
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from workbench import cli, distributed, runs
from workbench.config import build_config
from workbench.events import Warned
from workbench.records import TrainRecord, read_records
from workbench.tasks.base import Batch
from workbench.training import Trainer

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 120.0  # seconds a two-process run may take on a loaded machine before the test gives up
SEED = 3
SETTINGS = {  # constant learning rate: a run stopped at step 3 and resumed to 6 follows the same schedule
    "task.name": "charlm", "task.block": 12, "model.cell": "lstm", "model.layers": 1, "model.hidden": 16,
    "model.emb_dim": 8, "model.dropout": 0.0, "train.batch_size": 8, "train.lr": 0.01, "train.warmup": 0,
    "train.min_lr_ratio": 1.0, "train.eval_every": 3, "train.eval_examples": 8, "train.samples": 0,
    "train.threads": 1, "train.seed": SEED,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    words = "the quick brown fox jumps over a lazy dog while seven cats nap on warm mats".split()
    path = tmp_path_factory.mktemp("data") / "text.txt"
    path.write_text(" ".join(words[(i * 7 + i // 3) % len(words)] for i in range(1500)), encoding="utf-8")
    return path


def _argv(corpus: Path, out: Path, steps: int, resume: bool = False) -> list[str]:
    sets = {**SETTINGS, "task.data": str(corpus)}
    head = ["train", "--resume", str(out)] if resume else ["train", "--out", str(out)] + [
        a for k, v in sets.items() for a in ("--set", f"{k}={v}")]
    return head + ["--steps", str(steps), "--quiet"]


def _forbid(root: Path) -> None:
    """Make any open, stat, listing, rename or removal of a path under ``root`` fail this process."""
    roots = (os.path.abspath(root), os.path.realpath(root))  # resolved now: realpath itself calls lstat

    def inside(path) -> bool:
        return not isinstance(path, int) and os.path.abspath(os.fspath(path)).startswith(roots)

    def guard(fn):
        def checked(path, *args, **kwargs):
            if inside(path):
                raise AssertionError(f"rank 1 touched {path}")
            return fn(path, *args, **kwargs)
        return checked

    builtins.open = guard(builtins.open)
    for name in ("open", "stat", "lstat", "listdir", "scandir", "mkdir", "makedirs", "replace", "rename",
                 "remove", "unlink", "rmdir"):
        setattr(os, name, guard(getattr(os, name)))


def _rank(rank: int, world: int, port: int, argv: list[str], run_dir: str) -> None:
    """One rank, as torchrun would start it."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    if rank:
        _forbid(Path(run_dir))
    code = cli.main(argv)
    if code:
        raise SystemExit(code)


def _two_ranks(argv: list[str], run_dir: Path) -> None:
    ctx = mp.start_processes(_rank, args=(2, distributed.free_port(), argv, str(run_dir)), nprocs=2,
                             join=False, start_method="spawn")
    deadline = time.monotonic() + DEADLINE
    try:
        while not ctx.join(timeout=1):
            assert time.monotonic() < deadline, "two-process training did not finish in time"
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
            p.join()


def _failure(stderr: str) -> str:
    """What a failed torchrun printed, without its own report (which would hide the rank's message)."""
    own = [line for line in stderr.splitlines() if "torch/distributed/" not in line and "Traceback" not in line]
    return "\n".join(own[:40] + ["..."] + own[-20:])


def _saved(run_dir: Path) -> dict[str, torch.Tensor]:
    return dict(runs.load_run(run_dir).model.state_dict())


@pytest.fixture(scope="module")
def two_rank_run(corpus, tmp_path_factory):
    """Six steps on two processes, global batch 8 (4 per rank)."""
    out = tmp_path_factory.mktemp("ddp") / "run"
    _two_ranks(_argv(corpus, out, 6), out)
    return out


def test_two_processes_train_like_one_on_the_same_global_batch(two_rank_run, corpus, tmp_path, one_torch_thread):
    config = build_config(overrides={**SETTINGS, "task.data": str(corpus), "train.steps": 6})
    single = Trainer(config, tmp_path / "single")
    draw = single.task.train_batch
    gens = [torch.Generator().manual_seed(SEED + rank) for rank in range(2)]  # what each rank draws from

    def both_ranks(batch_size, _generator, _by_length=False):
        parts = [draw(batch_size // 2, g) for g in gens]
        return Batch(None, None, torch.cat([p.tgt_in for p in parts]), torch.cat([p.tgt_out for p in parts]),
                     sum(p.n_tokens for p in parts))

    single.task.train_batch = both_ranks
    single.run()
    expected = dict(single.model.state_dict())
    got = _saved(two_rank_run)
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, atol=1e-5, rtol=1e-4, msg=f"{name} differs")
    assert runs.read_status(two_rank_run).status == "completed"
    steps = [r.step for r in read_records(two_rank_run).of(TrainRecord)]
    assert steps == sorted(set(steps)) and steps[-1] == 6, "one writer: no metric line twice"


def test_a_resumed_two_process_run_continues_as_if_uninterrupted(two_rank_run, corpus, tmp_path):
    out = tmp_path / "run"
    _two_ranks(_argv(corpus, out, 3), out)
    assert runs.read_trainer_state(out)["step"] == 3
    launched = subprocess.run([sys.executable, "-m", "workbench.cli", *_argv(corpus, out, 6, resume=True),
                               "--nproc", "2"], cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert launched.returncode == 0, _failure(launched.stderr)
    resumed, straight = _saved(out), _saved(two_rank_run)
    for name, value in straight.items():
        torch.testing.assert_close(resumed[name], value, atol=1e-6, rtol=1e-5, msg=f"{name} differs")

    warnings = []  # the same run goes on in one process: it trains on, and says what changed
    trainer = Trainer.resume(out, steps=8, on_event=lambda e: warnings.append(e) if isinstance(e, Warned) else None)
    assert trainer.run().step == 8
    assert any("saved on 2 processes on 1" in w.message for w in warnings)


def test_a_global_batch_that_does_not_split_is_refused_in_one_line(corpus, tmp_path, capsys):
    code = cli.main(_argv(corpus, tmp_path / "run", 4) + ["--set", "train.batch_size=7", "--nproc", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "7 does not split evenly across 2 processes" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_the_launcher_does_not_pass_nproc_on():
    assert distributed.without_nproc(["train", "--nproc", "2", "--steps", "5", "--nproc=3"]) == ["train", "--steps", "5"]


def test_ranks_with_different_token_counts_step_on_the_global_mean(monkeypatch):
    """Padding gives ranks different token counts: the weighted average of their means is still the global mean."""
    w = torch.randn(5, requires_grad=True)
    rows = [torch.randn(3, 5), torch.randn(7, 5)]  # rank 0's batch has 3 target tokens, rank 1's has 7
    means = [((r @ w) ** 2).mean() for r in rows]
    totals = torch.tensor([sum(m.item() * len(r) for m, r in zip(means, rows)), 10.0], dtype=torch.float64)
    monkeypatch.setattr(distributed.dist, "all_reduce", lambda stats, op=None: stats.copy_(totals))
    out = [distributed.token_weighted(distributed.World(rank, 2), means[rank], len(rows[rank])) for rank in range(2)]
    (sum(loss for loss, _, _ in out) / 2).backward()  # what DDP's gradient average computes
    reference = w.detach().clone().requires_grad_(True)
    global_mean = ((torch.cat(rows) @ reference) ** 2).mean()
    global_mean.backward()
    torch.testing.assert_close(w.grad, reference.grad)
    assert out[0][1] == pytest.approx(global_mean.item()) and out[1][2] == 10
