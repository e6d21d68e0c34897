"""`seqbench train`, `seqbench runs` and `seqbench tasks`: the trainer's events rendered with Rich."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from . import events as ev
from .metric_names import METRIC_INFO, metric_label
from .tasks.catalog import task_head

console = Console(highlight=False)


def format_metrics(metrics: dict[str, float], head: str | None = None) -> str:
    """'loss 0.123 · ppl 1.13 · token acc 98.1% · exact match 91.0%' in a fixed order; ``head`` (an encoder
    task's) labels what its accuracy counts ('tag acc', 'accuracy', 'masked acc')."""
    parts = []
    for key in METRIC_INFO:
        if key not in metrics:
            continue
        value, label = metrics[key], metric_label(key, head)
        if key.startswith("accuracy") or key in ("exact_match", "unigram_accuracy"):
            parts.append(f"{label} {100 * value:.1f}%")
        elif key in ("bleu", "chrf"):
            parts.append(f"{label} {value:.1f}")
        else:
            parts.append(f"{label} {value:.4g}")
    return " · ".join(parts)


def _one_line(text: str) -> str:
    """Sample text on one line: newlines and tabs shown as visible marks (LM samples span lines)."""
    return text.replace("\n", "↵").replace("\t", "⇥")


class ConsoleReporter:
    """Turns trainer events into a Rich progress bar, evaluation lines and a final summary."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.progress: Optional[Progress] = None
        self.bar = None
        self.muted = False  # the terminal hung up: printing would fail
        self.target: Optional[tuple[str, float]] = None  # the task's solved target, said once when reached
        self.elapsed = 0.0  # training seconds at the last Progress
        self.task_name = ""  # the task being trained, from TrainStarted

    def __call__(self, event) -> None:
        if self.muted:
            return
        handler = getattr(self, f"on_{type(event).__name__}", None)
        if handler:
            handler(event)

    def on_TrainStarted(self, e: ev.TrainStarted) -> None:
        from .tasks.catalog import solved_target

        self.target = solved_target(e.task)
        self.task_name = e.task
        what = "resuming" if e.start_step else "training"
        console.print(Text.assemble((f"{what} ", "bold"), (e.architecture, "cyan"), " on ", (e.task, "green"),
                                    f" · {e.parameters:,} parameters · {e.device}"))
        console.print(Text(f"run: {e.run_dir}", style="dim"))
        if self.quiet:
            return
        self.progress = Progress(
            TextColumn("[bold]step"), MofNCompleteColumn(), BarColumn(),
            TextColumn("{task.fields[stats]}"), TimeRemainingColumn(), console=console, transient=True)
        self.progress.start()
        self.bar = self.progress.add_task("train", total=e.total_steps, completed=e.start_step, stats="")

    def on_DataReported(self, e: ev.DataReported) -> None:
        for line in e.lines:
            console.print(Text(line, style="dim"))
        for warning in e.warnings:
            console.print(Text(f"warning: {warning}", style="yellow"))

    def on_Progress(self, e: ev.Progress) -> None:
        self.elapsed = e.elapsed
        if self.progress is not None:
            threads = f" · {e.threads} thr" if e.threads else ""
            stats = f"loss {e.loss:.3f} · ppl {e.perplexity:.2f} · {e.tokens_per_s:,.0f} tok/s{threads}"
            stats += "".join(f" · {name} {value:.3g}" for name, value in e.shown.items())  # e.g. temperature
            self.progress.update(self.bar, completed=e.step, stats=stats)

    def on_Evaluated(self, e: ev.Evaluated) -> None:
        star = " *" if e.best else ""
        console.print(Text.assemble((f"step {e.step:>6} ", "bold"), (f"{e.split} ", "magenta"),
                                    format_metrics(e.metrics, task_head(self.task_name)), (star, "yellow")))
        for s in e.samples:
            ok = s.prediction == s.reference
            src, pred, ref = (_one_line(x) for x in (s.source[:40], s.prediction[:60], s.reference[:40]))
            console.print(Text.assemble("   ", (src, "dim"), " → ", (pred, "green" if ok else "red"),
                                        ("" if ok else f"   (want {ref})", "dim")))
        if self.target and e.split == "val" and e.metrics.get(self.target[0], -1.0) >= self.target[1]:
            metric, value = self.target
            label = metric_label(metric, task_head(self.task_name))
            console.print(Text(f"solved at step {e.step:,} after {self.elapsed:.0f} s: val {label} "
                               f"{100 * e.metrics[metric]:.1f}% ≥ {100 * value:g}%", style="bold green"))
            self.target = None  # once: the moment it is reached

    def on_Warned(self, e: ev.Warned) -> None:
        console.print(Text(f"warning: {e.message}", style="yellow"))

    def on_ThreadsChanged(self, e: ev.ThreadsChanged) -> None:
        console.print(Text(f"step {e.step}: threads {e.reason}", style="cyan"))

    def on_TrainFinished(self, e: ev.TrainFinished) -> None:
        if self.progress is not None:
            self.progress.stop()
        style = {"completed": "green", "diverged": "red"}.get(e.reason, "yellow")
        console.print(Text(e.message, style=style))
        table = Table(title="summary", title_justify="left", show_edge=False)
        table.add_column("split")
        keys = [k for k in METRIC_INFO if any(k in m for m in e.final.values())]
        for k in keys:
            table.add_column(metric_label(k, task_head(self.task_name)), justify="right")
        for split, metrics in e.final.items():
            table.add_row(split, *[format_metrics({k: metrics[k]}).split(" ")[-1] if k in metrics else "" for k in keys])
        if e.decoding != "greedy" and any(split != "val" for split in e.final):
            table.caption = f"val decoded greedily; {', '.join(s for s in e.final if s != 'val')} by {e.decoding}"
            table.caption_justify = "left"
        if e.final:
            console.print(table)
        minutes, seconds = divmod(int(e.elapsed), 60)
        console.print(f"{e.step} steps in {minutes}m{seconds:02d}s · saved to [bold]{e.run_dir}[/bold]")
        is_lm = "bpc" in e.final.get("val", {})
        how = '--input "The " --length 200' if is_lm else "--example 0 --show attention,beams"
        from .tasks.catalog import TASKS

        info = TASKS.get(self.task_name)
        if info is not None and info.family == "encoder":
            how = "--example 0 --show probs,hidden,attention"  # an encoder: tags, a class or masks, no beams
            if info.head == "classify" and e.reason != "diverged":
                from .decoding.encoding_report import print_confusion

                print_confusion(console, e.run_dir)
        console.print(Text(f"  decode:  seqbench decode {e.run_dir} {how}", style="cyan"))
        console.print(Text(f"  inspect: seqbench inspect {e.run_dir}", style="cyan"))
        console.print(Text(f"  resume:  seqbench train --resume {e.run_dir} --steps N", style="cyan"))


def run_train(args, overrides: dict) -> int:
    """`seqbench train`: in this process, on ``--nproc`` processes via torchrun, or as one rank torchrun started."""
    from . import distributed

    if getattr(args, "nproc", 1) < 1:
        from .errors import UserError

        raise UserError(f"--nproc {args.nproc}: must be at least 1")
    if getattr(args, "nproc", 1) > 1 and not distributed.launched():
        return _launch(args, overrides)
    distributed.start()
    finished = False
    try:
        code = _train(args, overrides, distributed.current())
        finished = True
        return code
    finally:
        distributed.stop(finished)


def _launch(args, overrides: dict) -> int:
    """Check the command line here (one-line errors, no torchrun report), then run it on ``--nproc`` processes."""
    from . import distributed
    from .config import build_config, read_toml, resume_config
    from .errors import UserError
    from .runs import load_config

    toml = read_toml(args.config) if args.config else None
    source = f"{args.config}: " if args.config else ""
    if args.resume:
        config = resume_config(load_config(args.resume), overrides, toml, source)
    else:
        config = build_config(toml=toml, overrides=overrides, source=source)
    distributed.rank_batch(distributed.World(0, args.nproc), config.train.batch_size)
    if args.nproc > 64:
        raise UserError(f"--nproc {args.nproc}: at most 64 processes on one machine")
    return distributed.launch(args.nproc, args.argv)


def _train(args, overrides: dict, world) -> int:
    from . import distributed
    from .config import build_config, read_toml, resume_config
    from .errors import UserError
    from .runs import load_config
    from .training import Trainer

    toml = read_toml(args.config) if args.config else None
    source = f"{args.config}: " if args.config else ""
    reporter = ConsoleReporter(quiet=args.quiet)
    reporter.muted = not world.is_main  # rank 0 speaks for all
    if args.resume:
        if args.out:
            raise UserError("--resume continues RUN in place; --out names a new run (leave one out)")
        config = distributed.from_main(world, lambda: resume_config(load_config(args.resume), overrides, toml, source))
        trainer = Trainer.resume(args.resume, on_event=reporter, config=config)
        if "train.steps" in overrides and config.train.steps <= trainer.step:
            trainer.close()
            raise UserError(f"train.steps: {config.train.steps} is not allowed; must be more than the "
                            f"{trainer.step} steps {args.resume} has trained")
    else:
        config = build_config(toml=toml, overrides=overrides, source=source)
        trainer = Trainer(config, Path(args.out) if args.out else None, on_event=reporter, runs_root=args.runs_dir)

    interrupts = {"n": 0}

    def on_sigint(signum, frame):
        interrupts["n"] += 1
        if interrupts["n"] > 1:
            raise KeyboardInterrupt
        if not reporter.muted:
            console.print(Text("stopping after this step and saving... (Ctrl+C again to quit at once)", style="yellow"))
        trainer.stop()

    def on_hangup(signum, frame):  # the terminal went away (or `kill`): stop and save, silently
        reporter.muted = True
        trainer.stop()

    previous = {sig: signal.signal(sig, handler) for sig, handler in _signals(on_sigint, on_hangup)}
    try:
        finished = trainer.run()
    except KeyboardInterrupt:
        if reporter.progress is not None:
            reporter.progress.stop()
        console.print(Text(f"interrupted; the last checkpoint in {trainer.run_dir} is kept", style="red"))
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if finished.reason == "diverged" else 0


def _signals(on_sigint, on_hangup):
    """(signal, handler) pairs this platform has: Ctrl+C stops and saves, a hangup or SIGTERM too."""
    yield signal.SIGINT, on_sigint
    for name in ("SIGHUP", "SIGTERM"):
        if hasattr(signal, name):
            yield getattr(signal, name), on_hangup


def print_runs(root: Optional[str]) -> int:
    from .runs import list_runs, runs_root

    found = list_runs(root)
    if not found:
        console.print(f"no runs in {runs_root(root)} yet; start one with `seqbench train --task reverse`")
        return 0
    table = Table(show_edge=False, title=f"runs in {runs_root(root)}", title_justify="left")
    for col in ("run", "task", "architecture", "steps", "status", "best (val)"):
        table.add_column(col, justify="right" if col == "steps" else "left", no_wrap=col == "run")
    for r in found:
        best = (format_metrics({r.best_name: r.best_value}, task_head(r.task))
                if r.best_name and r.best_value is not None else "")
        style = {"damaged": "red", "diverged": "red", "failed": "red", "interrupted": "yellow"}.get(r.status, "")
        table.add_row(r.path.name, r.task, r.architecture, f"{r.step}/{r.total_steps}", Text(r.status, style=style),
                      best or Text(r.problem, style="dim"))
    console.print(table)
    return 0


def print_tasks() -> int:
    from .config import default_config
    from .tasks import TASKS
    from models import describe

    table = Table(show_edge=False)
    for col in ("task", "what it is", "default model", "steps"):
        table.add_column(col)
    for name, info in TASKS.items():
        cfg = default_config(name)
        table.add_row(name, info.description, describe(cfg.model), str(cfg.train.steps))
    console.print(table)
    return 0
