"""`seqbench decode` on encoder runs: tags under tokens, a class with probabilities, masks filled, JSON and export."""

import json

import pytest

from workbench.cli import main

from test_decode_cli import make_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SMALL = {"task.train_size": 200, "task.val_size": 20, "task.test_size": 20, "task.long_size": 0,
         "model.hidden": 16, "model.emb_dim": 8}


@pytest.fixture(scope="module")
def tag_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("enc") / "tag", {"task.name": "nounverb", **SMALL})


def test_tags_print_under_their_tokens_with_the_reference(tag_run, capsys):
    assert main(["decode", str(tag_run), "--example", "0", "--show", "probs,hidden"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    row = {line.split()[0]: line for line in lines if line.split() and line.split()[0] in ("input", "tag", "reference")}
    assert set(row) == {"input", "tag", "reference"}
    assert "tags match the reference" in out and "backward direction" in out


def test_a_class_prints_with_its_probabilities_and_pooling(tmp_path, capsys):
    run = make_run(tmp_path / "cls", {"task.name": "majority", **SMALL, "model.pooling": "attention"})
    assert main(["decode", str(run), "--input", "abcab", "--show", "attention", "--json", str(tmp_path / "v.json")]) == 0
    out = capsys.readouterr().out
    assert "class " in out and "pooling weights (attention)" in out
    record = json.loads((tmp_path / "v.json").read_text())
    assert len(record["top"]) == 1 and abs(sum(record["pooling"]) - 1) < 1e-4


def test_masks_are_filled_one_at_a_time_and_a_forced_mask_keeps_its_token(tmp_path, capsys):
    run = make_run(tmp_path / "mlm", {"task.name": "mlm", "task.block": 16, "model.hidden": 16, "model.heads": 2,
                                      "model.layers": 1})
    assert main(["decode", str(run), "--input", "def f(x_: ret[MASK]rn", "--force", "7:y", "--json",
                 str(tmp_path / "m.json"), "--export", str(tmp_path / "exp")]) == 0
    out = capsys.readouterr().out
    assert "iterative unmasking" in out and "(forced)" in out
    steps = json.loads((tmp_path / "m.json").read_text())["unmasking"]
    assert sorted(s["position"] for s in steps) == [7, 13]
    assert next(s for s in steps if s["position"] == 7)["token"] == "y"
    assert (tmp_path / "exp" / "attention.npy").exists() and (tmp_path / "exp" / "encoding.json").exists()


def test_decoder_options_are_refused_for_an_encoder(tag_run, capsys):
    assert main(["decode", str(tag_run), "--input", "we can fish .", "--beam", "3"]) != 0
    assert "an encoder reads its input at once" in capsys.readouterr().err


def test_a_classifier_run_has_a_confusion_matrix_over_its_test_split(tmp_path, capsys):
    from rich.console import Console

    from workbench.decoding.encoding_report import print_confusion

    run = make_run(tmp_path / "cls", {"task.name": "majority", **SMALL})
    console = Console(width=100, record=True)
    print_confusion(console, str(run))
    shown = console.export_text()
    assert "rows reference, columns predicted" in shown
    numbers = [int(tok) for line in shown.splitlines()[2:] for tok in line.split()[1:]]  # after title and header
    assert sum(numbers) == SMALL["task.test_size"]


@pytest.mark.parametrize("command", [["errors"], ["ablate"], ["compare", "--example", "0"]])
def test_commands_that_study_decoding_steps_refuse_an_encoder_run_plainly(tag_run, capsys, command):
    runs = [str(tag_run), str(tag_run)] if command[0] == "compare" else [str(tag_run)]
    assert main([command[0], *runs, *command[1:]]) == 2
    assert "is an encoder run" in capsys.readouterr().err


# ---- many lines at once: --input-file ----------------------------------------------------------------

def _one_at_a_time(run, line, tmp_path, capsys):
    """What ``seqbench decode RUN --input LINE --json`` records for one line."""
    path = tmp_path / "one.json"
    assert main(["decode", str(run), "--input", line, "--json", str(path)]) == 0
    capsys.readouterr()
    return json.loads(path.read_text())


def _file(run, lines, tmp_path, capsys, *extra):
    path = tmp_path / "in.txt"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    code = main(["decode", str(run), "--input-file", str(path), "--batch-size", "3", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out, captured.err


def test_a_file_of_sentences_is_tagged_as_one_at_a_time(tag_run, tmp_path, capsys):
    lines = ["we can fish .", "the old duck will cook .", "", "they watch a big boat .", "I can ring ."]
    out, err = _file(tag_run, lines, tmp_path, capsys, "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5] and rows[2]["status"] == "empty"
    assert "1 empty lines" in err and "tagged 5 lines" in err
    for line, row in zip(lines, rows):
        if not line:
            continue
        one = _one_at_a_time(tag_run, line, tmp_path, capsys)
        assert row["output"].split() == one["predicted"]
        assert row["probs"] == pytest.approx([t[0][1] for t in one["top"]], abs=1e-4)
    text, _ = _file(tag_run, lines, tmp_path, capsys)
    assert text.splitlines() == [r["output"] for r in rows]


def test_a_file_of_strings_is_classified_as_one_at_a_time(tmp_path, capsys):
    run = make_run(tmp_path / "cls", {"task.name": "majority", **SMALL})
    lines = ["abcab", "ccca", "bbbbbbbbbbac", "a"]
    out, _ = _file(run, lines, tmp_path, capsys, "--format", "tsv")
    header, *rows = [line.split("\t") for line in out.splitlines()]
    assert header == ["line", "source", "label", "prob", "tokens", "status"]
    for line, row in zip(lines, rows):
        one = _one_at_a_time(run, line, tmp_path, capsys)
        assert row[1] == line and row[2] == one["predicted"][0]
        assert float(row[3]) == pytest.approx(one["top"][0][0][1], abs=1e-3)


def test_a_file_of_masked_lines_is_filled_as_one_at_a_time(tmp_path, capsys):
    run = make_run(tmp_path / "mlm", {"task.name": "mlm", "task.block": 16, "model.hidden": 16, "model.heads": 2,
                                      "model.layers": 1})
    lines = ["def f(x_: ret[MASK]rn", "im__rt os", "no mask here", "_"]
    out, err = _file(run, lines, tmp_path, capsys, "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[2]["status"] == "no mask" and rows[2]["output"] == "no mask here" and "no mask to fill" in err
    for line, row in zip(lines, rows):
        if row["status"] != "ok":
            continue
        one = _one_at_a_time(run, line, tmp_path, capsys)
        assert row["output"] == "".join(one["unmasking"][-1]["tokens"])
        by_position = sorted((s["position"], s["prob"]) for s in one["unmasking"])
        assert row["probs"] == pytest.approx([p for _, p in by_position], abs=1e-4)


def test_decoder_options_are_refused_for_an_encoder_file(tag_run, tmp_path, capsys):
    path = tmp_path / "in.txt"
    path.write_text("we can fish .\n", encoding="utf-8")
    assert main(["decode", str(tag_run), "--input-file", str(path), "--beam", "2"]) != 0
    assert "an encoder run gives tags per line" in capsys.readouterr().err
