"""The inspector: step through decoding token by token and see why each token is emitted.

The screen drives a ``DecodeSession`` from the engine (through ``workbench.decoding.inspection``) and
draws what each step reports: the alignment heatmap, hidden states and gates, the beam and its
tree, the next-token distribution and the output. It computes nothing the engine does not report.

Opened by the dashboard (a snapshot of the live weights), the launcher (a saved run) and the shell
(``seqbench inspect RUN``: ``run_inspector``). Keys are listed in ``widgets/inspector/keys.py``;
the panels sit side by side on wide terminals and become tabs (1-5) on small ones (``panels.py``).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, Optional

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, Tabs

from workbench.device import one_thread_here
from workbench.errors import UserError

from ..screenshot import SavesScreenshots
from ..terminal import exit_on_hangup
from workbench.decoding import panels as X
from ..widgets.inspector.beam import BeamPanel
from ..widgets.inspector.captions import attention_caption, probe_sentence, state_caption, vocabulary_text
from ..widgets.inspector.teach import explain_input, step_sentence_for
from .inspector_decoders import DECODER_ACTIONS, DecoderKeys
from .inspector_keys import TeachingKeys
from .inspector_tools import PANEL_OF_TAB, TOOL_ACTIONS, ToolKeys
from ..widgets.inspector.intervention import InterventionView
from ..widgets.inspector.beam_tree import BeamTree
from ..widgets.inspector.distribution import NextTokenPanel, TeacherInfo
from workbench.decoding.inspection import MODES, TEACHER, Inspection
from ..widgets.inspector.force_bar import ForceBar
from ..widgets.inspector.heatmap import AttentionHeatmap
from ..widgets.inspector.hidden import HiddenStrips
from ..widgets.inspector.input_bar import InputBar
from ..widgets.inspector.keys import KEYS
from ..widgets.inspector.output import OutputView
from ..widgets.inspector.panels import PanelHost, layout_for
from ..widgets.inspector.settings_bar import SettingsBar
from ..widgets.inspector.status import StatusLine

MAX_BEAM = 8


def _cycle(choices: list, current: Any, delta: int = 1) -> Any:
    if not choices:
        return current
    i = choices.index(current) if current in choices else -delta if delta > 0 else 0
    return choices[(i + delta) % len(choices)]


class InspectorScreen(TeachingKeys, ToolKeys, DecoderKeys, Screen):
    """Step-by-step decoding of one input with every panel the engine can feed."""

    AUTO_FOCUS = ""  # keys drive the decoding until the user asks for an input box
    DEFAULT_CSS = """
    InspectorScreen { layout: vertical; }
    InspectorScreen InputBar { padding: 0 1; }
    InspectorScreen .insp-panel { border: round $primary 40%; border-title-color: $accent; padding: 0 1;
                                  border-title-style: bold; }
    InspectorScreen .insp-panel.-picked { border: round $accent; }
    InspectorScreen #insp-output { height: auto; }
    InspectorScreen #insp-host, InspectorScreen #insp-body { height: 1fr; }
    InspectorScreen #insp-left { width: 3fr; }
    InspectorScreen #insp-right { width: 2fr; min-width: 44; }
    InspectorScreen #insp-right > BeamPanel, InspectorScreen #insp-right > BeamTree { height: 1fr; }
    InspectorScreen TabbedContent { height: 1fr; }
    InspectorScreen.-narrow #insp-output { border: none; padding: 0 1; }
    InspectorScreen TabPane { padding: 0; height: 1fr; }
    InspectorScreen ContentSwitcher { height: 1fr; }
    """
    BINDINGS = KEYS

    def __init__(self, model: Any, task: Any, *, run_dir: Optional[str | Path] = None, title: str = "",
                 probes: Optional[list] = None, initial_input: Optional[str] = None):
        super().__init__()
        self.model, self.seq_task = model, task
        self.run_dir = Path(run_dir) if run_dir else None
        self.heading = title
        self._given_probes = probes
        self.probes: list = list(probes or [])
        self.initial_input = initial_input
        self.ins = Inspection(model, task)
        self.opts = X.ViewOptions()
        itos = self.ins.itos[4:]
        self.joiner = "" if all(len(t) == 1 for t in itos) else " "
        self.arrangement = "wide"

    # ---- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self.arrangement = layout_for(self.app.size.width, self.app.size.height)
        yield StatusLine(id="insp-title")
        yield InputBar("/ to type an input, Enter decodes it", id="insp-input")
        yield OutputView(id="insp-output", classes="insp-panel")
        yield InterventionView(id="insp-edits")
        yield SettingsBar(id="insp-settings")
        yield ForceBar(id="insp-force")
        yield PanelHost(self.arrangement, id="insp-host")
        yield Footer(compact=True, show_command_palette=False)  # at 80 columns the keys reach the edge; ? lists them all

    async def on_resize(self, event) -> None:
        layout = layout_for(event.size.width, event.size.height)
        if layout != self.arrangement:
            self.arrangement = layout
            self._set_narrow()
            host = self.query_one(PanelHost)
            host.arrangement = layout
            await host.recompose()
            self._after_layout()
            self.redraw()

    def _after_layout(self) -> None:
        for tabs in self.query(Tabs):
            tabs.can_focus = False  # ← → step the decoding, never switch tabs

    def _set_narrow(self) -> None:
        narrow = self.arrangement == "narrow"
        self.set_class(narrow, "-narrow")
        self.query_one(SettingsBar).set_class(narrow, "-narrow")

    def on_mount(self) -> None:
        one_thread_here()  # the model steps on this (the UI) thread; training keeps its cores
        self._set_narrow()
        self._after_layout()
        if self._given_probes is None:
            self._load_probes()
        loaders = [lambda: self._warn(self.ins.load_text(self.initial_input))] if self.initial_input is not None else []
        for load in loaders + [lambda: self.ins.load_example(0)]:
            try:
                load()
                break
            except UserError as exc:
                self.notify(str(exc), severity="error", timeout=6)
        if self.ins.session is not None:
            self.ins.step()
        self.redraw()

    def _load_probes(self) -> None:
        if self.run_dir is not None:
            from workbench.probes import read_probes

            self.probes = read_probes(self.run_dir)

    # ---- drawing ----------------------------------------------------------------------------------

    def redraw(self) -> None:
        """Bring every panel up to date with the session (called after every key)."""
        ins = self.ins
        if ins.session is None:  # nothing could be loaded: only the input row is useful
            return
        hyp = ins.focus_hyp()
        self._draw_title()
        self._draw_hints()
        self.query_one(InputBar).show(ins.example, len(ins.examples), ins.split)
        replaying = self.opts.probe is not None and bool(self.probes)
        grid = X.probe_grid(self.probes, self.opts) if replaying else X.attention_grid(ins, self.opts)
        heat = self.query_one(AttentionHeatmap)
        heat.show(grid.values, grid.rows, grid.cols, current=grid.current, title=grid.title, message=grid.message,
                  vector=grid.vector, note=grid.note, caption=attention_caption(self._view(), replaying)
                  + (probe_sentence(grid.rows, grid.cols, self.joiner) if replaying else ""),
                  timeline=self._replay_timeline() if replaying else None, marks=grid.marks)
        self._draw_output(hyp)  # after the heatmap: its sentence reads the attention drawn
        self._draw_edits()
        strips = X.state_strips(ins, self.opts)
        self.query_one(HiddenStrips).show(strips.values, strips.rows, title=strips.title, signed=strips.signed,
                                          current=strips.current, unit=self.opts.unit, norm_name=strips.norm_name,
                                          notes=strips.notes, caption=state_caption(
                                              self._state(), strips.signed, strips.norm_name) if strips.values.size
                                          else "")
        last = ins.records[-1] if ins.records else None
        self.query_one(BeamPanel).show(ins.hypotheses(), last.candidates if last else [],
                                       step=last.step if last else None, focus=hyp.id if hyp else None,
                                       itos=ins.itos, joiner=self.joiner, alpha=ins.config.alpha)
        self.query_one(BeamTree).show(ins.records, hyp.id if hyp else None, ins.itos, self.joiner)
        self._draw_distribution(hyp)

    def _draw_title(self) -> None:
        replaying = self.opts.probe is not None and bool(self.probes)
        self.query_one(StatusLine).show(self.ins, self.seq_task.name, self.heading, replaying)

    def _draw_hints(self) -> None:
        """Each panel's own keys, in its border (the footer keeps the decoding keys)."""
        ins = self.ins
        heat = ["a view" if len(X.view_choices(ins)) > 1 else "", "l layer" if self.model.config.layers > 1 else "",
                "h head" if X.head_count(ins) > 1 else "", "p probes  [ ] train step" if self.check_action(
                    "probe", ()) else ""]
        hints = {AttentionHeatmap: heat, HiddenStrips: ["g state", ", . unit", "< > ±10"],
                 BeamPanel: ["n next hypothesis" if ins.mode == "beam" else ""],
                 NextTokenPanel: ["f force", "t teacher-forced"]}
        for cls, keys in hints.items():
            widget, hint = self.query_one(cls), " · ".join(k for k in keys if k)
            if widget.border_subtitle != hint:
                widget.border_subtitle = hint
        adjust = {"beam": " · + - beam width", "sample": " · + - temperature"}.get(ins.mode, "")
        decoders = " · d decoder · N neighbours" if ins.decoders else ""
        self.query_one(OutputView).border_subtitle = f"→ ← step · End Home · ↑↓ example{adjust}{decoders}"

    def _draw_output(self, hyp) -> None:
        ins = self.ins
        tokens = ins.text(hyp.tokens) if hyp else []
        logprobs = [c.token_logprob for c in ins.path_candidates(hyp)] if hyp and hyp.tokens else []
        forced = set() if ins.mode == TEACHER else {t for t in ins.forced_steps() if t < len(tokens)}
        self.query_one(OutputView).show(
            source=ins.input_tokens, source_name="prompt" if ins.is_lm else "in", reference=ins.reference,
            hyp=hyp, tokens=tokens, logprobs=logprobs, forced=forced,
            divergence=ins.score.divergence if ins.score else None, joiner=self.joiner,
            sentence=step_sentence_for(ins, self.query_one(AttentionHeatmap), hyp, forced))

    def _draw_distribution(self, hyp) -> None:
        ins = self.ins
        panel = self.query_one(NextTokenPanel)
        record, row = ins.last_step_of(hyp) if hyp is not None else (None, 0)
        if record is None:
            panel.show([], set(), ins.itos, step=None)
            return
        parent = record.rows[row]
        chosen = {c.token for c in record.candidates if c.parent == parent and c.survived}
        teacher = TeacherInfo.at(ins.score, record.step) if ins.score is not None else None
        label = f"· from hypothesis #{parent}" if len(record.rows) > 1 else ""
        panel.show(record.topk(row), chosen, ins.itos, step=record.step, row_label=label, teacher=teacher)

    # ---- keys: decoding ---------------------------------------------------------------------------

    def _do(self, fn, *args) -> None:
        """Run an engine call; a UserError becomes a notification. Redraws either way."""
        try:
            fn(*args)
        except UserError as exc:
            self.notify(str(exc), severity="warning", timeout=5)
        self.redraw()
        self.refresh_bindings()

    def _warn(self, warnings: list[str]) -> None:
        for w in warnings:
            self.notify(w, severity="warning", timeout=6)

    def action_step(self) -> None:
        if self.ins.done:
            self.notify("decoding has ended: ← goes back, Home starts again", timeout=3)
            return
        self.ins.step()
        self.redraw()

    def action_back(self) -> None:
        if self.ins.back():
            self.redraw()

    def action_run(self) -> None:
        self._do(self.ins.run)

    def action_reset(self) -> None:
        self._do(self.ins.reset)

    def action_example(self, delta: int) -> None:
        current = self.ins.example if self.ins.example is not None else (-1 if delta > 0 else 0)
        self._do(lambda: (self.ins.load_example(current + delta), self.ins.step()))

    def action_type_input(self) -> None:
        self.query_one(InputBar).focus_input()

    def on_input_bar_submitted(self, event: InputBar.Submitted) -> None:
        def load() -> None:
            self._warn(explain_input(self.ins, self.seq_task, event.text, self.ins.load_text(event.text)))
            self.ins.step()

        self._do(load)

    def action_strategy(self) -> None:
        free = [m for m in MODES if m != TEACHER]
        self._do(self.ins.set_mode, _cycle(free, self.ins.mode))

    def action_teacher(self) -> None:
        self._do(self.ins.set_mode, "greedy" if self.ins.mode == TEACHER else TEACHER)

    def action_adjust(self, delta: int) -> None:
        c = self.ins.config
        if self.ins.mode == "beam":
            if not 1 <= c.beam + delta <= MAX_BEAM:
                self.notify(f"beam width is {c.beam}: it goes from 1 to at most {MAX_BEAM}", timeout=3)
                return
            self._do(lambda: self.ins.set_options(beam=c.beam + delta))
        elif self.ins.mode == "sample":
            self._do(lambda: self.ins.set_options(temperature=round(max(0.0, c.temperature + 0.1 * delta), 2)))

    def action_hard_sample(self) -> None:
        """Hard attention: the argmax position (as evaluated) or z_t drawn from a_t at each step, seeded."""
        sample = not self.ins.config.hard_sample
        self._do(lambda: self.ins.set_options(hard_sample=sample))
        self.notify(f"hard attention draws each position from the attention (seed {self.ins.config.seed}; o changes it)"
                    if sample else "hard attention reads the argmax position again", timeout=4)

    def action_options(self) -> None:
        self.query_one(SettingsBar).open(self.ins.config, self.ins.auto_max_len)

    def on_settings_bar_changed(self, event: SettingsBar.Changed) -> None:
        if not 1 <= event.values["beam"] <= MAX_BEAM:
            self.notify(f"beam width must be 1-{MAX_BEAM}", severity="warning")
            return
        self._do(lambda: self.ins.set_options(**event.values))

    def on_settings_bar_invalid(self, event: SettingsBar.Invalid) -> None:
        self.notify(event.error, severity="warning")

    def action_force(self) -> None:
        ins = self.ins
        if ins.mode == TEACHER:
            self.notify("teacher forcing already forces every token: press t for free-running decoding")
            return
        hyp = ins.focus_hyp()
        record, row = ins.last_step_of(hyp) if hyp is not None else (None, 0)
        choices = [(i, ins.itos[i], p) for i, p in record.topk(row)] if record is not None else []
        self.query_one(ForceBar).open(ins.force_position(), choices)

    def on_key(self, event) -> None:
        self.query_one(ForceBar).claim(event)

    def on_force_bar_picked(self, event: ForceBar.Picked) -> None:
        def force() -> None:
            token = event.token
            if token is None:
                try:
                    token = self.ins.parse_token(event.text)
                except UserError:
                    raise UserError(f"{event.text!r} is not a token of the output vocabulary: "
                                    f"{vocabulary_text(self.ins.itos)}") from None
            self.ins.force(token)

        self._do(force)

    def action_next_hyp(self) -> None:
        self.ins.cycle_focus()
        self.redraw()

    # ---- keys: what is shown ----------------------------------------------------------------------

    def action_view(self) -> None:
        self.opts.view = _cycle(X.view_choices(self.ins), self.opts.view)
        self.redraw()

    def action_layer(self) -> None:
        n = self.model.config.layers
        self.opts.layer = (self.opts.layer % n + 1) % n
        self.redraw()

    def action_head(self) -> None:
        self.opts.head = _cycle([None, *range(X.head_count(self.ins))], self.opts.head)
        self.redraw()

    def action_state(self) -> None:
        self.opts.state = _cycle(X.state_choices(self.ins), self.opts.state)
        self.redraw()

    def action_unit(self, delta: int) -> None:
        width = self.query_one(HiddenStrips).values.shape[1] or 1
        self.opts.unit = (self.opts.unit + delta) % width
        self.redraw()

    def action_probe(self) -> None:
        if self.opts.probe is None and self._given_probes is None:
            self._load_probes()  # a live run records more while the inspector is open
        if not self.probes:
            self.notify("no alignment probes: they are recorded at each evaluation for encoder-decoders with "
                        "attention", timeout=5)
            return
        n = len(self.probes[-1].probes)
        if self.opts.probe is None:
            self._replay_start()
        self.opts.probe = 0 if self.opts.probe is None else (None if self.opts.probe + 1 >= n else self.opts.probe + 1)
        self.redraw()

    def action_scrub(self, delta: int) -> None:
        if self.opts.probe is None or not self.probes:
            self.notify("press p to replay how the alignment formed during training, then [ and ]", timeout=4)
            return
        current = self.opts.probe_step % len(self.probes)
        self.opts.probe_step = min(len(self.probes) - 1, max(0, current + delta))
        self.redraw()

    def action_tab(self, name: str) -> None:
        for tabs in self.query(TabbedContent):
            if tabs.query(f"#{name}"):
                tabs.active = name
        self.pick_panel(PANEL_OF_TAB[name])

    def action_keys(self) -> None:
        from ..widgets.inspector.key_sheet import KeySheet, off_reason, sheet_text

        self.app.push_screen(KeySheet(sheet_text(lambda action: off_reason(self, action))))

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        ins = self.ins
        if ins.session is None:
            return action in ("type_input", "example", "keys", "close", "tab")
        if action == "force":  # a priority key: typed into a box (or the open force bar) it is just a letter
            return self.query_one(ForceBar).can_open
        if action == "next_hyp":
            return ins.mode == "beam"
        if action == "hard_sample":
            return self.model.capabilities.hard_attention
        if action == "adjust":
            return ins.mode in ("beam", "sample")
        if action == "view":
            return len(X.view_choices(ins)) > 1
        if action == "layer":
            return self.model.config.layers > 1
        if action == "head":
            return X.head_count(ins) > 1
        if action == "overview":
            return bool(X.view_choices(ins)) and X.layer_count(ins, self.opts) * X.head_count(ins) > 1
        if action in ("probe", "scrub", "play"):
            return bool(self.probes) or (self.run_dir is not None and X.view_choices(ins)[:1] == ["cross"])
        if action in TOOL_ACTIONS:
            return self.tool_check(action)
        if action in DECODER_ACTIONS:
            return self.decoder_check(action)
        return True


class InspectorApp(SavesScreenshots, App):
    """An app showing only the inspector (``seqbench inspect RUN``); Escape or q quits."""

    TITLE = "seqbench inspect"

    def __init__(self, model: Any, task: Any, **screen_options: Any):
        super().__init__()
        self._screen = (model, task, screen_options)

    def get_default_screen(self) -> Screen:
        model, task, options = self._screen
        if model.capabilities.family == "encoder":  # no decoding steps: predictions per position
            from .encoder_inspector import EncoderInspectorScreen

            return EncoderInspectorScreen(model, task, **options)
        return InspectorScreen(model, task, **options)

    def on_mount(self) -> None:
        # Everything built so far lives as long as the app: keep it out of the collector's full passes,
        # which otherwise land on a step now and then (≈ +25 ms each).
        self.call_after_refresh(gc.freeze)
        exit_on_hangup(self)


def run_inspector(run_path: str | Path, input_text: Optional[str] = None) -> int:
    """Open the inspector on a saved run; a bad run or input raises a UserError before the app starts."""
    from workbench.runs import load_run

    run = load_run(run_path)
    gc.freeze()  # torch's and Textual's objects never die: keep them out of the collector's full passes
    if input_text is not None and run.model.capabilities.family != "encoder":
        Inspection(run.model, run.task).load_text(input_text)  # fail fast, with the one-line message
    app = InspectorApp(run.model, run.task, run_dir=run.path, title=f"{Path(run.path).name} · step {run.step:,}",
                       initial_input=input_text)
    app.run()
    return app.return_code or 0
