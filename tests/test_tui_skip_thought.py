"""Skip-thought in the app: d switches decoder, N opens the neighbour view, the launcher offers it with its equations."""

import pytest

from workbench.config import build_config
from workbench.training import Trainer
from workbench.tui.screens.inspector import InspectorApp
from workbench.tui.screens.neighbours import NeighboursScreen

TINY = {"task.name": "skipthought", "model.hidden": "16", "model.emb_dim": "8", "train.steps": "4",
        "train.eval_every": "4", "train.batch_size": "16", "train.threads": "1", "train.samples": "0"}


def plain(widget) -> str:
    """What a Static shows, as plain text."""
    import io

    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    trainer = Trainer(build_config(overrides=TINY), tmp_path_factory.mktemp("runs") / "st")
    trainer.run()
    return trainer.snapshot(), trainer.task


async def test_d_switches_decoder_and_n_lists_the_nearest_sentences(trained):
    model, task = trained
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.ins.decoder == "next"  # test example 0: the first sentence of a story, so its next one
        await pilot.press("d", "end")
        await pilot.pause()
        assert screen.ins.decoder == "prev" and screen.ins.records[0].trace.decoder.tolist() == [0]
        assert "decoder prev" in plain(screen.query_one("#insp-title"))
        source = task.detokenize_src(screen.ins.job.src.tokens)
        await pilot.press("N")
        await app.workers.wait_for_complete()
        await pilot.pause()
        neighbours = app.screen
        assert isinstance(neighbours, NeighboursScreen) and len(neighbours.hits) == 10
        assert not neighbours.has_class("-narrow")  # list and map side by side from 110 columns
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert neighbours.has_class("-narrow")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert all(hit.text != source for hit in neighbours.hits)
        listed = plain(neighbours.query_one("#nb-hits"))
        assert neighbours.hits[0].text in listed
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen is screen and task.detokenize_src(screen.ins.job.src.tokens) == neighbours.hits[1].text


async def test_n_is_off_for_a_model_with_one_decoder():
    from workbench.tui.widgets.inspector.key_sheet import off_reason
    from test_tui_inspector import tiny_task, untrained

    task = tiny_task()
    app = InspectorApp(untrained(task, attention="general"), task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("N", "d")
        await pilot.pause()
        assert not isinstance(app.screen, NeighboursScreen)
        assert "one decoder" in off_reason(app.screen, "decoder")


async def test_the_launcher_offers_skip_thought_with_its_equations():
    from workbench.tui.widgets.arch_picker import ArchPicker
    from textual.app import App, ComposeResult

    class Host(App):
        def compose(self) -> ComposeResult:
            yield ArchPicker()

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        picker = app.query_one(ArchPicker)
        picker.configure("seq2seq", build_config(overrides={"task.name": "skipthought"}).model)
        await pilot.pause()
        values = picker.values()
        assert values["decoders"] == "skip-thought" and values["context"] == "every-step"
        notes = plain(app.query_one("#arch-notes"))
        assert "Kiros et al. 2015" in notes and "C h_i" in notes
        assert not app.query_one("#decoders-row").has_class("-hidden")
        picker.configure("seq2seq", build_config(overrides={"task.name": "reverse"}).model)
        await pilot.pause()
        assert app.query_one("#decoders-row").has_class("-hidden") and picker.values()["decoders"] == "one"
