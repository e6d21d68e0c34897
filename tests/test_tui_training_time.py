"""Attention seen forming: the replay and the dashboard's charts share a cursor in training time, and both
mark where the attention's entropy fell fastest."""

from __future__ import annotations

import pytest

from workbench.config import build_config
from workbench.probes import entropy_curve, read_probes, steepest_drop
from workbench.replay import replay_session
from workbench.training import Trainer
from workbench.tui.screens.inspector import InspectorApp, InspectorScreen
from workbench.tui.widgets.inspector.heatmap import AttentionHeatmap
from workbench.tui.widgets.line_chart import LineChart
from workbench.tui.widgets.training_time import CURSOR_GLYPH, DROP_GLYPH, cursor_for

TINY = {
    "task.name": "reverse", "task.train_size": 400, "task.val_size": 40, "task.test_size": 40, "task.long_size": 20,
    "task.max_len": 6, "task.long_min": 7, "task.long_max": 8,
    "model.cell": "gru", "model.attention": "general", "model.hidden": 32, "model.emb_dim": 16,
    "train.steps": 150, "train.eval_every": 50, "train.batch_size": 32, "train.threads": 1, "train.warmup": 10,
    "train.eval_examples": 40, "train.lr": 0.01,
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    trainer = Trainer(build_config(overrides=TINY), tmp_path_factory.mktemp("runs") / "reverse")
    trainer.run()
    return trainer.snapshot(), trainer.task, trainer.run_dir


def text(widget) -> str:
    return "\n".join(strip.text for strip in widget.build(widget.size.width, widget.size.height))


async def test_replay_shows_its_place_in_training_and_where_attention_sharpened(run):
    model, task, run_dir = run
    probes = read_probes(run_dir)
    drop = steepest_drop(entropy_curve(probes))
    assert drop is not None  # a trained reverse model's attention sharpens
    app = InspectorApp(model, task, run_dir=run_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        cursor = cursor_for(app, run_dir)
        await pilot.press("p")
        await pilot.pause()
        heat = app.screen.query_one(AttentionHeatmap)
        shown = text(heat)
        assert "loss" in shown and "attn H" in shown
        assert f"{CURSOR_GLYPH} step 150 (6/6)" in shown
        assert f"{DROP_GLYPH} fell fastest {drop.start:,}→{drop.end:,}" in shown
        assert cursor.step == 150
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert cursor.step == 50 and f"{CURSOR_GLYPH} step 50 (4/6)" in text(heat)


async def test_dashboard_marks_the_replay_and_a_picked_step_starts_the_replay(run, tmp_path, monkeypatch):
    from workbench.tui.app import SeqbenchApp
    from workbench.tui.screens.dashboard import DashboardScreen

    model, task, run_dir = run
    drop = steepest_drop(entropy_curve(read_probes(run_dir)))
    monkeypatch.chdir(tmp_path)
    app = SeqbenchApp(runs_dir="runs")
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = DashboardScreen(replay_session(run_dir))
        app.push_screen(dashboard)
        await pilot.pause()
        chart = dashboard.query_one("#loss-chart", LineChart)
        assert [m.x for m in chart._markers] == [drop.end]  # no replay yet: only where attention sharpened
        marks = str(dashboard.query_one("#time-marks").content)
        assert f"attention sharpened fastest at steps {drop.start:,}→{drop.end:,}" in marks

        app.push_screen(InspectorScreen(model, task, run_dir=run_dir))  # the replay moves the shared cursor
        await pilot.pause()
        await pilot.press("p", "left_square_bracket")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause(0.4)
        assert app.screen is dashboard
        assert [m.x for m in chart._markers] == [drop.end, 100]
        assert "replay at step 100" in str(dashboard.query_one("#time-marks").content)
        assert any(CURSOR_GLYPH in strip.text for strip in chart._strips)

        await pilot.click(chart, offset=(chart.size.width // 4 + 5, 3))  # early in training
        await pilot.pause()
        cursor = cursor_for(app, run_dir)
        assert cursor.step in (0, 10, 25, 50)
        picked = cursor.step
        await pilot.press("right_square_bracket")
        assert cursor.step > picked
        await pilot.press("left_square_bracket")
        assert cursor.step == picked

        app.push_screen(InspectorScreen(model, task, run_dir=run_dir))
        await pilot.pause()
        await pilot.press("p")  # the replay starts at the step picked on the chart
        await pilot.pause()
        assert f"at training step {picked:,} (" in app.screen.query_one(AttentionHeatmap).title
