"""`seqbench serve`: the options (no browser), the server's limits, and the app in a real headless Chromium."""

from __future__ import annotations

import asyncio
import os
import sys
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
    import workbench.web_server as web_server

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

    from workbench.web_server import SeqbenchServer

    server = SeqbenchServer(FAKE_APP, resolve_options(root=str(tmp_path), max_sessions=1))
    async with TestClient(TestServer(await server._make_app())) as client:
        client.seqbench = server
        yield client


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
