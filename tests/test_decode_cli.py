"""`seqbench decode`: output, panels, files and one-line errors, on tiny untrained runs."""

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
import torch

from models import build_model
from workbench import runs
from workbench.cli import main
from workbench.config import build_config
from workbench.tasks import build_task

SMALL_TASK = {"task.train_size": 200, "task.val_size": 20, "task.test_size": 20, "task.long_size": 0}



pytestmark = pytest.mark.usefixtures("one_torch_thread")

def make_run(path: Path, overrides: dict, weights: bool = True) -> Path:
    """A run directory with a randomly initialised model (what a checkpoint at step 0 looks like)."""
    cfg = build_config(overrides=overrides)
    task = build_task(cfg.task)
    cfg.model.src_vocab = len(task.src_vocab) if task.src_vocab else 0
    cfg.model.tgt_vocab = len(task.tgt_vocab)
    torch.manual_seed(0)
    model = build_model(cfg.model)
    runs.create_run(path, cfg, (task.src_vocab, task.tgt_vocab))
    if weights:
        runs.save_checkpoint(path, {"model": model.state_dict()}, {"step": 0})
    return path


@pytest.fixture(scope="module")
def s2s_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("runs") / "reverse", {
        "task.name": "reverse", **SMALL_TASK, "model.hidden": 16, "model.emb_dim": 8})


@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("runs") / "tf", {
        "task.name": "copy", **SMALL_TASK, "task.max_len": 6, "model.cell": "transformer", "model.hidden": 16,
        "model.emb_dim": 16, "model.heads": 2, "model.layers": 1, "model.max_len": 12})


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    text = root / "corpus.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    return make_run(root / "lm", {"task.name": "charlm", "task.data": str(text), "task.block": 16,
                                  "model.hidden": 16, "model.emb_dim": 8, "model.layers": 1})


def decode(capsys, run, *args):
    code = main(["decode", str(run), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_does_not_import_torch():
    code = ("import sys\nfrom workbench.cli import build_parser\n"
            "try:\n    build_parser().parse_args(['decode', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr
    for flag in ("--input", "--example", "--show", "--beam", "--sample", "--temperature", "--top-k", "--top-p",
                 "--seed", "--max-len", "--force", "--reference", "--json", "--export", "--length", "--device"):
        assert flag in done.stdout
    assert done.stdout.count("default") >= 16


def test_greedy_decode_prints_output_and_all_panels_within_80_columns(capsys, s2s_run):
    code, out, _ = decode(capsys, s2s_run, "--input", "abcdefghij" * 3, "--force", "4:<eos>", "--show", "all")
    assert code == 0
    assert "output" in out and "log-prob" in out and "ended by <eos>" in out
    assert "alignment" in out and "legend" in out and "n-best" in out and "next-token" in out and "hidden" in out
    assert "<eos>" in out.split("alignment")[1]  # the heatmap's last row is labelled <eos>, literally
    assert "source positions" in out  # 30 source columns do not fit in 80: the heatmap wraps
    assert max(len(line) for line in out.splitlines()) <= 80


def test_example_is_scored_against_its_target(capsys, s2s_run):
    code, out, _ = decode(capsys, s2s_run, "--example", "0", "--beam", "3", "--show", "beams")
    assert code == 0
    assert "reference" in out and "perplexity" in out
    assert "n-best" in out and "beam 3" in out


def test_reference_divergence_is_reported(capsys, s2s_run):
    code, out, _ = decode(capsys, s2s_run, "--input", "abc", "--reference", "cba", "--max-len", "6")
    assert code == 0
    assert "greedy decoding leaves it at step" in out or "reproduces it" in out


def test_seeded_sampling_repeats(capsys, s2s_run):
    first = decode(capsys, s2s_run, "--input", "abcd", "--sample", "--seed", "3", "--temperature", "1.5")[1]
    again = decode(capsys, s2s_run, "--input", "abcd", "--sample", "--seed", "3", "--temperature", "1.5")[1]
    assert first == again and "sample T=1.5" in first


def test_json_and_export_files(capsys, s2s_run, tmp_path):
    code, out, _ = decode(capsys, s2s_run, "--input", "abcd", "--beam", "2", "--force", "3:<eos>",
                          "--json", str(tmp_path / "s.json"), "--export", str(tmp_path / "exp"))
    assert code == 0
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["schema"] == "seqbench.decode/1" and data["source_tokens"] == list("abcd")
    assert len(data["steps"]) == 4 and data["steps"][-1]["done"] and data["result"][0]["text"][-1] == "<eos>"
    assert data["steps"][0]["trace"]["cross_attention"] is not None
    exp = tmp_path / "exp"
    att = np.load(exp / "attention.npy")
    assert att.shape[0] == 4 and att.shape[-1] == 4  # (T, L, H, S)
    rows = (exp / "attention.csv").read_text().splitlines()
    assert rows[0].split(",")[1:] == list("abcd") and rows[-1].startswith("<eos>")
    svg = ElementTree.parse(exp / "attention.svg").getroot()
    assert svg.tag.endswith("svg") and any("<eos>" == (e.text or "") for e in svg.iter())
    assert np.load(exp / "hidden.npy").shape[0] == 4


def test_unknown_characters_warn_and_decode(capsys, s2s_run):
    code, out, err = decode(capsys, s2s_run, "--input", "abxz", "--max-len", "3")
    assert code == 0
    assert "warning" in err and "'x'" in err and "'z'" in err and "<unk>" in err
    assert "output" in out


@pytest.mark.parametrize("args,message", [
    (["--input", ""], "empty"),
    (["--input", "   "], "empty"),
    (["--input", "abc", "--show", "attention,gates"], "unknown --show panel 'gates'"),
    (["--input", "abc", "--force", "x:a"], "bad --force"),
    (["--input", "abc", "--force", "1:notatoken"], "not a single token"),
    (["--input", "abc", "--beam", "2", "--sample"], "--beam"),
    (["--input", "abc", "--temperature", "0.5"], "--sample"),
    (["--input", "abc", "--length", "5"], "--length is for language models"),
    (["--example", "999"], "no example 999"),
    ([], "nothing to decode"),
])
def test_bad_input_is_a_one_line_error(capsys, s2s_run, args, message):
    code, out, err = decode(capsys, s2s_run, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_overlong_input_and_missing_weights_are_errors(capsys, transformer_run, tmp_path):
    code, _, err = decode(capsys, transformer_run, "--input", "abcdefabcdefabcdef")
    assert code == 2 and "at most 12" in err
    code, out, _ = decode(capsys, transformer_run, "--input", "abcabc", "--show", "attention", "--max-len", "4")
    assert code == 0 and "mean over 2 heads" in out
    bare = make_run(tmp_path / "bare", {"task.name": "reverse", **SMALL_TASK, "model.hidden": 8, "model.emb_dim": 8},
                    weights=False)
    code, _, err = decode(capsys, bare, "--input", "abc")
    assert code == 2 and "no saved weights" in err
    code, _, err = decode(capsys, tmp_path / "nowhere", "--input", "abc")
    assert code == 2 and "not found" in err


def test_language_model_continues_a_prompt(capsys, lm_run, tmp_path):
    code, out, _ = decode(capsys, lm_run, "--input", "the quick", "--length", "7", "--show", "attention,probs,hidden",
                          "--json", str(tmp_path / "lm.json"))
    assert code == 0 and "prompt" in out and "no attention" in out and "7 tokens" in out
    data = json.loads((tmp_path / "lm.json").read_text())
    assert data["family"] == "lm" and data["source"] is None and len(data["steps"]) == 7
    code, out, _ = decode(capsys, lm_run, "--example", "1", "--beam", "2")
    assert code == 0 and "reference" in out
