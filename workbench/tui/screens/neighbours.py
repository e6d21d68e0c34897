"""Skip-thought's neighbour view in the app: the corpus sentences nearest to the input by sentence
vector, and every sentence on the two principal axes (Seq2Seq-Vis's neighbour view).

The sentence space is the engine's (``decoding.neighbours.sentence_space``, in a thread worker) and
is drawn by the same ``skipthought_report`` functions ``seqbench decode`` prints with.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..widgets.inspector import palette as P

K = 10  # neighbours listed


class SpaceReady(Message):
    """The worker's sentence space (or why there is none)."""

    def __init__(self, space: Any = None, error: str = "") -> None:
        super().__init__()
        self.space, self.error = space, error


class NeighboursScreen(Screen):
    """Nearest sentences and the 2-D map; ↑↓ pick a neighbour, Enter inspects it, Esc back."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # -narrow: the list above the map
    DEFAULT_CSS = """
    NeighboursScreen { layout: vertical; }
    NeighboursScreen #nb-title { height: auto; padding: 0 1; }
    NeighboursScreen #nb-body { height: 1fr; }
    NeighboursScreen #nb-list { width: 2fr; min-width: 36; border: round $primary 40%; padding: 0 1; }
    NeighboursScreen #nb-map { width: 3fr; border: round $primary 40%; padding: 0 1; }
    NeighboursScreen.-narrow #nb-body { layout: vertical; }
    NeighboursScreen.-narrow #nb-list, NeighboursScreen.-narrow #nb-map { width: 1fr; }
    """
    BINDINGS = [
        Binding("up", "pick(-1)", "Previous", show=False),
        Binding("down", "pick(1)", "Next", show=False),
        Binding("enter", "inspect", "Inspect it"),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, model: Any, task: Any, text: str, cache: Optional[dict] = None):
        super().__init__()
        self.model, self.seq_task, self.text = model, task, text
        self.cache = cache if cache is not None else {}  # the inspector keeps the space between visits
        self.space, self.hits, self.picked = None, [], 0

    def compose(self) -> ComposeResult:
        yield Static(id="nb-title")
        with Horizontal(id="nb-body"):
            with VerticalScroll(id="nb-list"):
                yield Static(id="nb-hits")
            with VerticalScroll(id="nb-map"):
                yield Static(id="nb-plot")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#nb-list").border_title = "nearest by sentence vector (cosine)"
        self.query_one("#nb-map").border_title = "sentence vectors, two principal axes"
        self.query_one("#nb-title", Static).update(Text.assemble(("neighbours of  ", P.DIM), (self.text, P.BOLD)))
        space = self.cache.get(id(self.model))
        if space is not None:
            self._show(SpaceReady(space))
            return
        self.query_one("#nb-body").loading = True
        self._compute()

    @work(thread=True, exclusive=True, group="neighbours", exit_on_error=False)
    def _compute(self) -> None:
        from workbench.decoding.neighbours import sentence_space
        from workbench.device import one_thread_here

        one_thread_here()
        try:
            self.post_message(SpaceReady(sentence_space(self.model, self.seq_task)))
        except Exception as exc:  # a failed worker must say why on the screen, not vanish
            self.post_message(SpaceReady(error=f"{type(exc).__name__}: {exc}"))

    @on(SpaceReady)
    def _show(self, message: SpaceReady) -> None:
        self.query_one("#nb-body").loading = False
        if message.error:
            self.query_one("#nb-title", Static).update(Text(message.error, style="bold red"))
            return
        self.space = self.cache[id(self.model)] = message.space
        vector = self.space.vector_of(self.model, self.seq_task, self.text)
        self.hits = self.space.nearest(vector, k=K, skip=self.text)
        self.here = self.space.project(vector)
        self.call_after_refresh(self._draw)  # the map fits the panel: wait until it has its size

    def _draw(self) -> None:
        from workbench.decoding.skipthought_report import legend, scatter_text, topic_colour

        space = self.space
        topics = space.topic_names
        lines = []
        for i, hit in enumerate(self.hits):
            line = Text()
            line.append("▶ " if i == self.picked else "  ", style=P.ACCENT)
            line.append(f"{hit.cosine:+.3f}  ", style=P.DIM)
            line.append(hit.text, style=P.BOLD if i == self.picked else "")
            if hit.topic:
                line.append(f"  {hit.topic}", style=topic_colour(hit.topic, topics))
            lines.append(line)
        agreement = space.agreement
        if agreement is not None:
            lines.append(Text(f"\n{100 * agreement:.1f}% of the corpus's sentences share their topic with "
                              "their 5 nearest", style=P.DIM))
        lines.append(Text(f"{len(space.texts)} sentences" + (f" of {space.total}" if space.total > len(space.texts)
                                                              else ""), style=P.DIM))
        self.query_one("#nb-hits", Static).update(Group(*lines))
        plot = self.query_one("#nb-map")
        width = max(20, plot.size.width - 5 if plot.size.width else 60)
        height = max(8, min(40, (plot.size.height - 5) if plot.size.height else 16))
        marks = [("*", tuple(space.coords[h.index].tolist())) for h in self.hits]
        if self.hits:
            marks.append(("#", marks[self.picked][1]))
        marks.append(("@", self.here))
        caption = Text(f"x: {100 * space.explained[0]:.1f}% of the variance · y: {100 * space.explained[1]:.1f}%  "
                       "(# the neighbour picked)", style=P.DIM)
        self.query_one("#nb-plot", Static).update(Group(scatter_text(space, marks, width, height), legend(space),
                                                        caption))

    def on_resize(self) -> None:
        if self.space is not None:
            self.call_after_refresh(self._draw)

    def action_pick(self, delta: int) -> None:
        if self.hits:
            self.picked = (self.picked + delta) % len(self.hits)
            self._draw()

    def action_inspect(self) -> None:
        """Back to the inspector with the picked neighbour as the input."""
        self.workers.cancel_group(self, "neighbours")
        self.dismiss(self.hits[self.picked].text if self.hits else None)

    def action_close(self) -> None:
        self.workers.cancel_group(self, "neighbours")
        self.dismiss(None)
