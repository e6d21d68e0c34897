"""The ``seqbench`` command: the app, plus train / decode / inspect / runs / tasks / data from the shell.

Only argparse is imported at start-up so ``--help`` answers at once; each command imports torch
and friends when it runs. Errors a user can fix print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from models.names import ATTENTIONS, CELLS, CONTEXT_MODES, POSITIONS

from .defaults import TASK_DEFAULTS
from .tasks.catalog import TASK_NAMES

EPILOG = """\
examples:
  seqbench                                      open the app (launcher -> live training -> inspector)
  seqbench train --task reverse                 train the task's default model, headless
  seqbench train --task reverse --arch gru --attention additive --steps 800
  seqbench train --task charlm --data my.txt    a character language model on your own text
  seqbench train --resume runs/reverse-gru-general-...   continue a run
  seqbench decode RUN --input "abc" --show attention,beams --beam 5
  seqbench inspect RUN                          step through decoding in the inspector
  seqbench runs                                 list saved runs
"""


def _per_task(section: str, key: str, fmt: str = "{}") -> str:
    seen: dict[str, list[str]] = {}
    for task in TASK_NAMES:
        value = TASK_DEFAULTS[task].get(section, {}).get(key)
        if value is not None:
            seen.setdefault(fmt.format(value), []).append(task)
    return "; ".join(f"{'/'.join(tasks)} {value}" for value, tasks in seen.items())


# flag -> (dest key "section.key", type, help); argparse keeps the text, workbench.config checks it,
# so a flag, --set and --config refuse a value with the same line
TRAIN_OPTIONS: list[tuple[str, str, type, str]] = [
    ("--task", "task.name", str, f"task to learn: {', '.join(TASK_NAMES)} (default: reverse; see `seqbench tasks`)"),
    ("--data", "task.data", str, "data file: UTF-8 text for charlm, source<TAB>target lines for tsv (default: bundled sample data)"),
    ("--tokens", "task.tokens", str, "tsv tokenisation: char, word or subword (SentencePiece, trained on the training split) (default: tsv subword, numbers word, dates char)"),
    # parallel files (dates/numbers/tsv), issue 12
    ("--columns", "task.columns", str, "the source and target columns of a TSV with more than two, e.g. 1,2 for Tatoeba's export (default: exactly two columns)"),
    ("--val-data", "task.val_data", str, "held-out file for validation (default: sources of --data held out)"),
    ("--test-data", "task.test_data", str, "held-out file for test (default: sources of --data held out)"),
    ("--normalize", "task.normalize", str, "spaces: no-break and other Unicode spaces become plain spaces, runs collapse; none: text as written (default: spaces)"),
    ("--max-src-len", "task.max_src_len", int, "drop and report pairs whose source has more tokens, 0 = no limit (default: 256)"),
    ("--max-tgt-len", "task.max_tgt_len", int, "drop and report pairs whose target has more tokens, 0 = no limit (default: 256)"),
    ("--vocab-size", "task.vocab_size", int, "tokens per side, specials included: subword pieces to learn (default 2000), char/word: keep the most frequent (default: all)"),
    ("--min-freq", "task.min_freq", int, "char/word: tokens seen fewer times in training become <unk> (default: 1)"),
    ("--subword-model", "task.subword_model", str, "SentencePiece model for --tokens subword: unigram or bpe (default: unigram)"),
    ("--arch", "model.cell", str, f"cell: {', '.join(CELLS)} (default: {_per_task('model', 'cell')})"),
    ("--attention", "model.attention", str, f"encoder-decoder attention: {', '.join(ATTENTIONS)} (default: {_per_task('model', 'attention')})"),
    ("--context", "model.context", str, f"without attention, use the context c as the decoder's initial state or as input at every step: {', '.join(CONTEXT_MODES)} (default: init)"),
    ("--positions", "model.positions", str, f"Transformer positions: {', '.join(POSITIONS)} (default: sinusoidal)"),
    ("--layers", "model.layers", int, "layers in encoder and decoder (default: 1; charlm 2)"),
    ("--hidden", "model.hidden", int, f"hidden width (default: {_per_task('model', 'hidden')})"),
    ("--emb", "model.emb_dim", int, f"embedding width; a Transformer's is --hidden (default: {_per_task('model', 'emb_dim')})"),
    ("--heads", "model.heads", int, "attention heads for multihead / transformer (default: 4)"),
    ("--dropout", "model.dropout", float, "dropout on embeddings and between layers (default: 0)"),
    ("--steps", "train.steps", int, f"optimiser steps (default: {_per_task('train', 'steps')})"),
    ("--batch-size", "train.batch_size", int, f"sequences per step (default: {_per_task('train', 'batch_size')})"),
    ("--lr", "train.lr", float, f"peak learning rate, AdamW (default: {_per_task('train', 'lr', '{:g}')})"),
    ("--warmup", "train.warmup", int, "linear warm-up steps before the cosine decay (default: 100; charlm 50)"),
    ("--clip", "train.clip", float, "gradient-norm clipping, 0 = off (default: 1.0)"),
    ("--label-smoothing", "train.label_smoothing", float, f"cross-entropy label smoothing (default: 0; {_per_task('train', 'label_smoothing', '{:g}')})"),
    ("--teacher-forcing", "train.teacher_forcing", float, "probability of feeding the reference token; below 1 is scheduled sampling (default: 1.0)"),
    ("--eval-every", "train.eval_every", int, "evaluate and checkpoint every N steps (default: 250)"),
    ("--seed", "train.seed", int, "random seed for weights, data and sampling (default: 0)"),
    ("--device", "train.device", str, "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps (default: auto)"),
    ("--threads", "train.threads", int, "CPU threads for torch, 0 = automatic (default: 0)"),
    ("--max-seconds", "train.max_seconds", float, "stop after this many seconds of training in this session, 0 = no limit; "
                                                "a resumed run trains up to this long again (default: 0)"),
]


def _with_allowed(text: str, dest: str, typ: type) -> str:
    """A number option's help with the range its field declares: '... (an integer >= 1; default: 250)'."""
    if typ is str:
        return text  # the help lists the choices already
    from .config import allowed_for

    section, _, key = dest.partition(".")
    return text.replace("(default: ", f"({allowed_for(section, key).describe()}; default: ", 1)


STR_METAVARS = {"--data": "FILE", "--val-data": "FILE", "--test-data": "FILE", "--columns": "SRC,TGT",
                "--normalize": "MODE", "--subword-model": "KIND", "--tokens": "UNIT", "--arch": "CELL", "--attention": "KIND", "--context": "MODE"}


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model headless, with a progress bar",
                       description="Train a model on a task and save it as a run directory. Every option "
                                   "overrides the task's solving default; --config reads a TOML file with "
                                   "[task], [model] and [train] tables (the same keys as a run's config.toml).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, dest, typ, text in TRAIN_OPTIONS:
        metavar = {int: "N", float: "X"}.get(typ) or STR_METAVARS.get(flag, flag.strip("-").upper())
        p.add_argument(flag, dest=dest, default=None, help=_with_allowed(text, dest, typ), metavar=metavar)
    p.add_argument("--bidirectional", dest="model.bidirectional", action=argparse.BooleanOptionalAction, default=None,
                   help="bidirectional RNN encoder (default: on for the synthetic and translation tasks)")
    p.add_argument("--tensorboard", dest="train.tensorboard", action="store_true", default=None,
                   help="also write TensorBoard event files into the run (needs: pip install 'seqbench[tensorboard]')")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="set any config key, e.g. --set model.local_window=3 (repeatable)")
    p.add_argument("--config", metavar="FILE", help="TOML file with [task], [model], [train] tables (default: none)")
    p.add_argument("--out", metavar="DIR", help="run directory to create (default: runs/<task>-<arch>-<time>)")
    p.add_argument("--runs-dir", metavar="DIR", help="where new runs go (default: $SEQBENCH_RUNS or ./runs)")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint; it may change only --steps "
                                                   "(raises the total), --eval-every, --device, --threads, "
                                                   "--max-seconds and --tensorboard (default: a new run)")
    p.add_argument("--quiet", action="store_true", help="no progress bar; print evaluations and the summary only")
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train on N processes of this machine with torchrun and DistributedDataParallel; "
                        "--batch-size is the global batch, split across them (default: 1)")


SERVE_EPILOG = """\
examples:
  seqbench serve                                open http://127.0.0.1:8000 in a browser on this machine
  seqbench serve --root ~/corpora --port 8080   data files and runs only under ~/corpora
  seqbench serve --host 0.0.0.0                 reachable from other machines (no login: warns)

Each tab runs its own app process; closing the tab is closing the terminal: a live run is saved
and the process ends. Beyond --max-sessions tabs, a tab is told the server is busy.
"""


def _add_serve(sub) -> None:
    from .serve import DEFAULT_HOST, DEFAULT_MAX_SESSIONS, DEFAULT_PORT

    p = sub.add_parser("serve", help="serve the app to a web browser (this machine only by default)",
                       description="Serve the app to web browsers with textual-serve: every tab gets its own "
                                   "app, confined to one directory for data files and runs.",
                       epilog=SERVE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on; anything but a loopback address warns (default: {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N", help=f"TCP port (default: {DEFAULT_PORT})")
    p.add_argument("--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS, metavar="N",
                   help=f"tabs (app processes) at once; more are refused (default: {DEFAULT_MAX_SESSIONS})")
    p.add_argument("--root", metavar="DIR", help="the only directory the app may read data files from and "
                                                 "keep runs in (default: the current directory)")
    p.add_argument("--runs-dir", metavar="DIR", help="runs directory, inside --root (default: ROOT/runs)")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors (unknown flag, missing value) as one line like every other mistake."""

    def error(self, message: str):
        self.exit(2, f"seqbench: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="seqbench",
        description="seqbench: train sequence models live and step through their decoding. "
                    "Run without a command to open the app.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", dest="app_runs_dir", metavar="DIR", help="runs directory for the app (default: $SEQBENCH_RUNS or ./runs)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(sub)
    p = sub.add_parser("decode", help="decode with a trained run and show attention, beams, probabilities",
                       description="Decode an input with a saved run: greedy, beam or sampling, with what-if forcing, "
                                   "teacher-forced scoring and drawings of attention, beams and hidden states.")
    p.add_argument("run", metavar="RUN", nargs="?", help="run directory (see `seqbench runs`); with --replay, "
                   "default: the recorded run")
    from .decode_cli import add_arguments

    add_arguments(p)
    p = sub.add_parser("compare", help="the same inputs through several runs: aligned outputs, where they part",
                       description="Decode the same input (or a whole split) with two or more runs of one task and "
                                   "show where their outputs part, what each weighed there, and which examples one "
                                   "run gets right and another does not.")
    from .compare_cli import add_arguments as add_compare

    add_compare(p)
    p = sub.add_parser("errors", help="where greedy decoding first goes wrong over a split, and what beam changes",
                       description="For every example of a split: the step where free-running greedy decoding "
                                   "first leaves the reference, as histograms by step and by input length, the "
                                   "reference token's rank there, the commonest confusions, and with --beam where "
                                   "beam search changes the answer and whether for the better.")
    from .failures_cli import add_arguments as add_errors

    add_errors(p)
    p = sub.add_parser("ablate", help="zero each hidden unit or attention head over a split, rank by the damage",
                       description="Zero each hidden unit of every decoder layer (or each attention head) in turn "
                                   "over a split and rank them by how much the loss rises and exact match falls: "
                                   "a causal importance map beside the attention and hidden-state views.")
    from .ablate_cli import add_arguments as add_ablate

    add_ablate(p)
    p = sub.add_parser("units", help="where in a split a hidden unit is most on, with the tokens around it",
                       description="Read a split teacher-forced and show where each chosen decoder hidden unit is "
                                   "most on, with the tokens around each peak coloured by the unit's value: test a "
                                   "hypothesis such as 'this unit tracks quotes' (LSTMVis's idea).")
    from .units_cli import add_arguments as add_units

    add_units(p)
    p = sub.add_parser("lengths", help="exact match and attention sharpness by source length, runs side by side",
                       description="How far each run carries past the lengths it trained on: greedy exact match and "
                                   "the cross-attention's entropy for every source length of the test and long "
                                   "splits, one column pair per run (compare positional schemes, say).")
    from .lengths_cli import add_arguments as add_lengths

    add_lengths(p)
    p = sub.add_parser("inspect", help="open the inspector on a run: step through decoding in the terminal",
                       description="Open the inspector on a saved run: step through decoding token by token with "
                                   "the alignment heatmap, hidden states and gates, beam candidates and next-token "
                                   "probabilities.")
    p.add_argument("run", metavar="RUN", help="run directory (see `seqbench runs`)")
    p.add_argument("--input", help="source text (a prompt for a language model) to start with "
                                   "(default: the first test example)")
    p = sub.add_parser("runs", help="list saved runs", description="List runs with task, architecture, steps and best metric.")
    p.add_argument("--runs-dir", metavar="DIR", help="runs directory (default: $SEQBENCH_RUNS or ./runs)")
    sub.add_parser("tasks", help="list tasks and their default models", description="List tasks, what they are, and their defaults.")
    _add_serve(sub)
    p = sub.add_parser("data", help="regenerate the bundled sample corpora", description="Data utilities.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    m = dsub.add_parser("make", help="regenerate dates.tsv and numbers.tsv", description="Regenerate the sample corpora deterministically.")
    m.add_argument("--out", default="sample_data", help="output directory (default: sample_data)")
    return parser


def _overrides(args) -> dict:
    out = {k: v for k, v in vars(args).items() if "." in k and v is not None}
    from .errors import UserError

    for item in args.sets:
        key, eq, value = item.partition("=")
        if not eq or "." not in key:
            raise UserError(f"--set expects SECTION.KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import UserError

    try:
        if args.command == "train":
            from .train_cli import run_train

            args.argv = list(sys.argv[1:] if argv is None else argv)  # --nproc launches this command again
            return run_train(args, _overrides(args))
        if args.command == "decode":
            from .decode_cli import run

            return run(args)
        if args.command in ("compare", "errors", "ablate", "units", "lengths"):
            _refuse_encoder_runs(args)
        if args.command == "compare":
            from .compare_cli import run as run_compare

            return run_compare(args)
        if args.command == "errors":
            from .failures_cli import run as run_errors

            return run_errors(args)
        if args.command == "ablate":
            from .ablate_cli import run as run_ablate

            return run_ablate(args)
        if args.command == "units":
            from .units_cli import run as run_units

            return run_units(args)
        if args.command == "lengths":
            from .lengths_cli import run as run_lengths

            return run_lengths(args)
        if args.command == "inspect":
            from .runs import check_run_dir
            from .tui.screens.inspector import run_inspector

            return run_inspector(check_run_dir(args.run), args.input)
        if args.command == "runs":
            from .train_cli import print_runs

            return print_runs(args.runs_dir)
        if args.command == "tasks":
            from .train_cli import print_tasks

            return print_tasks()
        if args.command == "serve":
            from .tui.web_server import run_serve

            return run_serve(args)
        if args.command == "data":
            from .tasks.make_data import make_sample_data
            from pathlib import Path

            for path in make_sample_data(Path(args.out)):
                sys.stdout.write(f"wrote {path}\n")
            return 0
        from .app_entry import run_app

        return run_app(args.app_runs_dir)
    except UserError as exc:
        sys.stderr.write(f"seqbench: error: {exc}\n")
        return 2
    except OSError as exc:  # the file system refused (disk full, permissions): not a bug to trace
        sys.stderr.write(f"seqbench: error: {exc}\n")
        return 1
    except KeyboardInterrupt:  # Ctrl+C: the user asked to stop, not for a traceback
        return 130


def _refuse_encoder_runs(args) -> None:
    """These commands study decoding steps; an encoder run (tags, classes, masks) has none: say so plainly."""
    from .errors import UserError
    from .runs import check_run_dir, load_config

    for run in [getattr(args, "run", None), *(getattr(args, "runs", None) or [])]:
        if isinstance(run, str) and run and load_config(check_run_dir(run)).model.family == "encoder":
            raise UserError(f"seqbench {args.command} studies decoding steps, and {run} is an encoder run "
                            "(tagging, classification or masked LM); use seqbench decode or inspect on it")


def entry() -> None:
    code = main()
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the work is done: a late Ctrl+C must not kill a clean exit
    sys.exit(code)


if __name__ == "__main__":
    entry()
