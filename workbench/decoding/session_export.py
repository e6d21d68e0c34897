"""The inspector's decoding written as ``seqbench decode --export`` writes it: steps.svg (and the
attention and hidden-state files) plus a replay.json that ``seqbench decode --replay`` reopens.

    paths = export_inspection(ins, run_dir, Path("out"))

The input, strategy, options, forced tokens and interventions are the inspector's; the decoding is
run to the end (as the replay will decode it), so the recorded output is what ``--replay`` checks.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

from rich.console import Console

from ..errors import UserError
from .inspection import TEACHER, Inspection
from .job import example_split
from .scoring import ReferenceScore


def replay_options(ins: Inspection) -> argparse.Namespace:
    """The ``seqbench decode`` options that decode what the inspector decodes (``decode_replay.OPTIONS``)."""
    task, c, job = ins.task, ins.config, ins.job
    shown = (task.detokenize if ins.is_lm else task.detokenize_src)(job.input.tokens)
    by_number = job.example is not None and ins.split == example_split(task)  # --example reads that split only
    forced = {**job.forced, **ins.session.forced}
    sample = ins.mode == "sample"
    return argparse.Namespace(
        input=None if by_number else shown, example=job.example if by_number else None,
        reference=None if by_number or job.reference is None else task.detokenize(job.reference),
        beam=c.beam if ins.mode == "beam" else None, alpha=c.alpha, sample=sample,
        temperature=c.temperature if sample else None, top_k=c.top_k if sample else None,
        top_p=c.top_p if sample else None, seed=c.seed if sample else None,
        max_len=None if ins.auto_max_len else c.max_len, length=None,
        force=[f"{t}:{ins.itos[tok]}" for t, tok in sorted(forced.items())], intervene=ins.interventions)


def export_inspection(ins: Inspection, run_dir: Optional[Path], directory: Path) -> list[Path]:
    """Decode the inspector's input to the end as it is set up and write the export and replay.json
    into ``directory``; returns the paths written. UserError when there is nothing to replay."""
    from ..decode_replay import replay_record, write_replay
    from ..runs import find_checkpoint
    from .report import Report

    if ins.session is None:
        raise UserError("nothing is decoded yet: pick an example or type an input")
    if ins.mode == TEACHER:
        raise UserError("teacher forcing is not a decoding to replay: press t for free-running decoding first")
    model, task = ins.model, ins.task
    job = replace(ins.job, forced={**ins.job.forced, **ins.session.forced})
    config = replace(ins.config, strategy=ins.mode, max_len=ins.max_len)
    session = job.session(model, task, config, history=False)
    session.run()
    score = None
    if job.reference_ids is not None:
        score = ReferenceScore.from_session(job.teacher_session(model, task, show_k=config.show_k, history=False))
    ckpt = find_checkpoint(Path(run_dir))[0] if run_dir is not None else None
    loaded = SimpleNamespace(path=Path(run_dir) if run_dir is not None else Path("."), model=model, task=task,
                             step=ckpt.state.get("step") if ckpt is not None else None)
    quiet = Console(file=io.StringIO())
    report = Report(loaded, session, job, score, quiet)
    report.export(str(directory), quiet)
    output = report.text(report.best.tokens)
    try:
        write_replay(Path(directory) / "replay.json", replay_record(loaded, replay_options(ins), output))
    except OSError as exc:
        raise UserError(f"cannot write {directory}: {exc.strerror or exc}") from None
    return sorted(p for p in Path(directory).iterdir() if p.is_file())
