"""Attention scorers over encoder memory, for the RNN encoder-decoders in ``seq2seq.py``.

Every scorer is used in two calls:

    keys, values = scorer.prepare(memory)                  once per source: key projections precomputed
    context, weights, center = scorer(query, keys, values, mask, lengths)       once per step (or per T)

``memory`` is (B, S, Dm), ``mask`` (B, S) bool True on real positions, ``lengths`` (B,) the true source
lengths. ``query`` is (B, Dq) for one decoding step or (B, T, Dq) for all steps at once (the fused
Luong path); the outputs follow: ``context`` (B, [T,] Dc), ``weights`` (B, [T,] H, S) with H = 1 except
multi-head, ``center`` (B, [T]) for local-p and None otherwise. Weights are exactly 0 on padding and
sum to 1 over the real positions of each row.

Scores (q query, h_s memory at source position s):
    additive   (Bahdanau et al. 2015, appendix A.1.2):  v^T tanh(W_q q + W_k h_s + b)
    dot        (Luong et al. 2015, eq. 8):         q . h_s
    general    (Luong et al. 2015, eq. 8):         q^T W h_s
    scaled-dot (Vaswani et al. 2017, eq. 1):       q . h_s / sqrt(d)
    local-p    (Luong et al. 2015, eqs. 9-10):     general score in a window around a predicted position
    multihead  (Vaswani et al. 2017, sec. 3.2.2):  H scaled-dot heads on projected q, k, v; concat; W_o
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
from torch import Tensor, nn


class Attended(NamedTuple):
    """What a scorer returns for a query."""

    context: Tensor  # (B, [T,] Dc) weighted sum of the values
    weights: Tensor  # (B, [T,] H, S) exactly 0 on padding, rows sum to 1
    center: Optional[Tensor] = None  # (B, [T]) local-p's predicted position p_t
    chosen: Optional[Tensor] = None  # (B, [T]) long: hard attention's one source position (hard_attention.py)


def masked_softmax(scores: Tensor, keep: Tensor) -> Tensor:
    """Softmax over the last dim with exact zeros where ``keep`` is False (every row keeps one)."""
    return scores.masked_fill(~keep, float("-inf")).softmax(-1)


class Scorer(nn.Module):
    """Shared plumbing: single-step queries are lifted to (B, 1, Dq) and the outputs squeezed back."""

    context_dim: int

    def prepare(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """(keys, values) for a source; by default the memory is both."""
        return memory, memory

    def forward(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor, lengths: Tensor,
                **edit) -> Attended:
        single = query.dim() == 2
        out = self.attend(query.unsqueeze(1) if single else query, keys, values, mask, lengths, **edit)  # (B, T, Dq)
        if not single:
            return out
        return Attended(*(None if x is None else x.squeeze(1) for x in out))  # drop the T axis

    def edited(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor, lengths: Tensor,
               pin: Optional[int] = None, heads=()) -> Attended:
        """One step's attention (query (B, Dq)) under an intervention: ``pin`` makes the weights one-hot
        on that source position, so the context is its value. ``heads`` needs multi-head attention."""
        out = self(query, keys, values, mask, lengths)
        if pin is None:
            return out
        weights = one_hot_position(values.shape[0], 1, values.shape[1], pin, values)  # (B, 1, S)
        chosen = None if out.chosen is None else torch.full_like(out.chosen, pin)
        return Attended(values[:, pin], weights, out.center, chosen)  # context (B, Dv)

    def attend(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor, lengths: Tensor) -> Attended:
        """Attention for queries (B, T, Dq)."""
        raise NotImplementedError

    def schedule(self, progress: float) -> dict[str, float]:
        """Adapt to training ``progress`` (0..1); returns what the dashboard shows (see ``SeqModel.schedule``)."""
        return {}

    def extra_loss(self, logits: Tensor, targets: Tensor, pad_id: int) -> Optional[Tensor]:
        """A loss term beyond cross-entropy for the forward pass just run (see ``SeqModel.extra_loss``)."""
        return None


def one_hot_position(batch: int, heads: int, length: int, position: int, like: Tensor) -> Tensor:
    """(B, H, S) weights that put all attention on ``position`` (an intervention's pinned attention)."""
    if not 0 <= position < length:
        raise ValueError(f"cannot pin attention to source position {position}: the source has positions "
                         f"0..{length - 1}")
    weights = like.new_zeros(batch, heads, length)
    weights[:, :, position] = 1.0
    return weights


def _single_head(scores: Tensor, keep: Tensor, values: Tensor, center: Optional[Tensor] = None) -> Attended:
    """Softmax (B, T, S) scores and pool the values (B, S, Dv) into a one-head result."""
    weights = masked_softmax(scores, keep)  # (B, T, S)
    context = torch.bmm(weights, values)  # (B, T, Dv)
    return Attended(context, weights.unsqueeze(2), center)  # weights (B, T, 1, S)


class AdditiveAttention(Scorer):
    """Bahdanau's concat-MLP score, with the key half W_k h_s + b precomputed once per source."""

    def __init__(self, query_dim: int, memory_dim: int, attn_dim: int):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, attn_dim, bias=False)
        self.key_proj = nn.Linear(memory_dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)
        self.context_dim = memory_dim

    def prepare(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        return self.key_proj(memory), memory  # keys (B, S, A)

    def attend(self, query, keys, values, mask, lengths) -> Attended:
        q = self.query_proj(query)  # (B, T, A)
        hidden = torch.tanh(q.unsqueeze(2) + keys.unsqueeze(1))  # (B, T, S, A)
        scores = self.v(hidden).squeeze(-1)  # (B, T, S)
        return _single_head(scores, mask.unsqueeze(1), values)


class DotAttention(Scorer):
    """Luong's dot score (optionally scaled by 1/sqrt(d)).

    When the memory is wider than the query (a bidirectional encoder feeding a smaller decoder),
    the memory is projected once per source to the query width by a bias-free linear map, and that
    projected memory serves as both keys and values (so the context has the query's width).
    """

    def __init__(self, query_dim: int, memory_dim: int, scaled: bool = False):
        super().__init__()
        self.memory_proj = nn.Linear(memory_dim, query_dim, bias=False) if memory_dim != query_dim else None
        self.scale = 1.0 / math.sqrt(query_dim) if scaled else 1.0
        self.context_dim = query_dim

    def prepare(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        if self.memory_proj is None:
            return memory, memory
        projected = self.memory_proj(memory)  # (B, S, Dq)
        return projected, projected

    def attend(self, query, keys, values, mask, lengths) -> Attended:
        scores = torch.bmm(query, keys.transpose(1, 2))  # (B, T, S)
        if self.scale != 1.0:
            scores = scores * self.scale
        return _single_head(scores, mask.unsqueeze(1), values)


class GeneralAttention(Scorer):
    """Luong's general score q^T W h_s, with W h_s precomputed once per source."""

    def __init__(self, query_dim: int, memory_dim: int):
        super().__init__()
        self.W = nn.Linear(memory_dim, query_dim, bias=False)
        self.context_dim = memory_dim

    def prepare(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        return self.W(memory), memory  # keys (B, S, Dq)

    def attend(self, query, keys, values, mask, lengths) -> Attended:
        scores = torch.bmm(query, keys.transpose(1, 2))  # (B, T, S)
        return _single_head(scores, mask.unsqueeze(1), values)


class LocalAttention(GeneralAttention):
    """Luong's local-p attention: a general score inside a Gaussian-weighted window around p_t.

        p_t = S_len * sigmoid(v_p^T tanh(W_p q))     S_len = the row's true source length
        a_t(s) = softmax_window(q^T W h_s) * exp(-(s - p_t)^2 / (2 sigma^2)),   sigma = D_win / 2

    for positions s (0-based) with |s - p_t| <= D_win (``config.local_window``) that are not padding.
    Unlike the paper, a_t is then renormalised to sum to 1 over the window, so the inspector shows a
    distribution; softmax-then-Gaussian-then-renormalise equals a softmax of
    score - (s - p_t)^2 / (2 sigma^2) over the window, which is how it is computed. Since
    p_t lies in [0, S_len] and D_win >= 1, the window always holds at least one real position.
    """

    def __init__(self, query_dim: int, memory_dim: int, window: int):
        super().__init__(query_dim, memory_dim)
        self.position = nn.Sequential(nn.Linear(query_dim, query_dim, bias=False), nn.Tanh(),
                                      nn.Linear(query_dim, 1, bias=False))  # W_p, tanh, v_p
        self.window = float(window)
        self.sigma = window / 2.0

    def attend(self, query, keys, values, mask, lengths) -> Attended:
        center = lengths.to(query.dtype).unsqueeze(1) * torch.sigmoid(self.position(query).squeeze(-1))  # (B, T)
        positions = torch.arange(keys.shape[1], device=query.device, dtype=query.dtype)  # (S,)
        offset = positions.view(1, 1, -1) - center.unsqueeze(-1)  # (B, T, S)
        keep = (offset.abs() <= self.window) & mask.unsqueeze(1)  # (B, T, S)
        scores = torch.bmm(query, keys.transpose(1, 2))  # (B, T, S)
        scores = scores - offset.square() / (2 * self.sigma ** 2)  # log of the Gaussian factor
        return _single_head(scores, keep, values, center)


class MultiHeadAttention(Scorer):
    """Multi-head scaled-dot attention of one decoder query over the encoder memory.

    head_i = softmax(q W_i^Q (K W_i^K)^T / sqrt(Dh)) V W_i^V; context = W_o [head_1; ...; head_H].
    Keys and values are projected and split into heads once per source.
    """

    def __init__(self, query_dim: int, memory_dim: int, model_dim: int, heads: int):
        super().__init__()
        if model_dim % heads:
            raise ValueError(f"hidden ({model_dim}) must be divisible by heads ({heads})")
        self.heads, self.head_dim = heads, model_dim // heads
        self.q_proj = nn.Linear(query_dim, model_dim)
        self.k_proj = nn.Linear(memory_dim, model_dim)
        self.v_proj = nn.Linear(memory_dim, model_dim)
        self.out_proj = nn.Linear(model_dim, model_dim)
        self.context_dim = model_dim

    def _split(self, x: Tensor) -> Tensor:
        B, N, _ = x.shape
        return x.view(B, N, self.heads, self.head_dim).transpose(1, 2)  # (B, H, N, Dh)

    def prepare(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        return self._split(self.k_proj(memory)), self._split(self.v_proj(memory))  # (B, H, S, Dh) each

    def attend(self, query, keys, values, mask, lengths, pin: Optional[int] = None, head_edits=()) -> Attended:
        B, T, _ = query.shape
        q = self._split(self.q_proj(query))  # (B, H, T, Dh)
        scores = torch.matmul(q, keys.transpose(2, 3)) / math.sqrt(self.head_dim)  # (B, H, T, S)
        weights = masked_softmax(scores, mask[:, None, None, :])  # (B, H, T, S)
        if pin is not None:  # an intervention: every head looks at one source position
            S = keys.shape[2]
            weights = one_hot_position(B, self.heads, S, pin, weights).unsqueeze(2).expand(-1, -1, T, -1)  # (B, H, T, S)
        heads = torch.matmul(weights, values)  # (B, H, T, Dh)
        if head_edits:  # an intervention: a head's values are set before W_o mixes them
            heads = heads.clone()
            for e in head_edits:
                heads[:, e.index] = e.value
        context = self.out_proj(heads.transpose(1, 2).reshape(B, T, -1))  # (B, T, H*Dh) -> (B, T, D)
        return Attended(context, weights.transpose(1, 2))  # weights (B, T, H, S)

    def edited(self, query, keys, values, mask, lengths, pin: Optional[int] = None, heads=()) -> Attended:
        return self(query, keys, values, mask, lengths, pin=pin, head_edits=heads)


def build_attention(kind: str, query_dim: int, memory_dim: int, cfg) -> Scorer:
    """The scorer named ``kind`` (one of base.ATTENTIONS except 'none') for a ``ModelConfig``,
    wrapped to attend to one position when ``cfg.hard_attention`` asks for it."""
    scorer = _soft_attention(kind, query_dim, memory_dim, cfg)
    if getattr(cfg, "hard_attention", "off") == "off":
        return scorer
    from .hard_attention import HardAttention

    return HardAttention(scorer, cfg.hard_attention, cfg.hard_tau_start, cfg.hard_tau_end)


def _soft_attention(kind: str, query_dim: int, memory_dim: int, cfg) -> Scorer:
    if kind == "additive":
        return AdditiveAttention(query_dim, memory_dim, cfg.hidden)
    if kind in ("dot", "scaled-dot"):
        return DotAttention(query_dim, memory_dim, scaled=kind == "scaled-dot")
    if kind == "general":
        return GeneralAttention(query_dim, memory_dim)
    if kind == "local":
        return LocalAttention(query_dim, memory_dim, cfg.local_window)
    if kind == "multihead":
        return MultiHeadAttention(query_dim, memory_dim, cfg.hidden, cfg.heads)
    raise ValueError(f"unknown attention {kind!r}; choose one of: additive, dot, general, scaled-dot, local, multihead")
