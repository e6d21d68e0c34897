"""SVG snapshots of the launcher and the dashboard at fixed sizes.

The dashboard is fed a deterministic fake event stream (no trainer, no clock), the launcher runs on
an empty runs directory with one fixed device, so the pictures only change when the UI does.
Update after an intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and
look at the new SVGs.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from workbench import events as ev
from workbench.tui.app import SeqbenchApp
from workbench.tui.screens.dashboard import DashboardScreen
from workbench.live import TrainingSession

RUN_DIR = "runs/reverse-gru-general-20250101-120000"


@pytest.fixture
def fixed_machine(monkeypatch, tmp_path):
    """One CPU device whatever the machine, and a relative, empty runs directory."""
    import workbench.device
    from workbench.device import DeviceInfo

    monkeypatch.setattr(workbench.device, "available_devices", lambda: [DeviceInfo("cpu", "CPU (2 cores)")])
    monkeypatch.chdir(tmp_path)


def fake_session(steps: int = 600, total: int = 1500, fail: str | None = None) -> TrainingSession:
    """A session that has seen a plausible, fully deterministic run up to ``steps``."""
    s = TrainingSession(title="reverse · gru-general")
    s.apply(ev.TrainStarted(RUN_DIR, "reverse", "GRU enc-dec + general attention (bi, 1 layer)", "CPU (1 thread)",
                            98_765, 0, total))
    for step in range(20, steps + 1, 20):
        loss = 2.3 * math.exp(-step / 150) + 0.02 + 0.03 * math.sin(step / 37) ** 2
        s.apply(ev.Progress(step, total, step * 64 / 20000, loss, 3e-3 * (1 - step / total), 0.5 + 0.2 * math.cos(step),
                            41_000.0, step / 40, (total - step) / 40))
        if step % 200 == 0:
            val = 2.2 * math.exp(-step / 160) + 0.03
            metrics = {"loss": val, "ppl": math.exp(val), "accuracy": 1 - val / 2.5, "exact_match": 1 - val / 2.2 - 0.02}
            samples = [
                ev.Sample("abcdef", "fedcba", "fedcab", list("abcdef"), list("fedcba"), list("fedcab")),
                ev.Sample("<unk>[PAD]ij", "ji", "ji", ["<unk>", "[PAD]", "i", "j"], ["j", "i"], ["j", "i"]),
                ev.Sample("ggebjadc", "cdajbegg", "cdajbeg", list("ggebjadc"), list("cdajbegg"), list("cdajbeg")),
            ]
            s.apply(ev.Evaluated(step, "val", metrics, samples, best=True))
            s.apply(ev.CheckpointSaved(step, RUN_DIR + "/checkpoint", "eval"))
    s.apply(ev.StatusChanged("paused"))
    s.apply(ev.Warned("gradient norm 12.3 before clipping"))
    if fail:
        s.fail(fail)
    return s


def _log_written(app) -> bool:
    """The dashboard is composed and its event log has lines (written once it has a width)."""
    logs = app.screen.query("#events") if isinstance(app.screen, DashboardScreen) else []
    return bool(logs) and bool(logs.first().lines)


def dashboard_before(session: TrainingSession):
    async def run_before(pilot) -> None:
        app = pilot.app
        while getattr(app.screen, "catalog", None) is None:
            await pilot.pause(0.05)
        app.sessions.append(session)
        app.runs.show_dashboard(session)
        while not _log_written(app):
            await pilot.pause(0.05)
        await pilot.pause(0.1)

    return run_before


async def _launcher_ready(pilot) -> None:
    while getattr(pilot.app.screen, "catalog", None) is None:
        await pilot.pause(0.05)
    await pilot.pause(0.1)


def test_launcher_120x40(snap_compare, fixed_machine):
    assert snap_compare(SeqbenchApp(runs_dir="runs"), terminal_size=(120, 40), run_before=_launcher_ready)


def test_launcher_80x24(snap_compare, fixed_machine):
    assert snap_compare(SeqbenchApp(runs_dir="runs"), terminal_size=(80, 24), run_before=_launcher_ready)


def test_dashboard_120x40(snap_compare, fixed_machine):
    assert snap_compare(SeqbenchApp(runs_dir="runs"), terminal_size=(120, 40), run_before=dashboard_before(fake_session()))


def test_dashboard_80x24(snap_compare, fixed_machine):
    assert snap_compare(SeqbenchApp(runs_dir="runs"), terminal_size=(80, 24), run_before=dashboard_before(fake_session()))


def test_dashboard_error_panel(snap_compare, fixed_machine):
    session = fake_session(fail="RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert snap_compare(SeqbenchApp(runs_dir="runs"), terminal_size=(120, 40), run_before=dashboard_before(session))


def test_fake_stream_is_what_the_dashboard_draws():
    """The numbers the snapshots show come from the session (a guard against a silently empty picture)."""
    s = fake_session()
    assert len(s.curves.train) == 30 and [p[0] for p in s.curves.val["loss"]] == [200, 400, 600]
    assert s.status == "paused" and s.samples[1].source_tokens[0] == "<unk>"
    assert Path(s.run_dir).name == Path(RUN_DIR).name


def tsv_report_before(pilot_path: str):
    """Pick tsv, type a Tatoeba-style file's path and wait for its data report."""
    async def run_before(pilot) -> None:
        from textual.widgets import Input

        from workbench.tui.widgets.task_picker import TaskPicker

        await _launcher_ready(pilot)
        screen = pilot.app.screen
        from workbench.tasks.catalog import TASK_NAMES

        await pilot.click("#task-list")
        await pilot.press("end")  # the last task, then up to tsv
        for _ in range(len(TASK_NAMES) - 1 - TASK_NAMES.index("tsv")):
            await pilot.press("up")
        screen.query_one("#data", Input).value = pilot_path
        picker = screen.query_one(TaskPicker)
        while "lines read" not in picker.report_text:
            await pilot.pause(0.05)
        await pilot.pause(0.1)

    return run_before


def test_launcher_tsv_report_120x40(snap_compare, fixed_machine):
    lines = [f"{s}\t{t}\tCC-BY 2.0 (France) Attribution: tatoeba.org #{i}" for i, (s, t) in enumerate(
        [("Hi.", "Salut\u00a0!"), ("Run!", "Cours !"), ("Who?", "Qui ?"), ("Wow!", "Ça alors !"), ("Fire!", "Au feu !"),
         ("Help!", "À l'aide !"), ("Jump.", "Saute."), ("Stop!", "Ça suffit !"), ("Wait!", "Attends !")])]
    Path("fra.txt").write_text("\n".join(lines + lines[:2]) + "\n", encoding="utf-8")
    assert snap_compare(SeqbenchApp(runs_dir="runs"), terminal_size=(120, 40), run_before=tsv_report_before("fra.txt"))
