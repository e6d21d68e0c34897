"""The launcher's architecture picker: cell × attention × encoder options, only valid combinations.

Below the choices, a short explanation of the selected architecture with its equations.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Label, Select, Static

from models.names import (ATTENTIONS, CELLS, CONTEXT_FROM, CONTEXT_MODES, DECODERS, ENCODERS, HARD_ATTENTION, POOLINGS,
                          POSITIONS)

from ..arch_notes import (ATTENTION_NAMES, CELL_NAMES, CONTEXT_FROM_NAMES, CONTEXT_NAMES, DECODER_NAMES, ENCODER_NAMES,
                          HARD_NAMES, POSITION_NAMES, SKIP_THOUGHT_LINES, VECTOR_LINE, CONV_LINE, explain,
                          explain_encoder, option_lines, valid_attentions)

# extra rows: (id, label, names, choices, default); shown only where they apply (see ``_update``)
_OPTIONS = (("encoder", "encoder", ENCODER_NAMES, ENCODERS, "rnn"),
            ("hard_attention", "reading", HARD_NAMES, HARD_ATTENTION, "off"),
            ("context_from", "c from", CONTEXT_FROM_NAMES, CONTEXT_FROM, "last"),
            ("positions", "positions", POSITION_NAMES, POSITIONS, "sinusoidal"),
            ("decoders", "decoders", DECODER_NAMES, DECODERS, "one"))


class ArchPicker(Vertical):
    """Cell, attention, context and bidirectional choices for the chosen task's family."""

    DEFAULT_CSS = """
    ArchPicker { height: auto; }
    ArchPicker .choice { height: 1; }
    ArchPicker .choice > Label { width: 11; color: $text-muted; }
    ArchPicker .choice > Select { width: 1fr; }
    ArchPicker .-hidden { display: none; }
    ArchPicker Checkbox, ArchPicker Checkbox:focus {
        border: none; padding: 0; height: 1; margin: 0 0 1 0; background: transparent;
    }
    ArchPicker Checkbox:focus { background: $boost; }
    ArchPicker #arch-notes { height: auto; padding: 0 0 0 1; border-left: outer $primary 50%; }
    """

    class Changed(Message):
        """The architecture changed; ``values`` are model overrides (key -> text)."""

        def __init__(self, values: dict[str, str]) -> None:
            super().__init__()
            self.values = values

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.family = "seq2seq"
        self.head = ""  # encoder family: the task's head (tag, classify, mlm)
        self.neighbours = False  # the task has ordered sentences (skipthought): skip-thought's two decoders apply

    def compose(self) -> ComposeResult:
        with Horizontal(classes="choice"):
            yield Label("cell")
            yield Select([(CELL_NAMES[k], k) for k in CELLS], value="gru", allow_blank=False,
                         compact=True, id="cell")
        with Horizontal(classes="choice", id="attention-row"):
            yield Label("attention")
            yield Select([(ATTENTION_NAMES[k], k) for k in ATTENTIONS], value="general", allow_blank=False,
                         compact=True, id="attention")
        with Horizontal(classes="choice", id="context-row"):
            yield Label("context")
            yield Select([(CONTEXT_NAMES[k], k) for k in CONTEXT_MODES], value="init", allow_blank=False,
                         compact=True, id="context")
        for key, label, names, choices, default in _OPTIONS:
            with Horizontal(classes="choice", id=f"{key}-row"):
                yield Label(label)
                yield Select([(names[k], k) for k in choices], value=default, allow_blank=False, compact=True,
                             id=key)
        with Horizontal(classes="choice", id="pooling-row"):
            yield Label("pooling")
            yield Select([(k, k) for k in POOLINGS], value="mean", allow_blank=False, compact=True, id="pooling")
        yield Checkbox("bidirectional encoder", value=True, id="bidirectional")
        yield Static("", id="arch-notes")

    def configure(self, family: str, model) -> None:
        """Offer what ``family`` allows and select ``model``'s (a ModelConfig) choices."""
        self.family = family
        self.head = model.head if family == "encoder" else ""
        self.neighbours = model.decoders == "skip-thought"  # only the skipthought task's defaults choose it
        self.query_one("#pooling", Select).value = model.pooling
        self.query_one("#cell", Select).value = model.cell
        self._offer_attentions(model.cell, model.attention)
        self.query_one("#context", Select).value = model.context
        self.query_one("#bidirectional", Checkbox).value = bool(model.bidirectional)
        for key, *_ in _OPTIONS:
            self.query_one(f"#{key}", Select).value = getattr(model, key)
        self._update()

    def _offer_attentions(self, cell: str, wanted: str) -> None:
        valid = valid_attentions(self.family, cell)
        select = self.query_one("#attention", Select)
        select.set_options([(ATTENTION_NAMES[k], k) for k in valid])
        select.value = wanted if wanted in valid else ("general" if "general" in valid else valid[0])

    def values(self) -> dict[str, str]:
        cell = self.query_one("#cell", Select).value
        attention = self.query_one("#attention", Select).value
        out = {"cell": cell, "attention": attention}
        picked = {key: str(self.query_one(f"#{key}", Select).value) for key, *_ in _OPTIONS}
        out["positions"] = picked["positions"] if cell == "transformer" else "sinusoidal"
        rnn_seq2seq = self.family == "seq2seq" and cell != "transformer"
        vector = rnn_seq2seq and picked["encoder"] == "vector"
        out["encoder"] = picked["encoder"] if rnn_seq2seq else "rnn"
        conv = out["encoder"] == "conv"
        out["hard_attention"] = picked["hard_attention"] if rnn_seq2seq and attention not in ("none", "multihead") \
            else "off"
        out["context_from"] = picked["context_from"] if rnn_seq2seq and attention == "none" and out["encoder"] == "rnn" \
            else "last"
        if vector:
            out["attention"] = "none"
        skip = rnn_seq2seq and self.neighbours and picked["decoders"] == "skip-thought"
        out["decoders"] = "skip-thought" if skip else "one"
        if skip:  # Kiros et al.: the sentence vector h_i, read by both decoders at every step
            out.update(attention="none", encoder="rnn", context_from="last", hard_attention="off")
        if rnn_seq2seq:
            out["context"] = "every-step" if skip else self.query_one("#context", Select).value
            out["bidirectional"] = str(self.query_one("#bidirectional", Checkbox).value and not (vector or conv)).lower()
        elif self.family == "encoder":
            out["bidirectional"] = str(self.query_one("#bidirectional", Checkbox).value and cell != "transformer").lower()
            if self.head == "classify":
                out["pooling"] = str(self.query_one("#pooling", Select).value)
        else:
            out["bidirectional"] = "false"
        return out

    @on(Select.Changed, "#cell")
    def _cell_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._offer_attentions(str(event.value), str(self.query_one("#attention", Select).value))
        self._update()

    @on(Select.Changed, "#attention, #context, #encoder, #hard_attention, #context_from, #positions, #pooling, #decoders")
    @on(Checkbox.Changed)
    def _changed(self, event) -> None:
        event.stop()
        self._update()

    def _update(self) -> None:
        v = self.values()
        rnn_seq2seq = self.family == "seq2seq" and v["cell"] != "transformer"
        vector, conv = v["encoder"] == "vector", v["encoder"] == "conv"
        self.query_one("#attention-row").set_class(not rnn_seq2seq or vector, "-hidden")
        self.query_one("#context-row").set_class(not (rnn_seq2seq and v["attention"] == "none"), "-hidden")
        rnn_encoder = self.family == "encoder" and v["cell"] != "transformer"
        self.query_one("#bidirectional").set_class(not (rnn_seq2seq or rnn_encoder) or vector or conv, "-hidden")
        self.query_one("#pooling-row").set_class(self.head != "classify", "-hidden")
        self.query_one("#encoder-row").set_class(not rnn_seq2seq, "-hidden")
        self.query_one("#hard_attention-row").set_class(
            not rnn_seq2seq or v["attention"] in ("none", "multihead"), "-hidden")
        self.query_one("#context_from-row").set_class(not (rnn_seq2seq and v["attention"] == "none") or vector or conv,
                                                      "-hidden")
        self.query_one("#positions-row").set_class(v["cell"] != "transformer", "-hidden")
        skip = v["decoders"] == "skip-thought"
        self.query_one("#decoders-row").set_class(not (rnn_seq2seq and self.neighbours), "-hidden")
        for row in ("#attention-row", "#context-row", "#encoder-row", "#context_from-row"):
            if skip:
                self.query_one(row).set_class(True, "-hidden")
        if self.family == "encoder":
            lines = explain_encoder(v["cell"], v["bidirectional"] == "true", self.head, v.get("pooling", "mean"))
        else:
            lines = explain(self.family, v["cell"], v["attention"], v.get("context", "init"), v["bidirectional"] == "true")
        if (vector or conv) and len(lines) > 1:
            lines[1] = VECTOR_LINE if vector else CONV_LINE
        lines += option_lines(v)
        if skip:  # the cell and encoder lines stand; the decoder is Kiros et al.'s
            lines = [lines[0].replace("encoder-decoder", "skip-thought"), *lines[1:-2], *SKIP_THOUGHT_LINES]
        notes = Text()
        notes.append(lines[0], style="bold")
        for line in lines[1:]:
            notes.append("\n" + line)
        self.query_one("#arch-notes", Static).update(notes)
        self.post_message(self.Changed(v))
