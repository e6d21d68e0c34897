"""The beam search tree so far: every hypothesis the engine created, pruned expansions dimmed.

Built from the records' candidates alone (each names its parent hypothesis and, when it survived,
its own id). Chains without branching are drawn on one line; at each node the expansions that did
not survive are listed dimmed after it (✗). Branches that died out later are dimmed; the focus
hypothesis's path is highlighted.
"""

from __future__ import annotations

from typing import Optional, Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.decoding import Candidate, StepRecord

from . import palette as P

MAX_PRUNED = 4


def tree_children(records: Sequence[StepRecord]) -> dict[int, list[Candidate]]:
    """parent hypothesis id -> the candidates that expanded it (kept and pruned)."""
    out: dict[int, list[Candidate]] = {}
    for r in records:
        for c in r.candidates:
            out.setdefault(c.parent, []).append(c)
    return out


def ancestors(records: Sequence[StepRecord], ids: Sequence[int]) -> set[int]:
    parent = {0: None}
    for r in records:
        for c in r.candidates:
            if c.id is not None:
                parent[c.id] = c.parent
    out = set()
    for i in ids:
        while i is not None and i not in out:
            out.add(i)
            i = parent.get(i)
    return out


class BeamTree(VerticalScroll):
    """The tree of hypotheses, scrolled to keep its end in view."""

    DEFAULT_CSS = """
    BeamTree { height: 1fr; scrollbar-size: 1 1; }
    BeamTree > Static { width: auto; min-width: 100%; text-wrap: nowrap; }
    """

    def compose(self):
        yield Static("", id="tree-text")

    def show(self, records: Sequence[StepRecord], focus: Optional[int], itos: Sequence[str], joiner: str = "") -> None:
        self._itos, self._joiner = itos, joiner
        text = Text(no_wrap=True)
        if not records:
            text.append("the tree grows as you step (→)", style=P.MUTED)
        else:
            last = records[-1]
            alive = ancestors(records, [h.id for h in last.live + last.finished])
            path = ancestors(records, [focus] if focus is not None else [])
            children = tree_children(records)
            self._logprob = {c.id: c.logprob for r in records for c in r.candidates if c.id is not None}
            self._focus, self._focus_line = focus, 0
            text.append("● ", style=P.ACCENT)
            text.append(P.label(itos[records[0].inputs[0]]), style=P.BOLD)
            self._node(text, 0, children, (alive, path), "")
        self.query_one("#tree-text", Static).update(text)
        # keep the focus hypothesis's line in view (its chain ends on the line of the last newline before it)
        focus_line = self._focus_line if records else 0
        self.call_after_refresh(self.scroll_to, y=max(0, focus_line - self.size.height // 2), animate=False)

    def _node(self, text: Text, node: int, children, marks: tuple[set[int], set[int]], indent: str) -> None:
        """Finish ``node``'s line (its chain of only children), then draw its branches below it."""
        itos, alive, path = self._itos, *marks
        pruned: list[Candidate] = []
        while True:
            kids = children.get(node, [])
            pruned += [c for c in kids if not c.survived]
            kept = [c for c in kids if c.survived]
            if len(kept) != 1:
                break
            node = kept[0].id
            text.append(self._joiner + P.label(itos[kept[0].token]), style=self._style(node, alive, path))
        if node == self._focus:
            self._focus_line = text.plain.count("\n")
        if not kept and node in alive and node in self._logprob:
            text.append(f" {self._logprob[node]:.2f}", style=P.ACCENT if node in path else P.MUTED)
        if pruned:
            shown = " ".join(P.label(itos[c.token], 6) for c in pruned[:MAX_PRUNED])
            more = f" +{len(pruned) - MAX_PRUNED}" if len(pruned) > MAX_PRUNED else ""
            text.append(f"  ✗ {shown}{more}", style=P.DIM)
        text.append("\n")
        for i, c in enumerate(kept):
            last = i == len(kept) - 1
            text.append(indent + ("└─" if last else "├─"), style=P.DIM)
            text.append(P.label(itos[c.token]), style=self._style(c.id, alive, path))
            self._node(text, c.id, children, marks, indent + ("  " if last else "│ "))

    @staticmethod
    def _style(node: int, alive: set[int], path: set[int]):
        if node in path:
            return P.ACCENT
        return None if node in alive else P.DIM
