"""The app ends within seconds of losing its terminal, whatever is open, after saving a live run."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from workbench.tui import terminal
from workbench.tui.app import SeqbenchApp
from workbench.tui.screens.dialogs import QuitScreen


async def until(pilot, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


@pytest.fixture
def quick_watch(monkeypatch):
    monkeypatch.setattr(terminal, "CHECK_SECONDS", 0.05)


async def test_a_hangup_with_the_quit_dialog_open_saves_and_ends_the_app(tmp_path, quick_watch):
    app = SeqbenchApp(runs_dir=str(tmp_path))
    saved, ended = [], []
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(QuitScreen())
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        watch = terminal.HangupWatch(app, lambda: saved.append(True), hard_exit=ended.append).start()
        watch.hung_up.set()  # what SIGHUP or the lost-tty check does
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 1 and saved == [True] and ended == []


async def test_a_terminal_that_stops_being_a_tty_is_noticed_without_sighup(tmp_path, quick_watch):
    app = SeqbenchApp(runs_dir=str(tmp_path))
    tty = {"open": True}
    async with app.run_test(size=(100, 30)) as pilot:
        watch = terminal.HangupWatch(app, gone=lambda: not tty["open"], hard_exit=lambda code: None).start()
        await pilot.pause(0.2)
        assert app.return_code is None and not watch.hung_up.is_set()
        tty["open"] = False
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 1


def test_muting_frees_an_output_queue_blocked_on_a_dead_terminal():
    """The hang this fixes: Textual's writer thread stuck on the terminal, its 30-frame queue full."""
    from textual.drivers._writer_thread import MAX_QUEUED_WRITES, WriterThread

    class DeadTerminal:
        def __init__(self) -> None:
            self.forever = threading.Event()

        def write(self, text: str) -> None:
            self.forever.wait()  # a write that never returns

        def flush(self) -> None:
            pass

    writer = WriterThread(DeadTerminal())
    writer.start()
    blocked = threading.Thread(target=lambda: [writer.write("frame") for _ in range(MAX_QUEUED_WRITES + 5)],
                               daemon=True)
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive()  # the app's loop would be stuck here
    terminal.mute_output(writer)
    blocked.join(2)
    assert not blocked.is_alive()
    writer.write("more")  # later frames are dropped at once
    writer.stop()  # and shutting the driver down no longer waits for the stuck thread


def test_the_last_resort_saves_and_ends_the_process_when_the_loop_is_stuck(monkeypatch):
    import asyncio

    monkeypatch.setattr(terminal, "GRACE_SECONDS", 0.05)
    monkeypatch.setattr(terminal, "SAVE_SECONDS", 0.05)
    saved, ended = [], threading.Event()

    class StuckApp:  # its loop never runs what the watchdog asks of it
        def exit(self, **_):
            raise AssertionError("the loop is stuck: exit cannot run")

    loop = asyncio.new_event_loop()
    watch = terminal.HangupWatch(StuckApp(), lambda: saved.append(True), hard_exit=lambda code: ended.set())
    watch.loop = loop
    watch.hung_up.set()
    threading.Thread(target=watch._watch, daemon=True).start()
    assert ended.wait(5) and saved == [True]
    loop.close()


def test_exit_on_hangup_needs_a_real_terminal(monkeypatch):
    class Headless:
        is_headless = True

    assert terminal.exit_on_hangup(Headless()) is None
    monkeypatch.setattr(sys, "__stdin__", None)
    assert terminal.exit_on_hangup(type("App", (), {"is_headless": False})()) is None
