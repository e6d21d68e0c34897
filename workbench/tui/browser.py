"""The app's terminal in a browser tab (`seqbench serve`): a closed tab is a hung-up terminal.

textual-serve runs the app with Textual's WebDriver and, when the tab's websocket closes, sends it
"quit", which would end the app without saving a live run. This driver turns that, the server
going away (end of input) and SIGINT/SIGTERM (Ctrl+C in the server's terminal reaches its apps
too) into SIGHUP to itself, so the app leaves exactly as when a terminal window closes:
``terminal.exit_on_hangup`` saves the live run and exits.
"""

from __future__ import annotations

import asyncio
import os
import signal

from textual.drivers.web_driver import WebDriver


class BrowserDriver(WebDriver):
    """WebDriver whose "quit" and lost input hang the app up instead of ending it unsaved."""

    def start_application_mode(self) -> None:
        super().start_application_mode()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # replaces WebDriver's: they would exit unsaved
            loop.add_signal_handler(sig, self._hang_up)

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type == "quit":
            self._hang_up()
        else:
            super().on_meta(packet_type, payload)

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # input ended but the app did not: the server is gone
            self._hang_up()

    def _hang_up(self) -> None:
        os.kill(os.getpid(), signal.SIGHUP)
