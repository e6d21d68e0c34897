"""The app as a user drives it: launcher → train → pause → resume → stop → recent runs, bad input,
worker failures, leaving and coming back to a live run, and quitting while training.

Tiny models on one CPU thread; no fixed sleeps: every wait polls the state it needs with
``pilot.pause`` and gives up after a generous timeout.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, Static

from workbench.tui.app import SeqbenchApp
from workbench.tui.screens.dashboard import DashboardScreen
from workbench.tui.screens.dialogs import QuitScreen
from workbench.tui.screens.launcher import LauncherScreen
from workbench.tui.widgets.error_panel import ErrorPanel
from workbench.tui.widgets.runs_table import RunsTable

ROOT = Path(__file__).resolve().parents[1]
SIZE = (120, 40)
# a long run that never ends by itself, small enough that each step takes milliseconds
TINY = {"emb_dim": "8", "hidden": "16", "steps": "100000", "batch_size": "16", "eval_every": "100000",
        "eval_examples": "32", "threads": "1"}


async def until(pilot, condition, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


async def launcher_ready(app, pilot) -> LauncherScreen:
    await until(pilot, lambda: isinstance(app.screen, LauncherScreen) and app.screen.catalog is not None,
                what="the engine to load")
    return app.screen


def fill_form(screen: LauncherScreen, values: dict[str, str]) -> None:
    for key, value in values.items():
        screen.query_one(f"#in-{key}", Input).value = value


def tiny_config(task: str = "reverse", **extra):
    from workbench.config import build_config

    overrides = {"task.name": task, "task.train_size": 2000, "task.val_size": 64, "task.test_size": 64,
                 "task.long_size": 32, "model.emb_dim": 8, "model.hidden": 16, "train.steps": 100000,
                 "train.batch_size": 16, "train.eval_every": 100000, "train.eval_examples": 32, "train.threads": 1}
    overrides.update(extra)
    return build_config(overrides=overrides)


def test_app_module_starts_without_torch():
    """The launcher paints before torch is imported (torch loads in a worker)."""
    code = "import sys, workbench.tui.app; assert 'torch' not in sys.modules, 'torch imported at start-up'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


async def test_train_pause_resume_stop_then_recent_runs(tmp_path):
    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        launcher = await launcher_ready(app, pilot)
        await pilot.press("down")  # the task list has focus: reverse -> sort
        assert launcher.query_one("#task-picker").task_name == "sort"
        await until(pilot, lambda: launcher.query_one("#in-steps", Input).value == "600")
        launcher.query_one("#cell", Select).value = "lstm"
        await pilot.pause()
        launcher.query_one("#attention", Select).value = "additive"
        fill_form(launcher, TINY)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
        session = app.screen.session
        await until(pilot, lambda: session.progress is not None, what="the first progress event")
        assert session.trainer.config.model.cell == "lstm"
        assert session.trainer.config.model.attention == "additive"
        assert session.trainer.config.task.name == "sort"

        await pilot.press("space")
        await until(pilot, lambda: session.status == "paused", what="the paused event")
        paused_at = session.trainer.step
        await pilot.pause(0.1)
        assert session.trainer.step == paused_at  # the loop waits while paused
        await pilot.press("space")
        await until(pilot, lambda: session.status == "running" and session.step > paused_at, what="training again")

        await pilot.press("x")
        await until(pilot, lambda: session.status == "stopped", what="the stop to finish")
        assert session.finished.reason == "stopped"
        await until(pilot, lambda: "stopped" in str(app.screen.query_one("#dash-title", Static).content),
                    what="the dashboard to show it")

        await pilot.press("escape")
        assert isinstance(app.screen, LauncherScreen)
        table = app.screen.query_one(RunsTable)
        await until(pilot, lambda: str(session.run_dir) in table.paths, what="the run in recent runs")
        row = table.get_row(str(session.run_dir))
        assert "stopped" in str(row[0]) and row[2] == "sort"


async def test_invalid_input_shows_messages_and_never_starts(tmp_path):
    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        launcher = await launcher_ready(app, pilot)
        fill_form(launcher, {"steps": "12x", "dropout": "1.5"})
        await pilot.pause()
        assert "'12x' is not allowed; must be an integer" in str(launcher.query_one("#msg-steps", Static).content)
        assert "1.5 is not allowed; must be a number >= 0 and < 1" in str(launcher.query_one("#msg-dropout", Static).content)
        assert launcher.query_one("#in-steps", Input).has_class("-invalid")
        await pilot.press("ctrl+t")
        message = str(launcher.query_one("#form-msg", Static).content)
        assert "steps" in message and "dropout" in message
        assert isinstance(app.screen, LauncherScreen) and not app.sessions

        fill_form(launcher, {"steps": "30", "dropout": "0"})
        launcher.query_one("#task-list").highlighted = 6  # tsv: needs a file
        await pilot.pause()
        data = launcher.query_one("#data", Input)
        data.value = str(tmp_path / "missing.tsv")
        await pilot.pause()
        assert "no such file" in str(launcher.query_one("#data-msg", Static).content)
        await pilot.press("ctrl+t")
        assert "data file" in str(launcher.query_one("#form-msg", Static).content)
        assert not app.sessions

        bad = tmp_path / "bad.tsv"
        bad.write_text("only one column\nstill one\n", encoding="utf-8")
        data.value = str(bad)
        fill_form(launcher, TINY)
        await pilot.pause()
        await pilot.press("ctrl+t")  # passes the cheap checks; the task build rejects the file
        await until(pilot, lambda: "✗" in str(launcher.query_one("#data-msg", Static).content)
                    and isinstance(app.screen, LauncherScreen), what="the data error back on the launcher")
        assert "bad.tsv" in str(launcher.query_one("#form-msg", Static).content)


@pytest.mark.parametrize("failure", ["exception", "nan"])
async def test_worker_failure_shows_error_panel_and_app_keeps_running(tmp_path, monkeypatch, failure):
    from workbench.training import Trainer

    real_step = Trainer._train_step
    calls = {"n": 0}

    def flaky_step(self):
        calls["n"] += 1
        if calls["n"] > 3:
            if failure == "exception":
                raise RuntimeError("simulated out of memory")
            return math.nan, 0.0, 10
        return real_step(self)

    monkeypatch.setattr(Trainer, "_train_step", flaky_step)
    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await launcher_ready(app, pilot)
        session = app.start_training(tiny_config())
        await until(pilot, lambda: session.error is not None, what="the failure")
        await until(pilot, lambda: app.screen.query_one(ErrorPanel).has_class("-visible"), what="the error panel")
        panel_text = str(app.screen.query_one(ErrorPanel).content)
        assert ("simulated out of memory" if failure == "exception" else "loss became nan") in panel_text
        assert "checkpoint" in panel_text and not session.live
        assert session.status == ("failed" if failure == "exception" else "diverged")
        from workbench.runs import checkpoint_dir

        assert checkpoint_dir(session.run_dir) is not None  # the last checkpoint is kept
        await pilot.press("escape")
        assert isinstance(app.screen, LauncherScreen)
        monkeypatch.setattr(Trainer, "_train_step", real_step)
        again = app.start_training(tiny_config())  # the app is still usable: a new run starts
        await until(pilot, lambda: again.progress is not None, what="a second run")
        again.abort()


async def test_leaving_the_dashboard_keeps_the_live_run(tmp_path):
    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await launcher_ready(app, pilot)
        session = app.start_training(tiny_config())
        await until(pilot, lambda: session.progress is not None, what="progress")
        # while a thread trains flat out, pilot.press waits up to a second for an idle process, so the
        # tests that keep training running invoke the keys' actions directly (same code path, no wait)
        await app.run_action("screen.back")
        await pilot.pause()
        launcher = app.screen
        assert isinstance(launcher, LauncherScreen)
        table = launcher.query_one(RunsTable)
        await until(pilot, lambda: str(session.run_dir) in table.paths, what="the live run listed")
        left_at = session.step
        await until(pilot, lambda: session.step > left_at, what="training to go on without its dashboard")
        await app.run_action("screen.live")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and app.screen.session is session
        await until(pilot, lambda: "step" in str(app.screen.query_one("#progress-text", Static).content))
        assert len(session.curves.train) > 1
        session.abort()


@pytest.mark.parametrize("choice", ["quit", "save"])
async def test_quit_while_training_exits_promptly(tmp_path, choice):
    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await launcher_ready(app, pilot)
        session = app.start_training(tiny_config())
        await until(pilot, lambda: session.progress is not None and session.step > 5, what="progress")
        await app.run_action("quit")  # the q key's action (see the note in the test above)
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        started = time.monotonic()
        app.screen.query_one(f"#{choice}", Button).press()
        await pilot.pause()  # the button's handler runs: stop the thread (saving first, or not), exit
    elapsed = time.monotonic() - started
    assert session.worker.is_finished  # the app did not leave a training thread behind
    assert elapsed < 10, f"quitting took {elapsed:.1f} s"
    from workbench.runs import read_trainer_state

    saved = read_trainer_state(session.run_dir)["step"]
    assert (saved > 0) if choice == "save" else (saved == 0)  # 0 = the checkpoint made at the start


def _finished_run(runs_dir: Path, seed: int, task: str = "reverse") -> Path:
    from workbench.training import Trainer

    cfg = tiny_config(task, **{"train.steps": 30, "train.eval_every": 15, "train.seed": seed})
    return Path(Trainer(cfg, runs_root=runs_dir).run().run_dir)


async def test_finished_run_dashboard_and_compare_overlay(tmp_path):
    """The compared run is named in the legends, and a run of another task is flagged as not like for like."""
    first, second = _finished_run(tmp_path, 0), _finished_run(tmp_path, 1, task="copy")
    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        launcher = await launcher_ready(app, pilot)
        table = launcher.query_one(RunsTable)
        await until(pilot, lambda: len(table.paths) == 2, what="both runs listed")
        await pilot.press("ctrl+r")  # focus the recent runs
        table.move_cursor(row=table.get_row_index(str(first)))
        await pilot.press("enter")
        assert isinstance(app.screen, DashboardScreen)
        session = app.screen.session
        assert session.trainer is None and session.status == "completed"
        assert [s for s, _ in session.curves.val["loss"]] == [15, 30]
        await pilot.press("c")
        await until(pilot, lambda: str(second) in getattr(app.screen, "paths", {}), what="the run picker")
        await pilot.press("enter")  # the only other finished run
        await until(pilot, lambda: session.overlay is not None, what="the overlay")
        assert session.overlay.label == second.name
        legend = str(app.screen.query_one("#loss-chart").border_title)
        assert second.name.startswith("copy-") and "copy-gru-" in legend and "20" not in legend.split("copy-")[1]
        title = str(app.screen.query_one("#dash-title", Static).content)
        assert f"vs {second.name}" in title and "⚠ a copy run" in title
        assert any("learned copy, this run reverse" in str(n.message) for n in app._notifications)


def test_training_runs_on_a_thread_of_its_own_that_ends_with_it():
    """Each training gets a fresh thread (its OpenMP team must not outlive it); results, errors and
    the worker context come through."""
    import threading

    from textual.worker import active_worker, get_current_worker

    from workbench.tui.controller import _on_own_thread

    seen = {}

    def work() -> str:
        seen["thread"] = threading.current_thread()
        seen["worker"] = get_current_worker()
        return "completed"

    token = active_worker.set("the worker")
    try:
        assert _on_own_thread(work) == "completed"
    finally:
        active_worker.reset(token)
    assert seen["thread"] is not threading.current_thread() and not seen["thread"].is_alive()
    assert seen["worker"] == "the worker"

    def fail() -> str:
        raise ValueError("no data")

    with pytest.raises(ValueError, match="no data"):
        _on_own_thread(fail)


def test_the_palettes_screenshot_lands_in_a_directory_that_exists(tmp_path, monkeypatch):
    """Textual's palette command saves into ~/Downloads by default; without one it used to fail."""
    from textual.app import App

    from workbench.tui.screenshot import SavesScreenshots

    monkeypatch.setenv("HOME", str(tmp_path))  # a home with no Downloads directory
    asked = []
    monkeypatch.setattr(App, "deliver_screenshot", lambda self, filename=None, path=None, time_format=None:
                        asked.append(path))

    class Shots(SavesScreenshots, App):
        pass

    Shots().deliver_screenshot()
    assert asked == [str(tmp_path.resolve())]
