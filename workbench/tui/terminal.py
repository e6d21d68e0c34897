"""Leaving when the terminal goes away.

When the terminal closes (a window shut, an SSH connection dropped) the app usually gets SIGHUP,
whose default would kill it mid-step; under ``make run`` it may get nothing, and Textual's input
thread then sees end-of-file on every read and spins on one core forever. Both lead here: SIGHUP
is handled, and a terminal that hung up stops being a tty, which the app checks once a second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Callable, Optional

from textual.app import App

CHECK_SECONDS = 1.0


def exit_on_hangup(app: App, before_exit: Optional[Callable[[], None]] = None) -> None:
    """From ``app.on_mount``: once the terminal hangs up, call ``before_exit`` and exit the app."""
    if app.is_headless or sys.__stdin__ is None:
        return
    done = False

    def leave() -> None:
        nonlocal done
        if done:
            return
        done = True
        if before_exit is not None:
            before_exit()
        app.exit(return_code=1, message="the terminal closed")

    if sys.__stdin__.isatty():  # in a browser tab stdin is a pipe: its driver sends SIGHUP instead
        fd = sys.__stdin__.fileno()

        def check() -> None:
            if not os.isatty(fd):
                leave()

        app.set_interval(CHECK_SECONDS, check)
    if hasattr(signal, "SIGHUP"):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, leave)
