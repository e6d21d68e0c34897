"""The inspector's keys for the issue-17 tools: intervene on a unit, head or the attention (e / x),
where decoding goes wrong over a split (w), lockstep comparison with another run (c), the followed
unit across the validation data (u), the step-through export (E) and, from issue 15, exact match and
attention entropy by source length (L).

A mixin of ``InspectorScreen`` (it reads ``ins``, ``opts``, ``model``, ``seq_task``, ``run_dir``);
every computation is the engine's (``workbench.decoding``), the screens only draw it.
"""

from __future__ import annotations

from typing import Optional

from workbench.decoding import panels as X
from workbench.errors import UserError

from ..widgets.inspector.hidden import HiddenStrips
from ..widgets.inspector.intervention import InterventionDialog, InterventionView

TOOL_ACTIONS = ("intervene", "clear_edits", "errors", "compare", "units", "export", "save_panel", "lengths")
# The panel keys 1-5 show (a tab) or pick (side by side): the panel S saves.
PANEL_OF_TAB = {"tab-attention": "heatmap", "tab-next": "dist", "tab-beam": "beam", "tab-tree": "tree",
                "tab-hidden": "hidden"}
PANEL_NAMES = {"heatmap": "alignment", "dist": "next-token", "beam": "beam", "tree": "tree", "hidden": "hidden",
               "insp-output": "output"}


class ToolKeys:
    """Actions for e, x, w, c, u, E, S and L."""

    picked: str = "heatmap"  # the panel S saves when the panels are side by side

    # ---- interventions ----------------------------------------------------------------------------

    def action_intervene(self) -> None:
        from workbench.decoding.intervention_menu import intervention_choices

        strips = self.query_one(HiddenStrips)
        value = None
        if strips.values.size and strips.current is not None and self.opts.unit < strips.values.shape[1]:
            value = float(strips.values[strips.current, self.opts.unit])
        choices = intervention_choices(self.ins, self.opts, value)

        def chosen(spec: Optional[str]) -> None:
            if spec is not None:
                self._do(self.ins.intervene, spec)

        self.app.push_screen(InterventionDialog(choices, self.ins.interventions), chosen)

    def action_clear_edits(self) -> None:
        self._do(self.ins.clear_interventions)
        self.notify("interventions cleared: the model decodes as trained", timeout=3)

    def _draw_edits(self) -> None:
        """The intervention panel under the output (hidden without edits)."""
        ins, task = self.ins, self.seq_task
        try:
            effect = ins.effect()
        except UserError as exc:
            self.notify(str(exc), severity="warning", timeout=5)
            effect = None
        text = (lambda ids: task.detokenize(task.tgt_vocab.decode(list(ids))))
        self.query_one(InterventionView).show(effect, ins.interventions, text, ins.itos)

    # ---- where decoding goes wrong ---------------------------------------------------------------------

    def action_errors(self) -> None:
        from .failures import FailuresScreen

        self.app.push_screen(FailuresScreen(self.model, self.seq_task, self.open_at))

    def open_at(self, split: str, index: int, step: Optional[int], beam: Optional[int] = None) -> None:
        """Show example ``index`` of ``split`` decoded up to ``step`` (its token the last one shown), or with
        ``beam`` search to the end (where beam breaks what greedy gets right)."""
        while self.app.screen is not self:
            self.app.pop_screen()
        ins = self.ins

        def load() -> None:
            ins.load_example(index, split)
            if beam is not None:
                ins.set_options(beam=beam)
                ins.set_mode("beam")
                ins.run()
                return
            if ins.mode != "greedy":
                ins.set_mode("greedy")
            while ins.t <= step and not ins.done:
                ins.step()

        self._do(load)
        self.notify(f"{split} example {index}: " + (f"beam {beam} gets it wrong, greedy right" if beam is not None
                    else f"greedy decoding first leaves the reference at step {step}"), timeout=5)

    # ---- lockstep comparison -----------------------------------------------------------------------

    def action_compare(self) -> None:
        from pathlib import Path

        from .dialogs import RunPickerScreen

        runs_dir = getattr(self.app, "runs_dir", None) or (self.run_dir.parent if self.run_dir else Path("runs"))

        def chosen(paths) -> None:
            if paths:
                self._lockstep(paths)

        self.app.push_screen(RunPickerScreen(runs_dir, note="Step this input through this run and others side by "
                                             "side (greedy): Enter picks one; space marks several, then Enter. "
                                             "This run itself is fine too.", skip=("damaged",),
                                             title="Step this input through other runs", several=True), chosen)

    def _lockstep(self, paths) -> None:
        from pathlib import Path
        from types import SimpleNamespace

        from .lockstep import LockstepReady, lockstep_runs

        ins, task = self.ins, self.seq_task
        first = SimpleNamespace(path=self.run_dir or Path("this-run"), model=self.model, task=task)
        if ins.example is not None:
            what = dict(example=ins.example, split=ins.split)
            title = f"{ins.split} example {ins.example}"
        else:
            what = dict(text=(task.detokenize if ins.is_lm else task.detokenize_src)(ins.job.input.tokens))
            title = "typed input"

        def compare() -> None:
            from workbench.device import one_thread_here

            one_thread_here()
            try:
                self.post_message(LockstepReady(lockstep_runs(first, paths, **what), title=title))
            except UserError as exc:
                self.post_message(LockstepReady(error=str(exc)))

        self.notify(f"decoding this input with {', '.join(Path(p).name for p in paths)}…", timeout=2)
        self.run_worker(compare, thread=True, exclusive=True, group="lockstep", exit_on_error=False)

    def on_lockstep_ready(self, message) -> None:
        from .lockstep import LockstepScreen

        if message.error:
            self.notify(message.error, severity="error", timeout=8)
        else:
            self.app.push_screen(LockstepScreen(message.cmp, message.title))

    # ---- a unit across the corpus ---------------------------------------------------------------------

    def action_units(self) -> None:
        from workbench.decoding.units import UnitRef

        from .units import UnitsScreen

        layer = X._layer(self.model.capabilities.layers, self.opts.layer)
        if self._state() != "hidden":
            self.notify(f"reading hidden unit {self.opts.unit} of layer {layer} (the corpus view reads hidden states)",
                        timeout=4)
        self.app.push_screen(UnitsScreen(self.model, self.seq_task, UnitRef(layer, self.opts.unit)))

    # ---- length extrapolation -----------------------------------------------------------------------

    def action_lengths(self) -> None:
        from pathlib import Path

        from .lengths import LengthsScreen

        runs_dir = getattr(self.app, "runs_dir", None) or (self.run_dir.parent if self.run_dir else Path("runs"))
        label = self.run_dir.name if self.run_dir is not None else "this model"
        self.app.push_screen(LengthsScreen(self.model, self.seq_task, label, runs_dir))

    # ---- the step-through export ----------------------------------------------------------------------

    def action_export(self) -> None:
        import time
        from pathlib import Path

        from workbench.decoding.session_export import export_inspection

        from ..screenshot import screenshot_dir

        base = self.run_dir / "exports" if self.run_dir is not None else screenshot_dir()
        directory = Path(base) / time.strftime("inspect-%Y%m%d-%H%M%S")
        try:
            written = export_inspection(self.ins, self.run_dir, directory)
        except UserError as exc:
            self.notify(str(exc), severity="warning", timeout=6)
            return
        self.last_export = directory
        names = ", ".join(p.name for p in written)
        self.notify(f"wrote {directory}: {names}\nseqbench decode --replay {directory / 'replay.json'} decodes it "
                    "again", title="Exported", timeout=12)

    # ---- one panel as SVG and PNG ---------------------------------------------------------------------

    def pick_panel(self, panel: str) -> None:
        """Make ``panel`` (a widget id) the one S saves; outlined when the panels are side by side."""
        self.picked = panel
        for widget in self.query(".insp-panel"):
            widget.set_class(widget.id == panel and self.arrangement != "narrow", "-picked")

    def on_click(self, event) -> None:
        widget = event.widget
        while widget is not None and widget is not self:
            if widget.id in PANEL_NAMES:
                self.pick_panel(widget.id)
                return
            widget = widget.parent

    def shown_panel(self) -> str:
        """The panel S saves: the tab shown when the panels are tabs, else the one picked (1-5 or a click)."""
        if self.arrangement == "narrow":
            from textual.widgets import TabbedContent

            active = self.query_one("#insp-body", TabbedContent).active
            return PANEL_OF_TAB.get(active, self.picked)
        return self.picked

    def action_save_panel(self) -> None:
        from pathlib import Path

        from ..panel_export import save_panel
        from ..screenshot import screenshot_dir

        panel = self.shown_panel()
        base = self.run_dir / "exports" if self.run_dir is not None else screenshot_dir()
        written = save_panel(self, self.query_one(f"#{panel}"), Path(base), PANEL_NAMES[panel],
                             f"{self.heading or self.seq_task.name} · {PANEL_NAMES[panel]}")
        if written:
            self.last_panel_export = written

    def tool_check(self, action: str) -> Optional[bool]:
        """``check_action`` for these keys."""
        if action == "clear_edits":
            return bool(self.ins.interventions)
        if action in ("errors", "lengths"):
            return not self.ins.is_lm
        if action == "export":
            return self.ins.mode != "teacher-forced"
        return True
