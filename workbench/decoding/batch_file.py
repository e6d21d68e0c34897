"""Decoding a file of sources with one loaded run: ``seqbench decode RUN --input-file FILE``.

The run is loaded once (without its training file: the vocabularies, tokenisers and weights are
in the run), the lines are sorted by length and decoded in batches, and the outputs come back in
input order. Greedy decoding goes through ``greedy_decode_batch``; beam search and sampling run one
``DecodeSession`` per line on the same model (nothing is reloaded). A greedy line gives the same
output here as ``seqbench decode RUN --input LINE``: the same tokens, log-probability and length
rule (an automatic ``--max-len`` follows the longest target the run saw and the line's length).

    decoder = FileDecoder(loaded.task, loaded.model, DecodeConfig(), batch_size=64, max_len=None)
    results = decoder.decode(lines, advance=lambda n: ...)   # one Decoded per line, in order
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Optional

import torch

from ..errors import DataError, UserError
from .batch import greedy_decode_batch
from .file_output import decode_with_progress, input_warnings, write_output
from .job import INPUT_FACTOR, MIN_INPUT_LIMIT
from .session import DecodeConfig, DecodeSession

SYNTHETIC = ("copy", "reverse", "sort")  # generated tasks: their text is not normalised on reading


@dataclass
class Decoded:
    """One input line's result."""

    line: int  # 1-based line number in the input
    source: str  # the line as read (stripped)
    output: str  # detokenised best output ("" for an empty line)
    logprob: float  # log-probability of the output, <eos> included
    tokens: int  # output tokens, <eos> excluded
    status: str  # eos | max_len | empty

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Prepared:
    """The lines as ids, with what a user should hear about them."""

    ids: list[Optional[list[int]]]  # None for an empty line
    unknown: Counter = field(default_factory=Counter)  # out-of-vocabulary token -> lines it appeared on
    cut: list[int] = field(default_factory=list)  # lines cut to the input limit


def read_lines(path: str) -> list[str]:
    """The lines of ``path`` (``-``: standard input), without line ends; UserError when unusable."""
    if path == "-":
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DataError(f"stdin:{line}: not UTF-8 (byte 0x{data[exc.start]:02x})") from None
        if not text.strip():
            raise DataError("stdin: no input lines")
    else:
        from ..tasks.readers import read_text

        text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line, it does not start another
    return [line.rstrip("\r") for line in lines]


def read_references(paths: list[str], n_lines: int) -> list[tuple[str, ...]]:
    """Per input line, its references: line i of every file (several files = several references)."""
    files = [read_lines(p) for p in paths]
    for path, lines in zip(paths, files):
        if len(lines) != n_lines:
            raise DataError(f"{path}: has {len(lines):,} lines but the input has {n_lines:,}; "
                            "a reference file needs one line per input line")
    return [tuple(f[i].strip() for f in files) for i in range(n_lines)]


class FileDecoder:
    """Decodes many sources (prompts, for a language model) with one task and model."""

    def __init__(self, task: Any, model: Any, config: DecodeConfig, *, batch_size: int = 64,
                 max_len: Optional[int] = None):
        """``max_len``: most output tokens per line (None: automatic, per line)."""
        config.validate()
        self.task, self.model, self.config, self.batch_size = task, model, config, batch_size
        self.requested_max_len = max_len
        self.lm = task.family == "lm"
        self.vocab = task.tgt_vocab if self.lm else task.src_vocab
        self.tokenize = task.tokenize_tgt if self.lm else task.tokenize_src
        self.limit = self._input_limit()
        self.longest_target = self._longest_target()

    # ---- limits ------------------------------------------------------------------------------------

    def _report_lengths(self, side: str) -> int:
        report = getattr(self.task, "report", None)
        return int(getattr(report, f"{side}_lengths", (0, 0, 0))[2]) if report is not None else 0

    def _input_limit(self) -> int:
        """Most input tokens: the model's own limit, else a multiple of the longest training input."""
        caps = self.model.capabilities
        own = caps.max_positions - 1 if self.lm and caps.max_positions else caps.max_source_len
        longest = self._report_lengths("src")  # a corpus's report: no need to read its examples
        if not self.lm and not longest:
            longest = max((len(ex.src) for s in self.task.split_names for ex in self.task.examples(s)), default=0)
        task_limit = max(INPUT_FACTOR * longest, MIN_INPUT_LIMIT)
        return min(own, task_limit) if own else task_limit

    def _longest_target(self) -> int:
        known = max((self.task.max_target_len(s) for s in self.task.split_names), default=0)
        return max(known, self._report_lengths("tgt"))

    def max_len(self, n_input: int) -> int:
        """Most output tokens for an input of ``n_input`` tokens (the same rule as ``seqbench decode``)."""
        if self.requested_max_len is not None:
            wanted = self.requested_max_len
        else:
            wanted = 100 if self.lm else 2 * max(self.longest_target, n_input) + 10
        positions = self.model.capabilities.max_positions  # as a session caps it
        return max(1, min(wanted, positions - (n_input if self.lm else 0))) if positions is not None else wanted

    # ---- preparing ---------------------------------------------------------------------------------

    def _clean(self, line: str) -> str:
        if self.lm or self.task.name in SYNTHETIC or getattr(self.task.config, "normalize", "") != "spaces":
            return line.strip()
        from ..tasks.parallel import normalize_spaces

        return normalize_spaces(line, Counter())

    def prepare(self, lines: list[str]) -> Prepared:
        """Tokenise and encode every line; UserError naming the line when a token cannot be encoded."""
        out = Prepared([])
        unk = getattr(self.vocab, "unk_id", None)
        for number, line in enumerate(lines, start=1):
            text = self._clean(line)
            if not text:
                out.ids.append(None)
                continue
            tokens = self.tokenize(text)
            unknown = self.vocab.unknown(tokens)
            if unknown and unk is None:
                raise UserError(f"line {number}: tokens outside the vocabulary and no <unk> to map them to: "
                                f"{', '.join(map(repr, unknown[:5]))}")
            out.unknown.update(unknown)
            if len(tokens) > self.limit:
                tokens = tokens[: self.limit]
                out.cut.append(number)
            out.ids.append(self.vocab.encode(tokens))
        return out

    # ---- decoding ----------------------------------------------------------------------------------

    def decode(self, lines: list[str], prepared: Optional[Prepared] = None,
               advance: Callable[[int], None] = lambda n: None) -> list[Decoded]:
        """One ``Decoded`` per line, in input order; ``advance(n)`` is called as n more lines are done."""
        prepared = prepared or self.prepare(lines)
        results: list[Optional[Decoded]] = [None] * len(lines)
        todo = []
        for i, ids in enumerate(prepared.ids):
            if ids is None:
                results[i] = Decoded(i + 1, lines[i].strip(), "", 0.0, 0, "empty")
            else:
                todo.append(i)
        advance(len(lines) - len(todo))
        todo.sort(key=lambda i: len(prepared.ids[i]))  # similar lengths share a batch: little padding
        batched = self.config.strategy == "greedy" and not self.lm
        step = self.batch_size if batched else 1
        for start in range(0, len(todo), step):
            rows = todo[start: start + step]
            outs = self._greedy(rows, prepared) if batched else [self._session(prepared.ids[rows[0]])]
            for i, (ids, logprob, status) in zip(rows, outs):
                text = self.task.detokenize(self.task.tgt_vocab.decode(ids))
                results[i] = Decoded(i + 1, lines[i].strip(), text, logprob, len(ids), status)
            advance(len(rows))
        return results  # type: ignore[return-value]

    def _greedy(self, rows: list[int], prepared: Prepared) -> list[tuple[list[int], float, str]]:
        """Greedy-decode the ``rows`` (line indices) as one padded batch."""
        seqs = [prepared.ids[i] for i in rows]
        limits = [self.max_len(len(s)) for s in seqs]
        width = max(len(s) for s in seqs)
        pad = self.task.tgt_vocab.pad_id
        src = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], dtype=torch.long)  # (B, S)
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)  # (B,)
        v = self.task.tgt_vocab
        logprobs: list[float] = []
        outs = greedy_decode_batch(self.model, src, lengths, bos_id=v.bos_id, eos_id=v.eos_id, max_len=max(limits),
                                   ban=(v.pad_id, v.bos_id), logprobs=logprobs, row_max_len=limits)
        return [(o, lp, "max_len" if len(o) >= lim else "eos") for o, lp, lim in zip(outs, logprobs, limits)]

    def _session(self, ids: list[int]) -> tuple[list[int], float, str]:
        """One line through a ``DecodeSession`` (beam search, sampling, a language model)."""
        v = self.task.tgt_vocab
        config = replace(self.config, max_len=self.max_len(len(ids)))
        src, prompt = (None, ids) if self.lm else (ids, ())
        session = DecodeSession(self.model, src, bos_id=v.bos_id, eos_id=v.eos_id, config=config, prompt=prompt,
                                ban=(v.pad_id, v.bos_id), history=False)
        session.run()
        best = session.result()[0]
        tokens = [t for t in best.tokens if t != v.eos_id]
        return tokens, best.logprob, "eos" if best.status == "eos" else "max_len"


# ---- the command ---------------------------------------------------------------------------------

FORMATS = ("text", "tsv", "jsonl")


def format_results(results: list[Decoded], fmt: str) -> str:
    """The outputs as text: one per line (text), or with the source and scores (tsv, jsonl)."""
    import json

    def flat(text: str) -> str:  # one result per line, whatever the model produced
        return text.replace("\r", " ").replace("\n", " ").replace("\t", " ")

    if fmt == "jsonl":
        return "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in results)
    if fmt == "tsv":
        head = "line\tsource\toutput\tlogprob\ttokens\tstatus\n"
        return head + "".join(f"{r.line}\t{flat(r.source)}\t{flat(r.output)}\t{r.logprob:.4f}\t{r.tokens}\t{r.status}\n"
                              for r in results)
    return "".join(flat(r.output) + "\n" for r in results)


def run_file(args: Any, make_config: Callable[[Any], DecodeConfig]) -> int:
    """``seqbench decode RUN --input-file FILE``: decode every line, write the outputs, print scores;
    ``make_config(train_config)`` is how to decode, given the run's own default (its TrainConfig)."""
    import time

    from rich.console import Console
    from rich.text import Text

    from ..runs import load_run

    err = Console(stderr=True)
    lines = read_lines(args.input_file)
    references = read_references(args.references, len(lines)) if args.references else None
    loaded = load_run(args.run, device=args.device)
    if loaded.task.family == "encoder":  # tags, a class or masks filled per line: no decoding steps
        from .encoder_file import run_encoder_file

        return run_encoder_file(args, loaded, lines, err)
    config = make_config(loaded.config.train)
    decoder = FileDecoder(loaded.task, loaded.model, config, batch_size=args.batch_size,
                          max_len=args.length if loaded.task.family == "lm" and args.length else args.max_len)
    prepared = decoder.prepare(lines)
    for warning in _warnings(prepared, decoder):
        err.print(Text.assemble(("warning: ", "bold yellow"), warning))
    start = time.perf_counter()
    results = decode_with_progress(decoder, lines, prepared, err)
    seconds = time.perf_counter() - start
    write_output(args.output, format_results(results, args.format))
    how = f"beam {config.beam}" if config.strategy == "beam" else config.strategy
    err.print(Text(f"decoded {len(lines):,} lines in {seconds:.1f} s ({how})"
                   + (f", wrote {args.output}" if args.output else ""), style="dim"))
    if references is not None:
        _print_scores(err, [r.output for r in results], references)
    return 0


def _warnings(prepared: Prepared, decoder: FileDecoder) -> list[str]:
    return input_warnings(prepared, f"their first {decoder.limit} tokens", "decoded as <unk>")


def _print_scores(err, hyps: list[str], references: list[tuple[str, ...]]) -> None:
    from rich.text import Text

    from ..tasks.scoring import translation_scores

    metrics, signatures = translation_scores(hyps, references)
    width = len(references[0]) if references else 0
    err.print(Text.assemble(("BLEU ", "bold"), f"{metrics['bleu']:.2f}", ("  chrF ", "bold"), f"{metrics['chrf']:.2f}",
                            ("  exact match ", "bold"), f"{100 * metrics['exact_match']:.1f}%",
                            (f"  ({len(hyps):,} lines, {width} reference{'s' if width != 1 else ''} each)", "dim")))
    err.print(Text(f"sacreBLEU {signatures['bleu']} · {signatures['chrf']}", style="dim"))
