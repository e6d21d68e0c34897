"""`seqbench serve`: the options (no browser), the server's limits, and the app in a real headless Chromium."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.launch import check_data_path
from workbench.serve import ROOT_ENV, app_command, host_warning, outside_root, resolve_options

ROOT = Path(__file__).resolve().parents[1]


# ----- options -----
@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_hosts_serve_without_a_warning(host):
    assert host_warning(host, 8000) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "my-laptop.local"])
def test_other_hosts_are_warned_about(host):
    warning = host_warning(host, 8000)
    assert warning and "not a loopback address" in warning and host in warning


def _serve_without_listening(monkeypatch, argv: list[str]) -> tuple[int, list]:
    import workbench.tui.web_server as web_server

    served = []
    monkeypatch.setattr(web_server, "serve", lambda opts, command: served.append((opts, command)) or 0)
    return main(["serve", *argv]), served


def test_a_non_loopback_host_warns_on_stderr_and_loopback_does_not(monkeypatch, capsys, tmp_path):
    code, served = _serve_without_listening(monkeypatch, ["--host", "0.0.0.0", "--root", str(tmp_path)])
    assert code == 0 and served[0][0].host == "0.0.0.0"
    assert "warning: --host 0.0.0.0 is not a loopback address" in capsys.readouterr().err
    code, served = _serve_without_listening(monkeypatch, ["--root", str(tmp_path)])
    assert code == 0 and served[0][0].host == "127.0.0.1" and served[0][0].max_sessions == 4
    assert capsys.readouterr().err == ""


def test_runs_dir_outside_the_root_is_refused_in_one_line(monkeypatch, capsys, tmp_path):
    (tmp_path / "root").mkdir()
    code, served = _serve_without_listening(
        monkeypatch, ["--root", str(tmp_path / "root"), "--runs-dir", str(tmp_path / "elsewhere")])
    err = capsys.readouterr().err
    assert code == 2 and not served and err.count("\n") == 1 and "outside --root" in err


def test_bad_options_are_one_line_errors(monkeypatch, capsys, tmp_path):
    for argv, words in ([["--root", str(tmp_path / "missing")], "not a directory"],
                        [["--root", str(tmp_path), "--max-sessions", "0"], "--max-sessions"],
                        [["--root", str(tmp_path), "--port", "70000"], "--port"]):
        code, served = _serve_without_listening(monkeypatch, argv)
        err = capsys.readouterr().err
        assert code == 2 and not served and words in err and err.count("\n") == 1


def test_each_tab_runs_this_code_confined_to_the_root(tmp_path):
    opts = resolve_options(root=str(tmp_path))
    command = app_command(opts)
    assert opts.runs_dir == tmp_path.resolve() / "runs"
    assert command.startswith(f"cd {tmp_path.resolve()} && exec env ")
    assert f"{ROOT_ENV}={tmp_path.resolve()}" in command and f"--runs-dir {opts.runs_dir}" in command
    assert "TEXTUAL_DRIVER=workbench.tui.browser:BrowserDriver" in command and str(ROOT) in command


# ----- data files confined to the root -----
def test_paths_outside_the_root_are_refused_symlinks_included(tmp_path):
    root, other = tmp_path / "root", tmp_path / "other"
    root.mkdir(), other.mkdir()
    (root / "in.tsv").write_text("a\tb\n")
    (other / "out.tsv").write_text("a\tb\n")
    (root / "link.tsv").symlink_to(other / "out.tsv")
    assert outside_root(root / "in.tsv", root.resolve()) is None
    assert outside_root(root / ".." / "other" / "out.tsv", root.resolve())
    assert outside_root(root / "link.tsv", root.resolve())
    assert outside_root(other / "out.tsv", None) is None  # not serving: nothing is confined


def test_the_launchers_data_box_refuses_files_outside_the_root(monkeypatch, tmp_path):
    root, other = tmp_path / "root", tmp_path / "other"
    root.mkdir(), other.mkdir()
    (root / "pairs.tsv").write_text("a\tb\n")
    (other / "secret.tsv").write_text("a\tb\n")
    monkeypatch.chdir(root)
    assert check_data_path("tsv", str(other / "secret.tsv"))[0]  # the terminal app is not confined
    monkeypatch.setenv(ROOT_ENV, str(root))
    ok, message = check_data_path("tsv", str(other / "secret.tsv"))
    assert not ok and message.startswith("outside the served directory") and "\n" not in message
    assert check_data_path("tsv", "pairs.tsv")[0]
    assert not check_data_path("tsv", "../other/secret.tsv")[0]


# ----- the server: session limit and same-origin sockets (no browser, no app) -----
FAKE_APP = (f"{sys.executable} -c \"import sys; sys.stdout.write('__GANGLION__\\n'); sys.stdout.flush(); "
            f"sys.stdin.buffer.read(1)\"")  # a stand-in app that ends at its first input (the server's quit)


@pytest.fixture
async def client(tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    from workbench.tui.web_server import SeqbenchServer

    server = SeqbenchServer(FAKE_APP, resolve_options(root=str(tmp_path), max_sessions=1))
    async with TestClient(TestServer(await server._make_app())) as client:
        client.seqbench = server
        yield client
    gc.collect()  # textual-serve never closes its app processes' pipes: let them go while the loop runs


async def _wait_for(predicate, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_tabs_beyond_the_session_limit_are_refused_until_one_closes(client):
    first = await client.ws_connect("/ws")
    await _wait_for(lambda: client.seqbench.sessions == 1)
    page = await client.get("/")
    assert page.status == 503 and "all 1 sessions are in use" in await page.text()
    second = await client.ws_connect("/ws")
    refusal = await second.receive_bytes(timeout=10)
    assert b"all 1 sessions are in use" in refusal and b"--max-sessions" in refusal
    await second.close()
    await first.close()
    await _wait_for(lambda: client.seqbench.sessions == 0)
    assert (await client.get("/")).status == 200


async def test_a_socket_opened_by_another_sites_page_is_refused(client):
    from aiohttp import WSServerHandshakeError

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403 and client.seqbench.sessions == 0
    page = await client.get("/")
    assert f"ws://{page.url.host}:{page.url.port}/ws" in await page.text()  # the address the browser used


async def test_a_page_reached_through_another_name_is_refused(client):
    """DNS rebinding: another site's page, its name now pointing at 127.0.0.1, asks this server."""
    page = await client.get("/", headers={"Host": "evil.example:8000"})
    assert page.status == 403 and "answers only at http://127.0.0.1:" in await page.text()
    assert (await client.get("/", headers={"Host": "localhost:8000"})).status == 200


# ----- end to end: `seqbench serve` in a real headless Chromium -----
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"


def _browser_missing() -> str:
    if not CHROMIUM.exists():
        return "needs Debian's chromium at /usr/bin/chromium (.ci/run installs it: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package (pip install -e '.[dev]')"
    if not Path("/proc/self/stat").exists():
        return "finds the tab's app process through /proc (Linux)"
    return ""


browser_test = pytest.mark.skipif(bool(_browser_missing()), reason=_browser_missing() or "-")
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")  # escape sequences between the drawn text


def _app_processes(server_pid: int) -> set[int]:
    """The app processes textual-serve started (children of the server), read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(name)": state, ppid, ...
        if fields[1] == str(server_pid) and fields[0] != "Z" and b"workbench.cli" in cmdline:
            found.add(int(entry.name))
    return found


class Tab:
    """One browser tab on the server: what its terminal received, as text, and its app process."""

    def __init__(self, served: "Served"):
        before = _app_processes(served.process.pid)
        self.page = served.browser.new_page(viewport={"width": 1400, "height": 900})
        self.frames: list[bytes] = []
        # xterm.js draws on a canvas: the text is read from the bytes the app sent the terminal
        self.page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda data: self.frames.append(data if isinstance(data, bytes) else data.encode())))
        self.page.goto(served.url)
        self.wait_for(lambda: _app_processes(served.process.pid) - before, "its app process to start")
        (self.app_pid,) = _app_processes(served.process.pid) - before

    def text(self) -> str:
        return ANSI.sub(b"", b"".join(self.frames)).decode("utf-8", "replace")

    def wait_for(self, predicate, what: str, seconds: float = 60, fail: bool = True) -> bool:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                if not fail:
                    return False
                shot = self.screenshot(ARTIFACTS / "serve-timed-out.png")
                raise AssertionError(f"timed out after {seconds:g}s waiting for {what} (the tab: {shot})")
            self.page.wait_for_timeout(100)  # the sync API delivers websocket events only while waiting
        return True

    def wait_for_text(self, text: str, seconds: float = 60, fail: bool = True) -> bool:
        return self.wait_for(lambda: text in self.text(), repr(text), seconds, fail)

    def press(self, key: str) -> None:
        self.page.focus("textarea.xterm-helper-textarea")  # the terminal's keyboard input
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.focus("textarea.xterm-helper-textarea")
        self.page.keyboard.type(text)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.page.close()


class Served:
    """`seqbench serve` in a subprocess on a free loopback port, and a browser to open tabs on it."""

    def __init__(self, root: Path, browser):
        self.root, self.browser = root, browser
        root.mkdir(exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        self.log = root.parent / "serve.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), "--root", str(root),
             "--max-sessions", "2"], cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def __enter__(self) -> "Served":
        try:
            self._wait_until_listening()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_listening(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"seqbench serve exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"seqbench serve did not answer within {seconds:g}s")

    def open_tab(self) -> Tab:
        return Tab(self)

    def app_ended(self, pid: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while Path(f"/proc/{pid}").exists() and (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                                                  != "Z"):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def __exit__(self, *exc) -> None:
        apps = _app_processes(self.process.pid)
        self.process.terminate()  # the server asks its apps to quit as it shuts down
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for pid in apps:  # nothing this test started outlives it
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium (Debian's) for the module, with a fresh profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, browser):
    """`seqbench serve` on a free loopback port, confined to a fresh root."""
    with Served(tmp_path_factory.mktemp("served") / "root", browser) as served:
        yield served


@browser_test
def test_in_a_browser_the_launcher_appears_and_keys_reach_the_app(served):
    (served.root.parent / "outside.tsv").write_text("a\tb\n")
    tab = served.open_tab()
    tab.wait_for_text("1 · Task")
    # keys typed into the data box while torch loads were seen to go missing now and then
    # (under load, about one run in five): start once the whole launcher is drawn
    tab.wait_for_text("learning rate")
    from workbench.tasks.catalog import TASK_NAMES

    tab.press("End")  # the task list has focus: its last task, then up to tsv, whose data box needs a file
    for _ in range(len(TASK_NAMES) - 1 - TASK_NAMES.index("tsv")):
        tab.press("ArrowUp")
    tab.wait_for_text("the tsv task needs a file")
    tab.press("Tab")
    # Textual hands a key to the widget focused when the app reads it, which can be before Tab has
    # moved the focus: type until the data box answers
    assert any(tab.type("x") or tab.wait_for_text("no such file: x", 3, fail=False) for _ in range(10))
    for _ in range(10):
        tab.press("Backspace")
    tab.type("../outside.tsv")  # the app starts in the root: this file is beside it, not in it
    tab.wait_for_text("../outside.tsv")
    tab.wait_for_text("outside the served directory")
    shot = tab.screenshot(ARTIFACTS / "serve-launcher.png")
    assert shot.stat().st_size > 20_000, "the screenshot looks blank"  # a blank page is a few KB
    pid = tab.app_pid
    tab.close()
    assert served.app_ended(pid, seconds=15), "closing the tab did not end its app process"


@browser_test
def test_closing_the_tab_of_a_training_run_saves_it_and_ends_the_app(served):
    from workbench.runs import list_runs, read_trainer_state

    tab = served.open_tab()
    tab.wait_for_text("learning rate")  # the engine has loaded: the form is drawn
    tab.press("Control+t")
    tab.wait_for_text("tok/s", seconds=90)  # the dashboard shows a live run
    pid = tab.app_pid
    tab.close()
    assert served.app_ended(pid, seconds=20), "closing the tab did not end its app process"
    (run,) = list_runs(served.root / "runs")
    state = read_trainer_state(run.path)
    assert state is not None and state["step"] >= 1


@browser_test
def test_stopping_the_server_ends_every_tabs_app(tmp_path, browser):
    with Served(tmp_path / "root", browser) as served:
        tab = served.open_tab()
        tab.wait_for_text("1 · Task")
        served.process.send_signal(signal.SIGINT)  # Ctrl+C in the terminal that runs `seqbench serve`
        assert served.app_ended(tab.app_pid, seconds=30), "the tab's app outlived the server"
        assert served.process.wait(timeout=30) == 0
