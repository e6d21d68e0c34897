"""Open the app: what `seqbench` without a command runs (Textual is imported only here, on demand)."""

from __future__ import annotations

from typing import Optional


def run_app(runs_dir: Optional[str]) -> int:
    """Run the terminal app on ``runs_dir``; returns its exit code. A broken install fails loudly."""
    from .tui.app import main as tui_main

    return tui_main(runs_dir)
