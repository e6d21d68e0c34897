"""``seqbench decode RUN``: decode one input with a saved run and draw what the model did.

Prints the output and its score; ``--show`` adds an alignment heatmap, the n-best list, the
next-token probabilities per step and a hidden-state strip. ``--json`` writes every step's record
(schema in ``workbench/decoding/records.py``), ``--export`` writes attention as CSV, .npy and SVG.
Only argparse is imported until ``run`` is called, so ``seqbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import UserError

PANELS = ("attention", "beams", "probs", "hidden")
DEFAULT_LM_LENGTH = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the decode options to ``parser`` (the caller adds the RUN positional)."""
    what = parser.add_argument_group("what to decode")
    what.add_argument("--input", metavar="TEXT", help="source text to decode; for a language model, the prompt to "
                      "continue (default: none; give --input or --example)")
    what.add_argument("--example", metavar="N", type=int, help="decode example N (from 0) of the run's test split "
                      "(val for a language model: its first half is the prompt); its target becomes the --reference "
                      "(default: none)")
    what.add_argument("--reference", metavar="TEXT", help="score this target under teacher forcing: log-prob and rank "
                      "of each token and the step where free-running greedy decoding leaves it (default: none)")
    how = parser.add_argument_group("how to decode (default: greedy)")
    how.add_argument("--beam", metavar="K", type=int, help="beam search with width K, showing the K-best list "
                     "(default: off, greedy)")
    how.add_argument("--alpha", metavar="A", type=float, default=0.0, help="with --beam: GNMT length penalty "
                     "exponent; 0 ranks by raw log-probability, ~0.6 favours longer outputs (default: 0)")
    how.add_argument("--sample", action="store_true", help="sample tokens instead of taking the most probable "
                     "(default: off)")
    how.add_argument("--temperature", metavar="T", type=float, help="with --sample: divide log-probs by T; "
                     "0 is greedy, above 1 is more random (default: 1.0)")
    how.add_argument("--top-k", metavar="K", type=int, help="with --sample: draw only among the K most probable "
                     "tokens, 0 = all (default: 0)")
    how.add_argument("--top-p", metavar="P", type=float, help="with --sample: draw only from the smallest set of "
                     "tokens whose probability reaches P, in (0, 1] (default: 1.0)")
    how.add_argument("--seed", metavar="S", type=int, help="with --sample: random seed; the same seed repeats the "
                     "same output (default: 0)")
    how.add_argument("--max-len", metavar="N", type=int, help="most output tokens, <eos> included (default: twice "
                     "the longest of the input and the task's targets, plus 10; for a language model, --length)")
    how.add_argument("--length", metavar="N", type=int, help=f"language models: number of tokens to generate after "
                     f"the prompt (default: {DEFAULT_LM_LENGTH}; with --example, the rest of the window)")
    how.add_argument("--force", metavar="T:TOKEN", action="append", default=[], help="what-if: make output token T "
                     "(from 0) be TOKEN and let the model continue, e.g. --force 0:b or --force 3:<eos>; "
                     "repeatable (default: none)")
    how.add_argument("--device", default="cpu", help="where to run: cpu, cuda, cuda:N, mps or auto (default: cpu)")
    out = parser.add_argument_group("what to show and write")
    out.add_argument("--show", metavar="PANELS", default="", help=f"comma-separated panels to draw: {', '.join(PANELS)} "
                     "or all (attention: last layer, mean over heads; default: none, just the output and score)")
    out.add_argument("--json", metavar="FILE", help="write the whole session, every step's record, as JSON "
                     "(default: none)")
    out.add_argument("--export", metavar="DIR", help="write attention as CSV and .npy, the heatmap as SVG and the "
                     "hidden states as .npy into DIR (default: none)")


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
    if args.input is not None and args.example is not None:
        raise UserError("give either --input or --example, not both")
    if args.input is None and args.example is None:
        raise UserError("nothing to decode: give --input TEXT or --example N")
    if args.beam is not None and args.sample:
        raise UserError("choose one of --beam K and --sample")
    if not args.sample:
        for flag in ("temperature", "top_k", "top_p", "seed"):
            if getattr(args, flag) is not None:
                raise UserError(f"--{flag.replace('_', '-')} only applies with --sample")
    for flag in ("beam", "max_len", "length"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be at least 1 (got {value})")
    for spec in args.force:
        step, sep, _ = spec.partition(":")
        if not sep or not step.strip().isdigit():
            raise UserError(f"bad --force {spec!r}: expected STEP:TOKEN, e.g. 0:a (steps count from 0)")
    return panels


@dataclass
class DecodeJob:
    """Everything ``run`` decodes, resolved against the run's task and vocabularies."""

    src: Any  # PreparedText of the source, None for a language model
    prompt: Any  # PreparedText of the LM prompt, None for an encoder-decoder
    reference: Optional[list[int]]  # reference ids to score (no BOS/EOS), or None
    forced: dict[int, int]
    config: Any  # DecodeConfig
    warnings: list[str] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    """Decode as the options say, print the result and panels, write files; returns the exit code."""
    panels = check_args(args)
    from rich.console import Console

    from .decoding import DecodeSession, score_reference
    from .runs import load_run

    loaded = load_run(args.run, device=args.device)
    job = prepare_job(loaded, args)
    err = Console(stderr=True)
    for warning in job.warnings:
        err.print(_warning(warning))
    task, model = loaded.task, loaded.model
    vocab = task.tgt_vocab
    session = DecodeSession(model, job.src.ids if job.src else None, bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                            config=job.config, prompt=job.prompt.ids if job.prompt else (),
                            ban=(vocab.pad_id, vocab.bos_id), forced=job.forced, itos=vocab.itos,
                            src_itos=task.src_vocab.itos if task.src_vocab else None, history=False)
    session.run()
    score = None
    if job.reference is not None:
        score = score_reference(model, session.src, job.reference, bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                                prompt=session.prompt, ban=(vocab.pad_id, vocab.bos_id))
    from .decoding.report import Report

    report = Report(loaded, session, job, score, Console())
    report.summary()
    report.panels(panels)
    if args.json:
        report.write_json(args.json)
    if args.export:
        report.export(args.export, err)
    return 0


def _warning(message: str):
    from rich.text import Text

    return Text.assemble(("warning: ", "bold yellow"), message)


def prepare_job(loaded, args: argparse.Namespace) -> DecodeJob:
    """Tokenise and check the input, reference and forced tokens; pick lengths and the strategy."""
    from .decoding import DecodeConfig, parse_forced, prepare_text, prompt_limit, source_limit

    task, cfg = loaded.task, loaded.model.config
    is_lm = task.family == "lm"
    if not is_lm and args.length is not None:
        raise UserError("--length is for language models; use --max-len to cap an encoder-decoder's output")
    text_tokens, reference_tokens = _input_tokens(task, args)
    warnings: list[str] = []
    if is_lm:
        src, prompt = None, prepare_text(task.tgt_vocab, text_tokens, what="prompt", limit=prompt_limit(cfg))
        _note_unknown(prompt, "prompt", warnings)
    else:
        src, prompt = prepare_text(task.src_vocab, text_tokens, what="input", limit=source_limit(cfg)), None
        _note_unknown(src, "input", warnings)
    reference = None
    if reference_tokens is not None:
        ref = prepare_text(task.tgt_vocab, reference_tokens, what="reference", allow_empty=True)
        _note_unknown(ref, "reference", warnings)
        reference = ref.ids
    max_len = _max_len(task, args, len(text_tokens), reference_tokens)
    if is_lm and cfg.cell == "transformer" and len(prompt.ids) + max_len > cfg.max_len:
        warnings.append(f"generating at most {cfg.max_len - len(prompt.ids)} tokens: this transformer covers "
                        f"{cfg.max_len} positions")
    config = DecodeConfig(
        strategy="beam" if args.beam else "sample" if args.sample else "greedy", beam=args.beam or 1, alpha=args.alpha,
        max_len=max_len, temperature=1.0 if args.temperature is None else args.temperature,
        top_k=args.top_k or 0, top_p=1.0 if args.top_p is None else args.top_p, seed=args.seed or 0,
    )
    config.validate()
    forced = parse_forced(args.force, task.tokenize_tgt, task.tgt_vocab)
    return DecodeJob(src, prompt, reference, forced, config, warnings)


def _input_tokens(task, args) -> tuple[list[str], Optional[list[str]]]:
    """(input tokens, reference tokens or None) from --input/--reference or from --example."""
    reference = task.tokenize_tgt(args.reference) if args.reference is not None else None
    if args.input is not None:
        tokenize = task.tokenize_tgt if task.family == "lm" else task.tokenize_src
        return tokenize(args.input), reference
    split = "val" if task.family == "lm" else ("test" if "test" in task.split_names else task.split_names[-1])
    examples = task.examples(split)
    if not 0 <= args.example < len(examples):
        raise UserError(f"no example {args.example}: the {split} split has {len(examples)} examples "
                        f"(0..{len(examples) - 1})")
    ex = examples[args.example]
    if task.family == "lm":
        cut = max(1, len(ex.tgt) // 2)
        return list(ex.tgt[:cut]), reference if reference is not None else list(ex.tgt[cut:])
    return list(ex.src), reference if reference is not None else list(ex.tgt)


def _max_len(task, args, input_len: int, reference: Optional[list[str]]) -> int:
    if task.family == "lm":
        if args.length is not None:
            return args.length
        if args.max_len is not None:
            return args.max_len
        return len(reference) if args.example is not None and reference else DEFAULT_LM_LENGTH
    if args.max_len is not None:
        return args.max_len
    longest = max(task.max_target_len(split) for split in task.split_names)
    return 2 * max(longest, input_len, len(reference or ())) + 10


def _note_unknown(prepared, what: str, warnings: list[str]) -> None:
    if prepared.unknown:
        shown = ", ".join(repr(t) for t in prepared.unknown[:10])
        more = f" and {len(prepared.unknown) - 10} more" if len(prepared.unknown) > 10 else ""
        warnings.append(f"{what} tokens not in the vocabulary, decoded as <unk>: {shown}{more}")
