"""The layers in DESIGN.md: models/ is pure torch, Textual stays in workbench/tui/, the CLI starts light."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_models_never_import_workbench_or_ui():
    for path in (ROOT / "models").rglob("*.py"):
        bad = _imports(path) & {"workbench", "textual", "rich"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_textual_only_inside_tui():
    for path in (ROOT / "workbench").rglob("*.py"):
        if "tui" in path.relative_to(ROOT / "workbench").parts:
            continue
        assert "textual" not in _imports(path), f"{path.relative_to(ROOT)} imports textual"


def test_cli_help_does_not_import_torch():
    code = ("import sys; from workbench.cli import build_parser; p = build_parser(); "
            "p.format_help(); assert 'torch' not in sys.modules, 'torch imported at CLI start-up'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
