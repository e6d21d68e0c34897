"""The app teaches (issue 13): each bug a newcomer hit, reproduced with Pilot, and what explains the panels.

Models are seeded and untrained: the behaviour under test does not depend on what a model learned.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import ModelConfig, build_model
from workbench.tasks import TaskConfig, build_task
from workbench.tui.screens.inspector import MAX_BEAM, InspectorApp
from workbench.tui.widgets.inspector.heatmap import AttentionHeatmap, distinct_labels
from workbench.tui.widgets.inspector.hidden import HiddenStrips
from workbench.tui.widgets.inspector.output import OutputView
from workbench.tui.widgets.inspector.status import StatusLine


def tiny_task(name: str = "reverse"):
    return build_task(TaskConfig(name=name, train_size=200, val_size=20, test_size=20, long_size=10, max_len=6,
                                 long_min=7, long_max=8))


def untrained(task, **model) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = ModelConfig(family="seq2seq", src_vocab=len(task.src_vocab), tgt_vocab=len(task.tgt_vocab), emb_dim=8,
                      hidden=16, max_len=64, **model)
    return build_model(cfg).eval()


def strip_text(widget) -> list[str]:
    """The lines a widget drawn with the line API shows, as plain text."""
    return [strip.text for strip in widget.build(widget.size.width, widget.size.height)]


@pytest.fixture
def reverse():
    task = tiny_task()
    return task, untrained(task, cell="gru", attention="general")


@pytest.fixture
def transformer():
    task = tiny_task()
    return task, untrained(task, cell="transformer", attention="multihead", layers=2, heads=4)


# ---- attention labels -----------------------------------------------------------------------------

def test_labels_that_only_just_fit_are_written_downwards():
    """`<bos> quatremille  cinq`: labels as wide as their cell ran together; they need a gap."""
    heat = AttentionHeatmap()
    heat.show(np.full((1, 3), 1 / 3), ["x"], ["<bos>", "quatre", "mille"], current=0)
    header = heat._header(0, 3, 6, 1, 0, 40, 8)
    assert len(header) > 1  # "quatre" is 6 wide in a 6-wide cell: written downwards
    heat.show(np.full((1, 3), 1 / 3), ["x"], ["<bos>", "un", "deux"], current=0)
    header = heat._header(0, 3, 6, 1, 0, 40, 8)
    assert len(header) == 1 and "<bos>" in header[0].text and "deux" in header[0].text


def test_vertical_labels_are_not_cut_to_three_letters():
    heat = AttentionHeatmap()
    heat.show(np.full((1, 3), 1 / 3), ["x"], ["quatre", "vingt", "mille"], current=0)
    header = heat._header(0, 3, 2, 1, 0, 40, 8)
    columns = ["".join(strip.text[2 + 2 * j] for strip in header).strip() for j in range(3)]
    assert columns == ["quatre", "vingt", "mille"]


def test_repeated_tokens_can_be_told_apart():
    assert distinct_labels(["a", "b", "a", "c"]) == ["a₁", "b", "a₃", "c"]
    assert distinct_labels(["x", "y"]) == ["x", "y"]


async def test_heatmap_columns_name_repeated_input_tokens_by_position(reverse):
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"abca", "enter")
        await pilot.pause()
        heat = app.screen.query_one(AttentionHeatmap)
        assert heat.column_labels() == ["a₁", "b", "c", "a₄"]
        assert "a₄" in "\n".join(strip_text(heat))


# ---- forcing ------------------------------------------------------------------------------------------

async def test_typing_in_the_force_prompt_forces_what_was_typed(reverse):
    """Inspector → →×5 → f → type h → Enter forced the top candidate silently."""
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["right"] * 5, "f", "h")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#force-input").value == "h"
        position = screen.ins.force_position()
        await pilot.press("enter")
        await pilot.pause()
        assert screen.ins.session.forced == {position: task.tgt_vocab.stoi["h"]}
        assert screen.query_one(OutputView).tokens[position] == "h"


@pytest.mark.parametrize("typed", ["h", "hg"])
async def test_keys_sent_in_one_write_with_f_reach_the_token_box(reverse, typed):
    """`f`, the token and Enter in one terminal write: the keys queue before the box has the focus."""
    from textual import events

    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["right"] * 5)
        screen = app.screen
        position, head = screen.ins.force_position(), screen.opts.head
        for key in ["f", *typed, "enter"]:  # queued together, as one read of the terminal delivers them
            app.post_message(events.Key(key, "\r" if key == "enter" else key))
        await pilot.pause()
        await pilot.pause()
        if typed == "h":
            assert screen.ins.session.forced == {position: task.tgt_vocab.stoi["h"]}
        else:  # not a token: said so, nothing forced silently
            assert not screen.ins.session.forced
            assert any("'hg'" in str(n.message) for n in app._notifications)
        assert screen.opts.head == head  # `h` went to the box, not to the head key


async def test_typing_something_that_is_not_a_token_says_so(reverse):
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "right", "f", "z", "z", "enter")
        await pilot.pause()
        assert not app.screen.ins.session.forced
        assert any("zz" in str(n.message) for n in app._notifications)


# ---- one convention, no silent keys ---------------------------------------------------------------

async def test_header_step_is_the_step_the_panels_show(reverse):
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "right", "right")
        await pilot.pause()
        screen = app.screen
        last = screen.ins.records[-1].step
        status = str(screen.query_one(StatusLine).content)
        assert f"step {last} " in status and f"step {last + 1}" not in status


async def test_beam_wider_than_the_limit_says_so(reverse):
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s", *["plus"] * (MAX_BEAM + 2))
        await pilot.pause()
        assert app.screen.ins.config.beam == MAX_BEAM
        assert any(f"at most {MAX_BEAM}" in str(n.message) for n in app._notifications)


async def test_screenshot_falls_back_when_downloads_is_missing(reverse, tmp_path, monkeypatch):
    task, model = reverse
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    monkeypatch.chdir(tmp_path)
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_screenshot()
        await pilot.pause()
        saved = list(tmp_path.glob("*.svg"))
        assert len(saved) == 1
        assert any(str(tmp_path) in str(n.message) for n in app._notifications)


def screen_lines(app) -> list[str]:
    """The screen as plain text lines, as a user reads it."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


# ---- cut-off text ----------------------------------------------------------------------------------

async def test_footer_at_80_columns_shows_the_keys_that_matter(reverse):
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = screen_lines(app)[-1]
        for key in ("→ Step", "f Force", "? Keys", "esc Close"):
            assert key in footer


async def test_panels_at_120x40_cut_no_text_mid_word(transformer):
    """`1 live · 0 finishe…`, `loss 0.0…`, `cols 1-6…`: nothing on the inspector ends in an ellipsis."""
    task, model = transformer
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        for keys in (["s", "right", "right", "3"], ["t", "right", "right"], ["a", "right"]):
            await pilot.press(*keys)
            await pilot.pause()
            cut = [line for line in screen_lines(app)[1:-1] if "…" in line]
            assert not cut, cut


# ---- every panel explains itself ----------------------------------------------------------------------

async def test_panels_carry_captions_and_the_step_sentence(reverse):
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "right")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "rows: output tokens · columns: input tokens · each row sums to 1" in text
        assert "blue < 0 < red" in text and "‖h‖: vector length" in text
        heat = app.screen.query_one(AttentionHeatmap)
        row = heat.matrix[heat.current]
        top = heat.column_labels()[int(row.argmax())]
        emitted = app.screen.query_one(OutputView).tokens[-1]
        assert f"attended most to {top} ({row.max():.2f}) → emitted {emitted}" in text


async def test_hidden_colour_scale_can_be_fixed_across_steps(reverse):
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        strips = app.screen.query_one(HiddenStrips)
        await pilot.press("v")
        fixed = strips.scale
        await pilot.press("right", "right", "right")
        await pilot.pause()
        assert strips.scale == fixed and strips.fixed is not None
        assert f"fixed scale ±{strips.fixed:g}" in "\n".join(screen_lines(app))
        await pilot.press("v")
        await pilot.pause()
        assert strips.fixed is None


async def test_key_sheet_lists_every_key_and_why_some_are_off(reverse):
    from workbench.tui.widgets.inspector.key_sheet import KeySheet
    from workbench.tui.widgets.inspector.keys import KEYS

    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, KeySheet)
        from workbench.tui.widgets.inspector.key_sheet import SHEET, plain

        text = plain(app.screen.text)
        listed = {action for _, rows in SHEET for _, action, _ in rows}
        assert {b.action.split("(")[0] for b in KEYS} <= listed
        assert "only with beam search: press s" in text  # n, greedy decoding
        assert "this model has one head" in text
        for mark in ("▲", "✗", "▶", "α", "rk", "‖h‖"):
            assert mark in text
        await pilot.press("question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, KeySheet)


async def test_unknown_typed_characters_name_the_vocabulary_and_long_input_is_flagged(reverse):
    task, model = reverse
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"abXY", "enter")
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("'X'" in m and "'Y'" in m and "a b c d e f g h i j" in m for m in messages)
        await pilot.press("slash", *"abcdefghij", "enter")
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("10 tokens" in m and "at most 6" in m for m in messages)


# ---- all heads at a glance ----------------------------------------------------------------------------

async def test_overview_shows_every_layer_and_head_and_opens_one_large(transformer):
    from workbench.tui.widgets.inspector.overview import HeadsOverview

    task, model = transformer
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "right", "m")
        await pilot.pause()
        overview = app.screen
        assert isinstance(overview, HeadsOverview)
        assert [(t.layer, t.head) for t in overview.tiles] == [(l, h) for l in range(2) for h in range(4)]
        last = app.screen_stack[0].ins.records[-1]
        np.testing.assert_allclose(overview.tiles[5].values[-1], last.trace.cross_attention[0, 1, 1].numpy(),
                                   atol=1e-6)
        assert overview.grid.selected == 4  # what the heatmap shows: the top layer (its first head)
        await pilot.press("up", "right", "enter")  # layer 1, head 2
        await pilot.pause()
        heat = app.screen.query_one(AttentionHeatmap)
        assert "layer 1/2" in heat.title and "head 2/4" in heat.title
        np.testing.assert_allclose(heat.matrix[-1], last.trace.cross_attention[0, 0, 1].numpy(), atol=1e-6)


# ---- the dashboard ------------------------------------------------------------------------------------

def _dashboard_session(exact: list[float], live: bool = True, task: str = "reverse"):
    from workbench import events as ev
    from workbench.live import TrainingSession

    s = TrainingSession(title=task)
    s.apply(ev.TrainStarted("runs/reverse-gru-general-20250101-120000", task,
                            "GRU enc-dec + general attention (bi, 1 layer)", "CPU (1 thread)", 304_270, 0, 1500))
    for i, value in enumerate(exact, start=1):
        step = 100 * i
        s.apply(ev.Progress(step, 1500, 0.5 * i, 0.1, 1e-3, 0.5, 1000.0, 10.0 * i, 100.0))
        s.apply(ev.Evaluated(step, "val", {"loss": 0.1, "ppl": 1.1, "accuracy": value, "exact_match": value}, [],
                             best=True))
    return s


@pytest.mark.parametrize("exact,shown,task", [([0.5, 0.9], False, "reverse"), ([0.5, 0.995, 1.0], True, "reverse"),
                                              ([0.5, 0.96, 0.97], True, "numbers"), ([0.5, 1.0], False, "tsv")])
async def test_dashboard_says_when_the_task_is_solved(exact, shown, task, tmp_path, monkeypatch):
    from workbench.tui.app import SeqbenchApp
    from workbench.tui.screens.dashboard import DashboardScreen
    from workbench.tui.widgets.solved import SolvedBanner

    monkeypatch.chdir(tmp_path)
    session = _dashboard_session(exact, task=task)  # the target is the task's: 99% exact, 95% for numbers
    app = SeqbenchApp(runs_dir="runs")
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(DashboardScreen(session))
        await pilot.pause()
        await pilot.pause(0.3)
        banner = app.screen.query_one(SolvedBanner)
        assert banner.display == shown
        text = "\n".join(screen_lines(app))
        if shown:
            assert "solved at step 200 after 0:20" in text and "x stop now · i inspect the model" in text
        assert "reverse-gru-general-20250101-120000" in text  # the run's name is never cut
        assert "elapsed 0:" in text


def test_language_model_quality_chart_is_not_the_loss_again():
    from workbench.live import Curves
    from workbench.tui.screens.dashboard import metric_series

    curves = Curves(train=[(10, 2.0), (20, 1.5)], val={"loss": [(20, 1.6)], "bpc": [(20, 1.6 / 0.693)],
                                                      "accuracy": [(20, 0.4)]})
    title, series = metric_series(curves, None)
    assert [s.label for s in series] == ["token acc"] and series[0].points == [(20, 40.0)]


# ---- pictures ------------------------------------------------------------------------------------------

def _picture_app(cell: str = "transformer"):
    task = tiny_task()
    if cell == "transformer":
        model = untrained(task, cell="transformer", attention="multihead", layers=2, heads=4)
    else:
        model = untrained(task, cell=cell, attention="general")
    return InspectorApp(model, task, title="snapshot")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_heads_overview(snap_compare, size):
    assert snap_compare(_picture_app(), terminal_size=size, press=["right", "right", "m", "left"])


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_key_sheet(snap_compare, size):
    assert snap_compare(_picture_app("gru"), terminal_size=size, press=["question_mark"])


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_captions(snap_compare, size):
    assert snap_compare(_picture_app("lstm"), terminal_size=size, press=["right", "right", "g"])


def _replay_app(run_dir):
    """A GRU inspector replaying made-up probes of an anti-diagonal forming, with a made-up loss curve."""
    import json

    from workbench.probes import ProbeAlignment, ProbeSnapshot

    run_dir.mkdir(exist_ok=True)
    with open(run_dir / "metrics.jsonl", "w", encoding="utf-8") as f:
        for step in range(5, 155, 5):
            f.write(json.dumps({"kind": "train", "step": step, "loss": 2.5 * np.exp(-step / 40) + 0.05}) + "\n")
    snapshots = []
    for step, sharp in ((0, 0.0), (10, 0.05), (25, 0.1), (50, 0.7), (100, 0.9), (150, 0.95)):
        att = (1 - sharp) / 5 + sharp * np.eye(5, dtype=np.float32)[::-1]  # (T, S): the reverse alignment
        snapshots.append(ProbeSnapshot(step, [ProbeAlignment(list("abcd") + ["<eos>"], list("dcba") + ["<eos>"],
                                                             att[None, None])]))
    task = tiny_task()
    return InspectorApp(untrained(task, cell="gru", attention="general"), task, title="snapshot", probes=snapshots,
                        run_dir=run_dir)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_replay(snap_compare, size, tmp_path):
    assert snap_compare(_replay_app(tmp_path / "run"), terminal_size=size,
                        press=["p", "left_square_bracket", "left_square_bracket"])
