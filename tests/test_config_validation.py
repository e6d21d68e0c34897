"""Every config field refuses bad values the same way from a flag, --set, a TOML file and the launcher.

Each refusal is one line on stderr starting `seqbench: error:`, names the key, the value and what is
allowed, exits with code 2, shows no traceback and leaves no run directory behind.
"""

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import tomli_w

from workbench.cli import TRAIN_OPTIONS, main
from workbench.config import SECTIONS, build_config
from workbench.launch import check_field
from workbench.training import Trainer

ROOT = Path(__file__).resolve().parents[1]
FLAGS = {dest: flag for flag, dest, _, _ in TRAIN_OPTIONS}
TINY = ["--set", "task.train_size=200", "--set", "task.val_size=20", "--set", "task.test_size=20",
        "--set", "task.long_size=10", "--hidden", "16", "--emb", "8", "--steps", "4", "--eval-every", "2",
        "--batch-size", "8", "--threads", "1", "--quiet"]


BAD_TEXTS = {"task.alphabet": ["aab", "a b"], "train.device": ["gpu", "cuda:x"], "task.columns": ["1,1"]}  # free-form texts they refuse


def out_of_range(dotted: str, allowed) -> list:
    """Values just outside what a field allows (typed as TOML would hold them)."""
    if allowed.choices is not None:
        return ["bogus"]
    if allowed.kind is bool:
        return []
    if allowed.kind is str:
        return BAD_TEXTS.get(dotted, [])
    step = 1 if allowed.kind is int else 0.5
    found = []
    for bound, value in ((allowed.ge, lambda b: b - step), (allowed.gt, lambda b: b),
                         (allowed.le, lambda b: b + step), (allowed.lt, lambda b: b)):
        if bound is not None:
            found.append(allowed.kind(value(bound)))
    return found


def wrong_type(allowed) -> tuple[str, object]:
    """(command-line text, TOML value) of the wrong type for the field."""
    if allowed.kind is str:
        return ("", 5) if not allowed.optional else ("", True)
    if allowed.kind is bool:
        return "maybe", "yes"
    return "abc", (True if allowed.kind is int else "x")


def every_field():
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            yield section, f.name, f.metadata["allowed"]


def bad_cases():
    """(section, key, command-line text or None, TOML value or None) for every field."""
    for section, key, allowed in every_field():
        for value in out_of_range(f"{section}.{key}", allowed):
            text = f"{value:g}" if isinstance(value, float) else str(value)
            yield pytest.param(section, key, text, value, id=f"{section}.{key}={text}")
        text, toml_value = wrong_type(allowed)
        yield pytest.param(section, key, text or None, toml_value, id=f"{section}.{key}:{toml_value!r}")


def refused(capsys, tmp_path, *argv) -> str:
    """Run `seqbench train ...` in-process; assert the one-line refusal; return its message."""
    runs = tmp_path / "runs"
    code = main(["train", *argv, "--runs-dir", str(runs)])
    err = capsys.readouterr().err
    assert code == 2, f"exit {code} for {argv}: {err}"
    assert err.startswith("seqbench: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert not runs.exists() or not any(runs.iterdir()), "a refused config left a run directory"
    return err.removeprefix("seqbench: error: ").rstrip("\n")


def test_every_field_declares_what_it_allows():
    for section, key, allowed in every_field():
        assert allowed.describe(), f"{section}.{key} does not say what it allows"
        if allowed.kind is not bool:
            assert out_of_range(f"{section}.{key}", allowed) or allowed.optional, f"{section}.{key} has no value it refuses"


@pytest.mark.parametrize("section,key,text,toml_value", bad_cases())
def test_bad_value_is_one_line_from_flag_set_and_toml(capsys, tmp_path, section, key, text, toml_value):
    dotted = f"{section}.{key}"
    messages = []
    if text is not None:
        if dotted in FLAGS:
            messages.append(refused(capsys, tmp_path, FLAGS[dotted], text))
        messages.append(refused(capsys, tmp_path, "--set", f"{dotted}={text}"))
    config = tmp_path / "bad.toml"
    config.write_text(tomli_w.dumps({section: {key: toml_value}}))
    messages.append(refused(capsys, tmp_path, "--config", str(config)))
    for message in messages:
        assert dotted in message and "is not allowed; must be" in message, message
    assert len(set(m.removeprefix(f"{config}: ") for m in messages[:-1])) <= 1, "a flag and --set disagree"


@pytest.mark.parametrize("argv,message", [
    (["--steps", "0"], "train.steps: 0 is not allowed; must be an integer >= 1"),
    (["--steps", "-5"], "train.steps: -5 is not allowed; must be an integer >= 1"),
    (["--eval-every", "0"], "train.eval_every: 0 is not allowed; must be an integer >= 1"),
    (["--lr", "-1"], "train.lr: -1 is not allowed; must be a number > 0"),
    (["--lr", "nan"], "train.lr: nan is not allowed; must be a number > 0"),
    (["--threads", "-1"], "train.threads: -1 is not allowed; must be an integer >= 0 and <= 1024"),
    (["--batch-size", "0"], "train.batch_size: 0 is not allowed; must be an integer >= 1 and <= 65536"),
    (["--set", "train.steps=abc"], "train.steps: 'abc' is not allowed; must be an integer >= 1"),
    (["--device", "gpu"], "train.device: 'gpu' is not allowed; must be auto, cpu, cuda, cuda:N or mps"),
    (["--dropout", "1"], "model.dropout: 1 is not allowed; must be a number >= 0 and < 1"),
    (["--teacher-forcing", "1.5"], "train.teacher_forcing: 1.5 is not allowed; must be a number >= 0 and <= 1"),
    # rules between fields name the key they refuse and the key they depend on
    (["--arch", "transformer", "--hidden", "30", "--heads", "4"], "model.hidden: 30 is not allowed; must be divisible by model.heads (4)"),
    (["--set", "task.min_len=8", "--set", "task.max_len=5"], "task.max_len: 5 is not allowed; must be >= task.min_len (8)"),
    (["--set", "task.long_min=12"], "task.long_min: 12 is not allowed; must be > task.max_len (12)"),
    (["--set", "model.tie_embeddings=true", "--emb", "8", "--hidden", "16"], "model.tie_embeddings: true is not allowed"),
    (["--task", "charlm", "--arch", "gru", "--attention", "dot"], "model.attention: 'dot' is not allowed; must be none for task charlm"),
    (["--task", "reverse", "--data", "x.txt"], "task.data: 'x.txt' is not allowed; must be none: task reverse generates its data"),
])
def test_issue_cases_name_the_key_the_value_and_what_is_allowed(capsys, tmp_path, argv, message):
    assert refused(capsys, tmp_path, *argv).startswith(message)


@pytest.mark.parametrize("toml_text,message", [
    ("[train]\nsteps = \"x\"\n", "train.steps: 'x' is not allowed; must be an integer >= 1"),
    ("[train]\nsteps = true\n", "train.steps: true is not allowed; must be an integer >= 1"),
    ("[train]\nsteps = 2.5\n", "train.steps: 2.5 is not allowed; must be an integer >= 1"),
    ("[model]\nbidirectional = 1\n", "model.bidirectional: 1 is not allowed; must be true or false"),
    ("[train]\nbogus = 1\n", "unknown option train.bogus"),
    ("[bogus]\nx = 1\n", "unknown section [bogus]"),
])
def test_toml_values_keep_their_types(capsys, tmp_path, toml_text, message):
    config = tmp_path / "run.toml"
    config.write_text(toml_text)
    assert refused(capsys, tmp_path, "--config", str(config)).startswith(f"{config}: {message}")


@pytest.mark.parametrize("section,key,text", [
    ("train", "steps", "-5"), ("train", "steps", "abc"), ("train", "lr", "0"), ("model", "dropout", "1.5"),
    ("train", "threads", "-1"), ("model", "heads", "0"), ("train", "max_seconds", "-2"),
])
def test_the_launcher_shows_the_cli_message_for_the_same_value(capsys, tmp_path, section, key, text):
    assert check_field(section, key, text) == refused(capsys, tmp_path, "--set", f"{section}.{key}={text}")
    assert check_field(section, key, "5" if key != "dropout" else "0.5") is None


def test_end_to_end_refusal_is_one_line_and_creates_nothing(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[train]\nsteps = true\n")
    for argv in (["--steps", "-5"], ["--config", str(config)]):
        done = subprocess.run([sys.executable, "-m", "workbench.cli", "train", *argv, "--runs-dir", str(tmp_path / "runs")],
                              capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("seqbench: error: ") and "train.steps: " in done.stderr
        assert not (tmp_path / "runs").exists()


def test_a_flag_without_its_value_is_one_line_too(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--steps"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err == "seqbench: error: argument --steps: expected one argument; see `seqbench train --help`\n"


# --- resume: settings that do not change the result may be given again --------------------------


@pytest.fixture
def tiny_run(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--task", "reverse", *TINY, "--out", str(run)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return run


def test_resume_accepts_run_settings_and_refuses_changes_by_name(capsys, tiny_run):
    ok = main(["train", "--resume", str(tiny_run), "--steps", "6", "--threads", "1", "--device", "cpu",
               "--eval-every", "3", "--max-seconds", "60", "--hidden", "16", "--quiet"])
    assert ok == 0, capsys.readouterr().err  # --hidden 16 is the run's own value: no change
    capsys.readouterr()
    message = refused(capsys, tiny_run.parent, "--resume", str(tiny_run), "--hidden", "32", "--lr", "0.1")
    assert message.startswith("--resume continues a run as configured; it cannot change model.hidden, train.lr")
    assert refused(capsys, tiny_run.parent, "--resume", str(tiny_run), "--steps", "-1").startswith("train.steps: -1")
    assert refused(capsys, tiny_run.parent, "--resume", str(tiny_run), "--steps", "5").startswith(
        "train.steps: 5 is not allowed; must be more than the 6 steps")
    config = tiny_run.parent / "more.toml"
    config.write_text("[train]\nthreads = 1\nlr = 0.5\n")
    assert refused(capsys, tiny_run.parent, "--resume", str(tiny_run), "--config", str(config)).endswith(
        "it cannot change train.lr (a resume may change train.steps, train.eval_every, train.samples, train.device, "
        "train.threads, train.max_seconds, train.tensorboard)")


def test_a_time_limited_run_can_be_continued(capsys, tiny_run):
    """--max-seconds counts this session's training: a run that used its time still trains on resume."""
    trainer = Trainer.resume(tiny_run, steps=8)
    trainer.config.train.max_seconds = 600.0
    trainer.elapsed += 10_000.0  # far beyond the limit, as after many earlier sessions
    assert trainer.run().step == 8


def test_every_task_has_defaults_that_pass_the_check():
    from workbench.defaults import TASK_DEFAULTS
    from workbench.tasks import TASKS

    assert set(TASK_DEFAULTS) <= set(TASKS)
    for name in TASKS:
        assert build_config(task=name).task.name == name


def test_a_resume_writes_the_settings_it_changed_into_the_run(capsys, tiny_run):
    """After a resume, config.toml says how the run was last trained; a refused resume leaves it alone."""
    from workbench.runs import load_config

    before = load_config(tiny_run)
    assert main(["train", "--resume", str(tiny_run), "--steps", "6", "--eval-every", "3", "--max-seconds", "60",
                 "--device", "cpu", "--threads", "2", "--quiet"]) == 0, capsys.readouterr().err
    after = load_config(tiny_run)
    assert (after.train.steps, after.train.eval_every, after.train.max_seconds, after.train.device,
            after.train.threads) == (6, 3, 60.0, "cpu", 2)
    assert (after.task, after.model, after.train.lr) == (before.task, before.model, before.train.lr)
    written = (tiny_run / "config.toml").read_text()
    refused(capsys, tiny_run.parent, "--resume", str(tiny_run), "--steps", "5")
    assert (tiny_run / "config.toml").read_text() == written
    Trainer.resume(tiny_run, steps=8).run()  # the app's resume: only a new total
    assert load_config(tiny_run).train.steps == 8 and load_config(tiny_run).train.threads == 2
    assert not (tiny_run / ".config.toml.tmp").exists()


def test_hard_attention_trains_longer_and_wider_unless_the_user_says(tmp_path):
    """Hard attention learns slower than the soft default: on reverse it keeps 1,500 steps and width
    128 (soft: 600 and 64), unless the user gives them (a flag, --set or a config file)."""
    from workbench.config import build_config

    soft = build_config(overrides={"task.name": "reverse"})
    assert (soft.train.steps, soft.model.hidden) == (600, 64)
    for estimator in ("gumbel", "reinforce"):
        hard = {"task.name": "reverse", "model.hard_attention": estimator}
        cfg = build_config(overrides=hard)
        assert (cfg.train.steps, cfg.model.hidden) == (1500, 128)
        cfg = build_config(overrides={**hard, "train.steps": "200", "model.hidden": "32"})
        assert (cfg.train.steps, cfg.model.hidden) == (200, 32)
        assert build_config(toml={"train": {"steps": 300}}, overrides=hard).train.steps == 300
    big = build_config(overrides={"task.name": "tsv", "model.hard_attention": "gumbel", "model.cell": "gru",
                                  "model.attention": "additive"})
    assert big.train.steps == 5000  # a task's own larger value stays
