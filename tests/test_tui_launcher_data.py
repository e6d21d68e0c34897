"""The launcher reads a parallel file as `seqbench train` would, before training: options and data report.

A small TSV in Tatoeba's export shape (a third attribution column, a repeated pair, a no-break
space) is typed into the launcher; the report (read in a thread worker) shows the hint, the counts
and the normalised space; a bad vocabulary size shows the line the CLI prints for it.
"""

from __future__ import annotations

import time

from textual.widgets import Input, Select, Static

from workbench.cli import main
from workbench.launch import FIELDS, preview_data
from workbench.tui.app import SeqbenchApp
from workbench.tui.screens.launcher import LauncherScreen
from workbench.tui.widgets.task_picker import TaskPicker

SIZE = (120, 40)
PAIRS = [("Hi.", "Salut\u00a0!"), ("Run!", "Cours !"), ("Who?", "Qui ?"), ("Wow!", "Ça alors !"),
         ("Fire!", "Au feu !"), ("Help!", "À l'aide !"), ("Jump.", "Saute."), ("Stop!", "Ça suffit !"),
         ("Wait!", "Attends !"), ("Hello!", "Bonjour !"), ("Go on.", "Poursuis."), ("I see.", "Je comprends.")]


def attributed_tsv(path):
    """Tatoeba-style lines: source, target, attribution; the first pair twice."""
    lines = [f"{s}\t{t}\tCC-BY 2.0 (France) Attribution: tatoeba.org #{i} (ck) & #{i + 1} (sacredceltic)"
             for i, (s, t) in enumerate(PAIRS)]
    path.write_text("\n".join([lines[0]] + lines) + "\n", encoding="utf-8")
    return path


async def until(pilot, condition, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


def text_of(screen, selector: str) -> str:
    if selector == "#data-report":
        return screen.query_one(TaskPicker).report_text
    return str(screen.query_one(selector, Static).content)


async def tsv_launcher(app, pilot) -> LauncherScreen:
    await until(pilot, lambda: isinstance(app.screen, LauncherScreen) and app.screen.catalog is not None,
                what="the engine to load")
    screen = app.screen
    screen.query_one("#task-list").highlighted = list(screen.query_one("#task-list")._id_to_option).index("tsv")
    await pilot.pause()
    return screen


async def test_the_report_shows_the_tatoeba_hint_and_the_counts_before_training(tmp_path):
    data = attributed_tsv(tmp_path / "fra.txt")
    app = SeqbenchApp(runs_dir=str(tmp_path / "runs"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await tsv_launcher(app, pilot)
        screen.query_one("#data", Input).value = str(data)
        await until(pilot, lambda: "lines read" in text_of(screen, "#data-report"), what="the data report")
        report = text_of(screen, "#data-report")
        assert "Tatoeba" in report and "type 1,2 in columns" in report
        assert "13 lines read · 12 pairs kept · 1 dropped" in report
        assert "dropped 1 duplicate pair: fra.txt:2" in report
        assert "normalised spaces on 2 lines (U+00A0 ×2)" in report
        assert "vocabulary: source" in report and "tokens per training pair" in report
        assert not app.sessions, "reading the data started no training"

        screen.query_one("#data-columns", Input).value = "1,2"
        screen.query_one("#data-tokens", Select).value = "word"
        await until(pilot, lambda: "\nword tokens per" in text_of(screen, "#data-report"), what="the report with columns 1,2")
        report = text_of(screen, "#data-report")
        assert "Tatoeba" not in report and "12 pairs kept" in report


async def test_a_bad_vocabulary_size_shows_the_cli_message(tmp_path, capsys):
    data = attributed_tsv(tmp_path / "fra.txt")
    code = main(["train", "--task", "tsv", "--data", str(data), "--columns", "1,2", "--vocab-size", "-3",
                 "--runs-dir", str(tmp_path / "runs")])
    cli_line = capsys.readouterr().err.strip()
    assert code == 2 and cli_line.startswith("seqbench: error: task.vocab_size: -3 is not allowed")
    app = SeqbenchApp(runs_dir=str(tmp_path / "runs"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await tsv_launcher(app, pilot)
        screen.query_one("#data", Input).value = str(data)
        screen.query_one("#data-vocab_size", Input).value = "-3"
        await pilot.pause()
        shown = text_of(screen, "#data-msg-vocab_size")
        assert shown == "✗ " + cli_line.removeprefix("seqbench: error: task.vocab_size: ")
        assert screen.query_one("#data-vocab_size", Input).has_class("-invalid")
        await pilot.press("ctrl+t")
        assert "task.vocab_size: -3 is not allowed" in text_of(screen, "#form-msg") and not app.sessions


def test_hints_state_the_bounds_their_fields_declare():
    hints = {f.key: f.hint for f in FIELDS}
    assert hints["dropout"] == "0 ≤ p < 1"
    assert hints["steps"] == "N ≥ 1" and hints["batch_size"] == "1 ≤ B ≤ 65536"


def test_the_preview_is_what_training_would_refuse(tmp_path):
    data = attributed_tsv(tmp_path / "fra.txt")
    preview = preview_data("tsv", str(data), {"columns": "1,2", "tokens": "word", "vocab_size": "3"})
    assert preview.problem.startswith("task.vocab_size: 3 is not allowed; must be 0 or at least 5") and not preview.lines
    assert preview_data("reverse", "", {}) is None
