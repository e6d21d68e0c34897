"""The five inspector panels, arranged for the terminal: side by side when there is room, else tabs."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import TabbedContent, TabPane

from .beam import BeamPanel
from .beam_tree import BeamTree
from .distribution import NextTokenPanel
from .heatmap import AttentionHeatmap
from .hidden import HiddenStrips

WIDE = (100, 30)  # at least this many columns and rows: panels side by side, else every panel a tab
TALL = 56  # at least this many rows (and WIDE): the beam list and the tree both in view
TABS = (("tab-attention", "1 Attention"), ("tab-next", "2 Next token"), ("tab-beam", "3 Beam"),
        ("tab-tree", "4 Tree"), ("tab-hidden", "5 Hidden"))


def layout_for(width: int, height: int) -> str:
    """narrow: every panel a tab; wide: beam list and tree share a tabbed corner; tall: all at once."""
    if width < WIDE[0] or height < WIDE[1]:
        return "narrow"
    return "tall" if height >= TALL else "wide"


class PanelHost(Container):
    """The five panels, arranged for the terminal size (see ``layout_for``)."""

    def __init__(self, layout: str, *, id: Optional[str] = None):
        super().__init__(id=id)
        self.arrangement = layout

    def compose(self) -> ComposeResult:
        p = {"heatmap": AttentionHeatmap(id="heatmap", classes="insp-panel"),
             "hidden": HiddenStrips(id="hidden", classes="insp-panel"),
             "dist": NextTokenPanel(id="dist", classes="insp-panel"),
             "beam": BeamPanel(id="beam", classes="insp-panel"),
             "tree": BeamTree(id="tree", classes="insp-panel")}
        for key, title in (("heatmap", "Alignment"), ("hidden", "Hidden state"), ("dist", "Next token"),
                           ("beam", "Beam"), ("tree", "Search tree")):
            p[key].border_title = title
        tabs = dict(zip(("heatmap", "dist", "beam", "tree", "hidden"), TABS))
        if self.arrangement == "narrow":
            with TabbedContent(id="insp-body"):
                for key, (pane_id, label) in tabs.items():
                    yield TabPane(label, p[key], id=pane_id)
            return
        with Horizontal(id="insp-body"):
            yield Vertical(p["heatmap"], p["hidden"], id="insp-left")
            with Vertical(id="insp-right"):
                yield p["dist"]
                if self.arrangement == "tall":
                    yield p["beam"]
                    yield p["tree"]
                    return
                with TabbedContent(id="insp-corner"):
                    for key in ("beam", "tree"):
                        yield TabPane(tabs[key][1], p[key], id=tabs[key][0])
