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
        found = _imports(path) & {"textual", "textual_serve"}
        assert not found, f"{path.relative_to(ROOT)} imports {', '.join(sorted(found))}"


def test_cli_help_does_not_import_torch():
    code = ("import sys; from workbench.cli import build_parser; p = build_parser(); "
            "p.format_help(); assert 'torch' not in sys.modules, 'torch imported at CLI start-up'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---- nothing outside models/ asks which cell a model is ---------------------------------------

CELL_NAMES = {"transformer", "lstm", "gru", "rnn"}
# Where a cell name is data, not a decision: each entry is (file, why).
CELL_NAME_DATA = {
    "workbench/tui/arch_notes.py": "the architecture notes are text keyed by cell, shown to the user",
}
# Files whose owners (issue 10.1 configs, 10.4/10.5 runs) are moving these checks into models/; an
# entry is deleted when its file no longer compares cell names (the test below says so).
PENDING = {
    "workbench/config.py": "check_compatible: derived model fields move into ModelConfig validation",
    "workbench/tui/screens/launcher.py": "launcher: heads from models.capabilities",
    "workbench/tui/widgets/arch_picker.py": "arch picker: models.attention_choices / capabilities",
}


def _compares_cell(node: ast.AST) -> bool:
    """``x == "lstm"``, ``"gru" in (...)``, ``cfg.cell != ...``, ``match``-free comparisons on cells."""
    if not isinstance(node, ast.Compare):
        return False
    operands = [node.left, *node.comparators]
    for operand in operands:
        if isinstance(operand, ast.Constant) and operand.value in CELL_NAMES:
            return True
        if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) and any(
                isinstance(e, ast.Constant) and e.value in CELL_NAMES for e in operand.elts):
            return True
    # ``cfg.cell != x``; ``trace.cell is not None`` asks whether a trace has a cell state, which is fine
    none = any(isinstance(o, ast.Constant) and o.value is None for o in operands)
    return not none and any(isinstance(o, ast.Attribute) and o.attr == "cell" for o in operands)


def _cell_comparisons(path: Path) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if _compares_cell(node)]


def test_nothing_outside_models_branches_on_the_cell_name():
    found, done = [], []
    for path in sorted((ROOT / "workbench").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        lines = _cell_comparisons(path)
        if rel in PENDING and not lines:
            done.append(rel)
        elif rel not in CELL_NAME_DATA and rel not in PENDING:
            found += [f"{rel}:{n}" for n in lines]
    assert not found, "ask models.capabilities(cfg) instead of comparing cell names: " + ", ".join(found)
    assert not done, f"no cell names compared any more in {done}: delete them from PENDING"


def test_the_cell_name_check_sees_comparisons():
    seen = [_compares_cell(ast.parse(code, mode="eval").body) for code in (
        'cfg.cell == "gru"', '"lstm" != c', 'c in ("rnn", "gru")', "model.config.cell != other",
        "trace.cell is not None", "caps.heads > 1")]
    assert seen == [True, True, True, True, False, False]


# ---- no import cycles in workbench/ ---------------------------------------------------------

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, modules: set[str]) -> set[str]:
    """Modules of ``modules`` that ``path`` imports anywhere (function-level and TYPE_CHECKING too)."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != here:
                out.add(target)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as a list of modules, or [] when it is acyclic."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def _graph(paths: list[Path]) -> dict[str, set[str]]:
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _imported_modules(p, modules) for p in paths}
    # A package's __init__ is run on the way to any module in it; that edge is not an import cycle.
    return {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}


def test_workbench_outside_the_tui_has_no_import_cycles():
    paths = [p for p in (ROOT / "workbench").rglob("*.py") if "tui" not in p.relative_to(ROOT / "workbench").parts]
    cycle = _cycle(_graph(paths))
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_app_and_its_run_controller_do_not_import_each_other():
    tui = ROOT / "workbench" / "tui"
    cycle = _cycle(_graph([tui / "app.py", tui / "controller.py"]))
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
