"""The Transformer: a causal language model and an encoder-decoder (Vaswani et al. 2017).

"Attention Is All You Need" (Vaswani et al., NeurIPS 2017), with the equations this file follows:

    PE(pos, 2i)   = sin(pos / 10000^(2i/D))        sinusoidal positions, added to the
    PE(pos, 2i+1) = cos(pos / 10000^(2i/D))        token embeddings scaled by sqrt(D)      (§3.4, §3.5)
    (``config.positions`` also offers learned absolute, T5 relative and rotary positions:
    see ``positions.py``; those act inside every self-attention, never in cross-attention)
    Attention(Q, K, V) = softmax(Q Kᵀ / sqrt(Dh)) V                                        (eq. 1)
    MultiHead(Q, K, V) = Concat(head_1, ..., head_H) W^O,
        head_h = Attention(Q W^Q_h, K W^K_h, V W^V_h)                                      (§3.2.2)
    FFN(x) = max(0, x W_1 + b_1) W_2 + b_2                                                 (eq. 2)

Residual + layer norm is placed *before* each sublayer, ``x + Sublayer(LN(x))``, with one final LN
on top of each stack ("pre-LN", Xiong et al. 2020, "On Layer Normalization in the Transformer
Architecture"). The paper's post-LN ``LN(x + Sublayer(x))`` needs learning-rate warm-up to train
stably; pre-LN trains small models faster without it, which suits live training on a laptop.

Dropout follows the paper (§5.4): on the sum of embeddings and positions, and on every sublayer's
output before it is added to the residual. Attention weights are not dropped, so the weights the
inspector shows are exactly the ones that mixed the values.

Two paths compute the same function. ``forward`` (training) uses the fused
``scaled_dot_product_attention`` with a causal / source-padding mask. ``start``/``step`` (decoding)
write the softmax out so the trace can report the weights, and keep a key/value cache in the state
so each step costs O(prefix) instead of re-running it:

    k_self, v_self   (B, L, H, t, Dh)  decoder self-attention keys/values, one position per step
    k_cross, v_cross (B, L, H, S, Dh)  cross-attention keys/values, projected once in ``start``
    src_mask         (B, S) bool       True on real source tokens
    pos              (B,) long         position of the next token fed to ``step``
    enc_hidden       (B, S, D)         encoder output (after its final LN), for EncoderTrace
    enc_self_attention (B, L, H, S, S) encoder self-attention weights, for EncoderTrace

A language model's state holds only ``k_self``, ``v_self`` and ``pos``.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import ModelConfig, SeqModel, State, StepOutput, Trace, lengths_to_mask
from .layers import one_hot_position
from .positions import AbsolutePositions, SelfPositions, adds_to_embeddings, sinusoidal_positions  # noqa: F401


def check_length(length: int, max_len: int, what: str) -> None:
    """Positions past ``max_len`` have no encoding: say so instead of failing on an index."""
    if length > max_len:
        raise ValueError(
            f"{what} has {length} positions but this transformer covers at most max_len={max_len}; "
            f"shorten the sequence or build the model with a larger max_len"
        )


def attend(q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor] = None,
           bias: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    """softmax(Q Kᵀ / sqrt(Dh) + bias) V written out; returns (values (B, H, Tq, Dh), weights (B, H, Tq, Tk))."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, Tq, Tk)
    if bias is not None:  # relative positions: (1 | B, H, Tq, Tk)
        scores = scores + bias
    if mask is not None:  # (B, 1, 1, Tk), True = may attend; masked keys get weight exactly 0
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(-1)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """H heads of scaled dot-product attention, fused for training or written out for the trace.

    A self-attention built with ``positions`` (relative or rotary schemes) rotates its queries and
    keys or biases its scores by position; ``q_pos`` / ``k_pos`` say where they are.
    """

    def __init__(self, dim: int, heads: int, positions: Optional[SelfPositions] = None):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)  # keys and values in one matmul
        self.out = nn.Linear(dim, dim)  # W^O
        self.positions = positions

    def split(self, x: Tensor) -> Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.heads, self.head_dim).transpose(1, 2)  # (B, T, D) -> (B, H, T, Dh)

    def merge(self, x: Tensor) -> Tensor:
        B, H, T, Dh = x.shape
        return x.transpose(1, 2).reshape(B, T, H * Dh)  # (B, H, T, Dh) -> (B, T, D)

    def keys_values(self, memory: Tensor, pos: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """Project what is attended to, (B, Tk, D) at positions ``pos``, into per-head keys and values (B, H, Tk, Dh)."""
        k, v = self.kv(memory).chunk(2, dim=-1)  # (B, Tk, D) each
        k = self.split(k)
        if self.positions is not None and pos is not None:
            k = self.positions.rotate(k, pos)
        return k, self.split(v)

    def queries(self, x: Tensor, pos: Optional[Tensor] = None) -> Tensor:
        """Per-head queries (B, H, Tq, Dh) of x (B, Tq, D) at positions ``pos`` (rotated if rotary)."""
        q = self.split(self.q(x))
        return q if self.positions is None or pos is None else self.positions.rotate(q, pos)

    def forward(self, x: Tensor, memory: Tensor, mask: Optional[Tensor] = None, causal: bool = False) -> Tensor:
        """Fused path: queries from x (B, Tq, D) over memory (B, Tk, D) -> (B, Tq, D).

        With positions, x is memory (self-attention) at positions 0..T-1."""
        pos = torch.arange(x.shape[1], device=x.device) if self.positions is not None else None
        k, v = self.keys_values(memory, pos)
        q = self.queries(x, pos)  # (B, H, Tq, Dh)
        bias = self.positions.bias(pos, pos) if self.positions is not None else None  # (1, H, T, T)
        if bias is not None:  # SDPA takes one float mask: the bias, with -inf where attending is not allowed
            keep = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool, device=x.device)
            keep = keep.tril() if causal else keep  # (T, T)
            keep = keep if mask is None else keep & mask  # (B | 1, 1, T, T)
            mask, causal = bias.masked_fill(~keep, float("-inf")), False
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)  # (B, H, Tq, Dh)
        return self.out(self.merge(y))

    def explicit(self, x: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor] = None,
                 pin: Optional[int] = None, head_edits=(), q_pos: Optional[Tensor] = None,
                 k_pos: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """Written-out path over given keys/values: -> (output (B, Tq, D), weights (B, H, Tq, Tk)).

        With positions, the queries sit at ``q_pos`` ((Tq,) or (B, Tq)) and the keys, already
        rotated by ``keys_values``, at ``k_pos`` (Tk,).
        Interventions (decoding only): ``pin`` puts every head's weight on one key position;
        ``head_edits`` (``interventions.Edit``) set a head's values before W^O mixes the heads."""
        bias = self.positions.bias(q_pos, k_pos) if self.positions is not None else None
        y, weights = attend(self.queries(x, q_pos), k, v, mask, bias)  # (B, H, Tq, Dh)
        if pin is not None:
            B, H, Tq, Tk = weights.shape
            weights = one_hot_position(B, H, Tk, pin, weights).unsqueeze(2).expand(-1, -1, Tq, -1)  # (B, H, Tq, Tk)
            y = weights @ v  # (B, H, Tq, Dh)
        if head_edits:
            y = y.clone()
            for e in head_edits:
                y[:, e.index] = e.value
        return self.out(self.merge(y)), weights


class FeedForward(nn.Module):
    """Position-wise FFN(x) = max(0, x W_1 + b_1) W_2 + b_2 (eq. 2)."""

    def __init__(self, dim: int, width: int):
        super().__init__()
        self.up, self.down = nn.Linear(dim, width), nn.Linear(width, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.down(F.relu(self.up(x)))


def self_positions(cfg: ModelConfig, bidirectional: bool) -> Optional[SelfPositions]:
    """The position module of one self-attention layer, or None for the absolute schemes."""
    if adds_to_embeddings(cfg.positions):
        return None
    return SelfPositions(cfg.positions, cfg.heads, cfg.hidden // cfg.heads, cfg.max_len, bidirectional)


class EncoderLayer(nn.Module):
    """Pre-LN encoder layer: self-attention over the source, then the FFN, each with a residual."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        D = cfg.hidden
        self.norm1, self.attn = nn.LayerNorm(D), MultiHeadAttention(D, cfg.heads, self_positions(cfg, True))
        self.norm2, self.ffn = nn.LayerNorm(D), FeedForward(D, cfg.ffn or 4 * D)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, S, D), mask (B, 1, 1, S) -> (B, S, D); fused attention."""
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, h, mask))
        return x + self.drop(self.ffn(self.norm2(x)))

    def explicit(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Same as forward, also returning the attention weights (B, H, S, S)."""
        h = self.norm1(x)
        pos = torch.arange(x.shape[1], device=x.device)  # (S,)
        attended, weights = self.attn.explicit(h, *self.attn.keys_values(h, pos), mask, q_pos=pos, k_pos=pos)
        x = x + self.drop(attended)
        return x + self.drop(self.ffn(self.norm2(x))), weights


class LayerStep(NamedTuple):
    """What one decoder layer computed for one new position."""

    x: Tensor  # (B, 1, D) layer output (the residual stream)
    self_weights: Tensor  # (B, H, 1, t)
    cross_weights: Optional[Tensor]  # (B, H, 1, S)
    context: Optional[Tensor]  # (B, 1, D) cross-attention output


class DecoderLayer(nn.Module):
    """Pre-LN decoder layer: causal self-attention, cross-attention (seq2seq only), FFN."""

    def __init__(self, cfg: ModelConfig, cross: bool):
        super().__init__()
        D = cfg.hidden
        self.norm1, self.self_attn = nn.LayerNorm(D), MultiHeadAttention(D, cfg.heads, self_positions(cfg, False))
        self.norm2 = nn.LayerNorm(D) if cross else None
        self.cross_attn = MultiHeadAttention(D, cfg.heads) if cross else None
        self.norm3, self.ffn = nn.LayerNorm(D), FeedForward(D, cfg.ffn or 4 * D)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, memory: Optional[Tensor], mask: Optional[Tensor]) -> Tensor:
        """x (B, T, D), memory (B, S, D), mask (B, 1, 1, S) -> (B, T, D); fused attention."""
        h = self.norm1(x)
        x = x + self.drop(self.self_attn(h, h, causal=True))
        if self.cross_attn is not None:
            x = x + self.drop(self.cross_attn(self.norm2(x), memory, mask))
        return x + self.drop(self.ffn(self.norm3(x)))

    def step(self, x: Tensor, k_self: Tensor, v_self: Tensor, k_cross: Optional[Tensor],
             v_cross: Optional[Tensor], mask: Optional[Tensor], edits=None, index: int = 0,
             pos: Optional[Tensor] = None) -> LayerStep:
        """One new position x (B, 1, D) at positions ``pos`` (B, 1). ``k_self``/``v_self`` (B, H, t, Dh)
        hold the cached prefix in their first t-1 positions; this position's key and value are written
        into the last one (the caller allocates them for this step, so no earlier state is touched).
        ``edits`` (an ``interventions.EditSet``) act on this layer, number ``index``."""
        h = self.norm1(x)
        k_new, v_new = self.self_attn.keys_values(h, pos)  # (B, H, 1, Dh) each
        k_self[:, :, -1:] = k_new
        v_self[:, :, -1:] = v_new
        own = {"head_edits": edits.heads("self", index)} if edits else {}
        prefix = torch.arange(k_self.shape[2], device=x.device)  # (t,) the cache holds positions 0..t-1
        # the prefix is all in the past: no mask
        attended, self_weights = self.self_attn.explicit(h, k_self, v_self, q_pos=pos, k_pos=prefix, **own)
        x = x + self.drop(attended)
        context = cross_weights = None
        if self.cross_attn is not None:
            cross = {"pin": edits.pin(index), "head_edits": edits.heads("cross", index)} if edits else {}
            context, cross_weights = self.cross_attn.explicit(self.norm2(x), k_cross, v_cross, mask, **cross)
            x = x + self.drop(context)
        x = x + self.drop(self.ffn(self.norm3(x)))
        if edits:
            x = edits.apply(x, "hidden", index)
        return LayerStep(x, self_weights, cross_weights, context)


class Embedding(nn.Module):
    """Token embedding times sqrt(D) plus the absolute position (if any), then dropout (§3.4, §3.5, §5.4)."""

    def __init__(self, vocab: int, cfg: ModelConfig):
        super().__init__()
        D = cfg.hidden
        self.tokens = nn.Embedding(vocab, D, padding_idx=cfg.pad_id)
        # std D^-0.5 so that after the sqrt(D) scale tokens and positions have comparable (unit) size
        nn.init.normal_(self.tokens.weight, std=D**-0.5)
        with torch.no_grad():
            self.tokens.weight[cfg.pad_id].zero_()
        absolute = adds_to_embeddings(cfg.positions)
        self.positions = AbsolutePositions(cfg.positions, cfg.max_len, D) if absolute else None
        self.scale, self.drop = math.sqrt(D), nn.Dropout(cfg.dropout)

    def forward(self, tokens: Tensor, pos: Tensor) -> Tensor:
        """tokens (B, T), pos (T,) or (B, T) -> (B, T, D)."""
        x = self.tokens(tokens) * self.scale
        return self.drop(x if self.positions is None else x + self.positions(pos))


class Decoder(nn.Module):
    """Decoder stack shared by both models: embedding, L layers, final LN, output projection."""

    def __init__(self, cfg: ModelConfig, cross: bool):
        super().__init__()
        self.max_len = cfg.max_len
        self.embed = Embedding(cfg.tgt_vocab, cfg)
        self.layers = nn.ModuleList(DecoderLayer(cfg, cross) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.hidden)
        self.proj = nn.Linear(cfg.hidden, cfg.tgt_vocab)
        if cfg.tie_embeddings:
            self.proj.weight = self.embed.tokens.weight

    def forward(self, tgt_in: Tensor, memory: Optional[Tensor] = None, mask: Optional[Tensor] = None) -> Tensor:
        """tgt_in (B, T) -> logits (B, T, V); memory (B, S, D) and mask (B, 1, 1, S) for seq2seq."""
        check_length(tgt_in.shape[1], self.max_len, "target sequence")
        x = self.embed(tgt_in, torch.arange(tgt_in.shape[1], device=tgt_in.device))  # (B, T, D)
        for layer in self.layers:
            x = layer(x, memory, mask)
        return self.proj(self.norm(x))

    def empty_cache(self, batch: int, device: torch.device) -> State:
        """Zero-length self-attention cache (B, L, H, 0, Dh) and position 0 for every row."""
        attn = self.layers[0].self_attn
        shape = (batch, len(self.layers), attn.heads, 0, attn.head_dim)
        dtype = self.proj.weight.dtype
        return {
            "k_self": torch.zeros(shape, device=device, dtype=dtype),
            "v_self": torch.zeros(shape, device=device, dtype=dtype),
            "pos": torch.zeros(batch, dtype=torch.long, device=device),
        }

    def step(self, state: State, tokens: Tensor, edits=None) -> StepOutput:
        """Feed tokens (B,) at position ``pos``; extend the cache by one position (``edits``: see ``DecoderLayer.step``).

        The new state's cache is allocated once per step, one position longer, and the old prefix is
        copied in once; each layer writes its own new key/value into it (one copy per step, where
        concatenating per layer and stacking the layers would copy the whole cache twice).
        """
        old_k, old_v = state["k_self"], state["v_self"]  # (B, L, H, t-1, Dh)
        t = old_k.shape[3] + 1
        check_length(t, self.max_len, "decoded sequence")
        k_self = old_k.new_empty(*old_k.shape[:3], t, old_k.shape[4])  # (B, L, H, t, Dh)
        v_self = old_v.new_empty(k_self.shape)
        k_self[:, :, :, :-1], v_self[:, :, :, :-1] = old_k, old_v
        x = self.embed(tokens.unsqueeze(1), state["pos"].unsqueeze(1))  # (B, 1, D)
        cross = "k_cross" in state
        mask = state["src_mask"][:, None, None, :] if cross else None  # (B, 1, 1, S)
        outs = []
        for l, layer in enumerate(self.layers):
            kc, vc = (state["k_cross"][:, l], state["v_cross"][:, l]) if cross else (None, None)  # (B, H, S, Dh)
            out = layer.step(x, k_self[:, l], v_self[:, l], kc, vc, mask, edits, l, state["pos"].unsqueeze(1))
            outs.append(out)
            x = out.x
        logits = self.proj(self.norm(x)).squeeze(1)  # (B, 1, V) -> (B, V)
        new_state = {**state, "k_self": k_self, "v_self": v_self, "pos": state["pos"] + 1}
        trace = Trace(
            self_attention=torch.stack([o.self_weights for o in outs], 1)[:, :, :, 0],  # (B, L, H, 1, t) -> (B, L, H, t)
            hidden=torch.cat([o.x for o in outs], 1),  # L x (B, 1, D) -> (B, L, D)
        )
        if cross:
            trace.cross_attention = torch.stack([o.cross_weights for o in outs], 1)[:, :, :, 0]  # (B, L, H, S)
            trace.context = outs[-1].context.squeeze(1)  # (B, 1, D) -> (B, D)
        return StepOutput(logits, new_state, trace)


class TransformerLM(SeqModel):
    """Causal decoder-only Transformer language model (no source, no cross-attention)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.decoder = Decoder(cfg, cross=False)

    def forward(self, src: Optional[Tensor], src_lengths: Optional[Tensor], tgt_in: Tensor) -> Tensor:
        return self.decoder(tgt_in)

    def start(self, src: Optional[Tensor], src_lengths: Optional[Tensor], batch_size: Optional[int] = None) -> State:
        if batch_size is None:
            raise ValueError("a language model has no source: start(None, None, batch_size=B) needs batch_size")
        return self.decoder.empty_cache(batch_size, self.device)

    def step(self, state: State, tokens: Tensor) -> StepOutput:
        return self.decoder.step(state, tokens, self.edits)


class TransformerSeq2Seq(SeqModel):
    """Transformer encoder-decoder: self-attention encoder, decoder with self- and cross-attention."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.src_embed = Embedding(cfg.src_vocab, cfg)
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.layers))
        self.enc_norm = nn.LayerNorm(cfg.hidden)
        self.decoder = Decoder(cfg, cross=True)
        if cfg.share_embeddings:  # one vocabulary: a token means the same on both sides
            self.src_embed.tokens.weight = self.decoder.embed.tokens.weight

    def source_mask(self, src: Tensor, src_lengths: Optional[Tensor]) -> Tensor:
        """(B, S) bool, True on real tokens; from the lengths, or from pad_id when none are given."""
        check_length(src.shape[1], self.config.max_len, "source sequence")
        if src_lengths is None:
            return src != self.config.pad_id
        return lengths_to_mask(src_lengths.to(src.device), src.shape[1])

    def encode(self, src: Tensor, mask: Tensor) -> Tensor:
        """Fused encoder: src (B, S), mask (B, S) -> memory (B, S, D)."""
        x = self.src_embed(src, torch.arange(src.shape[1], device=src.device))  # (B, S, D)
        for layer in self.encoder:
            x = layer(x, mask[:, None, None, :])  # mask (B, 1, 1, S)
        return self.enc_norm(x)

    def forward(self, src: Tensor, src_lengths: Optional[Tensor], tgt_in: Tensor) -> Tensor:
        mask = self.source_mask(src, src_lengths)  # (B, S)
        return self.decoder(tgt_in, self.encode(src, mask), mask[:, None, None, :])

    def start(self, src: Tensor, src_lengths: Optional[Tensor], batch_size: Optional[int] = None) -> State:
        """Encode once with explicit attention (for the encoder trace); project cross keys/values once."""
        mask = self.source_mask(src, src_lengths)  # (B, S)
        x = self.src_embed(src, torch.arange(src.shape[1], device=src.device))  # (B, S, D)
        weights = []
        for layer in self.encoder:
            x, w = layer.explicit(x, mask[:, None, None, :])  # w (B, H, S, S)
            weights.append(w)
        memory = self.enc_norm(x)  # (B, S, D)
        kv = [layer.cross_attn.keys_values(memory) for layer in self.decoder.layers]  # L x (B, H, S, Dh) pairs
        return {
            **self.decoder.empty_cache(src.shape[0], src.device),
            "k_cross": torch.stack([k for k, _ in kv], 1),  # (B, L, H, S, Dh)
            "v_cross": torch.stack([v for _, v in kv], 1),  # (B, L, H, S, Dh)
            "src_mask": mask,
            "enc_hidden": memory,
            "enc_self_attention": torch.stack(weights, 1),  # (B, L, H, S, S)
        }

    def step(self, state: State, tokens: Tensor) -> StepOutput:
        return self.decoder.step(state, tokens, self.edits)
