"""Where a Transformer token is: absolute tables added to embeddings, or positions inside self-attention.

``config.positions`` picks one scheme for every self-attention of a Transformer (cross-attention
has no positions in any scheme: the decoder finds source positions through the encoder's output):

  "sinusoidal" (Vaswani et al. 2017, §3.5): a fixed table added to the scaled token embeddings,
      PE(p, 2i) = sin(p / 10000^(2i/D)),   PE(p, 2i+1) = cos(p / 10000^(2i/D))
  "learned" (Gehring et al. 2017; Devlin et al. 2019): a trained table P (max_len, D) added the same way.
  "relative" (Raffel et al. 2020, T5, §2.1): nothing is added to the embeddings; each self-attention
      layer adds a learned scalar per head and per *bucket* of the offset j - i to its scores,
          score(i, j) = q_i · k_j / sqrt(Dh) + b_h[bucket(j - i)]
      Offsets below ``EXACT`` (= buckets/2, halved again for a bidirectional encoder) get a bucket
      each; larger ones share logarithmically wider buckets up to ``MAX_DISTANCE``, beyond which
      every offset shares the last bucket. The encoder tells left from right (half the buckets
      each way); the causal decoder only sees offsets j - i <= 0.
  "rotary" (Su et al. 2021, RoFormer, eq. 34): nothing is added to the embeddings; queries and keys
      are rotated by their position before the dot product. Each pair of features (x_2i, x_2i+1),
      read as the complex number x_2i + i x_2i+1, is multiplied by e^{i p θ_i}, θ_i = 10000^(-2i/Dh):
          score(i, j) = Re[ Σ_k (q_i)_k e^{i·i·θ_k} conj((k_j)_k e^{i·j·θ_k}) ] / sqrt(Dh)
                      = Re[ Σ_k (q_i)_k conj((k_j)_k) e^{i (i - j) θ_k} ] / sqrt(Dh)
      so the score depends on the positions only through the offset i - j.

Every scheme covers ``config.max_len`` positions (tables, rotation angles), so all share one limit.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

BUCKETS = 32  # relative: buckets per attention layer (both directions together for the encoder)
MAX_DISTANCE = 128  # relative: offsets at least this far apart share the last bucket


def sinusoidal_positions(max_len: int, dim: int) -> Tensor:
    """(max_len, D) table: sin on even features, cos on odd ones, wavelengths 2π … 10000·2π."""
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (max_len, 1)
    rates = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # (ceil(D/2),)
    table = torch.zeros(max_len, dim)
    table[:, 0::2] = torch.sin(pos * rates)
    table[:, 1::2] = torch.cos(pos * rates[: dim // 2])
    return table


def adds_to_embeddings(scheme: str) -> bool:
    """True for the absolute schemes, whose table is added to the token embeddings."""
    return scheme in ("sinusoidal", "learned")


class AbsolutePositions(nn.Module):
    """The table added to the embeddings: fixed sinusoids, or learned vectors (one per position)."""

    def __init__(self, scheme: str, max_len: int, dim: int):
        super().__init__()
        if scheme == "learned":
            # std 0.5: comparable to the sqrt(D)-scaled token embeddings (unit size per feature)
            self.learned = nn.Parameter(torch.randn(max_len, dim) * 0.5)
        else:  # not persistent: rebuilt from the config, never stored in a checkpoint
            self.learned = None
            self.register_buffer("table", sinusoidal_positions(max_len, dim), persistent=False)

    def forward(self, pos: Tensor) -> Tensor:
        """pos (T,) or (B, T) -> (T, D) or (B, T, D)."""
        return (self.learned if self.learned is not None else self.table)[pos]


def relative_bucket(offset: Tensor, bidirectional: bool, buckets: int = BUCKETS,
                    max_distance: int = MAX_DISTANCE) -> Tensor:
    """Bucket (long, same shape) of each offset j - i; see the module docstring."""
    n = buckets
    out = torch.zeros_like(offset)
    if bidirectional:
        n //= 2
        out = out + (offset > 0).long() * n  # right of the query: the upper half of the buckets
        distance = offset.abs()
    else:
        distance = (-offset).clamp(min=0)  # a causal query only looks left
    exact = n // 2
    # log-spaced buckets from `exact` to `max_distance`; clamp before the log so distance 0 is safe
    scaled = torch.log(distance.clamp(min=1).float() / exact) / math.log(max_distance / exact) * (n - exact)
    far = (exact + scaled.long()).clamp(max=n - 1)
    return out + torch.where(distance < exact, distance, far)


class RelativeBias(nn.Module):
    """T5's learned per-head score bias b_h[bucket(j - i)] for one self-attention layer."""

    def __init__(self, heads: int, bidirectional: bool):
        super().__init__()
        self.bidirectional = bidirectional
        self.bias = nn.Embedding(BUCKETS, heads)

    def forward(self, q_pos: Tensor, k_pos: Tensor) -> Tensor:
        """q_pos (Tq,) or (B, Tq), k_pos (Tk,) -> bias (1 | B, H, Tq, Tk) to add to the scores."""
        q = q_pos if q_pos.dim() == 2 else q_pos.unsqueeze(0)  # (1 | B, Tq)
        offset = k_pos.view(1, 1, -1) - q.unsqueeze(-1)  # (1 | B, Tq, Tk)
        return self.bias(relative_bucket(offset, self.bidirectional)).permute(0, 3, 1, 2)  # (1 | B, H, Tq, Tk)


class Rotary(nn.Module):
    """RoPE: rotates each feature pair of queries or keys by its position times θ_i (no parameters)."""

    def __init__(self, head_dim: int, max_len: int):
        super().__init__()
        theta = 10000.0 ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (Dh/2,)
        angles = torch.arange(max_len, dtype=torch.float32).unsqueeze(1) * theta  # (max_len, Dh/2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        """x (B, H, T, Dh) at positions pos (T,) or (B, T) -> x rotated, same shape."""
        cos, sin = self.cos[pos], self.sin[pos]  # (T, Dh/2) or (B, T, Dh/2)
        if pos.dim() == 2:
            cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # (B, 1, T, Dh/2): the same for every head
        even, odd = x[..., 0::2], x[..., 1::2]  # (B, H, T, Dh/2) each: real and imaginary parts
        out = torch.stack([even * cos - odd * sin, even * sin + odd * cos], -1)  # (B, H, T, Dh/2, 2)
        return out.flatten(-2)  # (B, H, T, Dh), pairs back in place


class SelfPositions(nn.Module):
    """What one self-attention layer does with positions: rotate q and k, add a bias, or nothing."""

    def __init__(self, scheme: str, heads: int, head_dim: int, max_len: int, bidirectional: bool):
        super().__init__()
        self.rotary = Rotary(head_dim, max_len) if scheme == "rotary" else None
        self.relative = RelativeBias(heads, bidirectional) if scheme == "relative" else None

    def rotate(self, x: Tensor, pos: Tensor) -> Tensor:
        """Queries or keys (B, H, T, Dh) at positions pos, rotated when the scheme is rotary."""
        return x if self.rotary is None else self.rotary(x, pos)

    def bias(self, q_pos: Tensor, k_pos: Tensor) -> Optional[Tensor]:
        """Score bias (1 | B, H, Tq, Tk) when the scheme is relative, else None."""
        return None if self.relative is None else self.relative(q_pos, k_pos)
