"""The web server behind `seqbench serve`: textual-serve, with a session limit and a same-origin check.

textual-serve starts one app process per websocket (one per browser tab) and, when the socket
closes, asks the process to quit. Added here: at most ``max_sessions`` processes at once (a page
or socket beyond that gets a plain refusal), and sockets opened by another site's page are
refused, so a web page the user happens to visit cannot drive the app on localhost.
"""

from __future__ import annotations

import sys
from typing import Optional
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.server import Server

from .serve import ServeOptions


def refusal(max_sessions: int) -> str:
    """What an extra tab is told: why it got no app, and what to do."""
    return (f"seqbench: all {max_sessions} sessions are in use. Close another seqbench tab and reload "
            f"this page, or restart `seqbench serve` with a higher --max-sessions.")


def same_origin(origin: Optional[str], host: str) -> bool:
    """Whether a websocket's Origin header names the page this server served (or is absent)."""
    if not origin:  # not a browser: a script that can connect could also type into a terminal
        return True
    return urlsplit(origin).netloc.lower() == host.lower()


class SeqbenchServer(Server):
    """textual-serve's server, limited to ``max_sessions`` app processes and to pages it served."""

    def __init__(self, command: str, opts: ServeOptions):
        super().__init__(command, host=opts.host, port=opts.port, title="seqbench")
        self.opts = opts
        self.sessions = 0  # live app processes; the event loop is single-threaded, no lock needed

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"seqbench serve: open http://{self.opts.host}:{self.opts.port} "
                           f"(up to {self.opts.max_sessions} tabs; data and runs under {self.opts.root}; "
                           f"runs in {self.opts.runs_dir}). Ctrl+C stops.", highlight=False)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.sessions >= self.opts.max_sessions:
            text = refusal(self.opts.max_sessions)
            return web.Response(status=503, content_type="text/html",
                                text=f"<!DOCTYPE html><title>seqbench: busy</title><p>{text}</p>")
        # links and the websocket go back to the address the browser used (0.0.0.0 is no address)
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        if not same_origin(request.headers.get("Origin"), request.host):
            raise web.HTTPForbidden(text="seqbench: this page was not served by seqbench serve")
        if self.sessions >= self.opts.max_sessions:
            return await self._refuse(request)
        self.sessions += 1
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions -= 1

    async def _refuse(self, request: web.Request) -> web.WebSocketResponse:
        """Show the refusal in the tab's terminal and hold the socket until the tab goes away."""
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        await websocket.send_bytes(f"\r\n  {refusal(self.opts.max_sessions)}\r\n".encode())
        async for _message in websocket:  # a closed socket would only show "Session ended."
            pass
        return websocket


def serve(opts: ServeOptions, command: str) -> int:
    """Serve the app until Ctrl+C; returns the exit code."""
    server = SeqbenchServer(command, opts)
    try:
        server.serve()
    except OSError as exc:  # the port is taken, or the address is not this machine's
        sys.stderr.write(f"seqbench serve: error: cannot listen on {opts.host}:{opts.port}: {exc.strerror or exc}\n")
        return 2
    return 0
