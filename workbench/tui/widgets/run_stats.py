"""The dashboard's numbers: status, step, epoch, lr, gradient norm, throughput, times, device, metrics."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

STATUS_STYLE = {
    "starting": ("◌ starting", "yellow"), "running": ("● running", "green"), "paused": ("❚❚ paused", "yellow"),
    "stopping": ("◍ stopping", "yellow"), "completed": ("✔ completed", "bold green"), "stopped": ("■ stopped", "cyan"),
    "time-limit": ("■ time limit", "cyan"), "diverged": ("✖ diverged", "bold red"), "failed": ("✖ failed", "bold red"),
    "aborted": ("■ aborted", "red"), "interrupted": ("■ interrupted", "yellow"), "new": ("○ new", "dim"),
}


def status_text(status: str) -> Text:
    label, style = STATUS_STYLE.get(status, (status, ""))
    return Text(label, style=style)


def duration(seconds: float) -> str:
    """1:02:03 or 2:03."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def metric_value(name: str, value: float) -> str:
    if name in ("accuracy", "exact_match"):
        return f"{100 * value:.1f}%"
    if name == "bleu":
        return f"{value:.1f}"
    return f"{value:.4g}"


class RunStats(Static):
    """A two-column grid of the session's latest numbers."""

    DEFAULT_CSS = """
    RunStats {
        width: 64;
        height: auto;
        min-height: 6;
        border: round $primary 40%;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.border_title = "Run"

    def show(self, session) -> None:
        pairs = self.pairs(session)
        grid = Table.grid(padding=(0, 1))
        for _ in range(2):
            grid.add_column(style="dim", no_wrap=True, width=12)
            grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        for i in range(0, len(pairs), 2):
            row = pairs[i:i + 2] + [("", "")] * (2 - len(pairs[i:i + 2]))
            grid.add_row(*[cell for pair in row for cell in pair])
        self.update(grid)

    @staticmethod
    def pairs(session) -> list[tuple[str, object]]:
        """(label, value) of everything worth a glance, most important first."""
        from workbench.metrics import METRIC_INFO

        out: list[tuple[str, object]] = [("status", status_text(session.status))]
        p = session.progress
        total = session.total_steps or (p.total_steps if p else 0)
        out.append(("step", f"{session.step:,} / {total:,}" if total else f"{session.step:,}"))
        if p is not None:
            out += [("epoch", f"{p.epoch:.2f}"), ("train loss", f"{p.loss:.4f}"),
                    ("lr", f"{p.lr:.3g}"), ("grad norm", f"{p.grad_norm:.3g}"),
                    ("tokens/s", f"{p.tokens_per_s:,.0f}"), ("elapsed", duration(p.elapsed)),
                    ("ETA", duration(p.eta) if session.live else "—")]
        if session.device:
            out.append(("device", session.device))
        if session.last_eval is not None:
            for name, value in session.last_eval.metrics.items():
                if name in METRIC_INFO:
                    out.append((f"val {METRIC_INFO[name][0]}", metric_value(name, value)))
        best = session.best or (session.trainer.best if session.trainer is not None else None)
        if best:
            label = METRIC_INFO.get(best["name"], (best["name"],))[0]
            out.append(("best", Text(f"{label} {metric_value(best['name'], best['value'])} @ {best['step']:,}",
                                     style="green")))
        return out
