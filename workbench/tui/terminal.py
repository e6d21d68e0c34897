"""Leaving when the terminal goes away, whatever screen or dialog is open.

When the terminal closes (a window shut, an SSH connection dropped) the app usually gets SIGHUP,
whose default would kill it mid-step; under ``make run`` it may get nothing, and Textual's input
thread then sees end-of-file on every read and spins on one core forever. Worse, Textual writes
through a thread with a queue of 30 frames: once the terminal is gone that thread dies or blocks,
the queue fills, and the event loop blocks in ``put`` (a dialog that repaints gets there fast). A
handler on the event loop would then never run.

So a watchdog thread, not the loop, notices the hangup (SIGHUP, or stdin no longer a tty, checked
once a second). It first mutes the output (frames are dropped, so a loop stuck in ``put`` goes on),
then asks the loop to save a live run and exit. Should the loop still not have ended after
``GRACE_SECONDS``, the watchdog saves and ends the process itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from queue import Empty
from typing import Callable, Optional

from textual.app import App

CHECK_SECONDS = 1.0
GRACE_SECONDS = 8.0  # for the loop to save and exit before the process is ended without it
SAVE_SECONDS = 4.0  # what a last-resort save may take before the process ends


def mute_output(writer) -> None:
    """Make Textual's output ``writer`` (a ``WriterThread``) drop everything, and free a full queue.

    Writes become no-ops and ``stop`` no longer waits for a thread that may be stuck on a dead
    terminal; what was queued is discarded, so a ``put`` blocked on the full queue returns.
    """
    writer.write = lambda text: None
    writer.stop = lambda: None
    queue = getattr(writer, "_queue", None)
    while queue is not None:
        try:
            queue.get_nowait()
        except Empty:
            break


class HangupWatch:
    """Ends ``app`` once ``gone()`` says the terminal went away; see the module docstring."""

    def __init__(self, app: App, before_exit: Optional[Callable[[], None]] = None,
                 gone: Optional[Callable[[], bool]] = None, hard_exit: Callable[[int], None] = os._exit,
                 silence: bool = False):
        """``gone()`` polls for a lost terminal; ``silence`` points stdout/stderr at /dev/null on hangup
        (a real terminal only: later writes to a hung-up tty fail); ``hard_exit`` is the last resort."""
        self.app, self.before_exit, self.gone, self.hard_exit = app, before_exit, gone, hard_exit
        self.silence = silence
        self.hung_up = threading.Event()  # set by SIGHUP, by ``gone()``, or by a test
        self._saved = threading.Lock()
        self._save_started = False
        self.loop: Optional[asyncio.AbstractEventLoop] = None

    def start(self) -> "HangupWatch":
        """From ``app.on_mount`` (on the loop)."""
        self.loop = asyncio.get_running_loop()
        threading.Thread(target=self._watch, name="seqbench-hangup", daemon=True).start()
        return self

    def _watch(self) -> None:
        while not self.hung_up.wait(CHECK_SECONDS):
            if self.gone is not None and self.gone():
                self.hung_up.set()
        if self.silence:
            _silence_std_streams()
        driver = getattr(self.app, "_driver", None)
        writer = getattr(driver, "_writer_thread", None)
        if writer is not None:
            mute_output(writer)
        try:
            self.loop.call_soon_threadsafe(self._leave)
        except RuntimeError:  # the loop is closed: the app has already ended
            return
        time.sleep(GRACE_SECONDS)
        self._save()  # the loop never got to it: save from here, give the save a moment, end
        time.sleep(SAVE_SECONDS)
        self.hard_exit(1)

    def _save(self) -> None:
        with self._saved:
            if self._save_started:
                return
            self._save_started = True
        if self.before_exit is not None:
            self.before_exit()

    def _leave(self) -> None:
        """On the loop: save a live run and exit, whatever screen or dialog is open."""
        self._save()
        self.app.exit(return_code=1, message="the terminal closed")


def exit_on_hangup(app: App, before_exit: Optional[Callable[[], None]] = None) -> Optional[HangupWatch]:
    """From ``app.on_mount``: once the terminal hangs up, call ``before_exit`` and exit the app."""
    if app.is_headless or sys.__stdin__ is None:
        return None
    if sys.__stdin__.isatty():
        fd = sys.__stdin__.fileno()
        watch = HangupWatch(app, before_exit, gone=lambda: not os.isatty(fd), silence=True)
    else:  # a browser tab (`seqbench serve`): stdin is a pipe, and its driver sends SIGHUP instead
        watch = HangupWatch(app, before_exit)

    def on_hangup(signum, frame) -> None:
        watch.hung_up.set()

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_hangup)  # runs even while the loop is blocked writing
    return watch.start()


def _silence_std_streams() -> None:
    """Point stdout and stderr at /dev/null: writes to a hung-up terminal fail or block."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass
