"""The hyperparameter form: one compact input per option, each with an inline message.

Values are checked as they are typed by ``workbench.launch.check_field``, the same check (and the
same words) as ``seqbench train``; a bad value turns its message red and is named again if training
is started anyway.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from workbench.launch import FIELDS, check_field, field_value


class HParamForm(Vertical):
    """Inputs for ``workbench.launch.FIELDS`` (hints from their declarations) plus the device selector."""

    DEFAULT_CSS = """
    HParamForm { height: auto; }
    HParamForm .field { height: auto; }
    HParamForm .field.-hidden { display: none; }
    HParamForm .field > Label { width: 13; color: $text-muted; }
    HParamForm .field > Input { width: 10; border: none; height: 1; background: $boost; padding: 0 1; }
    HParamForm .field > Input.-invalid { background: $error 30%; }
    HParamForm .field > .msg { width: 1fr; padding-left: 1; color: $text-disabled; }
    HParamForm .field > .msg.-error { color: $error; }
    HParamForm #device-row { height: 1; margin-top: 1; }
    HParamForm #device-row > Label { width: 13; color: $text-muted; }
    HParamForm #device { width: 1fr; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.ready = False  # inputs are checked only once the engine has loaded
        self.family = "seq2seq"  # the task's model family: "enc + dec" layers only for an encoder-decoder

    def compose(self) -> ComposeResult:
        for field in FIELDS:
            with Horizontal(classes="field", id=f"row-{field.key}"):
                yield Label(field.label)
                yield Input(id=f"in-{field.key}", compact=True, name=f"{field.section}.{field.key}")
                yield Static(field.hint, classes="msg", id=f"msg-{field.key}")
        with Horizontal(id="device-row"):
            yield Label("device")
            yield Select([("auto", "auto")], value="auto", allow_blank=False, compact=True, id="device")

    def load(self, cfg) -> None:
        """Fill every input from ``cfg`` (a RunConfig: the task's solving defaults)."""
        self.ready = True
        self.family = cfg.model.family
        for field in FIELDS:
            self.query_one(f"#in-{field.key}", Input).value = field_value(cfg, field.section, field.key)
            self.query_one(f"#msg-{field.key}", Static).update(self._hint(field))

    def _hint(self, field) -> str:
        """The field's hint; the layers of a language model or an encoder are not "enc + dec"."""
        if field.key == "layers" and self.family != "seq2seq":
            return replace(field, note="").hint
        return field.hint

    def set_devices(self, options: list[tuple[str, str]]) -> None:
        select = self.query_one("#device", Select)
        select.set_options(options)
        select.value = options[0][1]

    @property
    def device(self) -> str:
        return str(self.query_one("#device", Select).value)

    def show_fields(self, **visible: bool) -> None:
        """Hide options the architecture does not use (heads, local window)."""
        for key, shown in visible.items():
            self.query_one(f"#row-{key}").set_class(not shown, "-hidden")

    def values(self) -> dict[tuple[str, str], str]:
        """(section, key) -> text of every visible field."""
        out = {}
        for field in FIELDS:
            if not self.query_one(f"#row-{field.key}").has_class("-hidden"):
                out[(field.section, field.key)] = self.query_one(f"#in-{field.key}", Input).value
        return out

    def problems(self) -> list[str]:
        """The check's message for each visible field that does not pass it."""
        found = []
        for field in FIELDS:
            if self.query_one(f"#row-{field.key}").has_class("-hidden"):
                continue
            problem = self._check(field)
            if problem:
                found.append(problem)
        return found

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if not self.ready or not event.input.name:
            return
        event.stop()
        self._check(next(f for f in FIELDS if f"{f.section}.{f.key}" == event.input.name))

    def _check(self, field) -> str | None:
        box = self.query_one(f"#in-{field.key}", Input)
        problem = check_field(field.section, field.key, box.value)
        msg = self.query_one(f"#msg-{field.key}", Static)
        # the row names the field, so the message drops its "section.key: " prefix
        msg.update(Text(f"✗ {problem.split(': ', 1)[-1]}" if problem else self._hint(field)))
        msg.set_class(problem is not None, "-error")
        box.set_class(problem is not None, "-invalid")
        return problem
