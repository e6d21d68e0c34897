"""The trainer: exact resume, NaN handling, pause/stop from another thread, checkpoints that load."""

import math
import threading

import pytest
import torch

from workbench import runs, training
from workbench.config import build_config
from workbench.errors import RunError
from workbench.events import CheckpointSaved, Evaluated, Progress, StatusChanged, TrainFinished
from workbench.records import TrainRecord, read_records
from workbench.training import Trainer

TINY = {
    "task.name": "reverse", "task.train_size": 400, "task.val_size": 40, "task.test_size": 40, "task.long_size": 20,
    "task.max_len": 6, "task.long_min": 7, "task.long_max": 8,
    "model.cell": "gru", "model.attention": "general", "model.hidden": 16, "model.emb_dim": 8, "model.dropout": 0.1,
    "train.steps": 16, "train.eval_every": 8, "train.batch_size": 16, "train.threads": 1, "train.warmup": 2,
    "train.eval_examples": 40,
}


def tiny_config(**extra):
    return build_config(overrides={**TINY, **{k.replace("__", "."): v for k, v in extra.items()}})


@pytest.fixture(autouse=True)
def every_step_progress(monkeypatch):
    monkeypatch.setattr(training, "PROGRESS_INTERVAL", 0.0)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_interrupted_and_resumed_run_matches_uninterrupted(tmp_path):
    straight = Trainer(tiny_config(), tmp_path / "a")
    end_a = straight.run()

    events = []

    def stop_at_5(event):
        events.append(event)
        if isinstance(event, Progress) and event.step == 5:
            interrupted.stop()

    interrupted = Trainer(tiny_config(), tmp_path / "b", on_event=stop_at_5)
    first = interrupted.run()
    assert first.reason == "stopped" and first.step == 5
    assert any(isinstance(e, CheckpointSaved) and e.reason == "stop" for e in events)

    resumed = Trainer.resume(tmp_path / "b")
    end_b = resumed.run()
    assert end_b.reason == "completed" and end_b.step == 16
    assert end_b.final["val"] == pytest.approx(end_a.final["val"], abs=1e-6)
    for k, v in _weights(straight.model).items():
        torch.testing.assert_close(_weights(resumed.model)[k], v, atol=1e-6, rtol=0)
    steps = [r.step for r in read_records(tmp_path / "b").of(TrainRecord)]
    assert steps == sorted(steps) and len(steps) == len(set(steps)), "resume must not duplicate metric lines"


def _poison_loss(monkeypatch, bad_calls):
    real = training.sequence_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * float("nan") if calls["n"] in bad_calls else loss

    monkeypatch.setattr(training, "sequence_loss", poisoned)


def test_one_nan_step_is_skipped_not_applied(tmp_path, monkeypatch):
    _poison_loss(monkeypatch, {11})
    end = Trainer(tiny_config(), tmp_path / "run").run()
    assert end.reason == "completed"
    assert runs.read_trainer_state(tmp_path / "run")["skipped"] == 1
    assert read_records(tmp_path / "run").of(TrainRecord)[-1].skipped == 1
    assert all(torch.isfinite(p).all() for p in runs.load_run(tmp_path / "run").model.parameters())


def test_nan_streak_stops_as_diverged_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    _poison_loss(monkeypatch, set(range(11, 100)))  # evaluation computes its own loss
    trainer = Trainer(tiny_config(), tmp_path / "run")
    end = trainer.run()
    assert end.reason == "diverged" and "step 11" in end.message and "step 8" in end.message
    assert "--lr" in end.message and "5 steps in a row" in end.message
    loaded = runs.load_run(tmp_path / "run")
    assert loaded.step == 8
    assert all(torch.isfinite(p).all() for p in loaded.model.parameters())
    assert runs.read_status(tmp_path / "run").status == "diverged"


def test_pause_resume_stop_from_another_thread(tmp_path):
    seen = []
    gate = threading.Event()

    def listener(event):
        seen.append(event)
        if isinstance(event, Progress) and event.step == 3:
            trainer.pause()
            gate.set()

    trainer = Trainer(tiny_config(train__steps=1000), tmp_path / "run", on_event=listener)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert gate.wait(30)
    while not any(isinstance(e, StatusChanged) and e.status == "paused" for e in seen):
        worker.join(0.01)
    step_when_paused = trainer.step
    worker.join(0.2)
    assert trainer.step == step_when_paused, "no steps while paused"
    trainer.unpause()
    trainer.stop()
    worker.join(30)
    assert not worker.is_alive()
    assert isinstance(seen[-1], TrainFinished) and seen[-1].reason == "stopped"


def test_eval_reports_task_metrics_and_samples(tmp_path):
    events = []
    Trainer(tiny_config(), tmp_path / "run", on_event=events.append).run()
    evals = [e for e in events if isinstance(e, Evaluated) and e.split == "val"]
    assert evals and {"loss", "ppl", "accuracy", "exact_match"} <= set(evals[0].metrics)
    assert evals[0].samples and evals[0].samples[0].source
    assert math.isclose(evals[0].metrics["ppl"], math.exp(evals[0].metrics["loss"]), rel_tol=1e-6)
    finished = events[-1]
    assert {"val", "test", "long"} <= set(finished.final)


def test_scheduled_sampling_trains_through_step_path(tmp_path):
    end = Trainer(tiny_config(train__teacher_forcing=0.5, train__steps=4, train__eval_every=4), tmp_path / "r").run()
    assert end.reason == "completed" and math.isfinite(end.final["val"]["loss"])


def test_checkpoint_from_a_different_architecture_is_refused(tmp_path):
    Trainer(tiny_config(train__steps=2, train__eval_every=2), tmp_path / "run").run()
    cfg_file = tmp_path / "run" / "config.toml"
    cfg_file.write_text(cfg_file.read_text().replace("hidden = 16", "hidden = 24"))
    with pytest.raises(RunError, match="does not fit the run's architecture"):
        runs.load_run(tmp_path / "run")


def test_lm_task_reports_bits_per_char(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    cfg = build_config(overrides={"task.name": "charlm", "task.data": str(text), "task.block": 16,
                                  "model.hidden": 16, "model.emb_dim": 8, "model.layers": 1,
                                  "train.steps": 4, "train.eval_every": 4, "train.batch_size": 4, "train.threads": 1})
    events = []
    end = Trainer(cfg, tmp_path / "lm", on_event=events.append).run()
    assert "bpc" in end.final["val"]
    assert math.isclose(end.final["val"]["bpc"], end.final["val"]["loss"] / math.log(2))
    samples = [e for e in events if isinstance(e, Evaluated)][0].samples
    assert samples and samples[0].prediction


def test_probe_alignments_are_recorded_at_step_0_early_and_at_each_evaluation(tmp_path):
    from workbench.probes import read_probes

    trainer = Trainer(tiny_config(), tmp_path / "run")  # evaluates every 8 steps
    trainer.run()
    saved = read_probes(tmp_path / "run")
    assert [s.step for s in saved] == [s.step for s in trainer.probes] == [0, 8, 10, 16]
    probe = saved[-1].probes[0]
    L, H, T, S = probe.attention.shape
    assert (T, S) == (len(probe.target_tokens), len(probe.source_tokens)) and probe.target_tokens[-1] == "<eos>"
    assert abs(probe.attention.sum(-1) - 1).max() < 5e-3


def test_evaluation_does_not_depend_on_batching_and_shows_the_first_examples():
    from workbench.decoding import greedy_decode_batch
    from workbench.metrics import evaluate

    trainer = Trainer(tiny_config(train__steps=200, train__eval_every=1000, train__lr=1e-2), None)
    trainer.run()
    model, task = trainer.model.eval(), trainer.task
    small = evaluate(model, task, "test", limit=40, batch_size=3, device="cpu", samples=4)
    large = evaluate(model, task, "test", limit=40, batch_size=256, device="cpu", samples=4)
    for name, value in small.metrics.items():
        assert large.metrics[name] == pytest.approx(value, abs=1e-5)
    examples = task.examples("test")[:4]
    assert [s.source for s in large.samples] == [task.detokenize(ex.src) for ex in examples]
    # exact match counted one example at a time, in split order
    v = task.tgt_vocab
    exact = 0
    for ex in task.examples("test")[:40]:
        src = torch.tensor([task.src_vocab.encode(ex.src)])
        pred = greedy_decode_batch(model, src, torch.tensor([src.shape[1]]), bos_id=v.bos_id, eos_id=v.eos_id,
                                   max_len=int(task.max_target_len("test") * 1.5) + 5)[0]
        exact += int(v.decode(pred) == list(ex.tgt))
    assert 0 < exact < 40, "a half-trained model, so that pairing a prediction with the wrong reference shows"
    assert large.metrics["exact_match"] == pytest.approx(exact / 40)


def test_a_resumed_run_does_not_probe_a_step_twice(tmp_path):
    from workbench.probes import read_probes

    def stop_at_10(event):
        if isinstance(event, Progress) and event.step == 10:
            first.stop()

    first = Trainer(tiny_config(), tmp_path / "run", on_event=stop_at_10)
    first.run()
    Trainer.resume(tmp_path / "run").run()
    assert [s.step for s in read_probes(tmp_path / "run")] == [0, 8, 10, 16]


def test_probe_schedule_is_dense_early_and_leaves_evaluations_to_the_evaluator():
    from workbench.probes import probe_steps

    assert sorted(probe_steps(200)) == [0, 10, 25, 50, 100]
    assert sorted(probe_steps(50)) == [0, 10, 25]  # 50 and 100 are evaluations: they probe anyway


def test_steepest_entropy_drop_is_where_attention_sharpened_fastest():
    import numpy as np

    from workbench.probes import ProbeAlignment, ProbeSnapshot, entropy_curve, steepest_drop

    def snap(step, sharp):
        att = np.full((1, 1, 4, 4), (1 - sharp) / 4, dtype=np.float32) + sharp * np.eye(4, dtype=np.float32)
        return ProbeSnapshot(step, [ProbeAlignment(list("abcd"), list("abc") + ["<eos>"], att[None][0])])

    curve = entropy_curve([snap(0, 0.0), snap(10, 0.05), snap(50, 0.9), snap(100, 0.95)])
    assert abs(curve[0][1] - np.log(4)) < 1e-6 and curve[-1][1] < curve[0][1]
    drop = steepest_drop(curve)
    assert (drop.start, drop.end) == (10, 50) and drop.before > drop.after
    assert steepest_drop([(0, 1.0), (10, 1.2)]) is None
