"""Search strategies as pure tensor math: they see log-probabilities, never a model.

Each strategy takes the cumulative log-probability of the R live hypotheses and their next-token
log-probabilities, and returns a ``Selection``: the expansions it considered (parent row, token,
scores) and which of them survive. The driver (``session.py``) turns a selection into hypotheses
and reorders the model state by the surviving parents.

Log-probabilities passed in are the model's own (temperature 1) with banned and, at a forced step,
non-forced tokens set to -inf; scores of hypotheses are always the model's log-probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

NEG_INF = float("-inf")


@dataclass
class Selection:
    """Expansions a strategy considered at one step, best first (C candidates)."""

    parents: Tensor  # (C,) long, row of the live hypothesis each candidate extends
    tokens: Tensor  # (C,) long, the token appended
    token_logprobs: Tensor  # (C,) log p(token | parent)
    logprobs: Tensor  # (C,) cumulative log-probability of the extended sequence
    survived: Tensor  # (C,) bool, the candidate becomes a live or finished hypothesis


def length_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty lp(Y) = ((5 + |Y|) / 6)^α (Wu et al. 2016, eq. 14); 1 when α = 0."""
    return ((5.0 + length) / 6.0) ** alpha if alpha else 1.0


def mask_tokens(lprobs: Tensor, ban: Optional[Tensor], forced: Optional[int]) -> Tensor:
    """(R, V) log-probs with banned tokens, and every token but ``forced`` when given, at -inf."""
    if forced is not None:
        out = torch.full_like(lprobs, NEG_INF)
        out[:, forced] = lprobs[:, forced]
        return out
    if ban is not None and ban.numel():
        return lprobs.index_fill(1, ban, NEG_INF)
    return lprobs


def _single(cum: Tensor, lprobs: Tensor, tokens: Tensor) -> Selection:
    """One expansion per row (greedy and sampling): row r appends tokens[r]."""
    rows = torch.arange(lprobs.shape[0], device=lprobs.device)  # (R,)
    token_lp = lprobs[rows, tokens]  # (R,)
    return Selection(rows, tokens, token_lp, cum + token_lp, torch.ones_like(tokens, dtype=torch.bool))


def greedy_step(cum: Tensor, lprobs: Tensor) -> Selection:
    """Each row appends its most probable token."""
    return _single(cum, lprobs, lprobs.argmax(dim=-1))


def filter_logits(logits: Tensor, top_k: int = 0, top_p: float = 1.0) -> Tensor:
    """(R, V) logits with tokens outside the top-k and outside the top-p nucleus at -inf."""
    if top_k and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (R, 1)
        logits = logits.masked_fill(logits < kth, NEG_INF)
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)  # (R, V)
        probs = sorted_logits.softmax(dim=-1)
        # Drop a token when the tokens ranked above it already cover top_p; the best one always stays.
        drop_sorted = probs.cumsum(dim=-1) - probs >= top_p  # (R, V)
        drop = drop_sorted.scatter(1, order, drop_sorted)
        logits = logits.masked_fill(drop, NEG_INF)
    return logits


def sample_step(
    cum: Tensor,
    lprobs: Tensor,
    *,
    temperature: float,
    top_k: int,
    top_p: float,
    generator: torch.Generator,
) -> Selection:
    """Each row appends a token drawn from softmax(log p / T), restricted to top-k / top-p.

    Temperature 0 is greedy. Drawing happens on the CPU with ``generator`` so a seed repeats on
    every device.
    """
    if temperature <= 0:
        return greedy_step(cum, lprobs)
    logits = filter_logits(lprobs.float().cpu() / temperature, top_k, top_p)  # (R, V)
    probs = logits.softmax(dim=-1)
    tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (R,)
    return _single(cum, lprobs, tokens.to(lprobs.device))


def beam_step(cum: Tensor, lprobs: Tensor, *, width: int, eos_id: int) -> Selection:
    """Beam search expansion: consider the best 2k extensions of all R rows by cumulative log-prob.

    Non-EOS extensions fill the k live slots in order; an EOS extension finishes its hypothesis
    when it ranks among the first k (later ones would not have been in the beam). Considering 2k
    guarantees k live hypotheses whenever k non-EOS extensions exist, since at most R <= k of the
    candidates end in EOS.
    """
    R, V = lprobs.shape
    total = cum.unsqueeze(1) + lprobs  # (R, V)
    n = min(2 * width, R * V)
    scores, flat = total.view(-1).topk(n)  # (n,), (n,)
    finite = torch.isfinite(scores)
    scores, flat = scores[finite], flat[finite]  # (C,)
    parents, tokens = flat.div(V, rounding_mode="trunc"), flat % V  # (C,); trunc: cheaper than // here
    is_eos = tokens == eos_id
    live_rank = torch.cumsum(~is_eos, 0)  # 1-based position among non-EOS candidates
    rank = torch.arange(1, scores.numel() + 1, device=scores.device)
    survived = torch.where(is_eos, rank <= width, live_rank <= width)
    return Selection(parents, tokens, lprobs[parents, tokens], scores, survived)


def ranks_of(lprobs: Tensor, parents: Tensor, tokens: Tensor) -> Tensor:
    """(C,) 1-based rank of each token in its parent row's distribution (1 = most probable)."""
    rows = lprobs[parents]  # (C, V)
    own = rows.gather(1, tokens.unsqueeze(1))  # (C, 1)
    return (rows > own).sum(dim=1) + 1
