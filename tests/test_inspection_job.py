"""One inspection job: `seqbench decode` and the app's inspector decode the same input the same way.

Both build their job with ``workbench.decoding.job.prepare``; these tests hold them to it on a
seq2seq run, a language-model run and a Transformer run (tiny, untrained, seeded), and check the
limits that keep hostile input from running for minutes.
"""

import json
import math
from pathlib import Path

import pytest
import torch

from models import build_model
from workbench import runs
from workbench.cli import main
from workbench.config import build_config
from workbench.decoding.inspection import TEACHER, Inspection
from workbench.tasks import build_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"task.train_size": 200, "task.val_size": 20, "task.test_size": 20, "task.long_size": 0}


def make_run(path: Path, overrides: dict) -> Path:
    cfg = build_config(overrides=overrides)
    task = build_task(cfg.task)
    cfg.model.src_vocab = len(task.src_vocab) if task.src_vocab else 0
    cfg.model.tgt_vocab = len(task.tgt_vocab)
    torch.manual_seed(0)
    model = build_model(cfg.model)
    runs.create_run(path, cfg, (task.src_vocab, task.tgt_vocab))
    runs.save_checkpoint(path, {"model": model.state_dict()}, {"step": 0})
    return path


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    corpus = root / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    return {
        "seq2seq": make_run(root / "s2s", {"task.name": "reverse", **SMALL, "model.hidden": 16, "model.emb_dim": 8}),
        "lm": make_run(root / "lm", {"task.name": "charlm", "task.data": str(corpus), "task.block": 16,
                                     "model.hidden": 16, "model.emb_dim": 8, "model.layers": 1}),
        "transformer": make_run(root / "tf", {
            "task.name": "copy", **SMALL, "task.max_len": 6, "model.cell": "transformer", "model.hidden": 16,
            "model.emb_dim": 16, "model.heads": 2, "model.layers": 1, "model.max_len": 16}),
    }


def cli_json(run: Path, tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "session.json"
    assert main(["decode", str(run), *args, "--json", str(out)]) == 0
    return json.loads(out.read_text())


def inspector(run: Path) -> Inspection:
    loaded = runs.load_run(run)
    return Inspection(loaded.model, loaded.task)


def steps_of(records) -> list[list[tuple[int, float]]]:
    """(token, log-prob) of every candidate at every step, as decoded."""
    return [[(c.token, round(c.logprob, 5)) for c in r.candidates] for r in records]


def json_steps(data: dict) -> list[list[tuple[int, float]]]:
    return [[(c["token"], round(c["logprob"], 5)) for c in s["candidates"]] for s in data["steps"]]


@pytest.mark.parametrize("kind", ["seq2seq", "lm", "transformer"])
def test_an_example_decodes_the_same_in_the_shell_and_the_inspector(run_dirs, tmp_path, kind):
    data = cli_json(run_dirs[kind], tmp_path, "--example", "1")
    ins = inspector(run_dirs[kind])
    ins.load_example(1)
    ins.run()
    assert steps_of(ins.records) == json_steps(data)
    assert ins.warnings == data["warnings"]
    ins.set_mode(TEACHER)
    assert ins.score.tokens == data["reference"]["tokens"]
    assert [round(x, 5) for x in ins.score.logprobs] == [round(x, 5) for x in data["reference"]["logprobs"]]


@pytest.mark.parametrize("kind,text", [("seq2seq", "abc#d"), ("lm", "the qu\u00e9"), ("transformer", "ab@c")])
def test_typed_input_with_unknown_tokens_warns_the_same_in_both(run_dirs, tmp_path, kind, text):
    data = cli_json(run_dirs[kind], tmp_path, "--input", text)
    ins = inspector(run_dirs[kind])
    warnings = ins.load_text(text)
    ins.run()
    assert steps_of(ins.records) == json_steps(data)
    assert warnings == data["warnings"] and any("not in the vocabulary" in w for w in warnings)


def test_teacher_forcing_scores_the_whole_reference_of_a_language_model(run_dirs):
    ins = inspector(run_dirs["lm"])
    ins.load_example(0)
    ins.set_mode(TEACHER)
    assert ins.t == 0  # the whole-reference score is there before the first step...
    assert len(ins.score.tokens) == len(ins.reference)
    ins.set_options(max_len=3)  # ...and a short max length for free decoding does not cut it
    ins.run()
    assert ins.t == len(ins.reference) == len(ins.score.logprobs)
    assert math.isclose(ins.score.logprob, sum(c.token_logprob for r in ins.records for c in r.candidates[:1]),
                        abs_tol=1e-4)


@pytest.mark.parametrize("kind", ["seq2seq", "lm", "transformer"])
def test_a_huge_input_is_refused_at_once_with_the_limit(run_dirs, capsys, kind):
    assert main(["decode", str(run_dirs[kind]), "--input", "a" * 100_000]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "100000 tokens" in err and "at most" in err and "Traceback" not in err
    ins = inspector(run_dirs[kind])
    with pytest.raises(Exception, match="at most"):
        ins.load_text("a" * 100_000)


def test_the_automatic_length_stays_bounded_for_the_longest_input_accepted(run_dirs):
    from workbench.decoding.job import input_limit, prepare

    loaded = runs.load_run(run_dirs["seq2seq"])
    limit, _ = input_limit(loaded.task, loaded.model.capabilities)
    job = prepare(loaded.task, loaded.model.capabilities, text="a" * limit)
    assert job.max_len(loaded.task) <= 2 * limit + 10


def test_teacher_forcing_reaches_the_end_when_the_window_is_longer_than_the_model_covers(run_dirs, tmp_path):
    """A Transformer LM whose positions are fewer than the task's window: the example is cut to fit."""
    lm = runs.load_run(run_dirs["lm"])
    corpus = lm.task.config.data
    run = make_run(tmp_path / "tf-lm", {"task.name": "charlm", "task.data": corpus, "task.block": 16,
                                        "model.cell": "transformer", "model.hidden": 16, "model.emb_dim": 16,
                                        "model.heads": 2, "model.layers": 1, "model.max_len": 10})
    ins = inspector(run)
    ins.load_example(0)
    ins.set_mode(TEACHER)
    ins.run()
    assert len(ins.input_ids) + len(ins.reference) <= 10
    assert ins.t == len(ins.reference) == len(ins.score.tokens)


# ---- hostile input -----------------------------------------------------------------------------

def test_control_characters_in_the_input_are_echoed_escaped(run_dirs, capsys):
    assert main(["decode", str(run_dirs["seq2seq"]), "--input", "ab\x1b[2Jc\u202e"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\u202e" not in out + err
    assert "\\x1b[2J" in out and "\\u202e" in out


@pytest.mark.parametrize("command,target", [
    (["decode", "RUN", "--input", "abc"], "workbench.decode_cli.run"),
    (["inspect", "RUN"], "workbench.tui.screens.inspector.run_inspector"),
    (["runs"], "workbench.train_cli.print_runs"),
    ([], "workbench.app_entry.run_app"),
])
def test_ctrl_c_ends_every_command_quietly_with_code_130(run_dirs, monkeypatch, capsys, command, target):
    module, _, name = target.rpartition(".")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(f"{module}.{name}", interrupted)
    argv = [str(run_dirs["seq2seq"]) if a == "RUN" else a for a in command]
    assert main(argv) == 130
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err


def test_the_decode_help_states_the_engines_default_lm_length():
    import subprocess
    import sys

    from workbench.decoding.job import DEFAULT_LM_LENGTH

    help_text = subprocess.run([sys.executable, "-m", "workbench.cli", "decode", "--help"], capture_output=True,
                               text=True).stdout
    assert f"(default: {DEFAULT_LM_LENGTH};" in " ".join(help_text.split())
