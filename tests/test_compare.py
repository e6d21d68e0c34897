"""`seqbench compare`: runs in lockstep on one input, on a file of inputs and over a split."""

import json

import pytest
import torch

from test_decode_cli import SMALL_TASK, make_run
from workbench.cli import main
from workbench.decoding.compare import compare_input, compare_split
from workbench.runs import load_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TASK = {"task.name": "reverse", **SMALL_TASK, "task.long_size": 12, "model.hidden": 16, "model.emb_dim": 8}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    a = make_run(root / "gru", TASK)
    torch.manual_seed(3)
    b = make_run(root / "tf", {**TASK, "model.cell": "transformer", "model.hidden": 16, "model.emb_dim": 16,
                               "model.heads": 2, "model.max_len": 64})
    c = make_run(root / "copy", {**TASK, "task.name": "copy"})
    return a, b, c


def test_a_run_compared_with_itself_never_diverges(capsys, tmp_path, runs):
    a = runs[0]
    out = tmp_path / "same.json"
    assert main(["compare", str(a), str(a), "--example", "1", "--json", str(out)]) == 0
    assert "no divergence" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["divergence"] is None and data["at_divergence"] == []
    assert data["runs"][0]["tokens"] == data["runs"][1]["tokens"]
    split = compare_split([load_run(a), load_run(a)], "long")
    assert all(len(split.only(x, y)) == 0 for x, y in split.pairs())


def test_divergence_is_the_first_position_where_outputs_differ(runs):
    loaded = [load_run(runs[0]), load_run(runs[1])]
    cmp = compare_input(loaded, text="abcab", max_len=12)
    seqs = [o.tokens + (["<eos>"] if o.status == "eos" else []) for o in cmp.outputs]
    expected = next(t for t in range(12) if t >= min(map(len, seqs)) or seqs[0][t] != seqs[1][t])
    assert cmp.divergence == expected
    views = cmp.at_divergence
    assert [v.label for v in views] == ["gru", "tf"]
    for view, out in zip(views, cmp.outputs):
        assert view.chosen == out.token_at(expected)
        assert view.top[0][0] == view.chosen  # greedy chose its most probable token
        pos, token, weight = view.attended
        assert token == "abcab"[pos - 1] and 0 < weight <= 1  # counted from 1, as the heatmap numbers columns


def test_split_comparison_counts_match_each_runs_exact_matches(runs):
    loaded = [load_run(runs[0]), load_run(runs[1])]
    split = compare_split(loaded, "test", limit=10)
    assert split.total == 10
    for a, b in split.pairs():
        assert len(split.only(a, b)) == len(split.correct[a]) - len(split.correct[a] & split.correct[b])
    data = split.to_json()
    assert [r["run"] for r in data["runs"]] == ["gru", "tf"]


def test_input_file_compares_every_nonblank_line(capsys, tmp_path, runs):
    inputs = tmp_path / "in.txt"
    inputs.write_text("abc\n\ncab\n", encoding="utf-8")
    out = tmp_path / "many.json"
    assert main(["compare", str(runs[0]), str(runs[0]), "--input-file", str(inputs), "--json", str(out)]) == 0
    assert "2 of 2 inputs give the same output" in capsys.readouterr().out
    assert [r["input"] for r in json.loads(out.read_text())["inputs"]] == ["abc", "cab"]


@pytest.mark.parametrize("extra, message", [
    (["COPY", "--example", "0"], "must share the task"),
    (["--input", "ab", "--example", "0"], "exactly one of"),
    (["--limit", "3", "--input", "ab"], "--limit only applies"),
])
def test_bad_comparisons_are_one_line_errors(capsys, runs, extra, message):
    gru, _, copy = runs
    args = [str(copy) if a == "COPY" else a for a in extra]
    if "COPY" not in extra:
        args = [str(gru), *args]
    assert main(["compare", str(gru), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_source_positions_count_from_1_as_the_heatmap_numbers_its_columns(capsys, tmp_path, runs):
    import re

    from workbench.decoding.render import heatmap

    out = tmp_path / "cmp.json"
    assert main(["compare", str(runs[0]), str(runs[1]), "--input", "abcdefghij", "--json", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # lines wrap at the console's width
    data = json.loads(out.read_text())
    assert data["at_divergence"]
    for view in data["at_divergence"]:
        where = view["attended"]
        assert "abcdefghij"[where["position"] - 1] == where["token"]
        assert f"attended to source position {where['position']} {where['token']}" in printed
    assert re.search(r"attended to source position \d+ ", printed)
    # the CLI heatmap wraps wide sources into blocks named by the same 1-based positions
    from rich.console import Console

    console = Console(width=40, record=True, file=None)
    with console.capture() as cap:
        console.print(heatmap(torch.rand(2, 30), ["x", "y"], list("abcdefghijklmnopqrstuvwxyzabcd"), width=40))
    assert "source positions 1-" in cap.get() and "source positions 0-" not in cap.get()
