"""The benchmark harness works: quick mode writes a results file and a Markdown table with the machine.

No timing is asserted here (machines differ and are noisy); only that the harness runs and what it
writes has the documented structure.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not installed: `python -m pytest` finds it from the cwd, `pytest` may not
    sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from benchmarks.core import Figure, Result, abba_order, format_value  # noqa: E402


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    done = run_bench("--quick", "--only", "startup,decoding", "--out", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout


def test_quick_run_writes_results_json_with_machine_and_figures(quick_results):
    out, stdout = quick_results
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["schema"] == report.SCHEMA
    machine = data["machine"]
    for key in ("cpu", "cores", "torch", "torch_threads_default", "load_average", "python"):
        assert key in machine
    assert data["run"]["mode"] == "quick" and data["run"]["seconds"] > 0
    by_name = {b["name"]: b for b in data["benchmarks"]}
    assert set(by_name) == {"startup", "decoding"}
    for bench in by_name.values():
        assert bench["status"] == "ok", bench["message"]
        assert bench["figures"] and bench["seconds"] > 0 and bench["mode"] == "quick"
        assert "other_cpu" in bench and "load_before" in bench and isinstance(bench["warnings"], list)
        for fig in bench["figures"]:
            assert set(fig) >= {"name", "value", "unit", "target", "op", "passed", "target_text"}
            assert fig["value"] is None or isinstance(fig["value"], (int, float))
            if fig["target"] is not None:
                assert fig["op"] in ("<=", ">=") and isinstance(fig["passed"], bool)
    help_fig = by_name["startup"]["figures"][0]
    assert "--help" in help_fig["name"] and help_fig["unit"] == "s" and help_fig["target"] == 0.3
    assert "== startup" in stdout and "wrote" in stdout  # progress is printed as it goes


def test_quick_run_writes_markdown_table_with_machine_line(quick_results):
    out, _ = quick_results
    md = (out / "RESULTS.md").read_text(encoding="utf-8")
    assert md.startswith("# seqbench benchmark results")
    assert "Machine: " in md and " cores" in md and "torch " in md and "load average at start" in md
    assert "| benchmark | figure | measured | target | result |" in md
    assert "| startup (quick) |" in md and "≤ 0.3 s" in md
    assert "Transformer LM (2×256) step time vs prefix" in md  # a detail table


def test_only_merges_into_existing_results(quick_results, tmp_path):
    out, _ = quick_results
    for name in ("results.json", "RESULTS.md"):
        (tmp_path / name).write_bytes((out / name).read_bytes())
    done = run_bench("--quick", "--only", "startup", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert sorted(b["name"] for b in data["benchmarks"]) == ["decoding", "startup"]


def test_list_and_unknown_names():
    listed = run_bench("--list")
    assert listed.returncode == 0
    for name in ("overhead", "accuracy", "charlm", "app", "inspector", "decoding", "startup", "memory"):
        assert name in listed.stdout
    bad = run_bench("--only", "nope")
    assert bad.returncode != 0 and "unknown benchmark" in bad.stderr + bad.stdout


def test_markdown_marks_failures_skips_and_quick_rows():
    ok = Result("decoding", "decoding", "full", figures=[
        Figure("engine step", 12.5, "ms", 10.0, "<=", False),
        Figure("speed-up", 25.0, "x", 20.0, ">=", True),
        Figure("no target", 3.0, "MiB"),
    ], warnings=["other processes used 1.20 of 2 cores"])
    skipped = Result("app", "the app", "quick", status="skipped", message="the app is not available yet")
    data = report.merge(None, [ok, skipped], {"cpu": "X", "cores": 2, "python": "3", "torch": "2",
                                              "torch_threads_default": 2, "load_average": [0.1]},
                        {"mode": "full", "seconds": 60})
    md = report.markdown(data)
    assert "| decoding | engine step | 12.5 ms | ≤ 10 ms | **FAIL** |" in md
    assert "| 25× | ≥ 20× | pass |" in md
    assert "skipped: the app is not available yet" in md
    assert "## Warnings" in md and "other processes used 1.20" in md


def test_helpers():
    assert abba_order(["a", "b"], 4) == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert format_value(None) == "—" and format_value(0.1234, "s") == "0.123 s" and format_value(99.5, "%") == "99.5%"


def test_translation_benchmark_holds_out_sources_with_all_their_references(tmp_path):
    from benchmarks.translation import hold_out

    corpus = tmp_path / "c.tsv"
    rows = [(f"s{i}", f"t{i}-{k}") for i in range(30) for k in range(1 + i % 3)]
    corpus.write_text("".join(f"{s}\t{t}\tattribution\n" for s, t in rows) + "truncated\n", encoding="utf-8")
    sources, refs = hold_out(corpus, tmp_path / "out", 8)
    train = [line.split("\t") for line in (tmp_path / "out" / "train.tsv").read_text(encoding="utf-8").splitlines()]
    assert len(sources) == len(set(sources)) == 8 and not {s for s, _ in train} & set(sources)
    assert len(train) + sum(map(len, refs)) == len(rows)
    assert refs[0] == tuple(t for s, t in rows if s == sources[0])
