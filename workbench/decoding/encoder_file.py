"""Encoding a file of inputs with one loaded encoder run: ``seqbench decode RUN --input-file FILE``.

The encoder family's share of ``batch_file``: the run is loaded once, the lines are sorted by length
and encoded in padded batches through the fused training path, and the results come back in input
order. What a line gives is what ``seqbench decode RUN --input LINE`` prints for it:

    tag       a tag per token, with its probability
    classify  one label, with its probability
    mlm       the text with every mask (``_`` or ``[MASK]``) filled by iterative unmasking: each row of
              a batch fills its most confident remaining mask, is re-encoded, and so on (``encoding.unmask``
              one row at a time)

    decoder = EncoderFileDecoder(loaded.task, loaded.model, batch_size=64)
    results = decoder.decode(lines)      # one Encoded per line, in order
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

import torch

from ..errors import UserError
from .encoding import typed_tokens
from .file_output import decode_with_progress, input_warnings, line_numbers, write_output


@dataclass
class Encoded:
    """One input line's result: ``output`` is the tags, the label or the filled text."""

    line: int  # 1-based line number in the input
    source: str  # the line as read (stripped)
    output: str  # tags joined by spaces, the label, or the filled text ("" for an empty line)
    probs: list[float]  # a probability per tag, the label's, or each filled mask's (in input order)
    tokens: int  # input tokens read
    status: str  # ok | empty | no mask (a masked-LM line without _ or [MASK])

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "probs": [round(p, 6) for p in self.probs]}


@dataclass
class EncoderPrepared:
    """The lines as ids (None for an empty line), their mask positions, and what a user should hear."""

    ids: list[Optional[list[int]]]
    masks: list[list[int]] = field(default_factory=list)
    unknown: Counter = field(default_factory=Counter)  # out-of-vocabulary token -> lines it appeared on
    cut: list[int] = field(default_factory=list)  # lines cut to the model's input limit
    no_mask: list[int] = field(default_factory=list)  # masked-LM lines with nothing to fill


class EncoderFileDecoder:
    """Tags, classifies or fills in many lines with one encoder task and model."""

    def __init__(self, task: Any, model: Any, *, batch_size: int = 64):
        from ..tasks.vocab import SPECIALS

        self.task, self.model, self.batch_size = task, model, batch_size
        self.head = model.capabilities.head
        self.limit = model.capabilities.max_source_len  # None: a recurrent encoder reads any length
        self.skip = len(SPECIALS) + (1 if self.head == "mlm" else 0)  # never predict a special or [MASK]

    def prepare(self, lines: list[str]) -> EncoderPrepared:
        """Tokenise and encode every line (``_`` / ``[MASK]`` are masks for a masked LM)."""
        out = EncoderPrepared([])
        vocab = self.task.src_vocab
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            tokens, masks = typed_tokens(self.task, text) if self.head == "mlm" else (self.task.tokenize_src(text), [])
            if not tokens:
                out.ids.append(None)
                out.masks.append([])
                continue
            unknown = vocab.unknown(tokens)
            if unknown and getattr(vocab, "unk_id", None) is None:
                raise UserError(f"line {number}: tokens outside the vocabulary and no <unk> to map them to: "
                                f"{', '.join(map(repr, unknown[:5]))}")
            out.unknown.update(unknown)
            if self.limit is not None and len(tokens) > self.limit:
                tokens, masks = tokens[: self.limit], [m for m in masks if m < self.limit]
                out.cut.append(number)
            if self.head == "mlm" and not masks:
                out.no_mask.append(number)
            out.ids.append(vocab.encode(tokens))
            out.masks.append(masks)
        return out

    def decode(self, lines: list[str], prepared: Optional[EncoderPrepared] = None,
               advance: Callable[[int], None] = lambda n: None) -> list[Encoded]:
        """One ``Encoded`` per line, in input order; ``advance(n)`` is called as n more lines are done."""
        prepared = prepared or self.prepare(lines)
        results: list[Optional[Encoded]] = [None] * len(lines)
        todo = [i for i, ids in enumerate(prepared.ids) if ids is not None]
        for i in set(range(len(lines))) - set(todo):
            results[i] = Encoded(i + 1, lines[i].strip(), "", [], 0, "empty")
        advance(len(lines) - len(todo))
        todo.sort(key=lambda i: len(prepared.ids[i]))  # similar lengths share a batch: little padding
        for start in range(0, len(todo), self.batch_size):
            rows = todo[start: start + self.batch_size]
            for i, (output, probs) in zip(rows, self._batch([prepared.ids[i] for i in rows],
                                                            [prepared.masks[i] for i in rows])):
                status = "no mask" if self.head == "mlm" and not prepared.masks[i] else "ok"
                results[i] = Encoded(i + 1, lines[i].strip(), output, probs, len(prepared.ids[i]), status)
            advance(len(rows))
        return results  # type: ignore[return-value]

    @torch.no_grad()
    def _logits(self, src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Probabilities (B, S|1, V) of the padded batch ``src`` (B, S), the model in eval mode."""
        self.model.eval()
        device = self.model.device
        return self.model(src.to(device), lengths.to(device), None).float().softmax(-1).cpu()

    def _batch(self, seqs: list[list[int]], masks: list[list[int]]) -> list[tuple[str, list[float]]]:
        """(output text, probabilities) for each of a batch's rows."""
        pad = self.task.src_vocab.pad_id
        width = max(len(s) for s in seqs)
        src = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], dtype=torch.long)  # (B, S)
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)  # (B,)
        if self.head == "mlm":
            return self._unmask(src, lengths, masks)
        best, index = self._logits(src, lengths)[:, :, self.skip:].max(-1)  # (B, S|1) each
        itos = self.task.tgt_vocab.itos
        out = []
        for row, n in enumerate(lengths.tolist()):
            n = n if self.head == "tag" else 1
            labels = [itos[int(j) + self.skip] for j in index[row, :n]]
            out.append((" ".join(labels), best[row, :n].tolist()))
        return out

    def _unmask(self, src: torch.Tensor, lengths: torch.Tensor,
                masks: list[list[int]]) -> list[tuple[str, list[float]]]:
        """Iterative unmasking of every row at once: each fills its most confident open mask per round."""
        left = torch.zeros(src.shape, dtype=torch.bool)  # (B, S) masks not yet filled
        for row, positions in enumerate(masks):
            left[row, positions] = True
        filled_prob = torch.zeros(src.shape)  # (B, S)
        rows = torch.arange(src.shape[0])
        while left.any():
            best, index = self._logits(src, lengths)[:, :, self.skip:].max(-1)  # (B, S) each
            pick = best.masked_fill(~left, -1.0).argmax(1)  # (B,) ties: the first position, as unmask()
            active = left.any(1)  # (B,) rows with a mask still open
            r, p = rows[active], pick[active]
            src[r, p] = index[r, p] + self.skip
            filled_prob[r, p] = best[r, p]
            left[r, p] = False
        out = []
        itos = self.task.src_vocab.itos
        for row, n in enumerate(lengths.tolist()):
            tokens = [itos[int(i)] for i in src[row, :n]]
            out.append((self.task.detokenize_src(tokens), [float(filled_prob[row, m]) for m in masks[row]]))
        return out


# ---- output ----------------------------------------------------------------------------------------

def format_encoded(results: list[Encoded], fmt: str, head: str) -> str:
    """text: one output per line (tags, label or filled text); tsv: with the source and probabilities;
    jsonl: the same as JSON lines."""
    def flat(text: str) -> str:
        return text.replace("\r", " ").replace("\n", " ").replace("\t", " ")

    if fmt == "jsonl":
        return "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in results)
    if fmt == "tsv":
        column = {"tag": "tags", "classify": "label", "mlm": "filled"}[head]
        rows = "".join(f"{r.line}\t{flat(r.source)}\t{flat(r.output)}\t{' '.join(f'{p:.4f}' for p in r.probs)}"
                       f"\t{r.tokens}\t{r.status}\n" for r in results)
        return f"line\tsource\t{column}\tprob\ttokens\tstatus\n" + rows
    return "".join(flat(r.output) + "\n" for r in results)


def encoder_warnings(prepared: EncoderPrepared, limit: Optional[int]) -> list[str]:
    """What a user should hear before the outputs: cut, unknown, empty and mask-less lines."""
    out = input_warnings(prepared, f"the model's {limit} positions", "read as <unk>")
    if prepared.no_mask:
        out.append(f"{len(prepared.no_mask):,} lines have no mask to fill (write _ or [MASK]; lines "
                   f"{line_numbers(prepared.no_mask)})")
    return out


def run_encoder_file(args: Any, loaded: Any, lines: list[str], err: Any) -> int:
    """``seqbench decode RUN --input-file FILE`` for an encoder run: every line's tags, label or filled text."""
    import time

    from rich.text import Text

    gives = {"tag": "tags", "classify": "a label", "mlm": "its masks filled"}[loaded.model.capabilities.head]
    for flag in ("references", "beam", "greedy", "sample", "max_len", "length"):
        if getattr(args, flag, None):
            raise UserError(f"--{flag.replace('_', '-')} is for decoders; an encoder run gives {gives} per line")
    decoder = EncoderFileDecoder(loaded.task, loaded.model, batch_size=args.batch_size)
    prepared = decoder.prepare(lines)
    for warning in encoder_warnings(prepared, decoder.limit):
        err.print(Text.assemble(("warning: ", "bold yellow"), warning))
    start = time.perf_counter()
    results = decode_with_progress(decoder, lines, prepared, err)
    seconds = time.perf_counter() - start
    write_output(args.output, format_encoded(results, args.format, decoder.head))
    what = {"tag": "tagged", "classify": "classified", "mlm": "filled in"}[decoder.head]
    wrote = f", wrote {args.output}" if args.output else ""
    err.print(Text(f"{what} {len(lines):,} lines in {seconds:.1f} s{wrote}", style="dim"))
    return 0
