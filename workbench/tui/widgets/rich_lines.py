"""Lets the app show what a headless command draws: its ``draw(out, ...)`` functions print Rich
renderables on a console; ``Lines`` collects them instead, for a ``Static`` to show as one ``Group``."""

from __future__ import annotations

from rich.console import Group


class Lines:
    """A stand-in console: ``print`` keeps each renderable in order."""

    def __init__(self) -> None:
        self.items: list = []

    def print(self, *renderables, **_options) -> None:
        self.items.extend(renderables or [""])

    def group(self) -> Group:
        return Group(*self.items)
