"""Open the app. Until the TUI lands, `seqbench` without a command shows the help."""

from __future__ import annotations

from typing import Optional


def run_app(runs_dir: Optional[str]) -> int:
    try:
        from .tui.app import main as tui_main
    except ImportError:
        from .cli import build_parser

        build_parser().print_help()
        return 0
    return tui_main(runs_dir)
