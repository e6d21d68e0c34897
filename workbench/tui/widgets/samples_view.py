"""Sample predictions from the latest evaluation: source | reference | prediction, tokens coloured by match."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

MATCH, MISS, MISSING = "green", "bold red", "dim strike"


_VISIBLE = str.maketrans({"\n": "↵", "\t": "⇥", "\r": "␍"})


def visible(token: str) -> str:
    """A token as one line: newlines and tabs (common in character LMs) become visible marks."""
    return token.translate(_VISIBLE)


def _joiner(tokens: list[str]) -> str:
    """Character tasks join tokens with nothing, word tasks with a space."""
    return "" if all(len(t) == 1 for t in tokens) else " "


def coloured_tokens(tokens: list[str], reference: list[str], sep: str) -> Text:
    """``tokens`` with each one green where it equals the reference at that position, red otherwise."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, token in enumerate(tokens):
        if i and sep:
            text.append(sep)
        ok = i < len(reference) and reference[i] == token
        text.append(visible(token), style=MATCH if ok else MISS)
    return text


def sample_text(sample, index: int) -> Text:
    """Three lines for one sample; tokens never go through markup (``<eos>``, ``[PAD]`` stay visible)."""
    ref, pred = sample.reference_tokens, sample.prediction_tokens
    sep = _joiner(ref + pred + sample.source_tokens)
    ok = ref == pred
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append("✓ " if ok else "✗ ", style="bold green" if ok else "bold red")
    out.append("src  ", style="dim")
    out.append(visible(sep.join(sample.source_tokens) if sample.source_tokens else sample.source))
    out.append("\n  ")
    out.append("ref  ", style="dim")
    reference = Text(no_wrap=True)
    for i, token in enumerate(ref):
        if i and sep:
            reference.append(sep)
        reference.append(visible(token), style="" if i < len(pred) else MISSING)
    out.append_text(reference)
    out.append("\n  ")
    out.append("pred ", style="dim")
    out.append_text(coloured_tokens(pred, ref, sep) if pred else Text("(empty)", style="dim italic"))
    return out


class SamplesView(Static):
    """The latest evaluation's sample predictions."""

    DEFAULT_CSS = """
    SamplesView {
        width: 1fr;
        height: auto;
        min-height: 8;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        border: round $primary 40%;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1;
    }
    SamplesView.-empty { text-wrap: wrap; }
    """

    def __init__(self, empty: str = "samples appear at the first evaluation", **kwargs):
        super().__init__(Text(empty, style="dim"), **kwargs)
        self.add_class("-empty")  # the message wraps; sample lines never do
        self.border_title = "Samples"
        self._shown = None

    def show(self, samples: list, step: int | None) -> None:
        if samples is self._shown:
            return
        self._shown = samples
        if not samples:
            return
        self.remove_class("-empty")
        self.border_title = f"Samples · step {step:,}" if step is not None else "Samples"
        body = Text(no_wrap=True, overflow="ellipsis")
        for i, sample in enumerate(samples):
            if i:
                body.append("\n")
            body.append_text(sample_text(sample, i))
        self.update(body)
