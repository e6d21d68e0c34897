"""Attention over training time: the alignment of a few fixed validation examples at every evaluation.

At each evaluation the trainer runs the probe examples teacher-forced through ``start/step`` and
keeps each step's cross-attention, so the inspector can replay how an alignment formed. Only
encoder-decoders with attention have probes. Bounded: ``MAX_PROBES`` examples per evaluation,
stored in the run as ``probes.jsonl`` (one evaluation per line, weights rounded to 1e-3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

PROBES_FILE = "probes.jsonl"
MAX_PROBES = 3


@dataclass
class ProbeAlignment:
    """One probe example's teacher-forced alignment at one point in training."""

    source_tokens: list[str]
    target_tokens: list[str]  # the reference followed by <eos>: one row of attention each
    attention: np.ndarray  # (L, H, T, S)


@dataclass
class ProbeSnapshot:
    step: int
    probes: list[ProbeAlignment]


def has_alignment(model) -> bool:
    return model.capabilities.cross_attention


@torch.no_grad()
def record_probes(model, task, step: int, n: int = MAX_PROBES) -> ProbeSnapshot | None:
    """Teacher-forced cross-attention of the first ``n`` validation examples (None without attention)."""
    if not has_alignment(model):
        return None
    was_training = model.training
    model.eval()
    device = model.device
    probes = []
    try:
        for ex in task.examples("val")[:n]:
            src = torch.tensor([task.src_vocab.encode(ex.src)], device=device)  # (1, S)
            tgt = task.tgt_vocab.encode(ex.tgt)
            state = model.start(src, torch.tensor([len(ex.src)], device=device))
            rows = []
            for token in [task.tgt_vocab.bos_id] + tgt:
                out = model.step(state, torch.tensor([token], device=device))
                state = out.state
                rows.append(out.trace.cross_attention[0])  # (L, H, S)
            attention = torch.stack(rows, 2).float().cpu().numpy()  # (L, H, T, S)
            probes.append(ProbeAlignment(list(ex.src), list(ex.tgt) + ["<eos>"], attention))
    finally:
        model.train(was_training)
    return ProbeSnapshot(step, probes)


def append_probes(run_dir: Path, snapshot: ProbeSnapshot) -> None:
    line = {"step": snapshot.step, "probes": [
        {"source": p.source_tokens, "target": p.target_tokens, "attention": np.round(p.attention, 3).tolist()}
        for p in snapshot.probes]}
    with open(Path(run_dir) / PROBES_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def read_probes(run_dir: Path, up_to_step: int | None = None) -> list[ProbeSnapshot]:
    """Every probe snapshot saved in a run, oldest first (torn, non-UTF-8 or malformed lines are skipped)."""
    path = Path(run_dir) / PROBES_FILE
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    out = []
    for line in raw.split(b"\n"):
        snapshot = parse_probe_line(line.decode("utf-8", errors="replace"))
        if snapshot is not None and (up_to_step is None or snapshot.step <= up_to_step):
            out.append(snapshot)
    return out


def parse_probe_line(line: str) -> ProbeSnapshot | None:
    """One line of ``probes.jsonl`` (None for a torn or foreign line)."""
    try:
        data = json.loads(line)
        return ProbeSnapshot(int(data["step"]), [
            ProbeAlignment(p["source"], p["target"], np.asarray(p["attention"], dtype=np.float32))
            for p in data["probes"]])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def truncate_probes(run_dir: Path, step: int) -> list[ProbeSnapshot]:
    """Keep snapshots up to ``step`` (a resumed run records the rest again) and return them."""
    kept = read_probes(run_dir, up_to_step=step)
    path = Path(run_dir) / PROBES_FILE
    if path.exists():
        path.unlink()
        for snap in kept:
            append_probes(run_dir, snap)
    return kept


# ---- when to record, and what the attention's entropy says ----------------------------------------

EARLY_STEPS = (0, 10, 25, 50, 100)  # attention forms early: probe densely before evaluations take over


def probe_steps(eval_every: int) -> frozenset[int]:
    """Steps probed besides the evaluations (which always probe): step 0 and the early steps between them."""
    return frozenset(s for s in EARLY_STEPS if s == 0 or s % max(1, eval_every))


def probe_due(step: int, eval_every: int, recorded: list[ProbeSnapshot]) -> bool:
    """True when the trainer should probe before training ``step`` + 1 (never twice for one step on resume)."""
    return step in probe_steps(eval_every) and not (recorded and recorded[-1].step >= step)


def mean_entropy(snapshot: ProbeSnapshot) -> float:
    """Mean entropy (nats) of the attention rows of every probe, layer and head: low when attention is sharp."""
    values = []
    for probe in snapshot.probes:
        p = np.clip(np.asarray(probe.attention, dtype=np.float64), 1e-12, 1.0)  # (L, H, T, S)
        values.append((-(p * np.log(p)).sum(-1)).mean())  # (L, H, T) -> mean row entropy
    return float(np.mean(values)) if values else float("nan")


def entropy_curve(snapshots: list[ProbeSnapshot]) -> list[tuple[int, float]]:
    """(step, mean attention entropy) of each snapshot, oldest first."""
    return [(s.step, mean_entropy(s)) for s in snapshots if s.probes]


@dataclass
class EntropyDrop:
    """Where the attention sharpened fastest: the interval between two snapshots with the steepest fall."""

    start: int  # step of the snapshot before the drop
    end: int  # step of the snapshot after it: the first that shows the sharper attention
    before: float  # mean entropy (nats) at ``start``
    after: float  # ... and at ``end``


def steepest_drop(curve: list[tuple[int, float]]) -> EntropyDrop | None:
    """The consecutive pair of snapshots whose entropy fell fastest per training step (None if it never fell)."""
    best, best_rate = None, 0.0
    for (s0, h0), (s1, h1) in zip(curve, curve[1:]):
        rate = (h0 - h1) / max(1, s1 - s0)
        if rate > best_rate:
            best, best_rate = EntropyDrop(s0, s1, h0, h1), rate
    return best
