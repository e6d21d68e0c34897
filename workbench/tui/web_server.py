"""The web server behind `seqbench serve`: textual-serve, with a session limit and a same-origin check.

textual-serve starts one app process per websocket (one per browser tab) and, when the socket
closes, asks the process to quit. Added here: at most ``max_sessions`` processes at once (a page
or socket beyond that gets a plain refusal); requests from another site's page are refused, so a
web page the user happens to visit cannot drive the app on localhost; an app that does not
quit is killed; and stopping the server closes every tab first, so each app saves its live run.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Optional
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from ..serve import ServeOptions, app_command, host_warning, is_loopback, resolve_options

log = logging.getLogger("seqbench.serve")
QUIT_SECONDS = 30  # saving a live run takes a moment; atomic writes make a kill after this harmless


def refusal(max_sessions: int) -> str:
    """What an extra tab is told: why it got no app, and what to do."""
    return (f"seqbench: all {max_sessions} sessions are in use. Close another seqbench tab and reload "
            f"this page, or restart `seqbench serve` with a higher --max-sessions.")


async def end_app(app: AppService) -> None:
    """Ask a tab's app to quit (it hangs up: a live run is saved), wait for it, kill it if it lingers."""
    process = app._process  # textual-serve keeps it private, and never waits for or kills it

    async def quit_and_wait() -> None:
        await app.stop()  # sends "quit", returns when the app has closed its output
        if process is not None:
            process.stdin.close()
            await process.wait()

    try:
        await asyncio.wait_for(quit_and_wait(), QUIT_SECONDS)
    except asyncio.TimeoutError:
        if process is not None and process.returncode is None:
            log.warning("a tab's app did not quit within %ss: killed", QUIT_SECONDS)
            process.kill()
            await process.wait()


def foreign(opts: ServeOptions, host: str, origin: Optional[str]) -> Optional[str]:
    """Why a request did not come from a page this server served to this machine, or None.

    On a loopback server, a Host that is not a loopback name means another site's page reached
    it by DNS rebinding; a websocket whose Origin is not the Host was opened by another site's page.
    """
    if is_loopback(opts.host) and not is_loopback(urlsplit(f"//{host}").hostname or ""):
        return f"seqbench serve answers only at http://{opts.host}:{opts.port}"
    if origin and urlsplit(origin).netloc.lower() != host.lower():  # no Origin: not a browser page
        return "seqbench: this page was not served by seqbench serve"
    return None


class SeqbenchServer(Server):
    """textual-serve's server, limited to ``max_sessions`` app processes and to pages it served."""

    def __init__(self, command: str, opts: ServeOptions):
        super().__init__(command, host=opts.host, port=opts.port, title="seqbench")
        self.opts = opts
        self.sessions = 0  # live app processes; the event loop is single-threaded, no lock needed
        self.sockets: set[web.WebSocketResponse] = set()
        self.endings: set[asyncio.Future] = set()  # tabs whose apps are being ended

    def initialize_logging(self) -> None:
        super().initialize_logging()
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # not a line per request

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"seqbench serve: open http://{self.opts.host}:{self.opts.port} "
                           f"(up to {self.opts.max_sessions} tabs; data and runs under {self.opts.root}; "
                           f"runs in {self.opts.runs_dir}). Ctrl+C stops.", highlight=False, soft_wrap=True)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        refused = foreign(self.opts, request.host, None)
        if refused:
            raise web.HTTPForbidden(text=refused)
        if self.sessions >= self.opts.max_sessions:
            text = refusal(self.opts.max_sessions)
            return web.Response(status=503, content_type="text/html",
                                text=f"<!DOCTYPE html><title>seqbench: busy</title><p>{text}</p>")
        # links and the websocket go back to the address the browser used (0.0.0.0 is no address)
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        """One tab: start its app process, relay keys and screen, and end the process with the tab."""
        refused = foreign(self.opts, request.host, request.headers.get("Origin"))
        if refused:
            raise web.HTTPForbidden(text=refused)
        if self.sessions >= self.opts.max_sessions:
            return await self._refuse(request)
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        self.sessions += 1
        self.sockets.add(websocket)
        app = AppService(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                         close=websocket.close, download_manager=self.download_manager, debug=self.debug)
        try:
            await app.start(to_int(request.query.get("width", "80"), 80), to_int(request.query.get("height", "24"), 24))
            await self._process_messages(websocket, app)  # until the tab closes
        except Exception as exc:  # one tab's failure must not take the server down
            log.exception(exc)
        finally:
            self.sockets.discard(websocket)
            # aiohttp cancels the handler when the connection drops: the app's ending must not be
            # cancelled with it, so it runs as its own task
            ending = asyncio.ensure_future(self._end_session(app))
            self.endings.add(ending)
            ending.add_done_callback(self.endings.discard)
            await asyncio.shield(ending)
        return websocket

    async def _end_session(self, app: AppService) -> None:
        try:
            await end_app(app)
        finally:
            self.sessions -= 1

    async def on_shutdown(self, app: web.Application) -> None:
        """Ctrl+C or SIGTERM: close every tab's socket, so each app saves its live run and ends."""
        for websocket in list(self.sockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"seqbench serve stopped")
        for _ in range(int((QUIT_SECONDS + 5) / 0.1)):  # the apps end in their handlers: wait for them
            if self.sessions == 0:
                break
            await asyncio.sleep(0.1)

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


def run_serve(args) -> int:
    """``seqbench serve``: check the options, warn when reachable from elsewhere, serve until Ctrl+C."""
    opts = resolve_options(args.host, args.port, args.max_sessions, args.root, args.runs_dir)
    warning = host_warning(opts.host, opts.port)
    if warning:
        sys.stderr.write(f"seqbench serve: {warning}\n")
    opts.runs_dir.mkdir(parents=True, exist_ok=True)
    return serve(opts, app_command(opts))
