"""Writing results: ``results.json`` (everything) and ``RESULTS.md`` (the table the README quotes)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

from .core import Figure, Result, format_value
from .machine import machine_line

SCHEMA = "seqbench.benchmarks/1"


def load(path: Path) -> Optional[dict[str, Any]]:
    """An earlier results.json, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("schema") == SCHEMA else None


def merge(previous: Optional[dict[str, Any]], results: list[Result], machine: dict[str, Any],
          run: dict[str, Any]) -> dict[str, Any]:
    """This run's results, plus any earlier benchmark this run did not repeat (``--only``)."""
    ran = {r.name for r in results}
    kept = [b for b in (previous or {}).get("benchmarks", []) if b.get("name") not in ran]
    return {"schema": SCHEMA, "machine": machine, "run": run,
            "benchmarks": kept + [r.to_json() for r in results]}


def _clean(obj: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write(out_dir: Path, data: dict[str, Any]) -> tuple[Path, Path]:
    """Write results.json and RESULTS.md into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "results.json", out_dir / "RESULTS.md"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_clean(data), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(json_path)
    md_path.write_text(markdown(data), encoding="utf-8")
    return json_path, md_path


def _verdict(fig: dict[str, Any], mode: str) -> str:
    if fig.get("passed") is True:
        return "pass"
    if fig.get("passed") is False:
        return "**FAIL**"
    if fig.get("target") is not None:
        return "not judged (quick)" if mode == "quick" else "not judged"
    return ""


def markdown(data: dict[str, Any]) -> str:
    """The Markdown report: machine line, one table of every figure, warnings, then details."""
    run = data.get("run", {})
    lines = ["# seqbench benchmark results", "",
             f"Machine: {machine_line(data['machine'])}.", "",
             f"Last run: `{run.get('command', 'python -m benchmarks')}` ({run.get('mode', '?')} mode), "
             f"{run.get('started', '?')}, took {run.get('seconds', 0) / 60:.1f} min.", "",
             "| benchmark | figure | measured | target | result |", "|---|---|---|---|---|"]
    for bench in data["benchmarks"]:
        mode = bench.get("mode", "")
        label = bench["name"] + (" (quick)" if mode == "quick" else "")
        if bench["status"] != "ok":
            lines.append(f"| {label} | {bench['title']} | {bench['status']}: {_cell(bench['message'])} | | |")
            continue
        for fig in bench["figures"]:
            f = Figure(**{k: v for k, v in fig.items() if k in Figure.__dataclass_fields__})
            name = f.name + (f" ({f.note})" if f.note else "")
            lines.append(f"| {label} | {_cell(name)} | {format_value(f.value, f.unit)} | {f.target_text} | "
                         f"{_verdict(fig, mode)} |")
    lines += _warnings(data) + _details(data)
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _warnings(data: dict[str, Any]) -> list[str]:
    out = []
    for bench in data["benchmarks"]:
        for w in bench.get("warnings", []):
            out.append(f"- **{bench['name']}**: {w}")
    return (["", "## Warnings", ""] + out) if out else []


def _details(data: dict[str, Any]) -> list[str]:
    """Tables some benchmarks attach (curves, step time vs prefix) under ``details['tables']``."""
    out: list[str] = []
    for bench in data["benchmarks"]:
        for title, table in (bench.get("details", {}).get("tables") or {}).items():
            out += ["", f"### {bench['name']}: {title}", "", "| " + " | ".join(table["columns"]) + " |",
                    "|" + "---|" * len(table["columns"])]
            out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table["rows"]]
    return out
