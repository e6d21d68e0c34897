"""A convolutional encoder for the RNN decoders (ConvS2S's encoder, Gehring et al. 2017).

"Convolutional Sequence to Sequence Learning" (Gehring et al., ICML 2017), §3.1-3.2 and §3.4:

    e_s = w(x_s) + p_s                               token embedding plus a learned position embedding
    h^0 = W_in e + b                                 to the model width D
    [A; B] = Conv1d_k(h^{l-1})                       kernel k, 2D output channels, centred ("same")
    h^l = (A ⊙ σ(B) + h^{l-1}) · sqrt(0.5)           gated linear unit, residual, scaled to keep variance

for l = 1..L (``config.layers``, ``config.kernel``). Padding is zeroed before every convolution so
it never leaks into real positions. Each output h^L_s sees the tokens within L·(k−1)/2 positions of s
on either side: its receptive field (``receptive_field``). The memory is h^L (B, S, D); the RNN
decoder attends over it with any of ``layers.py``'s scorers (the paper's decoder is convolutional
too; here the decoder stays the RNN one, which is what "CNN + attention" contrasts with), and the
fixed context c (decoder initial state, or without attention) is the mean of h^L over the real
positions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import ModelConfig, lengths_to_mask


def receptive_field(layers: int, kernel: int) -> int:
    """How many source tokens one encoder output sees: 1 + L·(k−1)."""
    return 1 + layers * (kernel - 1)


class GatedConv(nn.Module):
    """One encoder layer: h' = (A ⊙ σ(B) + h) · sqrt(0.5), [A; B] = Conv1d_k(h)."""

    def __init__(self, dim: int, kernel: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(dim, 2 * dim, kernel, padding=kernel // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, keep: Tensor) -> Tensor:
        """h (B, S, D), keep (B, S, 1) -> (B, S, D), zero on padding."""
        x = self.conv(self.drop(h * keep).transpose(1, 2))  # (B, D, S) -> (B, 2D, S)
        glu = F.glu(x, dim=1).transpose(1, 2)  # A ⊙ σ(B): (B, D, S) -> (B, S, D)
        return (glu + h) * math.sqrt(0.5) * keep


class ConvEncoder(nn.Module):
    """Embeds a padded source with positions and encodes it with L gated convolutions (see the module docstring)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.max_len, self.out_dim = cfg.max_len, cfg.hidden
        self.embed = nn.Embedding(cfg.src_vocab, cfg.emb_dim, padding_idx=cfg.pad_id)
        self.positions = nn.Embedding(cfg.max_len, cfg.emb_dim)
        self.inp = nn.Linear(cfg.emb_dim, cfg.hidden)
        self.layers = nn.ModuleList(GatedConv(cfg.hidden, cfg.kernel, cfg.dropout) for _ in range(cfg.layers))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, src: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Memory h^L (B, S, D), zero on padding, and c = its mean over the real positions (B, D)."""
        B, S = src.shape
        if S > self.max_len:
            raise ValueError(f"the source has {S} tokens but this convolutional encoder's positions cover "
                             f"max_len={self.max_len}")
        lengths = lengths.to(src.device)
        keep = lengths_to_mask(lengths, S).unsqueeze(-1).to(self.inp.weight.dtype)  # (B, S, 1)
        e = self.drop(self.embed(src) + self.positions(torch.arange(S, device=src.device)))  # (B, S, E)
        h = self.inp(e) * keep  # (B, S, D)
        for layer in self.layers:
            h = layer(h, keep)
        return h, h.sum(1) / lengths.unsqueeze(1).to(h.dtype)  # (B, S, D), (B, D)
