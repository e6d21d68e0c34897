"""The trainer: a UI-agnostic loop that emits events and obeys thread-safe pause/resume/stop requests.

    trainer = Trainer(config, on_event=print)      # or Trainer.resume(run_dir, on_event=...)
    finished = trainer.run()                       # blocks; call from a worker thread in a UI

``pause()``, ``resume()``, ``stop()`` and ``request_save()`` may be called from any thread; the loop
checks them between optimiser steps. ``snapshot()`` returns a copy of the current model (for the
inspector) without stopping training. Checkpoints hold everything needed for an exact resume:
weights, optimiser moments, step, and the states of every random generator the loop uses.

A trainer holds its run's lock from construction to the end of ``run`` (or ``close``) and is the
only writer of the run's status: "running"/"paused" while it trains, then "completed", "stopped",
"diverged", "failed" or "interrupted" however ``run`` ends. A step whose loss or gradients are not
finite is not applied; ``MAX_NONFINITE`` of them in a row end the run as "diverged".
"""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import torch

from models import build_model, describe
from models.base import SeqModel

from . import distributed, runs, train_state
from .config import RunConfig, resume_config
from .device import describe as describe_device
from .device import resolve_device, set_threads
from .errors import RunError, UserError
from .events import (CheckpointSaved, DataReported, Evaluated, Progress, StatusChanged, ThreadsChanged, TrainFinished,
                     TrainStarted, Warned)
from .metrics import best_metric_name, evaluate, final_decoding, is_better, sequence_loss
from .probes import ProbeSnapshot, append_probes, probe_due, record_probes, truncate_probes
from .records import DivergedRecord, EvalRecord, TrainRecord, append_record, truncate_records
from .pacing import Session, Window
from .schedule import lr_at
from .threads import OtherLoad, ThreadTuner, busy_at_start, candidates_for
from .tasks import build_task

Listener = Callable[[object], None]
PROGRESS_INTERVAL = 0.25  # seconds between Progress events (and train lines in metrics.jsonl)
MAX_NONFINITE = 5  # non-finite steps in a row (none applied) before training stops as diverged


class Trainer:
    """Trains one run; see the module docstring."""

    def __init__(self, config: RunConfig, run_dir: Optional[Path] = None, *, on_event: Optional[Listener] = None,
                 runs_root: Optional[Path] = None, _resume: bool = False):
        self.config = config
        self.listeners: list[Listener] = [on_event] if on_event else []
        self.lock = threading.Lock()  # held during an optimiser step; snapshot() takes it between steps
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._save = threading.Event()
        self.step = 0
        self.elapsed = 0.0
        self.skipped = 0  # steps not applied because their loss or gradients were not finite
        self.shown: dict[str, float] = {}  # what the model's schedule reports (hard attention's temperature)
        self.best: Optional[dict] = None
        self.probes: list[ProbeSnapshot] = []  # alignment of fixed val examples at each evaluation
        self.run_lock: Optional[runs.RunLock] = None
        tc = config.train
        self.threads = set_threads(tc.threads)
        self.device = resolve_device(tc.device)
        # --threads 0: move between thread counts by measured speed (a busy laptop wants fewer)
        self.tuner = ThreadTuner(candidates_for(tc.threads, os.cpu_count() or 1, self.device.type == "cpu"),
                                 self._use_threads, others=OtherLoad(),
                                 busy_now=tc.threads == 0 and busy_at_start(os.cpu_count() or 1))
        self._resumed = _resume
        self.world = distributed.current()  # under torchrun: rank 0 opens the run, the others follow it
        self.device = distributed.rank_device(self.world, self.device)
        self.rank_batch = distributed.rank_batch(self.world, tc.batch_size)
        shared = distributed.from_main(self.world, lambda: self._open(run_dir, runs_root, _resume))
        if not self.world.is_main:
            distributed.follow(self, shared, _resume)
        self._forward = distributed.training_forward(self.world, self.model)
        changed = distributed.world_change(self.world, shared)
        if changed and self.world.is_main:
            self.emit(Warned(changed))
        self.tb = self._tensorboard() if tc.tensorboard and self.world.is_main else None

    def _open(self, run_dir: Optional[Path], runs_root: Optional[Path], resume: bool) -> dict:
        """Open the run (rank 0, or the only process): resume it or create it; returns what the other ranks need."""
        config = self.config
        if resume:
            self.run_dir = Path(run_dir)
            self.run_lock = runs.RunLock(self.run_dir).acquire()
            try:
                self._build(runs.load_vocabs(self.run_dir, config), self.run_dir)
                self._load_checkpoint()
            except BaseException:
                self.close()
                raise
        else:
            root = runs.runs_root(runs_root)
            self.run_dir = Path(run_dir) if run_dir else runs.new_run_dir(root, config.task.name, runs.arch_slug(config.model))
            runs.refuse_existing(self.run_dir)
            self._build(None, None)
            self._create_run()
        return distributed.shared_state(self, resume)

    def _build(self, vocabs, run_dir: Optional[Path]) -> None:
        """The task, the model and its optimiser, seeded (the run's own vocabularies and files on resume)."""
        tc, config = self.config.train, self.config
        self.task = build_task(config.task, vocabs=vocabs, run_dir=run_dir)
        config.model.src_vocab = len(self.task.src_vocab) if self.task.src_vocab else 0
        config.model.tgt_vocab = len(self.task.tgt_vocab)
        config.model.pad_id = self.task.tgt_vocab.pad_id
        if "prev" in self.task.decoders:  # skip-thought: the token that starts the previous-sentence decoder
            config.model.prev_id = self.task.decoders["prev"]
        torch.manual_seed(tc.seed)
        self.model: SeqModel = build_model(config.model).to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        self.data_gen = torch.Generator().manual_seed(tc.seed)
        self.tf_gen = torch.Generator(device=self.device).manual_seed(tc.seed + 1)
        self.n_train = max(1, len(self.task.examples("train")))

    def _create_run(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission, read-only disk
            raise RunError(f"cannot create the run directory {self.run_dir}: {exc.strerror or exc}") from None
        self.run_lock = runs.RunLock(self.run_dir).acquire()
        try:
            runs.refuse_existing(self.run_dir)  # another process may have made it a run meanwhile
            runs.create_run(self.run_dir, self.config, (self.task.src_vocab, self.task.tgt_vocab))
            runs.write_task_info(self.run_dir, self.task)
            self.task.save_files(self.run_dir)  # subword models, data report: the run decodes without its data
            runs.write_status(self.run_dir, "running", 0, self.config.train.steps)
        except BaseException:
            self.close()
            raise

    @classmethod
    def resume(cls, run_dir, *, on_event: Optional[Listener] = None, steps: Optional[int] = None,
               config: Optional[RunConfig] = None) -> "Trainer":
        """Continue a saved run (a path, or a name under the runs root) from its newest complete checkpoint.

        ``steps`` raises the total; ``config``: the run's config with the settings a resume may change,
        from ``workbench.config.resume_config``. ``run`` keeps a changed config in the run (a later
        resume without --steps keeps the new total).
        """
        path = runs.check_run_dir(run_dir) if distributed.current().is_main else Path(run_dir)
        config = resume_config(config or runs.load_config(path), {"train.steps": steps} if steps else {})
        return cls(config, path, on_event=on_event, _resume=True)

    def close(self) -> None:
        """Release the run's lock (``run`` does this itself when it ends)."""
        if self.run_lock is not None:
            self.run_lock.release()

    # ----- controls (any thread) -----
    def pause(self) -> None:
        self._running.clear()

    def unpause(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def request_save(self) -> None:
        self._save.set()

    def snapshot(self, device: str = "cpu") -> SeqModel:
        """An eval-mode copy of the model as it is now; training goes on."""
        with self.lock:
            weights = {k: v.detach().to(device, copy=True) for k, v in self.model.state_dict().items()}
        model = build_model(self.config.model).to(device)
        model.load_state_dict(weights)
        return model.eval()

    # ----- the loop -----
    def emit(self, event) -> None:
        for listener in self.listeners:
            listener(event)

    def _status(self, status: str, message: str = "") -> None:
        if not self.world.is_main:
            return
        try:
            runs.write_status(self.run_dir, status, self.step, self.config.train.steps, message)
        except OSError:  # a full disk must not hide why training ended
            pass

    def run(self) -> TrainFinished:
        """Train to the configured number of steps (or until stopped); returns the final event."""
        try:
            finished = self._loop()
        except BaseException as exc:
            if isinstance(exc, runs.RunEnded):
                self._status(exc.status, "the app ended the session")
            elif isinstance(exc, Exception):
                self._status("failed", f"{type(exc).__name__}: {exc}".splitlines()[0][:200])
            else:  # KeyboardInterrupt (a second Ctrl+C), SystemExit
                self._status("interrupted", "interrupted; resume from the last checkpoint")
            raise
        finally:
            self.close()
        return finished

    def _loop(self) -> TrainFinished:
        tc = self.config.train
        self.model.train()
        start_step = self.step
        if self._resumed and self.world.is_main:  # settings the resume changed (steps, threads, device...) are the run's now
            runs.update_config(self.run_dir, self.config)
        self.emit(TrainStarted(str(self.run_dir), self.config.task.name, describe(self.config.model),
                               describe_device(self.device, self.threads), self.model.num_parameters(),
                               self.step, tc.steps))
        self._status("running")
        if self.task.report is not None:
            self.emit(DataReported(self.task.report.summary_lines(), list(self.task.report.warnings)))
        reason, message = "completed", f"trained {tc.steps} steps"
        if not self._resumed:  # a resumed run has a checkpoint (or failed to open); only rank 0 reads the run
            self._checkpoint("start")  # a run always has weights to decode and a state to resume from
        window = Window()
        self._session = Session(self.elapsed, start_step)
        bad: list[tuple[int, float, float]] = []  # the current streak of non-finite steps: (step, loss, norm)
        while self.step < tc.steps:
            if not self._running.is_set():
                self._wait_while_paused()
            distributed.agree(self.world, self._stop, self._save)  # all ranks stop (or save) at the same step
            if self._stop.is_set():
                reason, message = "stopped", f"stopped at step {self.step}"
                break
            if self._save.is_set():
                self._save.clear()
                self._checkpoint("request")
            if probe_due(self.step, tc.eval_every, self.probes):  # step 0 and densely early: attention forming
                self._record_probes()
            t0 = time.perf_counter()
            loss, grad_norm, tokens = self._train_step()
            change = self.tuner.observe(tokens, time.perf_counter() - t0)
            if change is not None:
                self.emit(ThreadsChanged(self.step + 1, change.threads, change.reason))
            self.step += 1
            self.elapsed = distributed.agreed_max(self.world, self._session.elapsed())  # one clock for all ranks
            if math.isfinite(loss) and math.isfinite(grad_norm):
                bad.clear()
                window.add(loss, grad_norm, tokens)
            else:
                self.skipped += 1
                bad.append((self.step, loss, grad_norm))
                if len(bad) >= MAX_NONFINITE:
                    reason, message = "diverged", self._diverged_message(bad)
                    self.emit(Warned(message))
                    break
            if window.n and (window.age() >= PROGRESS_INTERVAL or self.step == tc.steps):
                self._progress(window)
            if self.step % tc.eval_every == 0 or self.step == tc.steps:
                metrics = self._evaluate()
                if math.isfinite(metrics.get("loss", math.nan)):
                    self._checkpoint("eval")
                    self._status("running")
                else:
                    self.emit(Warned(f"validation loss is {metrics.get('loss')} at step {self.step}: not saved"))
            if tc.max_seconds and distributed.any_rank(self.world, self._session.seconds() >= tc.max_seconds):
                reason, message = "time-limit", f"stopped at the time limit ({tc.max_seconds:g} s) at step {self.step}"
                break
        return self._finish(reason, message)

    def _use_threads(self, n: int) -> None:
        """Run this thread's torch ops on ``n`` CPU threads (the tuner's choice)."""
        torch.set_num_threads(n)
        self.threads = n

    def _wait_while_paused(self) -> None:
        t0 = time.perf_counter()
        self._status("paused")
        self.emit(StatusChanged("paused"))
        self._running.wait()
        self._session.paused_for += time.perf_counter() - t0
        if not self._stop.is_set():
            self._status("running")
            self.emit(StatusChanged("running"))

    def _diverged_message(self, bad: list[tuple[int, float, float]]) -> str:
        step, loss, norm = bad[0]
        what = f"loss became {loss}" if not math.isfinite(loss) else f"the gradient norm became {norm}"
        return (f"{what} at step {step} and stayed non-finite for {len(bad)} steps in a row (none applied); "
                f"stopped, keeping the checkpoint of step {self._last_saved}. "
                f"Try a lower --lr (now {self.config.train.lr:g}) or --clip 1")

    def _train_step(self) -> tuple[float, float, int]:
        """One optimiser step; returns (loss, gradient norm, tokens). Not applied unless both are finite."""
        tc = self.config.train
        batch = self.task.train_batch(self.rank_batch, self.data_gen, tc.length_batches).to(self.device)  # this rank's share
        seconds = self._session.seconds()
        if tc.max_seconds:  # a time schedule: every rank must read the same clock or the replicas drift apart
            seconds = distributed.agreed_max(self.world, seconds)
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.step, tc, seconds)
        with self.lock:
            self.shown = self.model.schedule(self.step / max(tc.steps, 1))
            logits = self._forward(batch, tc.teacher_forcing, self.tf_gen)  # (B, T, V)
            pad = self.task.tgt_vocab.pad_id
            loss = sequence_loss(logits, batch.tgt_out, pad, tc.label_smoothing)
            loss, value, tokens = distributed.token_weighted(self.world, loss, batch.n_tokens)
            extra = self.model.extra_loss(logits, batch.tgt_out, pad)  # REINFORCE's surrogate; not in the shown loss
            if extra is not None:
                loss = loss + extra
            self.optimizer.zero_grad(set_to_none=True)
            if not math.isfinite(value):
                return value, math.nan, tokens
            loss.backward()  # under DDP, gradients arrive averaged over the ranks: clipping sees the global batch
            norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                                        tc.clip if tc.clip > 0 else float("inf")))
            if math.isfinite(norm):
                self.optimizer.step()
            else:
                self.optimizer.zero_grad(set_to_none=True)
        return value, norm, tokens

    def _progress(self, window: Window) -> None:
        tc = self.config.train
        loss, grad_norm, tps = window.flush()
        if not self.world.is_main:
            return
        event = Progress(self.step, tc.steps, self.step * tc.batch_size / self.n_train, loss,
                         self.optimizer.param_groups[0]["lr"], grad_norm, tps, self.elapsed,
                         self._session.eta(self.step, tc.steps, tc.max_seconds), self.tuner.chosen,
                         shown=dict(self.shown))
        append_record(self.run_dir, TrainRecord(self.step, loss, event.lr, grad_norm, tps, self.elapsed, self.skipped,
                                                dict(self.shown)))
        if self.tb:
            self.tb.add_scalar("train/loss", loss, self.step)
            self.tb.add_scalar("train/lr", event.lr, self.step)
            for name, value in self.shown.items():
                self.tb.add_scalar(f"train/{name.replace(' ', '_')}", value, self.step)
        self.emit(event)

    @property
    def _final_beam(self) -> int:
        """Beam width of the final test evaluation: the run's ``eval_beam`` for encoder-decoders."""
        return self.config.train.eval_beam if self.task.family == "seq2seq" else 1

    def _evaluate(self, split: str = "val", samples: Optional[int] = None, limit: Optional[int] = None,
                  beam: int = 1):
        """Evaluate on rank 0 (the others wait for its metrics, so every rank decides alike what follows)."""
        metrics = distributed.from_main(self.world, lambda: self._evaluate_here(split, samples, limit, beam))
        if split == "val":
            self._last_val, self._last_eval_step = metrics, self.step
        return metrics

    def _evaluate_here(self, split: str, samples: Optional[int], limit: Optional[int], beam: int = 1):
        tc = self.config.train
        with self.lock:
            result = evaluate(self.model, self.task, split, limit=limit or tc.eval_examples,
                              batch_size=max(tc.batch_size, 256), device=self.device,
                              samples=tc.samples if samples is None else samples, beam=beam, alpha=tc.eval_alpha)
        best = False
        if split == "val":
            self._last_val, self._last_eval_step = result.metrics, self.step
            self._record_probes()
            name = best_metric_name(self.task)
            value = result.metrics[name]
            if math.isfinite(value) and (self.best is None or is_better(name, value, self.best["value"])):
                self.best = {"name": name, "value": value, "step": self.step}
                best = True
        append_record(self.run_dir, EvalRecord(self.step, split, dict(result.metrics), self.elapsed,
                                               dict(result.signatures)))
        if self.tb:
            for k, v in result.metrics.items():
                self.tb.add_scalar(f"{split}/{k}", v, self.step)
        self.emit(Evaluated(self.step, split, result.metrics, result.samples, best))
        return result.metrics

    def _record_probes(self) -> None:
        if not self.world.is_main:
            return
        with self.lock:
            snapshot = record_probes(self.model, self.task, self.step)
        if snapshot is not None:
            self.probes.append(snapshot)
            append_probes(self.run_dir, snapshot)

    # ----- checkpoints -----
    _last_saved = 0
    _last_eval_step = -1
    _last_val: dict = {}

    def _checkpoint(self, reason: str) -> bool:
        """Save by the crash-safe protocol; weights that are not finite are never saved (a warning says so)."""
        peers = distributed.gather_rng(self.world, self)  # every rank joins; rank 0 alone writes
        if not self.world.is_main:
            return True
        try:
            files, state = train_state.pack(self, peers)
        except RunError as exc:
            self.emit(Warned(f"checkpoint not saved: {exc}"))
            return False
        path = runs.save_checkpoint(self.run_dir, files, state)
        self._last_saved = self.step
        self.emit(CheckpointSaved(self.step, str(path), reason))
        return True

    def _load_checkpoint(self) -> None:
        ckpt = runs.recover(self.run_dir)
        if ckpt is None:
            runs.newest(self.run_dir)  # raises, naming what is wrong
        train_state.unpack(self, ckpt)
        self._last_saved = self.step
        log = truncate_records(self.run_dir, self.step)
        if log.warning:
            self.emit(Warned(log.warning))
        self.probes = truncate_probes(self.run_dir, self.step)

    def _finish(self, reason: str, message: str) -> TrainFinished:
        final: dict[str, dict[str, float]] = {}
        if reason != "diverged":
            final["val"] = self._last_val if self._last_eval_step == self.step else self._evaluate()
            for split in self.task.split_names:
                if split in ("test", "long"):
                    final[split] = self._evaluate(split, samples=0, limit=10**9, beam=self._final_beam)
            self._checkpoint("end" if reason == "completed" else "stop")
        elif self.world.is_main:
            append_record(self.run_dir, DivergedRecord(self.step, message))
        self._status({"completed": "completed", "diverged": "diverged"}.get(reason, "stopped"), message)
        if self.tb:
            self.tb.close()
        event = TrainFinished(self.step, reason, message, str(self.run_dir), self.elapsed, final, self.best,
                              final_decoding(self.config.train) if self._final_beam > 1 else "greedy")
        self.emit(event)
        return event

    def _tensorboard(self):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("--tensorboard needs the optional extra: pip install 'seqbench[tensorboard]'") from None
        return SummaryWriter(str(self.run_dir / "tensorboard"))
