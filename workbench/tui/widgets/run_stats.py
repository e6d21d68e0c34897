"""The dashboard's numbers: status, step, epoch, lr, gradient norm, throughput, times, device, metrics."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

STATUS_STYLE = {
    "starting": ("◌ starting", "yellow"), "running": ("● running", "green"), "paused": ("❚❚ paused", "yellow"),
    "stopping": ("◍ stopping", "yellow"), "completed": ("✔ completed", "bold green"), "stopped": ("■ stopped", "cyan"),
    "time-limit": ("■ time limit", "cyan"), "diverged": ("✖ diverged", "bold red"), "failed": ("✖ failed", "bold red"),
    "aborted": ("■ aborted", "red"), "interrupted": ("■ interrupted", "yellow"), "new": ("○ new", "dim"),
    "damaged": ("✖ damaged", "bold red"),
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


SHORT = {"loss": "loss", "ppl": "ppl", "accuracy": "acc", "accuracy_prev": "prev acc", "accuracy_next": "next acc",
         "exact_match": "exact", "bleu": "BLEU", "bpc": "bpc"}


def metric_value(name: str, value: float) -> str:
    if name.startswith("accuracy") or name == "exact_match":
        return f"{100 * value:.1f}%"
    if name == "bleu":
        return f"{value:.1f}"
    return f"{value:.4g}"


LABEL, VALUE = 12, 17  # column widths of the two label/value pairs per row


class RunStats(Static):
    """A two-column grid of the session's latest numbers."""

    DEFAULT_CSS = """
    RunStats {
        width: 66;
        height: auto;
        min-height: 6;
        border: round $primary 40%;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.border_title = "Run"
        self._rows = -1

    def show(self, session) -> None:
        """Redraw the numbers; a relayout only when the number of rows changes (it is costly)."""
        pairs = self.pairs(session)
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (label, value) in enumerate(pairs):
            if i % 2 == 0 and i:
                text.append("\n")
            elif i % 2:
                text.append(" ")
            text.append(label.ljust(LABEL)[:LABEL] + " ", style="dim")
            cell = value if isinstance(value, Text) else Text(str(value))
            cell.truncate(VALUE, overflow="ellipsis", pad=i % 2 == 0)
            text.append_text(cell)
        rows = (len(pairs) + 1) // 2
        self.update(text, layout=rows != self._rows)
        self._rows = rows

    @staticmethod
    def pairs(session) -> list[tuple[str, object]]:
        """(label, value) of everything worth a glance, most important first."""
        out: list[tuple[str, object]] = [("status", status_text(session.status))]
        p = session.progress
        total = session.total_steps or (p.total_steps if p else 0)
        out.append(("step", f"{session.step:,} / {total:,}" if total else f"{session.step:,}"))
        if p is not None:
            if p.epoch >= 0:  # unknown (-1) for a run read back from disk
                out.append(("epoch", f"{p.epoch:.2f}"))
            out += [("train loss", f"{p.loss:.4f}"),
                    ("lr", f"{p.lr:.3g}"), ("grad norm", f"{p.grad_norm:.3g}"),
                    ("tokens/s", f"{p.tokens_per_s:,.0f}"), ("elapsed", duration(p.elapsed)),
                    ("ETA", duration(p.eta) if session.live else "—")]
            out += [(name, f"{value:.3g}") for name, value in getattr(p, "shown", {}).items()]  # e.g. temperature
        if session.device:
            threads = p.threads if p is not None and p.threads else 0
            out.append(("device", f"CPU ({threads} thread{'s' if threads != 1 else ''})"  # the count may adapt
                        if threads and session.device.startswith("CPU") else session.device))
        if session.last_eval is not None:
            for name, value in session.last_eval.metrics.items():
                if name in SHORT:
                    out.append((f"val {SHORT[name]}", metric_value(name, value)))
        best = session.best
        if best:
            label = SHORT.get(best["name"], best["name"])
            out.append((f"best {label}", Text(f"{metric_value(best['name'], best['value'])} @ {best['step']:,}",
                                              style="green")))
        return out
