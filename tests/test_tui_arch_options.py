"""The launcher offers issue 15's options (positions, hard attention, c from, 1 vs N) with their equations."""

from __future__ import annotations

from textual.widgets import Select, Static

from workbench.tui.app import SeqbenchApp
from workbench.tui.widgets.arch_picker import ArchPicker

from test_tui_app import SIZE, launcher_ready


def _shown(picker: ArchPicker, row: str) -> bool:
    return not picker.query_one(f"#{row}-row").has_class("-hidden")


async def test_each_option_appears_where_it_applies_with_its_equation(tmp_path):
    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        launcher = await launcher_ready(app, pilot)
        picker = launcher.query_one(ArchPicker)
        notes = lambda: str(picker.query_one("#arch-notes", Static).content)  # noqa: E731
        assert _shown(picker, "hard_attention") and not _shown(picker, "positions")
        picker.query_one("#hard_attention", Select).value = "gumbel"
        await pilot.pause()
        assert picker.values()["hard_attention"] == "gumbel" and "Gumbel" not in notes() and "argmax" in notes()
        picker.query_one("#hard_attention", Select).value = "reinforce"
        await pilot.pause()
        assert "(r_t − b)·∇log a_t(z)" in notes()

        picker.query_one("#cell", Select).value = "transformer"
        await pilot.pause()
        assert _shown(picker, "positions") and not _shown(picker, "hard_attention")
        picker.query_one("#positions", Select).value = "rotary"
        await pilot.pause()
        assert picker.values()["positions"] == "rotary" and picker.values()["hard_attention"] == "off"
        assert "i − j" in notes() and "sin(" not in notes()  # one positional scheme's equation, the chosen one
        picker.query_one("#positions", Select).value = "sinusoidal"
        await pilot.pause()
        assert "sin(p / 10000^(2i/D))" in notes()

        picker.query_one("#cell", Select).value = "gru"
        await pilot.pause()
        picker.query_one("#attention", Select).value = "none"
        await pilot.pause()
        assert "c = h_last" in notes()  # where c comes from, the default too
        picker.query_one("#context_from", Select).value = "mean"
        await pilot.pause()
        assert picker.values()["context_from"] == "mean" and "(1/S) Σ_s h_s" in notes()
        picker.query_one("#encoder", Select).value = "vector"
        await pilot.pause()
        values = picker.values()
        assert values["encoder"] == "vector" and values["context_from"] == "last" and values["bidirectional"] == "false"
        assert "1 vs N" in notes() and not _shown(picker, "context_from")
        picker.query_one("#encoder", Select).value = "conv"
        await pilot.pause()
        picker.query_one("#attention", Select).value = "general"
        await pilot.pause()
        values = picker.values()
        assert values["encoder"] == "conv" and values["bidirectional"] == "false" and values["attention"] == "general"
        assert "ConvS2S" in notes() and _shown(picker, "attention") and _shown(picker, "hard_attention")


async def test_hard_attention_sets_its_longer_steps_and_width_unless_the_user_typed_them(tmp_path):
    from textual.widgets import Input

    app = SeqbenchApp(runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        launcher = await launcher_ready(app, pilot)
        picker = launcher.query_one(ArchPicker)
        steps, hidden = launcher.query_one("#in-steps", Input), launcher.query_one("#in-hidden", Input)
        assert (steps.value, hidden.value) == ("600", "64")  # reverse, soft attention
        picker.query_one("#hard_attention", Select).value = "gumbel"
        await pilot.pause()
        assert (steps.value, hidden.value) == ("1500", "128")
        picker.query_one("#hard_attention", Select).value = "off"
        await pilot.pause()
        assert (steps.value, hidden.value) == ("600", "64")
        steps.value = "900"  # the user's own value stays whatever is picked
        picker.query_one("#hard_attention", Select).value = "reinforce"
        await pilot.pause()
        assert (steps.value, hidden.value) == ("900", "128")
