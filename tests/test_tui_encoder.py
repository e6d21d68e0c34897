"""The encoder family in the app: the launcher offers it, the dashboard trains it, the encoder inspector shows it."""

from __future__ import annotations

import pytest
import torch
from textual.widgets import Input, Select, Static

from models import build_model
from workbench.config import build_config
from workbench.tasks import build_task
from workbench.tasks.catalog import TASK_NAMES
from workbench.tui.app import SeqbenchApp
from workbench.tui.screens.dashboard import DashboardScreen
from workbench.tui.screens.encoder_inspector import EncoderInspectorScreen
from workbench.tui.screens.inspector import InspectorApp

from test_tui_app import TINY, fill_form, launcher_ready, until

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SMALL = {"task.train_size": 200, "task.val_size": 20, "task.test_size": 20, "task.long_size": 0,
         "model.hidden": 16, "model.emb_dim": 8}


def untrained(task_name: str, **extra):
    cfg = build_config(task=task_name, overrides={**SMALL, **extra})
    task = build_task(cfg.task)
    cfg.model.src_vocab, cfg.model.tgt_vocab = len(task.src_vocab), len(task.tgt_vocab)
    torch.manual_seed(0)
    return build_model(cfg.model).eval(), task


def text(screen, selector: str) -> str:
    """What a Static shows, as plain text."""
    import io

    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(screen.query_one(selector, Static).content)
    return console.export_text()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_tags_and_both_directions_show_and_typed_input_reencodes(size):
    model, task = untrained("nounverb")
    app = InspectorApp(model, task, title="nounverb")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, EncoderInspectorScreen)
        assert "PUNCT" in text(screen, "#enc-pred") or screen.view.tokens  # an example is shown
        assert "backward direction" in text(screen, "#enc-trace")
        await pilot.press("slash")
        await pilot.press(*"we can fish .")
        await pilot.press("enter")
        assert screen.view.tokens == ["we", "can", "fish", "."]
        assert len(screen.view.top) == 4
        await pilot.press("n")
        assert screen.example == 1


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_a_masked_lm_steps_through_unmasking_forward_and_back(size):
    model, task = untrained("mlm", **{"task.block": 16, "model.heads": 2, "model.layers": 2})
    app = InspectorApp(model, task, initial_input="def _(x): return _")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert len(screen.steps) == 2 and screen.shown == 0
        await pilot.press("right")
        assert screen.shown == 1 and "step 1/2" in text(screen, "#enc-pred")
        await pilot.press("right", "right")
        assert screen.shown == 2
        await pilot.press("left")
        assert screen.shown == 1
        await pilot.press("v")
        assert screen.opts.view == "attention" and "self-attention" in text(screen, "#enc-trace")
        await pilot.press("h", "l")
        assert screen.opts.head == 0 and "head 1/2" in text(screen, "#enc-trace")


async def test_a_classifier_shows_its_class_and_pooling_weights():
    model, task = untrained("majority", **{"model.pooling": "attention"})
    app = InspectorApp(model, task)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert "class" in text(screen, "#enc-pred")
        await pilot.press("v")
        assert "pooling weights (attention)" in text(screen, "#enc-trace")


async def test_the_launcher_trains_a_classifier_and_opens_the_encoder_inspector(tmp_path):
    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        launcher = await launcher_ready(app, pilot)
        launcher.query_one("#task-list").highlighted = TASK_NAMES.index("majority")
        await until(pilot, lambda: launcher.query_one("#task-picker").task_name == "majority")
        await until(pilot, lambda: not launcher.query_one("#pooling-row").has_class("-hidden"), what="pooling")
        launcher.query_one("#pooling", Select).value = "max"
        await pilot.pause()
        assert "max over positions" in text(launcher, "#arch-notes")
        assert "enc + dec" not in text(launcher, "#msg-layers")  # an encoder's layers are its own
        fill_form(launcher, TINY)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
        session = app.screen.session
        await until(pilot, lambda: session.progress is not None, what="the first progress event")
        assert session.trainer.config.model.pooling == "max" and session.trainer.config.model.head == "classify"
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, EncoderInspectorScreen) and app.screen.view is not None,
                    what="the encoder inspector, its input encoded")  # a busy machine mounts it later
        assert "class" in text(app.screen, "#enc-pred")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back on the dashboard")
        await pilot.press("x")
        await until(pilot, lambda: session.status == "stopped", what="the stop")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_f_forces_a_token_at_the_next_mask_and_unmasking_continues_from_it(size):
    from workbench.tui.widgets.inspector.force_bar import ForceBar

    model, task = untrained("mlm", **{"task.block": 16, "model.heads": 2, "model.layers": 2})
    app = InspectorApp(model, task, initial_input="def _(x): return _")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        first = screen.steps[0]
        await pilot.press("right")  # step 1 stays as the model chose it
        nxt = screen.steps[1].position
        await pilot.press("f")
        bar = screen.query_one(ForceBar)
        assert bar.is_open and f"input position {nxt}" in text(bar, "#force-title")
        await pilot.press("x", "enter")
        assert not bar.is_open and screen.shown == 2
        assert screen.steps[0] == first and screen.steps[1].position == nxt
        assert screen.steps[1].token == "x" and screen.steps[1].forced and "forced" in text(screen, "#enc-pred")
        await pilot.press("left", "left", "f", "down", "enter")  # back to the start: the second candidate
        assert screen.steps[0].token == first.candidates[1][0] and screen.steps[0].position == first.position
        assert len(screen.steps) == 2 and not screen.steps[1].forced  # the later force is dropped
        await pilot.press("left", "f", *f"{nxt}:y", "enter")  # another mask than the next one, as --force P:TOKEN
        assert screen.steps[0].position == nxt and screen.steps[0].token == "y"
        await pilot.press("right", "f")
        assert "every mask is filled" in " ".join(n.message for n in app._notifications)


async def test_f_is_no_key_for_a_tagger():
    model, task = untrained("later")
    app = InspectorApp(model, task)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f")
        assert not app.screen.query_one("#enc-force").is_open


async def test_a_word_level_masked_lm_shows_words_apart_and_the_trace_follows_the_steps():
    model, task = untrained("mlm", **{"task.tokens": "word", "model.heads": 2, "model.layers": 1})
    app = InspectorApp(model, task, initial_input="we _ fish [MASK]")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert text(screen, "#enc-pred").startswith("we ▒ fish ▒")
        await pilot.press("right")
        filled = screen.steps[0]
        assert f"<mask>" in text(screen, "#enc-trace") and screen._trace_view().tokens[filled.position] == filled.token
        await pilot.press("left")
        assert screen._trace_view() is screen.view


def test_a_mask_cannot_be_forced_to_a_special_token_or_a_filled_position():
    from workbench.decoding.encoding import force_mask, prepare_encoder, unmask
    from workbench.errors import UserError

    model, task = untrained("mlm", **{"task.block": 16, "model.heads": 2, "model.layers": 1})
    job = prepare_encoder(task, model.capabilities, text="def _(x): return _")
    steps = unmask(model, task, job)
    with pytest.raises(UserError, match="not a token a mask can become"):
        force_mask(model, task, job, steps, 0, f"{job.masks[0]}:<mask>")
    with pytest.raises(UserError, match="not an open mask"):
        force_mask(model, task, job, steps, 1, f"{steps[0].position}:x")
