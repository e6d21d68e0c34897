"""Teacher-forced scoring of a reference: how much the model believes each reference token.

The reference (plus EOS for an encoder-decoder) is fed as a forced prefix through an ordinary greedy session, so the
records carry the same traces as free-running decoding. Because both share the prefix up to a
step, free-running greedy decoding first leaves the reference exactly where the model's most
probable token differs from the reference token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from models.base import SeqModel
from workbench.errors import UserError

from .records import StepRecord
from .session import DecodeConfig, DecodeSession


@dataclass
class ReferenceScore:
    """Per-token scores of a reference under teacher forcing."""

    tokens: list[int]  # the reference ids, followed by EOS for an encoder-decoder
    logprobs: list[float]  # log p(reference token | source, reference prefix), per step
    ranks: list[int]  # rank of the reference token in the model's distribution (1 = most probable)
    argmax: list[int]  # the model's most probable token at each step (what greedy would choose there)
    divergence: Optional[int]  # first step where free-running greedy leaves the reference (None: it never does)
    records: list[StepRecord]  # one per step, with traces, forced = the reference token

    @property
    def logprob(self) -> float:
        """Total log-probability of the reference (EOS included for an encoder-decoder)."""
        return sum(self.logprobs)

    @property
    def perplexity(self) -> float:
        return math.exp(-self.logprob / len(self.tokens)) if math.isfinite(self.logprob) else math.inf

    @classmethod
    def from_session(cls, session: DecodeSession) -> "ReferenceScore":
        """Score a ``reference_session`` from its records, running it to the end first if needed."""
        records = session.run()
        tokens = [int(t) for _, t in sorted(session.forced.items())]
        chosen = [r.candidates[0] for r in records]
        return cls(
            tokens=tokens[: len(records)],
            logprobs=[c.token_logprob for c in chosen],
            ranks=[c.rank for c in chosen],
            argmax=[int(r.topk_ids[0, 0]) for r in records],
            divergence=next((t for t, c in enumerate(chosen) if c.rank > 1), None),
            records=list(records),
        )

    def to_json(self, itos: Optional[Sequence[str]] = None) -> dict[str, Any]:
        text = (lambda ids: [itos[i] for i in ids]) if itos else (lambda ids: None)
        return {
            "tokens": self.tokens, "text": text(self.tokens),
            "logprobs": [lp if math.isfinite(lp) else None for lp in self.logprobs],
            "ranks": self.ranks, "argmax": self.argmax, "argmax_text": text(self.argmax),
            "divergence": self.divergence,
            "logprob": self.logprob if math.isfinite(self.logprob) else None,
            "perplexity": self.perplexity if math.isfinite(self.perplexity) else None,
        }


def reference_session(
    model: SeqModel,
    src: Optional[Sequence[int]],
    reference: Sequence[int],
    *,
    bos_id: int,
    eos_id: int,
    prompt: Sequence[int] = (),
    ban: Sequence[int] = (),
    show_k: int = 5,
    **session_options: Any,
) -> DecodeSession:
    """A steppable session that feeds ``reference`` (ids, without BOS/EOS) token by token.

    An encoder-decoder's reference ends with EOS, which is scored too; a language model's is a
    stretch of text that just stops, so nothing is appended. ``session_options`` go to
    ``DecodeSession`` (``itos``, ``src_itos``).
    """
    tokens = list(reference) + ([] if model.is_lm else [eos_id])
    if not tokens:
        raise UserError("the reference to score is empty")
    config = DecodeConfig(strategy="greedy", max_len=len(tokens), show_k=show_k)
    return DecodeSession(model, src, bos_id=bos_id, eos_id=eos_id, config=config, prompt=prompt, ban=ban,
                         forced=dict(enumerate(tokens)), **session_options)


def score_reference(model: SeqModel, src: Optional[Sequence[int]], reference: Sequence[int],
                    **options: Any) -> ReferenceScore:
    """Score ``reference`` (ids, without BOS/EOS) for ``src`` (or after ``prompt`` for an LM);
    ``options`` (``bos_id``, ``eos_id``, ``prompt``, ``ban``, ``show_k``) and what is fed are as
    for ``reference_session``."""
    session = reference_session(model, src, reference, history=False, **options)
    return ReferenceScore.from_session(session)
