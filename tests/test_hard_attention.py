"""Hard attention: the decoder reads the one source position it chose, the argmax of what the trace shows."""

import pytest
import torch

from models import ConfigError, ModelConfig, build_model, validate_config

TINY = dict(family="seq2seq", cell="gru", emb_dim=8, hidden=12, src_vocab=11, tgt_vocab=13, bidirectional=True)


def _batch(B=3, S=6, T=5):
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([S, S - 2, 2])
    src = torch.randint(1, 11, (B, S), generator=g)
    src[torch.arange(S).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
    return src, lengths, torch.randint(1, 13, (B, T), generator=g)


@pytest.mark.parametrize("attention", ["general", "additive", "local"])
@pytest.mark.parametrize("estimator", ["gumbel", "reinforce"])
def test_the_chosen_position_is_the_argmax_of_the_traced_distribution(attention, estimator):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, attention=attention, hard_attention=estimator)).eval()
    src, lengths, tgt_in = _batch()
    with torch.no_grad():
        state = model.start(src, lengths)
        for t in range(tgt_in.shape[1]):
            out = model.step(state, tgt_in[:, t])
            dist = out.trace.cross_attention[:, 0, 0]  # (B, S)
            assert torch.equal(out.trace.chosen, dist.argmax(-1))
            assert (out.trace.chosen < lengths).all()  # never a padding position
            # the context is exactly the value at the chosen position
            values = state["att_values"]  # (B, S, Dv)
            torch.testing.assert_close(out.trace.context, values[torch.arange(3), out.trace.chosen])
            state = out.state


def test_gumbel_training_reads_one_position_and_still_trains_the_scorer():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, attention="general", hard_attention="gumbel")).train()
    src, lengths, tgt_in = _batch()
    state = model.start(src, lengths)
    query = state["h"][:, -1]  # (B, D)
    att = model.attention(query, state["att_keys"], state["att_values"], state["src_mask"], lengths)
    values = state["att_values"]
    torch.testing.assert_close(att.context, values[torch.arange(3), att.chosen])  # forward: one-hot exactly
    model(src, lengths, tgt_in).sum().backward()
    assert model.attention.soft.W.weight.grad.abs().sum() > 0  # backward: through the relaxation


def test_gumbel_temperature_anneals_from_start_to_end():
    model = build_model(ModelConfig(**TINY, attention="general", hard_attention="gumbel",
                                    hard_tau_start=2.0, hard_tau_end=0.5))
    assert model.schedule(0.0) == {"temperature": 2.0}
    assert model.schedule(0.5)["temperature"] == pytest.approx(1.0)
    assert model.schedule(1.0)["temperature"] == pytest.approx(0.5)


def test_reinforce_adds_a_surrogate_loss_that_trains_the_scorer_and_moves_the_baseline():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, attention="additive", hard_attention="reinforce")).train()
    src, lengths, tgt_in = _batch()
    logits = model(src, lengths, tgt_in)
    targets = torch.randint(1, 13, tgt_in.shape)
    targets[2, 3:] = 0  # padding takes no part
    extra = model.extra_loss(logits, targets, pad_id=0)
    assert extra is not None and extra.dim() == 0 and torch.isfinite(extra)
    extra.backward()
    assert model.attention.soft.v.weight.grad.abs().sum() > 0
    assert float(model.attention.baseline) != 0.0
    shown = model.schedule(0.5)
    assert set(shown) == {"baseline", "advantage var"} and shown["advantage var"] >= 0
    assert model.extra_loss(logits, targets, pad_id=0) is None  # one surrogate per forward pass


def test_soft_models_add_nothing():
    model = build_model(ModelConfig(**TINY, attention="general"))
    src, lengths, tgt_in = _batch()
    assert model.schedule(0.3) == {} and model.extra_loss(model(src, lengths, tgt_in), tgt_in, 0) is None


@pytest.mark.parametrize("changes", [dict(attention="multihead"), dict(attention="none"),
                                     dict(cell="transformer", attention="multihead")])
def test_hard_attention_needs_a_single_head_rnn_attention(changes):
    with pytest.raises(ConfigError, match="model.hard_attention"):
        validate_config(ModelConfig(**{**TINY, **changes}, hard_attention="gumbel"))


def test_the_inspector_marks_the_position_read_on_the_alignment(tmp_path):
    import numpy as np

    from conftest import inspected_untrained
    from workbench.decoding.panels import ViewOptions, attention_grid
    from workbench.tui.widgets.inspector.heatmap import AttentionHeatmap

    ins = inspected_untrained(tmp_path / "run", hard_attention="gumbel")
    grid = attention_grid(ins, ViewOptions())
    assert grid.marks == [int(np.argmax(row)) for row in grid.values] and "hard" in grid.title
    heat = AttentionHeatmap()
    heat.show(grid.values, grid.rows, grid.cols, current=grid.current, title=grid.title, marks=grid.marks)
    drawn = "".join(strip.text for strip in heat.build(80, 30))
    assert drawn.count("●") >= min(len(grid.rows), 20)


def test_training_shows_the_annealed_temperature(tmp_path):
    from workbench import events as ev
    from workbench.config import build_config
    from workbench.training import Trainer
    from workbench.tui.widgets.run_stats import RunStats

    cfg = build_config(overrides={"task.name": "reverse", "task.train_size": "200", "task.val_size": "20",
                                  "task.test_size": "20", "task.long_size": "0", "model.hidden": "16",
                                  "model.emb_dim": "8", "model.hard_attention": "gumbel", "train.steps": "8",
                                  "train.eval_every": "8", "train.batch_size": "8", "train.threads": "1"})
    seen = []
    trainer = Trainer(cfg, on_event=lambda e: seen.append(e) if isinstance(e, ev.Progress) else None,
                      runs_root=tmp_path)
    trainer.PROGRESS_INTERVAL = 0
    trainer.run()
    temps = [e.shown["temperature"] for e in seen]
    assert temps and all(0.1 <= t <= 1.0 for t in temps) and temps == sorted(temps, reverse=True)

    class Session:  # what the dashboard's stats panel reads
        status, step, total_steps, live, device, last_eval, best = "running", 8, 8, True, "", None, None
        progress = seen[-1]

    assert ("temperature", f"{temps[-1]:.3g}") in RunStats.pairs(Session())


def test_sampled_positions_follow_the_traced_distribution_and_repeat_with_the_seed():
    from models.hard_attention import sampling_positions

    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, attention="general", hard_attention="reinforce")).eval()
    src, lengths, tgt_in = _batch()

    def chosen_with(seed):
        out = []
        with torch.no_grad(), sampling_positions(model, torch.Generator().manual_seed(seed)):
            state = model.start(src, lengths)
            for t in range(tgt_in.shape[1]):
                step = model.step(state, tgt_in[:, t])
                values = state["att_values"]  # (B, S, Dv): the context is the value at the drawn position
                torch.testing.assert_close(step.trace.context, values[torch.arange(3), step.trace.chosen])
                out.append(step.trace.chosen)
                state = step.state
        return torch.stack(out, 1)  # (B, T)

    first = chosen_with(3)
    assert torch.equal(first, chosen_with(3)) and (first < lengths.unsqueeze(1)).all()
    draws = torch.cat([chosen_with(seed) for seed in range(40)], 1)  # (B, 40 T)
    assert len(set(draws[0].tolist())) > 1  # an untrained scorer is spread out: not always its argmax
    with torch.no_grad():  # outside the block the argmax is back
        out = model.step(model.start(src, lengths), tgt_in[:, 0])
    assert torch.equal(out.trace.chosen, out.trace.cross_attention[:, 0, 0].argmax(-1))
    with pytest.raises(ValueError, match="no hard attention"):
        with sampling_positions(build_model(ModelConfig(**TINY, attention="general")), torch.Generator()):
            pass


def test_a_sampling_session_steps_back_and_forth_to_the_same_positions(tmp_path):
    from dataclasses import replace

    from conftest import inspected_untrained

    ins = inspected_untrained(tmp_path / "run", hard_attention="gumbel")
    ins.set_options(hard_sample=True, seed=5)
    session = ins.session
    session.run()
    before = [int(r.trace.chosen[0]) for r in session.records]
    while session.records:
        session.back()
    session.run()
    assert [int(r.trace.chosen[0]) for r in session.records] == before
    plain = ins.job.session(ins.model, ins.task, replace(session.config, hard_sample=False))
    plain.run()
    argmax = [int(r.trace.cross_attention[0, 0, 0].argmax()) for r in plain.records]
    assert [int(r.trace.chosen[0]) for r in plain.records] == argmax


def test_decode_samples_hard_attention_on_request_and_writes_positions_as_integers(capsys, tmp_path):
    import json

    from conftest import inspected_untrained
    from workbench.cli import main

    run = tmp_path / "run"
    inspected_untrained(run, hard_attention="reinforce")
    files = {}
    for name, extra in (("argmax", []), ("a", ["--hard-sample", "--seed", "2"]), ("b", ["--hard-sample", "--seed", "2"])):
        files[name] = tmp_path / f"{name}.json"
        assert main(["decode", str(run), "--input", "abcdefgh", "--max-len", "8", "--json", str(files[name]), *extra]) == 0
    out = capsys.readouterr().out
    assert "hard attention sampled (seed 2)" in out
    data = {name: json.loads(path.read_text()) for name, path in files.items()}
    chosen = {name: [s["trace"]["chosen"] for s in d["steps"]] for name, d in data.items()}
    assert all(isinstance(c, int) for rows in chosen["argmax"] for c in rows)
    assert chosen["a"] == chosen["b"] and chosen["a"] != chosen["argmax"]
    assert all(row == [max(range(8), key=s["trace"]["cross_attention"][0][0][0].__getitem__)]
               for row, s in zip(chosen["argmax"], data["argmax"]["steps"]))


@pytest.mark.parametrize("hard,args,message", [
    ("off", ["--hard-sample"], "needs a model with hard attention"),
    ("gumbel", ["--seed", "3"], "--seed only applies with --sample or --hard-sample"),
])
def test_hard_sampling_mistakes_are_one_line(capsys, tmp_path, hard, args, message):
    from conftest import inspected_untrained
    from workbench.cli import main

    inspected_untrained(tmp_path / "run", hard_attention=hard)
    assert main(["decode", str(tmp_path / "run"), "--input", "abc", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


async def test_the_inspector_samples_hard_attention_with_z():
    from workbench.tasks import TaskConfig, build_task
    from workbench.tui.screens.inspector import InspectorApp
    from workbench.tui.widgets.inspector.heatmap import AttentionHeatmap
    from workbench.tui.widgets.inspector.key_sheet import off_reason
    from workbench.tui.widgets.inspector.status import StatusLine

    task = build_task(TaskConfig(name="reverse", train_size=200, val_size=20, test_size=20, long_size=0, max_len=8))
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="seq2seq", cell="gru", attention="general", hard_attention="gumbel",
                                    src_vocab=len(task.src_vocab), tgt_vocab=len(task.tgt_vocab), emb_dim=8,
                                    hidden=16)).eval()
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("z", "end")
        await pilot.pause()
        ins = app.screen.ins
        assert ins.config.hard_sample and "z~a seed=0" in str(app.screen.query_one(StatusLine).render())
        drawn = [int(r.trace.chosen[0]) for r in ins.records]
        argmax = [int(r.trace.cross_attention[0, 0, 0].argmax()) for r in ins.records]
        assert drawn != argmax  # an untrained scorer is spread out
        assert app.screen.query_one(AttentionHeatmap).marks[:len(drawn)] == drawn
        await pilot.press("z", "end")
        await pilot.pause()
        assert [int(r.trace.chosen[0]) for r in app.screen.ins.records] == \
            [int(r.trace.cross_attention[0, 0, 0].argmax()) for r in app.screen.ins.records]
    soft = build_model(ModelConfig(family="seq2seq", cell="gru", attention="general", src_vocab=len(task.src_vocab),
                                   tgt_vocab=len(task.tgt_vocab), emb_dim=8, hidden=16)).eval()
    app = InspectorApp(soft, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "no hard attention" in off_reason(app.screen, "hard_sample")


def test_the_estimator_is_recorded_and_read_back_over_training(tmp_path):
    import math

    from workbench.live import Curves
    from workbench.records import TrainRecord, append_record, read_records

    append_record(tmp_path, TrainRecord(1, 2.0, shown={"baseline": -2.0, "advantage var": math.nan}))
    append_record(tmp_path, TrainRecord(2, 1.5, shown={"baseline": -1.8, "advantage var": 0.7}))
    append_record(tmp_path, TrainRecord(3, 1.2))
    records = read_records(tmp_path).records
    assert [r.shown for r in records][1:] == [{"baseline": -1.8, "advantage var": 0.7}, {}]
    curves = Curves.from_records(records)
    assert curves.model == {"baseline": [(1, -2.0), (2, -1.8)], "advantage var": [(2, 0.7)]}  # NaN: no point


@pytest.mark.parametrize("shown,title", [({"temperature": 0.5}, "Gumbel"),
                                         ({"baseline": -0.3, "advantage var": 0.2}, "REINFORCE"),
                                         ({}, None)])
async def test_the_dashboard_charts_the_estimator_over_training(shown, title, tmp_path, monkeypatch):
    from workbench import events as ev
    from workbench.live import TrainingSession
    from workbench.tui.app import SeqbenchApp
    from workbench.tui.screens.dashboard import DashboardScreen
    from workbench.tui.widgets.line_chart import LineChart

    monkeypatch.chdir(tmp_path)
    session = TrainingSession(title="reverse")
    session.apply(ev.TrainStarted("runs/reverse-gru-hard", "reverse", "GRU enc-dec + hard general attention",
                                  "CPU (1 thread)", 1000, 0, 300))
    for step in (100, 200, 300):
        values = {k: v * step / 100 for k, v in shown.items()}
        session.apply(ev.Progress(step, 300, 1.0, 0.5, 1e-3, 0.5, 1000.0, 1.0, 1.0, shown=values))
    app = SeqbenchApp(runs_dir="runs")
    for size in ((120, 40), (80, 24)):
        async with app.run_test(size=size) as pilot:
            app.push_screen(DashboardScreen(session))
            await pilot.pause()
            await pilot.pause(0.3)
            chart = app.screen.query_one("#estimator-chart", LineChart)
            assert chart.display == (title is not None)
            if title is not None:
                assert chart.title == title and chart.region.width >= 24 and chart.region.height >= 7
                key = "temperature" if "temperature" in shown else "advantage var"
                assert [s.points for s in chart._series] == [[(step, shown[key] * step / 100)
                                                              for step in (100, 200, 300)]]
        app = SeqbenchApp(runs_dir="runs")
