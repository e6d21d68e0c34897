"""The inspector's issue-17 tools driven with Pilot: interventions, where decoding goes wrong, lockstep
comparison, a unit across the corpus and the step-through export. What the app shows is what the
headless engine computes for the same run, input and edit."""

import pytest
from textual.widgets import OptionList

from test_compare import runs  # noqa: F401  (a GRU and a 2-head Transformer reverse run, untrained)
from workbench.decoding.intervention_effect import intervention_effect
from workbench.decoding.job import prepare
from workbench.decoding.session import DecodeConfig
from workbench.runs import load_run
from workbench.tui.screens.inspector import InspectorApp, InspectorScreen
from workbench.tui.widgets.inspector.key_sheet import plain
from workbench.tui.widgets.inspector.intervention import InterventionDialog, InterventionView

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SIZES = [(120, 40), (80, 24)]


def app_for(path) -> InspectorApp:
    run = load_run(path)
    return InspectorApp(run.model, run.task, run_dir=run.path, title=path.name)


def lockstep_drawn(app) -> bool:
    """The lockstep screen is up, composed, drawn and laid out."""
    from workbench.tui.screens.lockstep import LockstepScreen

    screen = app.screen
    if not isinstance(screen, LockstepScreen):
        return False
    found = screen.query("#lock-aligned")
    return bool(found) and bool(str(found.first().content)) and all(b.region.width for b in screen.query(".lock-run"))


async def until(pilot, ready, tries: int = 200) -> None:
    for _ in range(tries):
        if ready():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never got there")


def headless_effect(path, spec: str, example: int = 0):
    run = load_run(path)
    job = prepare(run.task, run.model.capabilities, example=example)
    job.intervene(run.model, run.task, [spec])
    config = DecodeConfig(strategy="greedy", beam=5, show_k=8, max_len=job.max_len(run.task))
    return intervention_effect(job, run.model, run.task, config)


@pytest.mark.parametrize("size", SIZES)
async def test_intervening_on_the_followed_unit_shows_the_engines_effect(runs, size):
    app = app_for(runs[0])
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        await pilot.press("right", "full_stop")  # the inspector opens at step 0: now step 1, unit 1
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, InterventionDialog))
        await pilot.press("enter")  # the first choice: zero the unit from this step on
        await until(pilot, lambda: app.screen is screen and screen.ins.interventions)
        assert screen.ins.interventions == ["zero:hidden:L0:U1@1"]
        view = screen.query_one(InterventionView)
        assert view.display and view.has_class("-on")
        shown = screen.ins.effect()
        want = headless_effect(runs[0], "zero:hidden:L0:U1@1")
        assert shown.edited.tokens == want.edited.tokens and shown.changed == want.changed
        assert shown.reference_delta == pytest.approx(want.reference_delta)
        assert "unedited" in plain(view.content) and "reference log-prob" in plain(view.content)
        await pilot.press("x")
        await pilot.pause()
        assert screen.ins.interventions == [] and not view.has_class("-on")


@pytest.mark.parametrize("size", SIZES)
async def test_clamping_a_unit_to_its_own_value_changes_nothing(runs, size):
    app = app_for(runs[0])
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await pilot.press("right", "e")
        await until(pilot, lambda: isinstance(app.screen, InterventionDialog))
        await pilot.press("down", "enter")  # clamp, to the value the box suggests (the unit's own)
        await until(pilot, lambda: screen.ins.interventions)
        assert screen.ins.interventions[0].startswith("clamp=")
        assert screen.ins.effect().changed == []


async def test_heads_and_pins_are_offered_for_a_multi_head_model(runs):
    app = app_for(runs[1])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("right", "e")
        await until(pilot, lambda: isinstance(app.screen, InterventionDialog))
        dialog = app.screen
        specs = [c.spec for c in dialog.choices]
        assert "zero:head.cross:L0:H1@1" in specs and "pin:S0@1" in specs
        pin = specs.index("pin:S0@1")
        dialog.query_one(OptionList).highlighted = pin
        await pilot.press("enter")
        await until(pilot, lambda: screen.ins.interventions == ["pin:S0@1"])
        assert screen.ins.records[1].trace.cross_attention[0, :, :, 0].min() == pytest.approx(1.0)
        await pilot.press("question_mark")
        await pilot.pause()
        assert "intervene from this step" in plain(app.screen.text) and "steps.svg" in plain(app.screen.text)


# ---- where decoding goes wrong -------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
async def test_errors_screen_counts_what_the_engine_counts_and_opens_a_row_at_its_wrong_step(runs, size):
    from collections import Counter

    from textual.widgets import DataTable

    from workbench.decoding.failures import failure_report
    from workbench.tui.screens.failures import FailuresScreen

    app = app_for(runs[0])
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, FailuresScreen) and app.screen.report is not None)
        errors = app.screen
        run = load_run(runs[0])
        want = failure_report(run.model, run.task, "long")
        assert errors.split == "long" and errors.report.by_position == want.by_position
        assert errors.report.by_position == dict(Counter(o.divergence for o in want.outcomes
                                                         if o.divergence is not None))
        table = errors.query_one(DataTable)
        assert table.row_count == len(want.failed) > 1
        table.move_cursor(row=1)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        chosen = want.failed[1]
        assert screen.ins.split == "long" and screen.ins.example == chosen.index
        assert screen.ins.t == chosen.divergence + 1  # its first wrong token is the last one shown
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, FailuresScreen) and app.screen.report is not None)
        await pilot.press("b")
        await until(pilot, lambda: app.screen.report is not None and app.screen.report.beam is not None)
        beam = app.screen.report.beam
        assert len(beam.same) + len(beam.fixed) + len(beam.broke) + len(beam.other) == len(want.outcomes)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)


async def test_the_dashboards_w_opens_the_inspector_under_the_errors_screen(runs, tmp_path):
    from workbench.tui.app import SeqbenchApp
    from workbench.tui.screens.dashboard import DashboardScreen
    from workbench.tui.screens.failures import FailuresScreen

    app = SeqbenchApp(runs_dir=str(runs[0].parent))
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(runs[0])
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, FailuresScreen) and app.screen.report is not None)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, InspectorScreen))


# ---- lockstep comparison ---------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
async def test_lockstep_steps_two_runs_side_by_side_as_compare_does(runs, size):
    from workbench.decoding.compare import compare_input
    from workbench.tui.screens.lockstep import LockstepScreen
    from workbench.tui.widgets.inspector.distribution import NextTokenPanel

    app = app_for(runs[0])
    async with app.run_test(size=size) as pilot:
        await pilot.press("down", "c")  # example 1
        await until(pilot, lambda: str(runs[1]) in getattr(app.screen, "paths", {}))
        app.screen.query_one(OptionList).highlighted = list(app.screen.paths).index(str(runs[1]))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LockstepScreen))
        lock = app.screen
        want = compare_input([load_run(runs[0]), load_run(runs[1])], example=1, show_k=8)
        assert [o.tokens for o in lock.cmp.outputs] == [o.tokens for o in want.outputs]
        assert lock.cmp.divergence == want.divergence is not None
        await pilot.press("d")
        assert lock.t == want.divergence
        panels = lock.query(NextTokenPanel)
        for panel, out in zip(panels, want.outputs):
            assert [i for i, _ in panel.topk] == [i for i, _ in out.records[want.divergence].topk(0)]
        await pilot.press("right", "right", "left")
        assert lock.t == min(want.divergence + 1, want.length - 1)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, InspectorScreen))


async def test_a_run_in_lockstep_with_itself_never_parts(runs):
    from workbench.tui.screens.lockstep import LockstepScreen

    app = app_for(runs[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: str(runs[0]) in getattr(app.screen, "paths", {}))
        app.screen.query_one(OptionList).highlighted = list(app.screen.paths).index(str(runs[0]))
        await pilot.press("enter")
        await until(pilot, lambda: lockstep_drawn(app))
        assert app.screen.cmp.divergence is None
        assert "no divergence" in str(app.screen.query_one("#lock-aligned").content)


# ---- a unit across the corpus ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
async def test_the_followed_unit_across_the_validation_data(runs, size):
    from workbench.decoding.units import UnitRef, unit_peaks
    from workbench.tui.screens.units import TOP, UnitsScreen

    app = app_for(runs[0])
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await pilot.press("full_stop", "full_stop", "u")
        await until(pilot, lambda: isinstance(app.screen, UnitsScreen) and app.screen.found is not None)
        units = app.screen
        run = load_run(runs[0])
        want = unit_peaks(run.model, run.task, [UnitRef(0, 2)], split="val", top=TOP, context=12)[0]
        assert units.found.unit == UnitRef(0, 2)
        assert [(p.example, p.position) for p in units.found.peaks] == [(p.example, p.position) for p in want.peaks]
        assert "L0:U2" in str(units.query_one("#units-title").content)
        await pilot.press("full_stop")
        await until(pilot, lambda: units.found is not None and units.found.unit == UnitRef(0, 3))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)


# ---- the step-through export ---------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
async def test_export_writes_steps_svg_and_a_replay_that_decodes_the_same(runs, size, tmp_path, capsys):
    import json
    import shutil

    from workbench.cli import main

    run_dir = tmp_path / "gru"
    shutil.copytree(runs[0], run_dir)
    app = app_for(run_dir)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await pilot.press("down", "s", "s", "s", "s")  # example 1, beam search (greedy → beam → sample → greedy → beam)
        assert screen.ins.mode == "beam"
        await pilot.press("right", "e")
        await until(pilot, lambda: isinstance(app.screen, InterventionDialog))
        await pilot.press("enter")
        await until(pilot, lambda: screen.ins.interventions)
        await pilot.press("E")
        await until(pilot, lambda: getattr(screen, "last_export", None) is not None)
        out = screen.last_export
        assert out.parent == run_dir / "exports"
        assert (out / "steps.svg").read_text().startswith("<svg") and (out / "replay.json").exists()
        assert any("replay.json" in str(n.message) for n in app._notifications)
        record = json.loads((out / "replay.json").read_text())
        assert record["options"]["example"] == 1 and record["options"]["beam"] == 5
        assert record["options"]["intervene"] == screen.ins.interventions
    capsys.readouterr()
    assert main(["decode", "--replay", str(out / "replay.json")]) == 0
    printed = capsys.readouterr()
    assert record["output"] and "--replay:" not in printed.err  # it warns when the weights or the output differ


async def test_export_refuses_teacher_forcing(runs):
    app = app_for(runs[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t", "E")
        await pilot.pause()
        assert getattr(app.screen, "last_export", None) is None


def test_a_long_split_example_replays_as_its_text_and_reference(runs):
    from workbench.decoding.inspection import Inspection
    from workbench.decoding.session_export import replay_options

    run = load_run(runs[0])
    ins = Inspection(run.model, run.task)
    ins.load_example(2, "long")
    ins.step()
    ins.force(ins.parse_token("a"))
    options = replay_options(ins)
    example = run.task.examples("long")[2]
    assert options.example is None and options.input == "".join(example.src)
    assert options.reference == "".join(example.tgt) and options.force == ["0:a"]


async def test_an_example_beam_breaks_opens_with_that_beam_decoded_to_the_end(runs):
    from workbench.tui.screens.failures import FailuresScreen

    app = app_for(runs[0])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("s")  # beam: a row of greedy's failures still opens with greedy
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, FailuresScreen) and app.screen.report is not None)
        assert app.screen.rows and all(beam is None for _, _, beam in app.screen.rows)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        assert screen.ins.mode == "greedy"
        screen.open_at("long", 2, None, beam=3)
        await pilot.pause()
        assert screen.ins.mode == "beam" and screen.ins.config.beam == 3 and screen.ins.done
        assert screen.ins.example == 2 and screen.ins.split == "long"


@pytest.mark.parametrize("size, layout", [((120, 40), "side"), ((80, 24), "compact")])
async def test_lockstep_of_three_runs_marked_in_the_picker(runs, size, layout):
    from workbench.decoding.compare import compare_input
    from workbench.tui.screens.lockstep import LockstepScreen
    from workbench.tui.widgets.inspector.heatmap import AttentionHeatmap

    app = app_for(runs[0])
    async with app.run_test(size=size) as pilot:
        await pilot.press("down", "c")
        await until(pilot, lambda: str(runs[1]) in getattr(app.screen, "paths", {}))
        picker, options = app.screen, app.screen.query_one(OptionList)
        for run in (runs[1], runs[0]):  # the transformer, then this run again
            options.highlighted = list(picker.paths).index(str(run))
            await pilot.press("space")
        assert picker.marked == [str(runs[1]), str(runs[0])]
        await pilot.press("enter")
        await until(pilot, lambda: lockstep_drawn(app))
        lock = app.screen
        loaded = [load_run(runs[0]), load_run(runs[1])]
        want = compare_input([loaded[0], loaded[1], loaded[0]], example=1, show_k=8)
        assert [o.tokens for o in lock.cmp.outputs] == [o.tokens for o in want.outputs]
        assert lock.layout_name == layout
        aligned = str(lock.query_one("#lock-aligned").content)
        assert all(name in aligned for name in ("gru", "tf", "gru#2"))
        await pilot.press("d")
        assert lock.t == want.divergence
        if layout == "side":
            assert len(lock.query(AttentionHeatmap)) == 3
            assert all(box.region.width >= 38 for box in lock.query(".lock-run"))
        else:
            table = str(lock.query_one("#lock-table").content).splitlines()
            assert len(table) == 3 and table[2].startswith("gru#2")
            for i in (1, 2, 0):
                await pilot.press("r")
                assert lock.shown == i and lock.query_one("#lock-run-shown").border_title == \
                    ["gru", "tf", "gru#2"][i]
        for widget in lock.query("Static"):  # nothing drawn past the screen's edge
            assert widget.region.right <= size[0] and widget.region.bottom <= size[1]
