"""Length profiles: exact match and attention entropy by source length (engine, `seqbench lengths`, the app)."""

import json
import math

import pytest
import torch

from workbench.cli import main


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    from conftest import inspected_untrained

    root = tmp_path_factory.mktemp("runs")
    general = inspected_untrained(root / "rev-general", attention="general")
    inspected_untrained(root / "rev-none", attention="none")
    return root, general


def test_profile_matches_evaluation_and_stays_below_uniform_entropy(two_runs):
    from workbench.decoding.lengths import length_profile
    from workbench.metrics import evaluate

    root, ins = two_runs
    model, task = ins.model, ins.task
    model.train()
    profile = length_profile(model, task, ["test", "val"], label="general")
    assert model.training  # the profile evaluates in eval mode and gives the model back as it was
    model.eval()
    test = profile.splits["test"]
    assert sum(s.n for s in test.values()) == len(task.examples("test"))
    assert set(test) == {len(ex.src) for ex in task.examples("test")}
    metrics = evaluate(model, task, "test", limit=1000, batch_size=64, device="cpu").metrics
    assert profile.pooled("test").exact == pytest.approx(metrics["exact_match"])
    for length, s in profile.by_length().items():
        assert 0 <= s.entropy <= math.log(length) + 1e-5 and 1 / length - 1e-6 <= s.peak <= 1
    assert profile.trained_up_to == max(len(ex.src) for ex in task.examples("train"))


def test_a_model_without_attention_has_no_entropy(two_runs):
    from workbench.decoding.lengths import length_profile
    from workbench.runs import load_run

    root, _ = two_runs
    run = load_run(root / "rev-none")
    profile = length_profile(run.model, run.task, ["test"])
    assert not profile.attention and all(math.isnan(s.entropy) for s in profile.by_length().values())


def test_lengths_command_prints_runs_side_by_side_and_writes_json(two_runs, capsys, tmp_path):
    root, _ = two_runs
    out_json = tmp_path / "l.json"
    code = main(["lengths", str(root / "rev-general"), str(root / "rev-none"), "--split", "test",
                 "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == 0 and "rev-general" in out and "rev-none" in out and "log S" in out
    data = json.loads(out_json.read_text())
    assert data["schema"] == "seqbench.lengths/1" and [r["label"] for r in data["runs"]] == ["rev-general", "rev-none"]
    rows = data["runs"][1]["splits"]["test"]
    assert rows and all(r["entropy"] is None and isinstance(r["length"], int) for r in rows)


def test_lengths_command_refuses_what_does_not_compare(two_runs, capsys, tmp_path):
    from conftest import inspected_untrained

    root, _ = two_runs
    assert main(["lengths", str(root / "rev-general"), "--split", "nope"]) == 2
    assert "no split 'nope'" in capsys.readouterr().err
    other = tmp_path / "copy"
    inspected_untrained(other)  # a reverse run too: rename its task in the config to make it another task
    text = (other / "config.toml").read_text().replace('name = "reverse"', 'name = "copy"')
    (other / "config.toml").write_text(text)
    assert main(["lengths", str(root / "rev-general"), str(other)]) == 2
    assert "different tasks" in capsys.readouterr().err


async def test_the_app_charts_the_profile_and_adds_a_run(two_runs):
    from workbench.decoding.lengths import length_profile
    from workbench.tui.screens.inspector import InspectorApp
    from workbench.tui.screens.lengths import LengthsScreen
    from workbench.tui.widgets.line_chart import LineChart

    root, ins = two_runs
    app = InspectorApp(ins.model, ins.task, run_dir=str(root / "rev-general"))
    for size in ((120, 40), (80, 24)):
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await pilot.press("L")
            screen = app.screen
            assert isinstance(screen, LengthsScreen)
            await app.workers.wait_for_complete()
            await pilot.pause()
            exact = screen.query_one("#len-exact", LineChart)
            entropy = screen.query_one("#len-entropy", LineChart)
            profile = length_profile(ins.model, ins.task, limit=300)
            expected = profile.by_length()
            assert exact._series[0].points == [(k, 100 * s.exact) for k, s in expected.items()]
            assert [x for x, _ in entropy._series[0].points] == list(expected)
            for (_, got), s in zip(entropy._series[0].points, expected.values()):
                assert got == pytest.approx(s.entropy, abs=1e-5)
            assert entropy._series[-1].label == "log S" and exact._markers[0].label == f"trained ≤ {profile.trained_up_to}"
            for chart in (exact, entropy):
                assert chart.region.width >= 30 and chart.region.height >= 7
            assert screen.has_class("-narrow") == (size[0] < 100)  # below 100 columns the charts stack
            if size[0] < 100:
                assert entropy.region.y > exact.region.y
            screen._measure(None, None, "rev-none", root / "rev-none")  # what c then a pick does
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert [s.label for s in exact._series] == ["rev-general", "rev-none"]
            assert [s.label for s in entropy._series] == ["rev-general", "log S"]  # no attention: no line
            assert "rev-none" in str(screen.query_one("#len-notes").render())
            await pilot.press("x")
            assert [s.label for s in exact._series] == ["rev-general"]
            await pilot.press("escape")
            assert not isinstance(app.screen, LengthsScreen)
        app = InspectorApp(ins.model, ins.task, run_dir=str(root / "rev-general"))


async def test_the_dashboards_L_opens_the_length_chart_of_its_run(two_runs, tmp_path, monkeypatch):
    from test_tui_app import until
    from workbench.replay import replay_session
    from workbench.tui.app import SeqbenchApp
    from workbench.tui.screens.dashboard import DashboardScreen
    from workbench.tui.screens.lengths import LengthsScreen

    root, _ = two_runs
    monkeypatch.chdir(tmp_path)
    app = SeqbenchApp(runs_dir=str(root))
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(DashboardScreen(replay_session(root / "rev-general")))
        await pilot.pause()
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LengthsScreen), what="the length chart")
        await until(pilot, lambda: bool(app.screen.profiles), what="its profile")
        assert app.screen.profiles[0].label == "rev-general"
