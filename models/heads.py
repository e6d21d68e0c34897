"""Output heads of the encoder family: a label per position, a pooled label per sequence, masked tokens.

Every head reads the encoder's top-layer outputs h_1..h_S (B, S, De) and a mask (B, S), True on real
positions. One head function serves both the fused training path and the inspector's written-out
path, so the two differ only in how h was computed.

    tag       (N vs N; e.g. Graves 2012, "Supervised sequence labelling with RNNs", ch. 3):
              p(y_s | x) = softmax(W h_s + b) at every position s
    classify  (N vs 1): p(y | x) = softmax(W pool(h) + b), pool by ``config.pooling``:
        last      the final state: h at the last real position; a bidirectional RNN's forward half
                  there and its backward half at position 1 (both directions' final states)
        mean      sum_s h_s / n over the n real positions
        max       max_s h_s per feature (Collobert et al. 2011, "NLP (almost) from scratch", sec. 3.3.2)
        attention a_s = softmax_s(v^T tanh(W h_s + b)), pool = sum_s a_s h_s: a learned query
                  (Yang et al. 2016, "Hierarchical attention networks", eqs. 8-10)
        cls       h at a [CLS] position prepended to the input (Devlin et al. 2019, BERT, sec. 3)
    mlm       (Devlin et al. 2019, BERT, sec. 3.1 and appendix A.1): x = LN(GELU(W h_s + b)),
              p(token | x) = softmax(x Eᵀ + b_out), E the input embedding matrix (tied weights)

The pooling weights (B, S) say how much each position contributed: mean 1/n; max the share of
features whose maximum came from s; last the position(s) whose state is used; attention a_s; cls
one-hot on the [CLS] position.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import ModelConfig
from .layers import masked_softmax


class Pooled(NamedTuple):
    """A sequence reduced to one vector, and how much each position gave."""

    vector: Tensor  # (B, De)
    weights: Tensor  # (B, S), 0 on padding, rows sum to 1


def pool_last(h: Tensor, mask: Tensor, directions: int) -> Pooled:
    """Forward half at the last real position, backward half (bidirectional) at the first."""
    B, S, De = h.shape
    last = mask.sum(1).clamp(min=1) - 1  # (B,)
    rows = torch.arange(B, device=h.device)
    forward = h[rows, last]  # (B, De)
    weights = torch.zeros(B, S, device=h.device, dtype=h.dtype)
    if directions == 1:
        weights[rows, last] = 1.0
        return Pooled(forward, weights)
    D = De // 2
    weights[rows, last] += 0.5
    weights[:, 0] += 0.5
    return Pooled(torch.cat([forward[:, :D], h[:, 0, D:]], -1), weights)  # (B, 2D)


def pool_mean(h: Tensor, mask: Tensor) -> Pooled:
    keep = mask.to(h.dtype)  # (B, S)
    weights = keep / keep.sum(1, keepdim=True).clamp(min=1)  # (B, S)
    return Pooled((weights.unsqueeze(-1) * h).sum(1), weights)


def pool_max(h: Tensor, mask: Tensor) -> Pooled:
    vector, where = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1)  # (B, De) each
    counts = F.one_hot(where, h.shape[1]).to(h.dtype).mean(1)  # (B, De, S) -> (B, S)
    return Pooled(vector, counts)


class AttentionPool(nn.Module):
    """a_s = softmax(v^T tanh(W h_s + b)) over the real positions; pooled = sum_s a_s h_s."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.query = nn.Linear(dim, 1, bias=False)  # v: the learned query

    def forward(self, h: Tensor, mask: Tensor) -> Pooled:
        scores = self.query(torch.tanh(self.proj(h))).squeeze(-1)  # (B, S)
        weights = masked_softmax(scores, mask)  # (B, S)
        return Pooled((weights.unsqueeze(-1) * h).sum(1), weights)


class EncoderHead(nn.Module):
    """The head ``config.head`` selects, over encoder outputs of width ``dim``; ``embedding`` ties the MLM head."""

    def __init__(self, cfg: ModelConfig, dim: int, directions: int, embedding: nn.Embedding):
        super().__init__()
        self.kind, self.pooling, self.directions = cfg.head, cfg.pooling, directions
        self.drop = nn.Dropout(cfg.dropout)
        self.attention = AttentionPool(dim) if cfg.head == "classify" and cfg.pooling == "attention" else None
        if cfg.head == "mlm":
            width = embedding.embedding_dim
            self.transform = nn.Sequential(nn.Linear(dim, width), nn.GELU(), nn.LayerNorm(width))
            self.embedding = embedding  # shared: its weights are the output matrix
            self.bias = nn.Parameter(torch.zeros(embedding.num_embeddings))
        else:
            self.out = nn.Linear(dim, cfg.tgt_vocab)

    def pool(self, h: Tensor, mask: Tensor) -> Pooled:
        """(B, S, De) -> one vector per row, by ``config.pooling`` (cls: position 0 holds [CLS])."""
        if self.pooling == "last":
            return pool_last(h, mask, self.directions)
        if self.pooling == "max":
            return pool_max(h, mask)
        if self.pooling == "attention":
            return self.attention(h, mask)
        if self.pooling == "cls":
            weights = torch.zeros_like(mask, dtype=h.dtype)
            weights[:, 0] = 1.0
            return Pooled(h[:, 0], weights)
        return pool_mean(h, mask)

    def forward(self, h: Tensor, mask: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        """Logits (B, S, V) or, classifying, (B, 1, V); and the pooling weights (B, S) or None."""
        h = self.drop(h)
        if self.kind == "classify":
            pooled = self.pool(h, mask)
            return self.out(pooled.vector).unsqueeze(1), pooled.weights  # (B, 1, V)
        if self.kind == "mlm":
            return F.linear(self.transform(h), self.embedding.weight, self.bias), None  # (B, S, V)
        return self.out(h), None  # (B, S, V)
