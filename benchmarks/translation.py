"""Your own parallel data: the ``tsv`` defaults on eng-fra-20k, scored on sources the benchmark held out.

The benchmark groups the corpus by English source and holds out ``HELD_SOURCES`` sources with all
their translations, writes the rest as the training file and trains exactly what
``seqbench train --task tsv --data FILE`` trains (the task's defaults, its 5-minute budget
included). The trainer's own val split is also made of unseen sources, so its BLEU at every
evaluation is the curve against wall time; at the end the run decodes the held-out sources through
the batch path (``seqbench decode --input-file``) and they are scored with sacreBLEU's defaults
against all their references (BLEU, chrF) and by exact match.

The second part times ``seqbench decode RUN --input-file`` on 1,000 sentences against separate
``seqbench decode RUN --input`` calls: ``SEPARATE_CALLS`` of them are timed and the mean is
extrapolated to 1,000 (the figure says so). Both are fresh processes, as a user runs them.
Quick mode trains a tiny model for a few steps on a slice of the corpus and times the two ways in
this process (no fresh processes: a busy machine takes many seconds to start one): it proves the
plumbing, not the figures.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from .core import ROOT, Context, benchmark
from .trainruns import build, run_trainer

CORPUS = ROOT.parent / "shared" / "data" / "eng-fra-20k.txt"
HELD_SOURCES = 500  # English sources held out with every translation they have
SMALL_CORPUS = ROOT.parent / "shared" / "data" / "eng-fra-5k-attributed.txt"  # the same defaults on a small file
SMALL_HELD_SOURCES = 300
SPEED_LINES = 1000  # sentences in the batch-decoding comparison
SEPARATE_CALLS = 20  # separate `seqbench decode --input` calls actually timed (then extrapolated)
TARGET_BLEU = 40.0
TARGET_SPEEDUP = 20.0
QUICK_TRAIN = {"train.steps": 30, "train.eval_every": 30, "train.eval_examples": 20, "train.batch_size": 16,
               "model.hidden": 32, "model.heads": 2, "model.layers": 1, "task.vocab_size": 400,
               "train.max_seconds": 60}


def hold_out(corpus: Path, scratch: Path, n_sources: int, seed: int = 0, limit: int = 0):
    """Write ``scratch/train.tsv`` without ``n_sources`` held-out sources; returns (sources, references).

    ``limit`` keeps only the first that many sources of the corpus (quick mode).
    """
    groups: dict[str, list[str]] = {}
    order: list[str] = []
    for line in corpus.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            continue
        if fields[0] not in groups:
            order.append(fields[0])
            groups[fields[0]] = []
        groups[fields[0]].append(fields[1])
    if limit:
        order = order[:limit]
    held = list(order)
    random.Random(f"translation:{seed}").shuffle(held)
    held = held[:n_sources]
    out = set(held)
    scratch.mkdir(parents=True, exist_ok=True)
    lines = [f"{s}\t{t}\n" for s in order if s not in out for t in groups[s]]
    (scratch / "train.tsv").write_text("".join(lines), encoding="utf-8")
    return held, [tuple(groups[s]) for s in held]


def decode_held_out(run_dir: Path, sources: list[str], greedy: bool = False) -> tuple[list[str], float]:
    """(outputs, seconds) of the held-out sources decoded as ``seqbench decode RUN --input-file`` does by
    default (the run's own decoding: beam search for the tsv defaults), or greedily."""
    from workbench.cli import build_parser
    from workbench.decode_cli import file_config
    from workbench.decoding.batch_file import FileDecoder
    from workbench.runs import load_run

    start = time.perf_counter()
    loaded = load_run(run_dir)
    options = build_parser().parse_args(["decode", str(run_dir), "--input-file", "-", *(["--greedy"] * greedy)])
    results = FileDecoder(loaded.task, loaded.model, file_config(options, loaded.config.train)).decode(sources)
    return [r.output for r in results], time.perf_counter() - start


def _cli(*args: str) -> float:
    """Wall time of one fresh `seqbench` process (as a user runs it); raises if it fails."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "workbench.cli", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"seqbench {' '.join(args[:3])} failed: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - start


def _in_process(run_dir: Path, sentence: str) -> float:
    """Quick mode's stand-in for one `seqbench decode --input` call: load the run, decode one line."""
    from workbench.decoding import DecodeConfig
    from workbench.decoding.job import prepare
    from workbench.runs import load_run

    start = time.perf_counter()
    loaded = load_run(run_dir)
    job = prepare(loaded.task, loaded.model.capabilities, text=sentence)
    job.session(loaded.model, loaded.task, DecodeConfig(max_len=job.max_len(loaded.task)), history=False).run()
    return time.perf_counter() - start


def time_decoding(ctx: Context, run_dir: Path, sentences: list[str]) -> None:
    """Batch decoding of ``sentences`` in one process against separate calls, extrapolated."""
    n_lines = len(sentences)
    calls = 2 if ctx.quick else SEPARATE_CALLS
    path = ctx.scratch / "speed.txt"
    path.write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    if ctx.quick:
        batch = decode_held_out(run_dir, sentences)[1]
        singles = [_in_process(run_dir, s) for s in sentences[:calls]]
    else:
        batch = _cli("decode", str(run_dir), "--input-file", str(path), "--output", str(ctx.scratch / "speed.out"))
        singles = [_cli("decode", str(run_dir), "--input", s) for s in sentences[:calls]]
    per_call = sum(singles) / len(singles)
    ctx.figure(f"decode --input-file, {n_lines:,} sentences (one process)", batch, "s")
    ctx.figure(f"separate decode --input calls, per call (mean of {calls})", per_call, "s")
    ctx.figure(f"batch decoding speed-up over {n_lines:,} separate calls", n_lines * per_call / batch, "x",
               target=TARGET_SPEEDUP, op=">=", judge=not ctx.quick,
               note=f"{calls} separate calls timed, extrapolated to {n_lines:,}")
    ctx.detail("decode_speed", {"lines": n_lines, "batch_seconds": batch, "separate_calls_timed": calls,
                                "separate_seconds": singles})


def held_out_run(ctx: Context, corpus: Path, n_held: int, name: str) -> tuple[Path, list[str]]:
    """Train the tsv defaults on ``corpus`` without ``n_held`` sources, score those; (run dir, sources)."""
    from workbench.metrics import final_decoding
    from workbench.tasks.scoring import translation_scores

    if not corpus.exists():
        ctx.skip(f"{corpus} is absent (the shared Tatoeba sample)")
    sources, references = hold_out(corpus, ctx.scratch / "data", n_held, limit=800 if ctx.quick else 0)
    overrides = {"task.name": "tsv", "task.data": str(ctx.scratch / "data" / "train.tsv"), **ctx.train_overrides}
    if ctx.quick:
        overrides.update(QUICK_TRAIN)
    config = build(overrides)
    ctx.log(f"training the tsv defaults ({config.model.cell}, {config.model.layers} layers, width "
            f"{config.model.hidden}, {config.task.tokens or 'subword'} {config.task.vocab_size or 'default'}) on "
            f"{corpus.name}, {len(sources)} sources held out, budget {config.train.max_seconds or 'none'} s")
    tl = run_trainer(config, ctx.scratch / "runs")
    run_dir = tl.trainer.run_dir
    outputs, decode_seconds = decode_held_out(run_dir, sources)
    metrics, signatures = translation_scores(outputs, references)
    greedy_outputs, greedy_seconds = decode_held_out(run_dir, sources, greedy=True)
    greedy, _ = translation_scores(greedy_outputs, references)
    total = tl.end_seconds
    judge = not ctx.quick and corpus == CORPUS  # the targets are set for eng-fra-20k
    how = final_decoding(config.train)
    note = f"{len(sources)} held-out sources, all references, {tl.steps} steps in {total:.0f} s, {how}"
    ctx.figure("held-out BLEU (sacreBLEU default tokenization)", metrics["bleu"], "",
               target=TARGET_BLEU if corpus == CORPUS else None, op=">=", judge=judge, note=note)
    ctx.figure("held-out chrF", metrics["chrf"], "")
    ctx.figure("held-out exact match", 100 * metrics["exact_match"], "%")
    ctx.figure("held-out BLEU decoded greedily (decode --greedy)", greedy["bleu"], "")
    ctx.figure("wall time: first training step to the end of the run (evaluations included)", total, "s",
               target=300.0 if corpus == CORPUS else None, op="<=", judge=judge, note=f"the final test evaluation decodes by {how}")
    ctx.figure("wall time with the held-out decoding", total + decode_seconds, "s",
               note=f"{len(sources)} sources by {how} in {decode_seconds:.1f} s (greedy: {greedy_seconds:.1f} s)")
    curve = [[round(s, 1), step, round(v, 2)] for s, step, v in tl.val("bleu")]
    ctx.detail(name, {"held_out": metrics, "held_out_greedy": greedy, "decoding": how, "signatures": signatures,
                      "steps": tl.steps, "seconds": total, "setup_seconds": tl.setup_seconds,
                      "decode_seconds": decode_seconds, "val_bleu_curve_seconds_step_bleu": curve,
                      "val_chrf_curve": [[round(s, 1), step, round(v, 2)] for s, step, v in tl.val("chrf")],
                      "config": {"model": vars(config.model), "train": vars(config.train)}})
    ctx.detail("tables", {f"tsv defaults on {corpus.stem} (val BLEU against wall time)": {
        "columns": ["seconds", "step", "val BLEU"], "rows": curve}})
    ctx.detail("samples", [[s, o, list(r)] for s, o, r in list(zip(sources, outputs, references))[:10]])
    return run_dir, sources


@benchmark("translation", "tsv defaults on eng-fra-20k: held-out BLEU/chrF against wall time, batch decoding")
def translation(ctx: Context) -> None:
    run_dir, sources = held_out_run(ctx, CORPUS, 20 if ctx.quick else HELD_SOURCES, "translation")
    pool = sources + [line.split("\t")[0] for line in
                      (ctx.scratch / "data" / "train.tsv").read_text(encoding="utf-8").splitlines()]
    speed_lines = list(dict.fromkeys(pool))[: 40 if ctx.quick else SPEED_LINES]
    time_decoding(ctx, run_dir, speed_lines)


@benchmark("translation-small", "tsv defaults on the 5k-pair Tatoeba export: held-out BLEU/chrF, wall time")
def translation_small(ctx: Context) -> None:
    held_out_run(ctx, SMALL_CORPUS, 20 if ctx.quick else SMALL_HELD_SOURCES, "translation-small")
