"""A run's status after every way training ends, its lock, and what a run needs to be used elsewhere."""

import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from workbench import runs, training
from workbench.cli import main
from workbench.config import build_config
from workbench.errors import RunError
from workbench.events import Progress, StatusChanged
from workbench.training import Trainer

TINY = {
    "task.name": "reverse", "task.train_size": 200, "task.val_size": 20, "task.test_size": 20, "task.long_size": 10,
    "task.max_len": 5, "task.long_min": 6, "task.long_max": 7, "model.cell": "gru", "model.attention": "dot",
    "model.hidden": 8, "model.emb_dim": 8, "train.steps": 4, "train.eval_every": 2, "train.batch_size": 8,
    "train.threads": 1, "train.warmup": 1, "train.eval_examples": 20,
}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def every_step_progress(monkeypatch):
    monkeypatch.setattr(training, "PROGRESS_INTERVAL", 0.0)


def tiny(**extra):
    return build_config(overrides={**TINY, **{k.replace("__", "."): v for k, v in extra.items()}})


def listed(capsys, root):
    """{run name: status} as `seqbench runs` prints it; it must agree with the app's list (summarize)."""
    assert main(["runs", "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out
    summaries = {s.path.name: s.status for s in runs.list_runs(root)}
    for name, status in summaries.items():
        line = next(line for line in out.splitlines() if line.split()[:1] == [name] and "┃" not in line)
        assert status in line
    return summaries


def test_status_after_completed_stopped_diverged_failed_and_paused(tmp_path, capsys, monkeypatch):
    Trainer(tiny(), tmp_path / "done").run()

    def stop_at_2(e):
        if isinstance(e, Progress) and e.step == 2:
            stopper.stop()

    stopper = Trainer(tiny(train__steps=50), tmp_path / "stopped", on_event=stop_at_2)
    stopper.run()

    with monkeypatch.context() as m:
        m.setattr(Trainer, "_train_step", lambda self: (math.nan, math.nan, 1))
        Trainer(tiny(train__steps=20), tmp_path / "diverged").run()
    with monkeypatch.context() as m:
        def boom(self):
            raise RuntimeError("simulated out of memory")
        m.setattr(Trainer, "_train_step", boom)
        with pytest.raises(RuntimeError):
            Trainer(tiny(), tmp_path / "failed").run()
    assert listed(capsys, tmp_path) == {"done": "completed", "stopped": "stopped", "diverged": "diverged",
                                        "failed": "failed"}
    assert "out of memory" in runs.read_status(tmp_path / "failed").message
    assert runs.summarize(tmp_path / "stopped").step == 2


def test_a_paused_run_says_paused_and_running_again_when_unpaused(tmp_path, capsys):
    seen = threading.Event()

    def on_event(e):
        if isinstance(e, Progress) and e.step == 2:
            trainer.pause()
        if isinstance(e, StatusChanged) and e.status == "paused":
            seen.set()

    trainer = Trainer(tiny(train__steps=1000), tmp_path / "p", on_event=on_event)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert seen.wait(30)
    assert listed(capsys, tmp_path) == {"p": "paused"}
    trainer.unpause()
    trainer.stop()
    worker.join(30)
    assert listed(capsys, tmp_path) == {"p": "stopped"}


@pytest.mark.parametrize("save", [True, False])
def test_the_app_quitting_leaves_stopped_or_interrupted(tmp_path, save):
    from workbench.live import TrainingSession

    session = TrainingSession()

    def on_ready(trainer, records):
        session.trainer = trainer

    def on_event(event):
        if isinstance(event, Progress) and event.step >= 3:
            session.abort(save=save)

    reason = session.train(lambda on_event: Trainer(tiny(train__steps=1000), tmp_path / "r", on_event=on_event),
                           lambda: False, on_event=on_event, on_ready=on_ready, on_failed=print)
    assert reason == "aborted"
    status = runs.read_status(tmp_path / "r")
    assert status.status == ("stopped" if save else "interrupted")
    step = runs.load_run(tmp_path / "r").step
    assert step == status.step if save else step < status.step  # without saving: the last evaluation's


def _spawn(tmp_path, *extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sets = [f"--set={k}={v}" for k, v in {**TINY, "train.steps": 100000, "train.eval_every": 10}.items()]
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", "train", "--out", str(tmp_path / "run"),
                             "--quiet", *sets, *extra], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_training(tmp_path, proc):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = runs.read_trainer_state(tmp_path / "run")
        if state and state["step"] >= 10:  # past the first evaluation: the loop is running
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("training did not start")


@pytest.mark.parametrize("how", ["ctrl-c", "ctrl-c twice", "hangup", "kill -9"])
def test_status_after_signals(tmp_path, capsys, how):
    proc = _spawn(tmp_path)
    _wait_training(tmp_path, proc)
    if how == "kill -9":
        proc.kill()
    else:
        sig = signal.SIGHUP if how == "hangup" else signal.SIGINT
        proc.send_signal(sig)
        if how == "ctrl-c twice":
            time.sleep(0.05)
            proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    expected = {"ctrl-c": [("stopped", 0)], "hangup": [("stopped", 0)], "kill -9": [("interrupted", -9)],
                # the second Ctrl+C interrupts the stop, unless a loaded machine delivers it after the
                # stop already finished: then the run is rightly "stopped" and the exit stays clean
                "ctrl-c twice": [("interrupted", 130), ("stopped", 0)]}[how]
    assert b"Traceback" not in err, err.decode()
    assert (listed(capsys, tmp_path)["run"], proc.returncode) in expected
    step = runs.load_run(tmp_path / "run").step
    assert step >= 10
    assert main(["train", "--resume", str(tmp_path / "run"), "--quiet", "--steps", str(step + 2)]) == 0
    assert listed(capsys, tmp_path)["run"] == "completed"


def test_a_second_writer_gets_one_line_naming_the_holder_and_a_stale_lock_is_taken_over(tmp_path, capsys):
    Trainer(tiny(), tmp_path / "run").run()
    first = Trainer.resume(tmp_path / "run", steps=6)
    with pytest.raises(RunError, match=f"being trained by process {os.getpid()}"):
        Trainer.resume(tmp_path / "run")
    assert main(["train", "--resume", str(tmp_path / "run"), "--quiet"]) == 2
    assert f"process {os.getpid()}" in capsys.readouterr().err
    first.run()  # releases the lock
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "run" / "lock").write_text(f'{{"pid": {dead.pid}, "host": "{os.uname().nodename}", "started": 1}}')
    assert Trainer.resume(tmp_path / "run", steps=8).run().step == 8
    assert not (tmp_path / "run" / "lock").exists()
    steps = [r.step for r in __import__("workbench.records", fromlist=["x"]).read_records(tmp_path / "run").records]
    assert steps == sorted(steps)


def test_out_onto_an_existing_run_refuses_and_changes_nothing(tmp_path, capsys):
    Trainer(tiny(), tmp_path / "run").run()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()}
    argv = ["train", "--out", str(tmp_path / "run"), "--quiet"] + [f"--set={k}={v}" for k, v in TINY.items()]
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()} == before


def test_a_resumed_total_is_kept_and_shown(tmp_path, capsys):
    Trainer(tiny(), tmp_path / "run").run()
    Trainer.resume(tmp_path / "run", steps=6).run()
    assert runs.summarize(tmp_path / "run").total_steps == 6 and runs.summarize(tmp_path / "run").step == 6
    assert runs.load_config(tmp_path / "run").train.steps == 6  # a later resume without --steps keeps it
    main(["runs", "--runs-dir", str(tmp_path)])
    assert "6/6" in capsys.readouterr().out


def test_run_names_resolve_under_the_runs_root(tmp_path, capsys, monkeypatch):
    Trainer(tiny(), tmp_path / "named").run()
    monkeypatch.setenv("SEQBENCH_RUNS", str(tmp_path))
    monkeypatch.chdir(tmp_path.parent)
    assert main(["decode", "named", "--input", "abc"]) == 0
    assert main(["train", "--resume", "named", "--quiet", "--steps", "6"]) == 0
    assert runs.check_run_dir("named") == tmp_path / "named"
    capsys.readouterr()
    assert main(["decode", "nope", "--input", "abc"]) == 2
    assert "run not found" in capsys.readouterr().err


def test_a_tsv_run_decodes_without_its_data_file(tmp_path, capsys):
    data = tmp_path / "pairs.tsv"
    data.write_text("".join(f"{w}\t{w[::-1]}\n" for w in ("abc", "bca", "cab", "acb", "bac", "cba", "aab", "bba") * 3))
    cfg = build_config(overrides={**{k: v for k, v in TINY.items() if not k.startswith("task.")},
                                  "task.name": "tsv", "task.data": str(data), "task.val_size": 2, "task.test_size": 2})
    Trainer(cfg, tmp_path / "run").run()
    moved = tmp_path / "elsewhere"
    shutil.move(str(tmp_path / "run"), moved)
    data.unlink()
    assert main(["decode", str(moved), "--input", "abc"]) == 0
    capsys.readouterr()
    assert main(["decode", str(moved), "--example", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "data file" in err and "--input" in err


def test_eta_honours_the_time_limit(tmp_path):
    etas = []
    end = Trainer(tiny(train__steps=100000, train__eval_every=100000, train__max_seconds=1.0), tmp_path / "r",
                  on_event=lambda e: etas.append(e.eta) if isinstance(e, Progress) else None).run()
    assert end.reason == "time-limit" and etas and max(etas) <= 1.0
    assert runs.read_status(tmp_path / "r").status == "stopped"


def test_non_finite_gradients_are_not_applied(tmp_path, monkeypatch):
    real = torch.nn.utils.clip_grad_norm_
    calls = {"n": 0}
    before = {}

    def poisoned(params, max_norm):
        params = list(params)
        calls["n"] += 1
        if calls["n"] == 3:
            before.update({i: p.detach().clone() for i, p in enumerate(params)})
            for p in params:
                if p.grad is not None:
                    p.grad.fill_(math.inf)
        return real(params, max_norm)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", poisoned)
    trainer = Trainer(tiny(train__steps=3, train__eval_every=10), tmp_path / "r")
    trainer.run()
    assert trainer.skipped == 1
    for i, p in enumerate(trainer.model.parameters()):
        assert torch.equal(p.detach(), before[i]), "the non-finite step changed a weight"


def test_a_diverging_learning_rate_ends_as_diverged_with_a_finite_checkpoint(tmp_path, capsys):
    argv = ["train", "--out", str(tmp_path / "run"), "--quiet", "--lr", "1e30", "--clip", "0"]
    argv += [f"--set={k}={v}" for k, v in {**TINY, "train.steps": 40, "train.eval_every": 2}.items()]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "--lr" in out and runs.read_status(tmp_path / "run").status == "diverged"
    loaded = runs.load_run(tmp_path / "run")
    assert all(torch.isfinite(p).all() for p in loaded.model.parameters())
    assert main(["decode", str(tmp_path / "run"), "--input", "abc"]) == 0
    assert "nan" not in capsys.readouterr().out
