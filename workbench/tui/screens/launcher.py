"""The launcher: task, architecture, hyperparameters and device for a new run; recent runs below.

It paints at once with the task list; torch and the engine load in a thread worker, and the
architecture, form, devices and runs fill in when that is done (``EngineLoaded``).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Static

from workbench.launch import device_options, load_catalog, make_config
from ..messages import EngineLoaded, RunsListed
from ..widgets.arch_picker import ArchPicker
from ..widgets.hparam_form import HParamForm
from ..widgets.runs_table import RunsTable
from ..widgets.task_picker import TaskPicker


# launcher fields a model option may change (workbench.defaults.OPTION_DEFAULTS): (section, key)
OPTION_FIELDS = (("train", "steps"), ("model", "hidden"))

class LauncherScreen(Screen):
    """Choose and start a run, or pick up a recent one."""

    BINDINGS = [
        Binding("ctrl+t", "train", "Train", priority=True),
        Binding("ctrl+l", "live", "Live run"),
        Binding("ctrl+q", "app.quit", "Quit", priority=True),  # priority: shown instead of the app's hidden one
        Binding("q", "app.quit", "Quit", show=False),
        Binding("ctrl+r", "runs", "Recent runs"),
    ]

    def __init__(self):
        super().__init__()
        self.catalog = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="launcher-body"):
            with Horizontal(id="setup"):
                with Vertical(id="left-col"):
                    with Vertical(id="task-col", classes="panel"):
                        yield TaskPicker(id="task-picker")
                    with Vertical(id="arch-col", classes="panel"):
                        yield ArchPicker(id="arch-picker")
                with Vertical(id="form-col", classes="panel"):
                    yield HParamForm(id="form")
                    yield Static("", id="form-msg")
                    with Horizontal(id="train-row"):
                        yield Button("Train ▶", id="train", variant="success", compact=True)
                        yield Static(Text("ctrl+t", style="dim"), id="train-key")
            with Vertical(id="runs-panel", classes="panel"):
                yield RunsTable(id="runs")
                yield Static("", id="runs-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#task-col").border_title = "1 · Task"
        self.query_one("#arch-col").border_title = "2 · Architecture"
        self.query_one("#form-col").border_title = "3 · Hyperparameters"
        self.query_one("#runs-panel").border_title = "Recent runs"
        self.query_one("#runs-panel").border_subtitle = "enter/o open · r resume · i inspect"
        for widget in ("#arch-picker", "#form", "#runs"):
            self.query_one(widget).loading = True
        self.query_one("#task-list").focus(scroll_visible=False)
        self.call_after_refresh(self.load_engine)  # paint first, then the slow imports

    def load_engine(self) -> None:
        """Import torch and the engine in a thread (the app's worker: its failures show in one place)."""
        def load() -> None:
            self.post_message(EngineLoaded(load_catalog(self.app.runs_dir)))

        self.app.run_worker(load, thread=True, group="engine", name="loading the engine", exit_on_error=False)

    @on(EngineLoaded)
    def _engine_loaded(self, message: EngineLoaded) -> None:
        self.catalog = message.catalog
        for widget in ("#arch-picker", "#form", "#runs"):
            self.query_one(widget).loading = False
        self.query_one(HParamForm).set_devices(device_options(self.catalog.devices))
        self._load_task_defaults(self.query_one(TaskPicker).task_name)
        self._show_runs(self.catalog.runs)
        import gc

        # torch's and Textual's long-lived objects stay out of the collector's full passes, which
        # otherwise cost 150-200 ms on the UI thread now and then (measured in the inspector).
        self.app.call_after_refresh(gc.freeze)

    def engine_failed(self, message: str) -> None:
        """torch or the engine could not be imported: say so where the form would be."""
        for widget in ("#arch-picker", "#form", "#runs"):
            self.query_one(widget).loading = False
        self.show_form_message(f"✗ could not load the engine: {message}")

    # ----- the form -----
    @on(TaskPicker.Changed)
    def _task_changed(self, message: TaskPicker.Changed) -> None:
        if self.catalog is not None:
            self._load_task_defaults(message.task)

    def _load_task_defaults(self, task: str) -> None:
        from workbench.config import default_config

        cfg = default_config(task)  # threads 0: all cores, as headless (the UI thread needs ~4% of one)
        # the task's values of the fields an option may change, and what those fields hold until edited
        self._base = {key: str(getattr(getattr(cfg, section), key)) for section, key in OPTION_FIELDS}
        self._auto = dict(self._base)
        self.query_one(HParamForm).load(cfg)
        self.query_one(TaskPicker).load(cfg.task)
        self.query_one(ArchPicker).configure(cfg.model.family, cfg.model)
        self.show_form_message("")

    _base: dict = {}
    _auto: dict = {}

    @on(ArchPicker.Changed)
    def _arch_changed(self, message: ArchPicker.Changed) -> None:
        v = message.values
        self.query_one(HParamForm).show_fields(
            heads=v["cell"] == "transformer" or v["attention"] == "multihead",
            local_window=v["attention"] == "local")
        self._follow_option_defaults(v)

    def _follow_option_defaults(self, values: dict) -> None:
        """Options that train longer or wider (hard attention) set those fields, unless the user typed
        their own (a field keeps what was typed once it differs from what was filled in)."""
        from workbench.defaults import option_defaults

        chosen = option_defaults(self.query_one(TaskPicker).task_name, values)
        for section, key in OPTION_FIELDS:
            field = self.query_one(f"#in-{key}", Input)
            if key in self._auto and field.value == self._auto[key]:
                field.value = self._auto[key] = str(chosen.get(section, {}).get(key, self._base[key]))

    def show_form_message(self, message: str, error: bool = True) -> None:
        msg = self.query_one("#form-msg", Static)
        msg.update(Text(message))
        msg.set_class(error, "-error")

    def show_setup_error(self, kind: str, message: str) -> None:
        """Training could not start (bad data file, bad option): say so next to the cause."""
        if kind == "DataError":
            self.query_one(TaskPicker).show_message(f"✗ {message}")
        self.show_form_message(f"✗ {message}")

    @on(Button.Pressed, "#train")
    def action_train(self) -> None:
        if self.catalog is None:
            self.notify("still loading the engine (torch)…", timeout=3)
            return
        picker = self.query_one(TaskPicker)
        form = self.query_one(HParamForm)
        problems = picker.problems() + form.problems()
        if not picker.check_data():
            problems.insert(0, "data file: see the message under it")
        if problems:
            self.show_form_message("✗ fix first: " + "; ".join(problems))
            return
        from workbench.errors import UserError

        try:
            cfg = make_config(picker.task_name, picker.data, self.query_one(ArchPicker).values(),
                              {**picker.values(), **form.values()}, form.device)
        except UserError as exc:
            self.show_form_message(f"✗ {exc}")
            return
        self.show_form_message("")
        self.app.start_training(cfg)

    # ----- recent runs -----
    def on_screen_resume(self) -> None:
        if self.catalog is not None:
            self.action_refresh_runs()

    def action_refresh_runs(self) -> None:
        self.list_runs()

    def list_runs(self) -> None:
        """Re-read the runs directory in a thread."""
        def scan() -> None:
            from workbench.runs import list_runs

            self.post_message(RunsListed(list_runs(self.app.runs_dir)))

        self.app.run_worker(scan, thread=True, group="runs", name="listing runs", exit_on_error=False)

    @on(RunsListed)
    def _runs_listed(self, message: RunsListed) -> None:
        self._show_runs(message.runs)

    def _show_runs(self, runs: list) -> None:
        live = {s.run_dir.resolve(): s.status for s in self.app.sessions if s.live and s.run_dir is not None}
        self.query_one(RunsTable).show(runs, live)
        self.query_one(RunsTable).display = bool(runs)
        empty = self.query_one("#runs-empty", Static)
        empty.display = not runs
        empty.update(Text(f"No runs yet in {self.app.runs_dir}/ — pick a task above and press Train.", style="dim"))

    @on(RunsTable.Action)
    def _run_action(self, message: RunsTable.Action) -> None:
        {"open": self.app.open_run, "resume": self.app.ask_resume, "inspect": self.app.inspect_run}[message.kind](
            Path(message.path))

    def action_runs(self) -> None:
        """Jump to the recent runs (and re-read the directory)."""
        table = self.query_one(RunsTable)
        if table.display:
            table.focus()
            table.scroll_visible()
        if self.catalog is not None:
            self.action_refresh_runs()

    def action_live(self) -> None:
        self.app.open_live()
