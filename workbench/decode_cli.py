"""``seqbench decode RUN``: decode one input with a saved run and draw what the model did.

Prints the output and its score; ``--show`` adds an alignment heatmap, the n-best list, the
next-token probabilities per step and a hidden-state strip. ``--json`` writes every step's record
(schema in ``workbench/decoding/records.py``), ``--export`` writes attention as CSV, .npy and SVG.
``--input-file FILE`` decodes every line of FILE with the run loaded once (``decoding/batch_file.py``).
Only argparse is imported until ``run`` is called, so ``seqbench --help`` stays fast.
"""

from __future__ import annotations

import argparse

from .errors import UserError

PANELS = ("attention", "beams", "probs", "hidden")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the decode options to ``parser`` (the caller adds the RUN positional)."""
    what = parser.add_argument_group("what to decode")
    what.add_argument("--input", metavar="TEXT", help="source text to decode; for a language model, the prompt to "
                      "continue (default: none; give --input or --example)")
    what.add_argument("--example", metavar="N", type=int, help="decode example N (from 0) of the run's test split "
                      "(val for a language model: its first half is the prompt); its target becomes the --reference "
                      "(default: none)")
    what.add_argument("--input-file", metavar="FILE", help="decode every line of FILE (- for standard input) with "
                      "the run loaded once, in batches; writes one output per line (an encoder run: the tags, the label, or the "
                      "text with its _ masks filled) (default: none)")
    what.add_argument("--reference", metavar="TEXT", help="score this target under teacher forcing: log-prob and rank "
                      "of each token and the step where free-running greedy decoding leaves it (default: none)")
    what.add_argument("--replay", metavar="FILE", help="decode again as a replay.json from --export recorded: the "
                      "same run, input and options (default: none)")
    how = parser.add_argument_group("how to decode (default: the run's own, greedy unless it was trained with "
                                    "train.eval_beam, as tsv translation runs are)")
    how.add_argument("--beam", metavar="K", type=int, help="beam search with width K, showing the K-best list "
                     "(default: the run's train.eval_beam; 1, greedy, for most tasks)")
    how.add_argument("--greedy", action="store_true", help="take the most probable token at each step, even on a "
                     "run whose default is beam search (default: off)")
    how.add_argument("--alpha", metavar="A", type=float, help="with --beam: GNMT length penalty exponent; 0 ranks by "
                     "raw log-probability, ~0.6 favours longer outputs (default: the run's train.eval_alpha, 0 for "
                     "most tasks)")
    how.add_argument("--sample", action="store_true", help="sample tokens instead of taking the most probable "
                     "(default: off)")
    how.add_argument("--temperature", metavar="T", type=float, help="with --sample: divide log-probs by T; "
                     "0 is greedy, above 1 is more random (default: 1.0)")
    how.add_argument("--top-k", metavar="K", type=int, help="with --sample: draw only among the K most probable "
                     "tokens, 0 = all (default: 0)")
    how.add_argument("--top-p", metavar="P", type=float, help="with --sample: draw only from the smallest set of "
                     "tokens whose probability reaches P, in (0, 1] (default: 1.0)")
    how.add_argument("--hard-sample", action="store_true", help="hard attention (model.hard_attention): draw the "
                     "source position each step reads from the attention distribution instead of taking its argmax "
                     "(default: off, the argmax, as in evaluation)")
    how.add_argument("--seed", metavar="S", type=int, help="with --sample or --hard-sample: random seed; the same seed "
                     "repeats the same output (default: 0)")
    how.add_argument("--max-len", metavar="N", type=int, help="most output tokens, <eos> included (default: twice "
                     "the longest of the input and the task's targets, plus 10; for a language model, --length)")
    how.add_argument("--length", metavar="N", type=int, help="language models: number of tokens to generate after "
                     "the prompt (default: 100; with --example, the rest of the window)")
    how.add_argument("--force", metavar="T:TOKEN", action="append", default=[], help="what-if: make output token T "
                     "(from 0) be TOKEN and let the model continue, e.g. --force 0:b or --force 3:<eos>; "
                     "repeatable (default: none)")
    how.add_argument("--intervene", metavar="SPEC", action="append", default=[], help="edit what the decoder "
                     "computes and show what changes: OP:SITE:L<layer>:U<unit>[@STEP] with OP zero, clamp=V or mean "
                     "(over validation data) and SITE hidden, cell or gate.NAME (e.g. gate.forget); "
                     "OP:head[.cross|.self]:L<layer>:H<head>[@STEP]; pin:[L<layer>:]S<position>[@STEP] pins the "
                     "attention to a source position. STEP: first output step it applies to. E.g. "
                     "zero:hidden:L0:U12@3; repeatable (default: none)")
    how.add_argument("--device", default="cpu", help="where to run: cpu, cuda, cuda:N, mps or auto (default: cpu)")
    out = parser.add_argument_group("what to show and write")
    out.add_argument("--show", metavar="PANELS", default="", help=f"comma-separated panels to draw: {', '.join(PANELS)} "
                     "or all (attention: last layer, mean over heads; default: none, just the output and score)")
    out.add_argument("--neighbours", metavar="K", type=int, default=8, help="skip-thought runs: how many corpus "
                     "sentences nearest to the input's sentence vector to list (default: 8)")
    out.add_argument("--json", metavar="FILE", help="write the whole session, every step's record, as JSON "
                     "(default: none)")
    out.add_argument("--export", metavar="DIR", help="write attention as CSV and .npy, the heatmap as SVG, the "
                     "decoding steps as an animated SVG (steps.svg, for slides), the hidden states as .npy and a "
                     "replay.json that --replay reopens into DIR (default: none)")
    add_file_arguments(parser)


def add_file_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``--input-file`` (many lines at once)."""
    many = parser.add_argument_group("many lines at once (with --input-file)")
    many.add_argument("--output", metavar="FILE", help="write the outputs to FILE (default: standard output)")
    many.add_argument("--format", choices=("text", "tsv", "jsonl"), default="text", help="text: one output per "
                      "line; tsv: line, source, output, log-prob, tokens, status (an encoder run: tags, label or "
                      "filled text, and probabilities); jsonl: the same as JSON lines (default: text)")
    many.add_argument("--references", metavar="FILE", nargs="+", help="reference files, one line per input line "
                      "(several files: several references per line); prints sacreBLEU BLEU and chrF and exact "
                      "match (default: none)")
    many.add_argument("--batch-size", metavar="N", type=int, default=64, help="lines decoded together by greedy "
                      "decoding (default: 64)")


def parse_show(text: str) -> list[str]:
    """``"attention,beams"`` -> panel names; an unknown name is a UserError listing the valid ones."""
    names = [n.strip().lower() for n in (text or "").split(",") if n.strip()]
    if "all" in names:
        return list(PANELS)
    for name in names:
        if name not in PANELS:
            raise UserError(f"unknown --show panel {name!r}; choose from: {', '.join(PANELS)}, all")
    return list(dict.fromkeys(names))


def check_args(args: argparse.Namespace) -> list[str]:
    """Option errors that need no run (fast, before torch loads); returns the panels to show."""
    panels = parse_show(args.show)
    if getattr(args, "input_file", None) is not None:
        return _check_file_args(args)
    for flag in ("output", "references"):
        if getattr(args, flag, None):
            raise UserError(f"--{flag} applies with --input-file")
    if args.input is not None and args.example is not None:
        raise UserError("give either --input or --example, not both")
    if args.input is None and args.example is None:
        raise UserError("nothing to decode: give --input TEXT, --example N or --input-file FILE")
    _check_strategy(args)
    if not args.sample:
        for flag in ("temperature", "top_k", "top_p"):
            if getattr(args, flag) is not None:
                raise UserError(f"--{flag.replace('_', '-')} only applies with --sample")
        if args.seed is not None and not args.hard_sample:
            raise UserError("--seed only applies with --sample or --hard-sample")
    for flag in ("beam", "max_len", "length", "neighbours"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be at least 1 (got {value})")
    for spec in args.force:
        step, sep, _ = spec.partition(":")
        if not sep or not step.strip().isdigit():
            raise UserError(f"bad --force {spec!r}: expected STEP:TOKEN, e.g. 0:a (steps count from 0)")
    return panels


def _check_strategy(args: argparse.Namespace) -> None:
    chosen = [flag for flag, on in (("--beam K", args.beam is not None), ("--sample", args.sample),
                                    ("--greedy", args.greedy)) if on]
    if len(chosen) > 1:
        raise UserError(f"choose one of --beam K, --sample and --greedy (got {' and '.join(chosen)})")


def _check_file_args(args: argparse.Namespace) -> list[str]:
    for flag, given in (("input", args.input is not None), ("example", args.example is not None),
                        ("reference", args.reference is not None), ("force", bool(args.force)),
                        ("intervene", bool(getattr(args, "intervene", None))), ("replay", bool(args.replay)),
                        ("hard-sample", args.hard_sample),
                        ("show", bool(args.show)), ("json", bool(args.json)), ("export", bool(args.export))):
        if given:
            raise UserError(f"--{flag} does not combine with --input-file (use --references FILE for scores)"
                            if flag == "reference" else f"--{flag} does not combine with --input-file")
    _check_strategy(args)
    for flag in ("beam", "max_len", "length", "batch_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be at least 1 (got {value})")
    return []


def run(args: argparse.Namespace) -> int:
    """Decode as the options say, print the result and panels, write files; returns the exit code."""
    record = None
    if args.replay:
        from .decode_replay import apply_replay

        record = apply_replay(args)
    if args.run is None:
        raise UserError("which run? give RUN (or --replay FILE)")
    panels = check_args(args)
    if args.input_file is not None:
        from .decoding.batch_file import run_file

        return run_file(args, lambda train_config: file_config(args, train_config))
    from rich.console import Console

    from .decoding import ReferenceScore
    from .runs import load_run

    loaded = load_run(args.run, device=args.device)
    if loaded.task.family == "encoder":  # no decoding steps: tags, a class, or masks filled in
        from .decoding.encoding_report import run_encoder

        return run_encoder(loaded, args, panels)
    if loaded.model.capabilities.decoders:  # skip-thought: both decoders, then the sentence's neighbours
        from .decoding.skipthought_report import run_skip_thought

        return run_skip_thought(loaded, args, panels, prepare_job(loaded, args),
                                lambda job: decode_config(job, loaded.task, args, loaded.config.train))
    job = prepare_job(loaded, args)
    err = Console(stderr=True)
    for warning in job.warnings:
        err.print(_warning(warning))
    task, model = loaded.task, loaded.model
    if args.intervene:
        job.intervene(model, task, args.intervene)
    session = job.session(model, task, decode_config(job, task, args, loaded.config.train), history=False)
    session.run()
    score = None
    if job.reference_ids is not None:
        score = ReferenceScore.from_session(job.teacher_session(model, task, show_k=session.config.show_k,
                                                                history=False))
    from .decoding.report import Report

    report = Report(loaded, session, job, score, Console())
    report.summary()
    if args.intervene:
        from .decoding.intervention_effect import intervention_effect, print_effect

        effect = intervention_effect(job, model, task, session.config, session, score)
        print_effect(report.console, effect, report.text, report.itos, args.intervene)
        report.extra["intervention"] = effect.to_json(report.itos)
    report.panels(panels)
    if args.json:
        report.write_json(args.json)
    if args.export:
        report.export(args.export, err)
    _replay_files(record, loaded, args, report, err)
    return 0


def _replay_files(record, loaded, args: argparse.Namespace, report, err) -> None:
    """Warn when a --replay was not faithful; with --export, write the replay.json that reopens this decode."""
    if record is None and not args.export:
        return
    from pathlib import Path

    from .decode_replay import check_replay, replay_record, write_replay

    output = report.text(report.best.tokens)
    for note in check_replay(record, loaded, output) if record is not None else ():
        err.print(_warning(f"--replay: {note}"))
    if args.export:
        try:
            write_replay(Path(args.export) / "replay.json", replay_record(loaded, args, output))
        except OSError as exc:
            raise UserError(f"cannot write --export {args.export}: {exc.strerror or exc}") from None


def _warning(message: str):
    from rich.text import Text

    return Text.assemble(("warning: ", "bold yellow"), message)


def prepare_job(loaded, args: argparse.Namespace):
    """The engine's ``InspectionJob`` for the options (the same one the app's inspector builds)."""
    from .decoding.job import prepare

    task = loaded.task
    if task.family != "lm" and args.length is not None:
        raise UserError("--length is for language models; use --max-len to cap an encoder-decoder's output")
    requested = args.length if task.family == "lm" and args.length is not None else args.max_len
    return prepare(task, loaded.model.capabilities, text=args.input, example=args.example, reference=args.reference,
                   force=args.force, max_len=requested)


def decode_options(args: argparse.Namespace, train_config=None) -> dict:
    """DecodeConfig fields the options ask for; with none of --beam, --sample and --greedy, the run's
    own decoding (``train.eval_beam``/``eval_alpha``: beam search for tsv translation runs)."""
    sampling = {"temperature": 1.0 if args.temperature is None else args.temperature, "top_k": args.top_k or 0,
                "top_p": 1.0 if args.top_p is None else args.top_p, "seed": args.seed or 0}
    if args.sample:
        return {"strategy": "sample", "beam": 1, "alpha": args.alpha or 0.0, **sampling}
    beam, alpha = args.beam, args.alpha
    if beam is None and not args.greedy and train_config is not None and train_config.eval_beam > 1:
        beam, alpha = train_config.eval_beam, train_config.eval_alpha if alpha is None else alpha
    return {"strategy": "greedy" if beam is None else "beam", "beam": beam or 1, "alpha": alpha or 0.0, **sampling}


def file_config(args: argparse.Namespace, train_config=None):
    """The DecodeConfig for ``--input-file`` (lengths are set per line by the file decoder)."""
    from .decoding import DecodeConfig

    config = DecodeConfig(**decode_options(args, train_config))
    config.validate()
    return config


def decode_config(job, task, args: argparse.Namespace, train_config=None):
    """The DecodeConfig the options ask for, with the job's (automatic or requested) max length."""
    from .decoding import DecodeConfig

    requested = args.length if task.family == "lm" and args.length is not None else args.max_len
    config = DecodeConfig(**decode_options(args, train_config), max_len=job.max_len(task, requested),
                          hard_sample=bool(args.hard_sample))
    config.validate()
    return config
