"""Inspecting an encoder-family run: one input in, per-position predictions and the trace out.

Shared by ``seqbench decode`` and the app's inspector (``workbench/tui`` only draws what this
returns). An encoder has no decoding steps; what a user steps through instead is, for a masked LM,
**iterative unmasking**: encode, fill the mask the model is most confident about, encode again,
until no mask is left (``unmask``). ``--force P:TOKEN`` fixes what a mask at input position P
becomes (forced masks are filled first); the app forces one after the steps already shown
(``force_mask``).

    job = prepare_encoder(task, caps, text="the _at sat")       # or example=N
    view = inspect_encoder(model, task, job)                      # EncoderView: top-k per position, trace
    steps = unmask(model, task, job)                              # masked LM: one UnmaskStep per filled mask
    steps = force_mask(model, task, job, steps, 1, "7:y")         # keep step 1, fill mask 7 with y, go on
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from ..errors import UserError
from .inputs import parse_forced, prepare_text

MASK_TYPED = re.compile(r"\[MASK\]|_")  # how a user writes a mask in typed text


@dataclass
class EncoderJob:
    """What to encode: the input tokens and ids, the masks, a reference, and warnings for the user."""

    tokens: list[str]
    ids: list[int]
    head: str  # "tag", "classify" or "mlm"
    masks: list[int] = field(default_factory=list)  # input positions holding [MASK] (masked LM)
    reference: Optional[list[str]] = None  # tags, [label], or the original token at every position
    forced: dict[int, int] = field(default_factory=dict)  # masked LM: position -> token id it must become
    warnings: list[str] = field(default_factory=list)


@dataclass
class EncoderView:
    """One encoding of a job's input, ready to draw."""

    tokens: list[str]  # the input as the model saw it (masks as the vocabulary spells them)
    top: list[list[tuple[str, float]]]  # per position (tag, mlm) or one row (classify): best k (token, prob)
    encoding: Any  # models.Encoding: hidden (B=1, L, R, S', D), attention, pooling weights
    reference: Optional[list[str]] = None

    @property
    def predicted(self) -> list[str]:
        return [row[0][0] for row in self.top]

    def to_json(self) -> dict[str, Any]:
        from .records import tensor_to_json

        enc = self.encoding
        return {"schema": "seqbench.encode/1", "tokens": self.tokens, "reference": self.reference,
                "predicted": self.predicted, "top": [[[t, round(p, 6)] for t, p in row] for row in self.top],
                "pooling": tensor_to_json(None if enc.pooling is None else enc.pooling[0]),
                "hidden": tensor_to_json(enc.hidden[0]),  # (L, R, S', D)
                "self_attention": tensor_to_json(None if enc.self_attention is None else enc.self_attention[0]),
                "prefix": enc.prefix}


@dataclass
class UnmaskStep:
    """One step of iterative unmasking: which mask was filled, with what, how sure, and the text after."""

    position: int
    token: str
    prob: float
    candidates: list[tuple[str, float]]  # the best k at that position before filling
    forced: bool
    tokens: list[str]  # the whole input after this step

    def to_json(self) -> dict[str, Any]:
        return {"position": self.position, "token": self.token, "prob": round(self.prob, 6), "forced": self.forced,
                "candidates": [[t, round(p, 6)] for t, p in self.candidates], "tokens": self.tokens}


def typed_tokens(task: Any, text: str) -> tuple[list[str], list[int]]:
    """Tokens of typed text where ``_`` or ``[MASK]`` stand for masks; (tokens, mask positions)."""
    from ..tasks.encoder_task import MASK

    tokens: list[str] = []
    masks: list[int] = []
    pieces = MASK_TYPED.split(text)
    for i, piece in enumerate(pieces):
        tokens += task.tokenize_src(piece) if piece else []
        if i < len(pieces) - 1:
            masks.append(len(tokens))
            tokens.append(MASK)
    return tokens, masks


def prepare_encoder(task: Any, caps: Any, *, text: Optional[str] = None, example: Optional[int] = None,
                    force: Optional[list[str]] = None, seed: int = 0) -> EncoderJob:
    """The job for typed ``text`` or test example ``example`` (masked LM: val, masks drawn by ``seed``)."""
    head = caps.head
    reference = None
    masks: list[int] = []
    if text is not None:
        tokens, masks = typed_tokens(task, text) if head == "mlm" else (task.tokenize_src(text), [])
    else:
        tokens, reference, masks = _example(task, head, example, seed)
    limit = caps.max_source_len
    if limit is not None and len(tokens) > limit:
        raise UserError(f"the input has {len(tokens)} tokens; this model reads at most {limit}")
    prepared = prepare_text(task.src_vocab, tokens)
    job = EncoderJob(tokens, prepared.ids, head, masks, reference)
    if prepared.unknown:
        job.warnings.append(f"not in the vocabulary, read as <unk>: {', '.join(map(repr, prepared.unknown[:10]))}")
    if head == "mlm" and not masks:
        job.warnings.append("no mask in the input: write _ or [MASK] where the model should fill in a token")
    if force:
        if head != "mlm":
            raise UserError("--force fixes what a mask becomes: it applies to a masked LM only")
        job.forced = parse_forced(force, task.tokenize_src, task.tgt_vocab)
        for position in job.forced:
            if position not in masks:
                raise UserError(f"--force {position}:...: input position {position} is not a mask "
                                f"(masks at {', '.join(map(str, masks)) or 'none'})")
    return job


def _example(task: Any, head: str, index: Optional[int], seed: int):
    """(tokens, reference, masks) of an example: test split (val for the masked LM)."""
    split = "val" if head == "mlm" else ("test" if "test" in task.split_names else task.split_names[-1])
    examples = task.examples(split)
    if index is None or not 0 <= index < len(examples):
        raise UserError(f"--example must be between 0 and {len(examples) - 1} ({split} split)")
    ex = examples[index]
    if head != "mlm":
        return list(ex.src), list(ex.tgt), []
    from ..tasks.encoder_task import MASK

    g = torch.Generator().manual_seed(seed + index)
    chosen = (torch.rand(len(ex.src), generator=g) < task.config.mask_prob).nonzero().flatten().tolist()
    masks = chosen or [len(ex.src) // 2]
    tokens = [MASK if i in masks else tok for i, tok in enumerate(ex.src)]
    return tokens, list(ex.src), masks


@torch.no_grad()
def _encode(model: Any, ids: list[int]):
    src = torch.tensor([ids], device=model.device)  # (1, S)
    return model.encode(src, torch.tensor([len(ids)], device=model.device))


def _top(probs: torch.Tensor, itos: list[str], k: int, skip: int) -> list[tuple[str, float]]:
    """Best k (token, prob) of (V,) probabilities, never a special token (ids below ``skip``)."""
    values, index = probs[skip:].topk(min(k, probs.shape[0] - skip))
    return [(itos[i + skip], float(v)) for v, i in zip(values.tolist(), index.tolist())]


def inspect_encoder(model: Any, task: Any, job: EncoderJob, ids: Optional[list[int]] = None, k: int = 5) -> EncoderView:
    """Encode the job's input (or ``ids``, a later unmasking state) and take the best k per row."""
    from ..tasks.vocab import SPECIALS

    ids = job.ids if ids is None else ids
    enc = _encode(model, ids)
    probs = enc.logits[0].float().softmax(-1).cpu()  # (S|1, V)
    itos = task.tgt_vocab.itos
    skip = len(SPECIALS) + (1 if job.head == "mlm" else 0)  # never predict a special or [MASK]
    top = [_top(row, itos, k, skip) for row in probs]
    tokens = [task.src_vocab.itos[i] if job.head == "mlm" else tok for i, tok in zip(ids, job.tokens)]
    return EncoderView(tokens, top, enc, job.reference)


def unmask(model: Any, task: Any, job: EncoderJob, k: int = 5,
           start: Optional[list[UnmaskStep]] = None) -> list[UnmaskStep]:
    """Fill the masks one at a time, the most confident first (a forced position when its token is
    fixed); each step re-encodes the input with every earlier fill in place. ``start``: steps already
    taken (kept as they are; unmasking continues after them)."""
    steps: list[UnmaskStep] = list(start or [])
    ids = list(job.ids)
    for s in steps:
        ids[s.position] = task.tgt_vocab.stoi[s.token]
    left = [p for p in job.masks if p not in {s.position for s in steps}]
    while left:
        view = inspect_encoder(model, task, job, ids, k)
        forced = [p for p in left if p in job.forced]
        if forced:
            position, token_id = forced[0], job.forced[forced[0]]
            token = task.tgt_vocab.itos[token_id]
            prob = float(view.encoding.logits[0, position].float().softmax(-1)[token_id])
        else:
            position = max(left, key=lambda p: view.top[p][0][1])
            token, prob = view.top[position][0]
            token_id = task.tgt_vocab.stoi[token]
        ids[position] = token_id
        left.remove(position)
        steps.append(UnmaskStep(position, token, prob, view.top[position], bool(forced),
                                [task.src_vocab.itos[i] for i in ids]))
    return steps


def force_mask(model: Any, task: Any, job: EncoderJob, steps: list[UnmaskStep], shown: int, spec: str,
               k: int = 5) -> list[UnmaskStep]:
    """The unmasking after forcing ``spec`` (``"P:TOKEN"``, as ``--force``) once ``shown`` steps are taken:
    those steps stay, the mask at input position P becomes TOKEN next, and the rest is unmasked again.
    The job's forced tokens become those of the steps kept plus this one. UserError for a bad spec."""
    from ..tasks.vocab import SPECIALS

    (position, token_id), = parse_forced([spec], task.tokenize_src, task.tgt_vocab).items()
    if token_id <= len(SPECIALS):  # the specials and [MASK] itself: nothing a mask can be filled with
        raise UserError(f"{task.tgt_vocab.itos[token_id]!r} is not a token a mask can become")
    kept = steps[:shown]
    open_masks = [p for p in job.masks if p not in {s.position for s in kept}]
    if position not in open_masks:
        raise UserError(f"input position {position} is not an open mask "
                        f"(open: {', '.join(map(str, open_masks)) or 'none'})")
    job.forced = {s.position: task.tgt_vocab.stoi[s.token] for s in kept if s.forced}
    job.forced[position] = token_id
    return unmask(model, task, job, k, start=kept)


def view_after(model: Any, task: Any, job: EncoderJob, steps: list[UnmaskStep], shown: int,
               k: int = 5) -> EncoderView:
    """The encoding the model computes once ``shown`` unmasking steps are filled in (0: the job's input)."""
    vocab = task.src_vocab
    ids = job.ids if not shown else [vocab.stoi.get(t, vocab.unk_id) for t in steps[shown - 1].tokens]
    return inspect_encoder(model, task, job, ids, k)
