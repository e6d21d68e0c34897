"""Any inspector panel saved as SVG and PNG (S): the panel shown or picked, as the screen draws it."""

import shutil
import sys
import xml.etree.ElementTree as ET

import pytest

from test_compare import runs  # noqa: F401  (a GRU and a 2-head Transformer reverse run, untrained)
from test_tui_tools import app_for, until
from workbench.tui.panel_export import CELL, NO_PNG

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def svg_text(path) -> str:
    root = ET.parse(path).getroot()  # raises if it is not well-formed XML
    return "".join(root.itertext()).replace("\xa0", " ")


@pytest.mark.parametrize("size, key, panel, title", [((120, 40), "5", "hidden", "Hidden state"),
                                                     ((80, 24), "3", "beam", "Beam")])
async def test_the_picked_panel_is_saved_as_svg_and_png(runs, size, key, panel, title, tmp_path):
    run_dir = tmp_path / "gru"
    shutil.copytree(runs[0], run_dir)
    app = app_for(run_dir)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await pilot.press("right", key, "S")
        await until(pilot, lambda: getattr(screen, "last_panel_export", None) is not None)
        widget = screen.query_one(f"#{panel}")
        svg = next(p for p in screen.last_panel_export if p.suffix == ".svg")
        assert svg.parent == run_dir / "exports" and svg.name.startswith(f"{panel}-")
        assert title in svg_text(svg)
        if size[0] >= 100:
            assert widget.has_class("-picked")
        pngs = [p for p in screen.last_panel_export if p.suffix == ".png"]
        if "PIL" not in sys.modules and not pngs:
            pytest.skip("Pillow is not installed: only the SVG is written")
        from PIL import Image

        with Image.open(pngs[0]) as image:
            assert image.size == (widget.region.width * CELL[0], widget.region.height * CELL[1])


async def test_without_pillow_the_svg_is_written_and_the_screen_says_why(runs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL raises ImportError
    run_dir = tmp_path / "gru"
    shutil.copytree(runs[0], run_dir)
    app = app_for(run_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("S")
        await until(pilot, lambda: getattr(screen, "last_panel_export", None) is not None)
        assert [p.suffix for p in screen.last_panel_export] == [".svg"]
        assert "Alignment" in svg_text(screen.last_panel_export[0])
        assert any(NO_PNG in str(n.message) for n in app._notifications)


async def test_a_click_picks_the_panel(runs, tmp_path):
    run_dir = tmp_path / "gru"
    shutil.copytree(runs[0], run_dir)
    app = app_for(run_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.click("#dist")
        assert screen.shown_panel() == "dist" and screen.query_one("#dist").has_class("-picked")


async def test_a_notice_over_the_panel_is_not_saved_with_it(runs, tmp_path):
    run_dir = tmp_path / "gru"
    shutil.copytree(runs[0], run_dir)
    app = app_for(run_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("4", "S")  # the tree: the notice of the first save lands on the right-hand side
        await until(pilot, lambda: getattr(screen, "last_panel_export", None) is not None)
        first = screen.last_panel_export
        await pilot.pause(0.3)
        await pilot.press("S")
        await until(pilot, lambda: screen.last_panel_export is not first)
        svg = next(p for p in screen.last_panel_export if p.suffix == ".svg")
        assert "Saved the" not in svg_text(svg) and "Search tree" in svg_text(svg)


async def test_the_dashboard_saves_the_chart_last_clicked(runs, tmp_path):
    from workbench.tui.app import SeqbenchApp
    from workbench.tui.screens.dashboard import DashboardScreen

    root = tmp_path / "runs"
    shutil.copytree(runs[0], root / "gru")
    app = SeqbenchApp(runs_dir=str(root))
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(root / "gru")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        dash = app.screen
        await pilot.pause()
        await pilot.click("#ppl-chart")
        await pilot.press("S")
        await until(pilot, lambda: getattr(dash, "last_panel_export", None))
        svg = next(p for p in dash.last_panel_export if p.suffix == ".svg")
        assert svg.parent == root / "gru" / "exports" and svg.name.startswith("perplexity-")
        assert "perplexity" in svg_text(svg)
