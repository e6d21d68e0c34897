"""The trainer: a UI-agnostic loop that emits events and obeys thread-safe pause/resume/stop requests.

    trainer = Trainer(config, on_event=print)      # or Trainer.resume(run_dir, on_event=...)
    finished = trainer.run()                       # blocks; call from a worker thread in a UI

``pause()``, ``resume()``, ``stop()`` and ``request_save()`` may be called from any thread; the loop
checks them between optimiser steps. ``snapshot()`` returns a copy of the current model (for the
inspector) without stopping training. Checkpoints hold everything needed for an exact resume:
weights, optimiser moments, step, and the states of every random generator the loop uses.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import torch

from models import build_model, describe
from models.base import SeqModel

from . import runs
from .config import RunConfig, resume_config
from .device import describe as describe_device
from .device import resolve_device, set_threads
from .errors import RunError, UserError
from .events import CheckpointSaved, DataReported, Evaluated, Progress, StatusChanged, TrainFinished, TrainStarted, Warned
from .metrics import best_metric_name, evaluate, is_better, sequence_loss
from .optim_state import optimizer_from_tensors, optimizer_to_tensors
from .probes import ProbeSnapshot, append_probes, record_probes, truncate_probes
from .tasks import build_task

Listener = Callable[[object], None]
PROGRESS_INTERVAL = 0.25  # seconds between Progress events (and train lines in metrics.jsonl)


def lr_at(step: int, cfg) -> float:
    """Linear warm-up to ``lr`` then cosine decay to ``lr * min_lr_ratio`` at the last step."""
    if cfg.warmup and step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    span = max(1, cfg.steps - cfg.warmup)
    progress = min(1.0, (step - cfg.warmup) / span)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


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
        self.best: Optional[dict] = None
        self.probes: list[ProbeSnapshot] = []  # alignment of fixed val examples at each evaluation
        tc = config.train
        self.threads = set_threads(tc.threads)
        self.device = resolve_device(tc.device)
        self._resumed = _resume
        vocabs = runs.load_vocabs(run_dir) if _resume else None
        self.task = build_task(config.task, vocabs=vocabs, run_dir=run_dir if _resume else None)
        config.model.src_vocab = len(self.task.src_vocab) if self.task.src_vocab else 0
        config.model.tgt_vocab = len(self.task.tgt_vocab)
        config.model.pad_id = self.task.tgt_vocab.pad_id
        torch.manual_seed(tc.seed)
        self.model: SeqModel = build_model(config.model).to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        self.data_gen = torch.Generator().manual_seed(tc.seed)
        self.tf_gen = torch.Generator(device=self.device).manual_seed(tc.seed + 1)
        self.n_train = max(1, len(self.task.examples("train")))
        if _resume:
            self.run_dir = Path(run_dir)
            self._load_checkpoint()
        else:
            root = runs.runs_root(runs_root)
            self.run_dir = Path(run_dir) if run_dir else runs.new_run_dir(root, config.task.name, runs.arch_slug(config.model))
            runs.create_run(self.run_dir, config, (self.task.src_vocab, self.task.tgt_vocab))
            self.task.save_files(self.run_dir)  # subword models, data report: the run decodes without its data
        self.tb = self._tensorboard() if tc.tensorboard else None

    @classmethod
    def resume(cls, run_dir, *, on_event: Optional[Listener] = None, steps: Optional[int] = None,
               config: Optional[RunConfig] = None) -> "Trainer":
        """Continue a saved run from its last checkpoint (``steps`` raises the total; ``config``: the run's
        config with the settings a resume may change, from ``workbench.config.resume_config``)."""
        path = runs.check_run_dir(run_dir)
        config = resume_config(config or runs.load_config(path), {"train.steps": steps} if steps else {})
        if runs.checkpoint_dir(path) is None:
            raise RunError(f"{path} has no checkpoint to resume from")
        return cls(config, path, on_event=on_event, _resume=True)

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

    def run(self) -> TrainFinished:
        """Train to the configured number of steps (or until stopped); returns the final event."""
        tc = self.config.train
        self.model.train()
        if self._resumed:  # settings the resume changed (steps, threads, device...) are the run's now
            runs.update_config(self.run_dir, self.config)
        self.emit(TrainStarted(str(self.run_dir), self.config.task.name, describe(self.config.model),
                               describe_device(self.device, self.threads), self.model.num_parameters(),
                               self.step, tc.steps))
        if self.task.report is not None:
            self.emit(DataReported(self.task.report.summary_lines(), list(self.task.report.warnings)))
        reason, message = "completed", f"trained {tc.steps} steps"
        if runs.checkpoint_dir(self.run_dir) is None:
            self._checkpoint("start")  # a run always has weights to decode and a state to resume from
        window = _Window()
        session_start = time.perf_counter() - self.elapsed
        limit = self.elapsed + tc.max_seconds  # --max-seconds counts this session's training time
        paused_for = 0.0
        while self.step < tc.steps:
            if not self._running.is_set():
                t0 = time.perf_counter()
                self.emit(StatusChanged("paused"))
                self._running.wait()
                paused_for += time.perf_counter() - t0
                if not self._stop.is_set():
                    self.emit(StatusChanged("running"))
            if self._stop.is_set():
                reason, message = "stopped", f"stopped at step {self.step}"
                break
            if self._save.is_set():
                self._save.clear()
                self._checkpoint("request")
            loss, grad_norm, tokens = self._train_step()
            if not math.isfinite(loss):
                reason = "diverged"
                message = (f"loss became {loss} at step {self.step + 1}; stopped and kept the checkpoint of step "
                           f"{self._last_saved}. Try a lower --lr or --clip 1")
                self.emit(Warned(message))
                break
            self.step += 1
            self.elapsed = time.perf_counter() - session_start - paused_for
            window.add(loss, grad_norm, tokens)
            if window.age() >= PROGRESS_INTERVAL or self.step == tc.steps:
                self._progress(window)
            if self.step % tc.eval_every == 0 or self.step == tc.steps:
                self._evaluate()
                self._checkpoint("eval")
            if tc.max_seconds and self.elapsed >= limit:
                reason, message = "time-limit", f"stopped at the time limit ({tc.max_seconds:g} s) at step {self.step}"
                break
        return self._finish(reason, message)

    def _train_step(self) -> tuple[float, float, int]:
        tc = self.config.train
        batch = self.task.train_batch(tc.batch_size, self.data_gen).to(self.device)
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.step, tc)
        with self.lock:
            if tc.teacher_forcing >= 1.0:
                logits = self.model(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, V)
            else:
                logits = self._scheduled_sampling_logits(batch)
            loss = sequence_loss(logits, batch.tgt_out, self.task.tgt_vocab.pad_id, tc.label_smoothing)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), tc.clip if tc.clip > 0 else float("inf"))
            value = loss.item()
            if math.isfinite(value):
                self.optimizer.step()
        return value, float(norm), batch.n_tokens

    def _scheduled_sampling_logits(self, batch) -> torch.Tensor:
        """Unroll the step path, feeding the reference with probability ``teacher_forcing``, else the model's argmax."""
        ratio = self.config.train.teacher_forcing
        B, T = batch.tgt_in.shape
        state = self.model.start(batch.src, batch.src_lengths, batch_size=B)
        token = batch.tgt_in[:, 0]
        outs = []
        for t in range(T):
            out = self.model.step(state, token)
            state = out.state
            outs.append(out.logits)
            if t + 1 < T:
                use_ref = torch.rand(B, generator=self.tf_gen, device=self.device) < ratio  # (B,)
                token = torch.where(use_ref, batch.tgt_in[:, t + 1], out.logits.detach().argmax(-1))
        return torch.stack(outs, 1)  # (B, T, V)

    def _progress(self, window: "_Window") -> None:
        tc = self.config.train
        loss, grad_norm, tps = window.flush()
        steps_left = tc.steps - self.step
        rate = self.step / self.elapsed if self.elapsed > 0 else 0.0
        event = Progress(self.step, tc.steps, self.step * tc.batch_size / self.n_train, loss,
                         self.optimizer.param_groups[0]["lr"], grad_norm, tps, self.elapsed,
                         steps_left / rate if rate > 0 else 0.0)
        runs.append_metrics(self.run_dir, {"kind": "train", "step": self.step, "loss": loss, "lr": event.lr,
                                           "grad_norm": grad_norm, "tokens_per_s": tps, "elapsed": self.elapsed})
        if self.tb:
            self.tb.add_scalar("train/loss", loss, self.step)
            self.tb.add_scalar("train/lr", event.lr, self.step)
        self.emit(event)

    def _evaluate(self, split: str = "val", samples: Optional[int] = None, limit: Optional[int] = None):
        tc = self.config.train
        with self.lock:
            result = evaluate(self.model, self.task, split, limit=limit or tc.eval_examples,
                              batch_size=max(tc.batch_size, 256), device=self.device,
                              samples=tc.samples if samples is None else samples)
        best = False
        if split == "val":
            self._last_val, self._last_eval_step = result.metrics, self.step
            self._record_probes()
            name = best_metric_name(self.task)
            value = result.metrics[name]
            if self.best is None or is_better(name, value, self.best["value"]):
                self.best = {"name": name, "value": value, "step": self.step}
                best = True
        runs.append_metrics(self.run_dir, {"kind": "eval", "split": split, "step": self.step,
                                           "elapsed": self.elapsed, **result.metrics,
                                           **({"signatures": result.signatures} if result.signatures else {})})
        if self.tb:
            for k, v in result.metrics.items():
                self.tb.add_scalar(f"{split}/{k}", v, self.step)
        self.emit(Evaluated(self.step, split, result.metrics, result.samples, best))
        return result.metrics

    def _record_probes(self) -> None:
        with self.lock:
            snapshot = record_probes(self.model, self.task, self.step)
        if snapshot is not None:
            self.probes.append(snapshot)
            append_probes(self.run_dir, snapshot)

    # ----- checkpoints -----
    _last_saved = 0
    _last_eval_step = -1
    _last_val: dict = {}

    def _checkpoint(self, reason: str, status: str = "running") -> None:
        with self.lock:
            tensors = {"model": dict(self.model.state_dict()), "optimizer": optimizer_to_tensors(self.optimizer)}
        rng = {"data": self.data_gen.get_state(), "torch": torch.get_rng_state(), "tf": self.tf_gen.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        tensors["rng"] = rng
        state = {"step": self.step, "elapsed": self.elapsed, "status": status, "best": self.best,
                 "optimizer_groups": [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]}
        path = runs.save_checkpoint(self.run_dir, tensors, state)
        self._last_saved = self.step
        self.emit(CheckpointSaved(self.step, str(path), reason))

    def _load_checkpoint(self) -> None:
        from safetensors.torch import load_file

        ckpt = runs.checkpoint_dir(self.run_dir)
        runs.load_weights(self.model, ckpt)
        state = runs.read_trainer_state(self.run_dir)
        optimizer_from_tensors(self.optimizer, load_file(str(ckpt / "optimizer.safetensors"), device=str(self.device)),
                               state.get("optimizer_groups", []))
        rng = load_file(str(ckpt / "rng.safetensors"))
        self.data_gen.set_state(rng["data"])
        torch.set_rng_state(rng["torch"])
        self.tf_gen.set_state(rng["tf"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self.step, self.elapsed, self.best = int(state["step"]), float(state["elapsed"]), state.get("best")
        self._last_saved = self.step
        runs.truncate_metrics(self.run_dir, self.step)
        self.probes = truncate_probes(self.run_dir, self.step)

    def _finish(self, reason: str, message: str) -> TrainFinished:
        final: dict[str, dict[str, float]] = {}
        if reason != "diverged":
            final["val"] = self._last_val if self._last_eval_step == self.step else self._evaluate()
            for split in self.task.split_names:
                if split in ("test", "long"):
                    final[split] = self._evaluate(split, samples=0, limit=10**9)
            status = "completed" if reason == "completed" else "stopped"
            self._checkpoint("end" if reason == "completed" else "stop", status=status)
        else:
            runs.append_metrics(self.run_dir, {"kind": "diverged", "step": self.step, "message": message})
        if self.tb:
            self.tb.close()
        event = TrainFinished(self.step, reason, message, str(self.run_dir), self.elapsed, final, self.best)
        self.emit(event)
        return event

    def _tensorboard(self):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("--tensorboard needs the optional extra: pip install 'seqbench[tensorboard]'") from None
        return SummaryWriter(str(self.run_dir / "tensorboard"))


class _Window:
    """Running sums between two Progress events."""

    def __init__(self):
        self.start = time.perf_counter()
        self.loss = self.norm = 0.0
        self.tokens = self.n = 0

    def add(self, loss: float, norm: float, tokens: int) -> None:
        self.loss += loss
        self.norm += norm
        self.tokens += tokens
        self.n += 1

    def age(self) -> float:
        return time.perf_counter() - self.start

    def flush(self) -> tuple[float, float, float]:
        n = max(self.n, 1)
        out = (self.loss / n, self.norm / n, self.tokens / max(self.age(), 1e-9))
        self.__init__()
        return out
