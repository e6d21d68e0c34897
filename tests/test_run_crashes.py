"""Fault injection into the checkpoint save protocol: a crash at every point, alone and followed by a
second crash during the next save or the recovery. Every case must end with a loadable run at its
last complete checkpoint."""

import itertools
import shutil

import pytest

from workbench import runs
from workbench.config import build_config
from workbench.runs import checkpoint as ckpt_mod
from workbench.training import Trainer

TINY = {
    "task.name": "reverse", "task.train_size": 200, "task.val_size": 20, "task.test_size": 20, "task.long_size": 10,
    "task.max_len": 5, "task.long_min": 6, "task.long_max": 7, "model.cell": "gru", "model.attention": "dot",
    "model.hidden": 8, "model.emb_dim": 8, "train.steps": 4, "train.eval_every": 2, "train.batch_size": 8,
    "train.threads": 1, "train.warmup": 1, "train.eval_examples": 20,
}
FIRST_STEP = 4  # the base run's complete checkpoint


class Crash(Exception):
    """The process dies here."""


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("base") / "run"
    Trainer(build_config(overrides=TINY), path).run()
    return path


def _copy(base, tmp_path):
    dest = tmp_path / "run"
    shutil.copytree(base, dest)
    return dest


def _save_args(run, step):
    """The files and trainer state of a later checkpoint (the base run's bytes, a higher step)."""
    current = runs.newest(run)
    files = {n: b for n, b in current.blobs.items() if n.endswith(".safetensors")}
    return files, dict(current.state, step=step)


def _points(run):
    """Every named point one save passes, in order."""
    seen = []
    original = ckpt_mod._reached
    ckpt_mod._reached = seen.append
    try:
        runs.save_checkpoint(run, *_save_args(run, FIRST_STEP + 1))
    finally:
        ckpt_mod._reached = original
    return seen


def _crash_at(monkeypatch, point, nth=1):
    count = {"n": 0}

    def reached(name):
        if name == point:
            count["n"] += 1
            if count["n"] == nth:
                raise Crash(name)

    monkeypatch.setattr(ckpt_mod, "_reached", reached)


def _torn_write_at(monkeypatch, nth):
    """The nth file of a save is cut in half, then the process dies (a crash mid-write)."""
    real, count = ckpt_mod.write_file, {"n": 0}

    def write(path, data):
        count["n"] += 1
        if count["n"] == nth:
            path.write_bytes(data[: len(data) // 2])
            raise Crash(f"torn {path.name}")
        real(path, data)

    monkeypatch.setattr(ckpt_mod, "write_file", write)


@pytest.fixture(scope="module")
def save_points(base_run, tmp_path_factory):
    return _points(_copy(base_run, tmp_path_factory.mktemp("points")))


def _assert_loadable(run, allowed):
    loaded = runs.load_run(run)
    assert loaded.step in allowed, f"loaded step {loaded.step}, expected one of {allowed}"
    return loaded.step


def test_the_protocol_has_the_expected_points(save_points):
    assert save_points[0] == "mkdir" and "manifest" in save_points and "renamed" in save_points
    assert save_points.index("manifest") < save_points.index("moved aside") < save_points.index("renamed")


def test_a_crash_at_every_point_of_a_save_leaves_a_loadable_run(base_run, save_points, tmp_path, monkeypatch):
    cases = [("point", p) for p in save_points] + [("torn", n) for n in range(1, 6)]
    survived = 0
    for i, (kind, where) in enumerate(cases):
        run = _copy(base_run, tmp_path / str(i))
        with monkeypatch.context() as m:
            (_crash_at(m, where) if kind == "point" else _torn_write_at(m, where))
            with pytest.raises(Crash):
                runs.save_checkpoint(run, *_save_args(run, FIRST_STEP + 1))
        complete_new = kind == "point" and save_points.index(where) >= save_points.index("manifest")
        _assert_loadable(run, {FIRST_STEP + 1} if complete_new else {FIRST_STEP})
        survived += 1
    assert survived == len(cases) == len(save_points) + 5


def test_a_second_crash_during_the_next_save_or_recovery_loses_nothing(base_run, save_points, tmp_path, monkeypatch):
    """Crash at P in one save, then at Q in the next save (or in the recovery a resume runs): still loadable."""
    pairs = list(itertools.product(save_points, save_points + ["recovery:" + q for q in ("moved aside", "renamed")]))
    fired = 0
    for i, (first, second) in enumerate(pairs):
        run = _copy(base_run, tmp_path / str(i))
        with monkeypatch.context() as m:
            _crash_at(m, first)
            with pytest.raises(Crash):
                runs.save_checkpoint(run, *_save_args(run, FIRST_STEP + 1))
        after_first = runs.load_run(run).step
        with monkeypatch.context() as m:
            if second.startswith("recovery:"):
                _crash_at(m, second.split(":", 1)[1])
                try:
                    runs.recover(run)
                except Crash:
                    fired += 1
            else:
                _crash_at(m, second)
                try:  # a point may not be passed (nothing to move aside when `checkpoint` is gone)
                    runs.save_checkpoint(run, *_save_args(run, FIRST_STEP + 2))
                except Crash:
                    fired += 1
        allowed = {after_first, FIRST_STEP + 2} if not second.startswith("recovery:") else {after_first}
        _assert_loadable(run, allowed)
        runs.recover(run)  # the next writer tidies up: one complete checkpoint, at the newest step
        assert [p.name for p in ckpt_mod.candidates(run)] == ["checkpoint"]
        _assert_loadable(run, allowed)
    assert len(pairs) == len(save_points) * (len(save_points) + 2) and fired > len(pairs) * 3 // 4
    print(f"double crashes: {len(pairs)} pairs, {fired} second crashes fired, all loadable")


def test_a_crash_while_training_saves_then_resume_finishes_the_run(base_run, tmp_path, monkeypatch):
    run = _copy(base_run, tmp_path)
    cfg = runs.load_config(run)
    cfg.train.steps = 8
    runs.atomic_write(run / runs.CONFIG, cfg.to_toml())
    with monkeypatch.context() as m:
        _crash_at(m, "moved aside")  # between the two renames: no `checkpoint` directory at all
        with pytest.raises(Crash):
            Trainer.resume(run).run()
    assert not (run / "checkpoint").exists() and runs.load_run(run).step == 6
    assert runs.read_status(run).status == "failed"
    end = Trainer.resume(run).run()
    assert end.reason == "completed" and runs.load_run(run).step == 8
