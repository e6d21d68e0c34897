"""The encoder family: recurrent and Transformer encoders with a tagging, classifying or masked-LM head.

No decoder and no autoregressive ``step``: the model reads the whole input at once and ``forward``
returns per-position logits (B, S, V) for tagging and masked LM, or pooled logits (B, 1, V) for
classification (heads and pooling in ``heads.py``). ``tgt_in`` is accepted and ignored, so the
trainer's one call ``model(src, src_lengths, tgt_in)`` serves every family.

Encoders:

  RNN / GRU / LSTM (cells in ``cells.py``), uni- or bidirectional (Schuster & Paliwal 1997,
  "Bidirectional recurrent neural networks"): a forward pass h→_s = cell(x_s, h→_{s-1}) and,
  bidirectional, a backward pass h←_s = cell(x_s, h←_{s+1}) started after the last real token;
  layer l > 1 reads [h→_s; h←_s] of layer l - 1 (Graves et al. 2013, "Speech recognition with deep
  RNNs", eqs. 3-5). A unidirectional encoder's output at s sees only x_1..x_s: it cannot tag what
  depends on the right context, which is the point of the tagging task "later".

  Transformer (Vaswani et al. 2017; the layers of ``transformer.py``: sinusoidal positions, pre-LN
  multi-head self-attention and FFN) without a causal mask, as BERT's encoder (Devlin et al. 2019,
  "BERT: pre-training of deep bidirectional transformers", sec. 3). Pooling "cls" prepends a learned
  [CLS] vector at position 0 whose output is classified.

Masked LM training (BERT sec. 3.1, "Task #1"): 15% of the positions are chosen; of those 80% are
replaced by [MASK], 10% by a random token and 10% kept, and only the chosen positions are scored.
The task does the masking (``workbench/tasks``); the model only sees the corrupted input.

Two paths compute the same function. ``forward`` (training) runs the fused, packed ``torch.nn``
recurrent module or fused attention. ``encode`` (the inspector's path) runs the hand-written cells
position by position in each direction, or writes attention's softmax out, and returns an
``Encoding`` with everything the views show. Tested equal to 1e-5 for every registered variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import ModelConfig, SeqModel, State, StepOutput, lengths_to_mask
from .cells import GATE_NAMES, layer_step
from .heads import EncoderHead
from .seq2seq import RNNEncoder
from .transformer import EncoderLayer, Embedding, check_length


@dataclass
class Encoding:
    """What an encoder computed for a batch, as the inspector shows it. R directions (forward first)."""

    logits: Tensor  # (B, S, V) per position, or (B, 1, V) classifying
    top: Tensor  # (B, S', De) what the head read (S' = S + 1 with a [CLS] position, at 0)
    mask: Tensor  # (B, S') bool, True on real positions ([CLS] included)
    hidden: Tensor  # (B, L, R, S', D) each layer's output per direction and position
    cell: Optional[Tensor] = None  # (B, L, R, S', D) LSTM cell state
    gates: Optional[dict[str, Tensor]] = None  # name -> (B, L, R, S', D): LSTM i/f/g/o, GRU r/z/n
    self_attention: Optional[Tensor] = None  # (B, L, H, S', S') Transformer, rows sum to 1 over real keys
    pooling: Optional[Tensor] = None  # (B, S') classification: each position's share of the pooled vector
    prefix: int = 0  # positions the model added before the input (1 for [CLS])


class EncoderModel(SeqModel):
    """Shared by the encoders: lengths, and no decoding steps."""

    def lengths(self, src: Tensor, src_lengths: Optional[Tensor]) -> Tensor:
        """(B,) real lengths: given, or counted from the non-pad ids."""
        if src_lengths is None:
            return (src != self.config.pad_id).sum(1).clamp(min=1)
        return src_lengths.to(device=src.device, dtype=torch.long)

    def encode(self, src: Tensor, src_lengths: Optional[Tensor] = None) -> Encoding:
        """The inspector's path: logits and the whole trace, computed step by step."""
        raise NotImplementedError

    def start(self, src: Optional[Tensor], src_lengths: Optional[Tensor], batch_size: Optional[int] = None) -> State:
        raise NotImplementedError("an encoder reads its input at once and has no decoding steps: use encode()")

    def step(self, state: State, tokens: Tensor) -> StepOutput:
        raise NotImplementedError("an encoder reads its input at once and has no decoding steps: use encode()")


class RNNEncoderModel(EncoderModel):
    """A (bi)directional RNN / GRU / LSTM stack with a tagging, classifying or masked-LM head."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.encoder = RNNEncoder(cfg)  # embedding + fused packed stack, shared with the seq2seq encoder
        self.directions = self.encoder.directions
        self.head = EncoderHead(cfg, self.encoder.out_dim, self.directions, self.encoder.embed)

    def forward(self, src: Tensor, src_lengths: Optional[Tensor], tgt_in: Optional[Tensor] = None) -> Tensor:
        """Fused training path: logits (B, S, V), or (B, 1, V) classifying."""
        lengths = self.lengths(src, src_lengths)
        memory, _ = self.encoder(src, lengths)  # (B, S, De), zero on padding
        return self.head(memory, lengths_to_mask(lengths, src.shape[1]))[0]

    def encode(self, src: Tensor, src_lengths: Optional[Tensor] = None) -> Encoding:
        """Hand-written cells over each layer and direction; the top layer feeds the same head."""
        lengths = self.lengths(src, src_lengths)
        mask = lengths_to_mask(lengths, src.shape[1])  # (B, S)
        rnn = self.encoder.rnn
        x = self.encoder.drop(self.encoder.embed(src))  # (B, S, E)
        layers = []
        for k in range(self.config.layers):
            if k and rnn.dropout > 0 and rnn.training:
                x = F.dropout(x, rnn.dropout, training=True)
            runs = [self._unroll(x, mask, k, reverse) for reverse in (False, True)[: self.directions]]
            layers.append(runs)
            x = torch.cat([run[0] for run in runs], -1)  # (B, S, R*D)
        logits, pooling = self.head(x, mask)

        def stack(i: int) -> Tensor:  # (B, L, R, S, D)
            return torch.stack([torch.stack([run[i] for run in runs], 1) for runs in layers], 1)

        names = GATE_NAMES[self.config.cell]
        gates = {name: torch.stack([torch.stack([run[2][j] for run in runs], 1) for runs in layers], 1)
                 for j, name in enumerate(names)} or None
        return Encoding(logits, x, mask, stack(0), stack(1) if self.config.cell == "lstm" else None, gates,
                        pooling=pooling)

    def _unroll(self, x: Tensor, mask: Tensor, k: int, reverse: bool) -> tuple:
        """One direction of layer ``k``: outputs, cell states and gates, each (B, S, D), zero on padding.

        Rows keep their (zero) state over padding, so a backward pass starts after the last real token.
        """
        B, S, _ = x.shape
        h = x.new_zeros(B, self.config.hidden)  # (B, D)
        c = torch.zeros_like(h) if self.config.cell == "lstm" else None
        hs, cs, gates = [None] * S, [None] * S, [None] * S
        for s in (range(S - 1, -1, -1) if reverse else range(S)):
            out = layer_step(self.encoder.rnn, k, x[:, s], h, c, reverse=reverse)
            keep = mask[:, s:s + 1]  # (B, 1)
            h = torch.where(keep, out.h, h)
            c = torch.where(keep, out.c, c) if c is not None else None
            hs[s] = h * keep
            cs[s] = c * keep if c is not None else h
            gates[s] = tuple(g * keep for g in out.gates)
        per_gate = tuple(torch.stack([g[j] for g in gates], 1) for j in range(len(gates[0])))  # each (B, S, D)
        return torch.stack(hs, 1), torch.stack(cs, 1), per_gate


class TransformerEncoderModel(EncoderModel):
    """A bidirectional Transformer encoder (BERT-shaped) with a tagging, classifying or masked-LM head."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.embed = Embedding(cfg.src_vocab, cfg)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.hidden)
        self.prefix = int(cfg.head == "classify" and cfg.pooling == "cls")
        self.cls = nn.Parameter(torch.randn(cfg.hidden) * cfg.hidden**-0.5) if self.prefix else None
        self.head = EncoderHead(cfg, cfg.hidden, 1, self.embed.tokens)

    def _inputs(self, src: Tensor, src_lengths: Optional[Tensor]) -> tuple[Tensor, Tensor]:
        """Embedded input (B, S', D) with [CLS] first when pooling by it, and its mask (B, S')."""
        B, S = src.shape
        check_length(S + self.prefix, self.config.max_len, "input sequence")
        mask = lengths_to_mask(self.lengths(src, src_lengths), S)  # (B, S)
        x = self.embed(src, torch.arange(self.prefix, S + self.prefix, device=src.device))  # (B, S, D)
        if self.cls is None:
            return x, mask
        first = src.new_zeros(1)  # (1,) position 0, where [CLS] sits
        where = 0.0 if self.embed.positions is None else self.embed.positions(first)  # (1, D) absolute schemes only
        cls = self.embed.drop(self.cls + where).expand(B, 1, -1)  # (B, 1, D)
        return torch.cat([cls, x], 1), torch.cat([mask.new_ones(B, 1), mask], 1)  # (B, S+1, D), (B, S+1)

    def forward(self, src: Tensor, src_lengths: Optional[Tensor], tgt_in: Optional[Tensor] = None) -> Tensor:
        """Fused training path: logits (B, S, V), or (B, 1, V) classifying."""
        x, mask = self._inputs(src, src_lengths)
        for layer in self.layers:
            x = layer(x, mask[:, None, None, :])  # mask (B, 1, 1, S')
        return self.head(self.norm(x), mask)[0]

    def encode(self, src: Tensor, src_lengths: Optional[Tensor] = None) -> Encoding:
        """Attention written out per layer (the weights are kept); the same head on the same top."""
        x, mask = self._inputs(src, src_lengths)
        hidden, weights = [], []
        for layer in self.layers:
            x, w = layer.explicit(x, mask[:, None, None, :])  # w (B, H, S', S')
            hidden.append(x)
            weights.append(w)
        top = self.norm(x)  # (B, S', D)
        logits, pooling = self.head(top, mask)
        hidden = torch.stack(hidden, 1).unsqueeze(2)  # L x (B, S', D) -> (B, L, 1, S', D)
        return Encoding(logits, top, mask, hidden, self_attention=torch.stack(weights, 1), pooling=pooling,
                        prefix=self.prefix)
