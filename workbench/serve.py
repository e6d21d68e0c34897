"""`seqbench serve`: the app in a browser, one app process per tab, on this machine only by default.

The web side is the ``textual-serve`` package (``tui/web_server.py``, which also runs the command);
this module turns the command's options into what it needs: where to listen, how many tabs may run at once, and the
one directory the app may read data from and write runs to. The root reaches each app process
as $SEQBENCH_ROOT (the process also starts in it), and ``outside_root`` is the check the
launcher's data-file box applies. Nothing here imports aiohttp, so the app itself stays light.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from .errors import UserError

ROOT_ENV = "SEQBENCH_ROOT"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_SESSIONS = 4
# each tab's app talks to the browser through this driver: a closed tab is a hung-up terminal
BROWSER_DRIVER = "workbench.tui.browser:BrowserDriver"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def host_warning(host: str, port: int) -> Optional[str]:
    """The warning printed when the server is reachable from other machines, else None."""
    if is_loopback(host):
        return None
    return (f"warning: --host {host} is not a loopback address: anyone who can reach this machine on "
            f"port {port} can use the app, train models and read data under --root (there is no login)")


def data_root() -> Optional[Path]:
    """The directory data files must stay inside ($SEQBENCH_ROOT), or None when unconfined."""
    root = os.environ.get(ROOT_ENV)
    return Path(root).resolve() if root else None


def outside_root(path: Union[str, Path], root: Optional[Path] = None) -> Optional[str]:
    """A one-line refusal when ``path`` (symlinks followed) leaves the root, else None."""
    root = root if root is not None else data_root()
    if root is None:
        return None
    resolved = Path(path).expanduser().resolve()
    if resolved == root or root in resolved.parents:
        return None
    return f"outside the served directory {root}: only files under it can be used"


@dataclass
class ServeOptions:
    """Where to listen, how many tabs may run at once, and the directory the app is confined to."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_sessions: int = DEFAULT_MAX_SESSIONS
    root: Path = Path(".")
    runs_dir: Path = Path("runs")


def resolve_options(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, max_sessions: int = DEFAULT_MAX_SESSIONS,
                    root: Optional[str] = None, runs_dir: Optional[str] = None) -> ServeOptions:
    """Check the command's options and make the paths absolute; a UserError names what is wrong."""
    if not 0 < port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {port}")
    if max_sessions < 1:
        raise UserError(f"--max-sessions must be at least 1, got {max_sessions}")
    base = Path(root or ".").expanduser()
    if not base.is_dir():
        raise UserError(f"--root {base}: not a directory")
    base = base.resolve()
    runs = Path(runs_dir or os.environ.get("SEQBENCH_RUNS") or base / "runs").expanduser().resolve()
    if outside_root(runs, base):
        raise UserError(f"runs directory {runs} is outside --root {base}: runs must live under it")
    return ServeOptions(host=host, port=port, max_sessions=max_sessions, root=base, runs_dir=runs)


def app_command(opts: ServeOptions) -> str:
    """The shell command textual-serve runs for each tab: this Python, this code, confined to the root."""
    code_dir = str(Path(__file__).resolve().parents[1])  # so the tab runs this copy of seqbench
    python_path = os.pathsep.join(filter(None, [code_dir, os.environ.get("PYTHONPATH")]))
    env = {ROOT_ENV: str(opts.root), "SEQBENCH_RUNS": str(opts.runs_dir), "PYTHONPATH": python_path,
           "TEXTUAL_DRIVER": BROWSER_DRIVER}
    assignments = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    # exec: the app process is the one textual-serve started, so it gets no stray shell parent
    return (f"cd {shlex.quote(str(opts.root))} && exec env {assignments} "
            f"{shlex.quote(sys.executable)} -m workbench.cli --runs-dir {shlex.quote(str(opts.runs_dir))}")
