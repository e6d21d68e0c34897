"""Recurrent encoder-decoders: fixed context c (no attention), Bahdanau attention, Luong attention.

Encoder (all variants): a fused RNN / GRU / LSTM stack, uni- or bidirectional, over the embedded
source, packed so padding never reaches a final state. Its top-layer outputs are the memory
h_1..h_S (B, S, De), De = D or 2D; c is the top layer's final state (bi: [forward final; backward
final], i.e. the forward state after the last real token and the backward state after the first).
With ``config.encoder = "vector"`` (1 vs N, the notes' "one input, a sequence out", as in image
captioning with the image vector x) there is no recurrence: the source is one input vector and
c = x = tanh(Σ_s W_{p(s)} e(x_s) + b) (``VectorEncoder``); the decoder below takes it either as its
initial state ("init") or at every step ("every-step"). With ``config.encoder = "conv"`` the memory
comes from ConvS2S's gated convolutions (``conv.py``) and c is its mean over the source.

Decoder, by ``config.attention`` / ``config.context`` (y_{t-1} the previous target token, e its
embedding, s_t the top-layer decoder state, L layers):

  "none" + "init" (Sutskever et al. 2014, "Sequence to sequence learning with neural networks";
  the bridge as in the appendix of Cho et al. 2014, s_0 = tanh(V' c)):
      s^l_0 = tanh(W_b c + b_b) for every layer l,   s_t = RNN(s_{t-1}, e(y_{t-1})),   p_t = softmax(W_o s_t)

  "none" + "every-step" (Cho et al. 2014, "Learning phrase representations using RNN
  encoder-decoder", sec. 2.2: the decoder state is conditioned on c at every step):
      s_0 = 0,   s_t = RNN(s_{t-1}, [e(y_{t-1}); c]),   p_t = softmax(W_o s_t)

  "additive" (Bahdanau et al. 2015, "Neural machine translation by jointly learning to align and
  translate", eqs. 4-6, with a tanh readout instead of the paper's maxout):
      a_t = softmax_s(v^T tanh(W_q s_{t-1} + W_k h_s)),   c_t = sum_s a_t(s) h_s
      s_t = RNN(s_{t-1}, [e(y_{t-1}); c_t]),   p_t = softmax(W_o tanh(W_r [c_t; s_t]))
  The RNN input at step t needs the attention of s_{t-1}, so the training path cannot run the
  fused module over the whole target: ``forward`` loops over T with the same hand-written cells
  as ``step`` (only the readout and output layer are batched over T afterwards).

  "dot" | "general" | "scaled-dot" | "local" | "multihead" (Luong et al. 2015, "Effective approaches
  to attention-based neural machine translation", eqs. 5-10; multi-head attention as in Vaswani et
  al. 2017 used as the scorer of an RNN decoder):
      h_t = RNN(h_{t-1}, e(y_{t-1})),   a_t = align(h_t, h_s),   c_t = sum_s a_t(s) h_s
      h~_t = tanh(W_c [c_t; h_t]),   p_t = softmax(W_s h~_t)
  Without Luong's input feeding (h~_{t-1} is not fed back), so the decoder RNN runs fused over
  T in training and attention is applied to all T outputs at once. For dot and scaled-dot with a
  bidirectional encoder (De = 2D != D), the memory is projected once per source to width D
  (``layers.DotAttention``). Every attention variant starts from the bridge like "init".

Scorers are in ``layers.py``, cells in ``cells.py``. State keys (batch on dim 0, on ``src.device``):
    h (B, L, D)   c (B, L, D) LSTM cell state   context (B, De) the fixed c
    enc_hidden (B, S, De)   src_mask (B, S) bool, True on real tokens   src_lengths (B,) long
    att_keys, att_values: the scorer's precomputed keys / values, (B, S, *) or (B, H, S, Dh) multihead
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .base import ModelConfig, SeqModel, State, StepOutput, Trace, lengths_to_mask
from .conv import ConvEncoder
from .cells import make_rnn, stack_step, step_layers, to_fused_hidden
from .layers import Attended, build_attention
from .rnn_lm import tie_or_check


class RNNEncoder(nn.Module):
    """Embeds a padded source batch and encodes it with a fused, packed (bi)directional RNN stack."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embed = nn.Embedding(cfg.src_vocab, cfg.emb_dim, padding_idx=cfg.pad_id)
        self.rnn = make_rnn(cfg.cell, cfg.emb_dim, cfg.hidden, cfg.layers, cfg.dropout, cfg.bidirectional)
        self.drop = nn.Dropout(cfg.dropout)
        self.directions = 2 if cfg.bidirectional else 1
        self.out_dim = cfg.hidden * self.directions

    def forward(self, src: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Memory (B, S, De), zero on padding, and each row's final top-layer state c (B, De)."""
        B, S = src.shape
        x = self.drop(self.embed(src))  # (B, S, E)
        # packing needs host-side lengths: the one device-to-host copy per batch, inherent to packing
        packed = pack_padded_sequence(x, lengths.to("cpu"), batch_first=True, enforce_sorted=False)
        out, final = self.rnn(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (B, S, De)
        if isinstance(final, tuple):
            final = final[0]  # LSTM (h_n, c_n): c is built from h_n
        top = final[-self.directions:]  # (dirs, B, D): top layer, forward then backward
        return memory, top.transpose(0, 1).reshape(B, self.out_dim)  # (B, dirs, D) -> (B, De)


class VectorEncoder(nn.Module):
    """1 vs N: the whole source as one input vector, x = tanh(Σ_s W_{p(s)} e(x_s) + b) (no recurrence).

    Each token is embedded by a table of its own for its place p(s) counted from the source's end
    (so the last digit of a number is always the units), which is a linear map of the one-hot
    encoding of the whole (fixed-width, right-aligned) input: the source is one vector, and x is a
    learned transform of it. The memory returned is each token's term W_{p(s)} e(x_s) (B, S, D),
    zero on padding: what every source position put into x.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.vocab, self.max_len, self.out_dim = cfg.src_vocab, cfg.max_len, cfg.hidden
        self.embed = nn.Embedding(cfg.src_vocab * cfg.max_len, cfg.hidden)  # row p * V + token
        self.bias = nn.Parameter(torch.zeros(cfg.hidden))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, src: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Per-position terms (B, S, D), zero on padding, and the input vector x (B, D)."""
        B, S = src.shape
        if S > self.max_len:
            raise ValueError(f"the source has {S} tokens but this vector encoder reads at most max_len={self.max_len}")
        real = lengths_to_mask(lengths.to(src.device), S)  # (B, S)
        from_end = (lengths.to(src.device).unsqueeze(1) - 1 - torch.arange(S, device=src.device)).clamp(min=0)  # (B, S)
        terms = self.embed(from_end * self.vocab + src) * real.unsqueeze(-1)  # (B, S, D)
        return terms, torch.tanh(self.drop(terms.sum(1)) + self.bias)  # (B, S, D), (B, D)


class ContextSummary(nn.Module):
    """The fixed context c from the encoder states (``config.context_from``), and which states fed it.

        last:       c = h_S (bi: [→h_S; ←h_1]), the encoder's final state (Sutskever et al. 2014)
        transform:  c = tanh(W h_S + b), a learned map of it (Bahdanau et al. 2015 initialise their
                    decoder with tanh(W_s ←h_1); Cho et al. 2014's c = tanh(V h_S))
        mean:       c = (1/S) Σ_s h_s over the real positions
        max:        c_i = max_s h_s,i per unit i (max pooling over time)

    The sources (B, S) sum to 1 per row: the share of c each position fed (last: the final
    position, or half each to the last and first for a bidirectional encoder; mean: 1/S each;
    max: the fraction of c's units whose maximum came from that position).
    """

    def __init__(self, cfg: ModelConfig, dim: int):
        super().__init__()
        self.how, self.directions = cfg.context_from, 2 if cfg.bidirectional else 1
        self.transform = nn.Linear(dim, dim) if self.how == "transform" else None

    def forward(self, memory: Tensor, final: Tensor, mask: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """memory (B, S, De), final (B, De), mask (B, S) -> c (B, De), sources (B, S)."""
        B, S, De = memory.shape
        real = mask.to(memory.dtype)  # (B, S)
        if self.how == "mean":
            return (memory * real.unsqueeze(-1)).sum(1) / lengths.unsqueeze(1).to(memory.dtype), real / real.sum(1, True)
        if self.how == "max":
            c, where = memory.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1)  # (B, De) each
            sources = torch.zeros_like(real).scatter_add_(1, where, torch.ones_like(c)) / De  # (B, S)
            return c, sources
        last = F.one_hot(lengths - 1, S).to(memory.dtype)  # (B, S)
        sources = last if self.directions == 1 else 0.5 * (last + F.one_hot(torch.zeros_like(lengths), S).to(memory.dtype))
        return (final if self.transform is None else torch.tanh(self.transform(final))), sources


class Bridge(nn.Module):
    """Maps the context c (B, De) to the decoder's initial state of every layer: tanh(W_b c + b_b).

    For an LSTM the same projection also yields the initial cell state of every layer.
    """

    def __init__(self, context_dim: int, hidden: int, layers: int, lstm: bool):
        super().__init__()
        self.parts, self.layers, self.hidden = (2 if lstm else 1), layers, hidden
        self.proj = nn.Linear(context_dim, self.parts * layers * hidden)

    def forward(self, context: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        B = context.shape[0]
        init = torch.tanh(self.proj(context)).view(B, self.parts, self.layers, self.hidden)  # (B, 1|2, L, D)
        return init[:, 0], (init[:, 1] if self.parts == 2 else None)  # (B, L, D) each


def decoder_mode(cfg: ModelConfig) -> str:
    """'init', 'every-step', 'bahdanau' or 'luong': which decoder equations ``cfg`` selects."""
    if cfg.attention == "none":
        return cfg.context
    return "bahdanau" if cfg.attention == "additive" else "luong"


class RNNSeq2Seq(SeqModel):
    """RNN / GRU / LSTM encoder-decoder with the seqbench step interface (see the module docstring)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.mode = decoder_mode(cfg)
        self.is_lstm = cfg.cell == "lstm"
        self.encoder = {"vector": VectorEncoder, "conv": ConvEncoder}.get(cfg.encoder, RNNEncoder)(cfg)
        self.summary = ContextSummary(cfg, self.encoder.out_dim) if cfg.attention == "none" and cfg.encoder == "rnn" else None
        De, D = self.encoder.out_dim, cfg.hidden
        self.attention = None if cfg.attention == "none" else build_attention(cfg.attention, D, De, cfg)
        Dc = De if self.attention is None else self.attention.context_dim
        extra = {"every-step": De, "bahdanau": Dc}.get(self.mode, 0)
        self.embed = nn.Embedding(cfg.tgt_vocab, cfg.emb_dim, padding_idx=cfg.pad_id)
        self.decoder = make_rnn(cfg.cell, cfg.emb_dim + extra, D, cfg.layers, cfg.dropout)
        self.bridge = None if self.mode == "every-step" else Bridge(De, D, cfg.layers, self.is_lstm)
        self.combine = None if self.attention is None else nn.Linear(Dc + D, D)  # W_r / W_c over [c_t; s_t]
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(D, cfg.tgt_vocab)
        tie_or_check(self.embed, self.out, cfg)
        if cfg.share_embeddings:  # one vocabulary: a token means the same on both sides
            self.encoder.embed.weight = self.embed.weight

    # ---- encoding -------------------------------------------------------------------------------

    def start(self, src: Optional[Tensor], src_lengths: Optional[Tensor], batch_size: Optional[int] = None) -> State:
        """Encode ``src`` (B, S) once: memory, mask, fixed context, precomputed keys, initial decoder state."""
        if src is None:
            raise ValueError("an encoder-decoder needs a source batch to start")
        B, S = src.shape
        if src_lengths is None:
            src_lengths = torch.full((B,), S, dtype=torch.long, device=src.device)
        memory, context = self.encoder(src, src_lengths)
        lengths = src_lengths.to(device=src.device, dtype=torch.long)
        mask = lengths_to_mask(lengths, S)  # (B, S)
        state = {"enc_hidden": memory, "src_mask": mask, "src_lengths": lengths}
        if self.summary is not None:
            state["context"], state["context_sources"] = self.summary(memory, context, mask, lengths)
        else:
            state["context"] = context
        if self.bridge is None:
            state["h"] = memory.new_zeros(B, self.config.layers, self.config.hidden)  # (B, L, D)
            if self.is_lstm:
                state["c"] = torch.zeros_like(state["h"])
        else:
            h, c = self.bridge(context)
            state["h"] = h
            if c is not None:
                state["c"] = c
        if self.attention is not None:
            state["att_keys"], state["att_values"] = self.attention.prepare(memory)
        return state

    # ---- the training path ----------------------------------------------------------------------

    def forward(self, src: Optional[Tensor], src_lengths: Optional[Tensor], tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V): fused decoder except for Bahdanau attention (see docstring)."""
        state = self.start(src, src_lengths)
        emb = self.drop(self.embed(tgt_in))  # (B, T, E)
        if self.mode == "bahdanau":
            contexts, tops = self._bahdanau_unroll(state, emb)
            return self.out(self.drop(self._readout(contexts, tops)))  # (B, T, V)
        x = emb
        if self.mode == "every-step":
            fixed = state["context"].unsqueeze(1).expand(-1, emb.shape[1], -1)  # (B, T, De)
            x = torch.cat([emb, fixed], -1)  # (B, T, E + De)
        h0 = to_fused_hidden(state["h"])  # (L, B, D)
        out, _ = self.decoder(x, (h0, to_fused_hidden(state["c"])) if self.is_lstm else h0)  # (B, T, D)
        if self.mode == "luong":
            out = self._readout(self._attend(out, state).context, out)  # (B, T, D)
        return self.out(self.drop(out))  # (B, T, V)

    def _bahdanau_unroll(self, state: State, emb: Tensor) -> tuple[Tensor, Tensor]:
        """Run the decoder cells over T: contexts c_t (B, T, Dc) and top states s_t (B, T, D)."""
        hs = list(state["h"].unbind(1))  # L x (B, D): per-layer lists keep the backward cheap
        cs = list(state["c"].unbind(1)) if self.is_lstm else None
        contexts, tops = [], []
        for e in emb.unbind(1):  # T x (B, E)
            ctx = self._attend(hs[-1], state).context  # (B, Dc) from s_{t-1}
            outs = step_layers(self.decoder, torch.cat([e, ctx], -1), hs, cs)
            hs = [o.h for o in outs]
            cs = [o.c for o in outs] if self.is_lstm else None
            contexts.append(ctx)
            tops.append(hs[-1])
        return torch.stack(contexts, 1), torch.stack(tops, 1)  # (B, T, Dc), (B, T, D)

    # ---- the decoding path ----------------------------------------------------------------------

    def step(self, state: State, tokens: Tensor) -> StepOutput:
        """Feed tokens (B,) through the hand-written decoder cells; the trace shows what they computed."""
        x = self.drop(self.embed(tokens))  # (B, E)
        att: Optional[Attended] = None
        if self.mode == "bahdanau":
            att = self._attend(state["h"][:, -1], state, self.edits)  # scored with s_{t-1}
            x = torch.cat([x, att.context], -1)  # (B, E + Dc)
        elif self.mode == "every-step":
            x = torch.cat([x, state["context"]], -1)  # (B, E + De)
        h, c, gates = stack_step(self.decoder, x, state["h"], state.get("c"), edits=self.edits)
        top = h[:, -1]  # (B, D)
        if self.mode == "luong":
            att = self._attend(top, state, self.edits)
        feat = top if att is None else self._readout(att.context, top)
        logits = self.out(self.drop(feat))  # (B, V)
        new_state = dict(state, h=h)
        if c is not None:
            new_state["c"] = c
        trace = Trace(hidden=h, cell=c, gates=gates, context=state["context"])
        if att is not None:
            trace.cross_attention = att.weights.unsqueeze(1)  # (B, 1, H, S): one decoder "layer" attends
            trace.context = att.context
            trace.local_center = att.center
            trace.chosen = att.chosen
        return StepOutput(logits, new_state, trace)

    # ---- training hooks (hard attention's temperature and REINFORCE loss) -----------------------

    def schedule(self, progress: float) -> dict[str, float]:
        return {} if self.attention is None else self.attention.schedule(progress)

    def extra_loss(self, logits: Tensor, targets: Tensor, pad_id: int) -> Optional[Tensor]:
        return None if self.attention is None else self.attention.extra_loss(logits, targets, pad_id)

    # ---- shared pieces --------------------------------------------------------------------------

    def _attend(self, query: Tensor, state: State, edits=None) -> Attended:
        """Attention of query (B, [T,] D) over the encoder memory held in ``state``; ``edits`` from ``step``."""
        args = (query, state["att_keys"], state["att_values"], state["src_mask"], state["src_lengths"])
        if edits:  # an RNN decoder attends once: its attention is "layer 0"
            return self.attention.edited(*args, pin=edits.pin(0), heads=edits.heads("cross", 0))
        return self.attention(*args)

    def _readout(self, context: Tensor, top: Tensor) -> Tensor:
        """tanh(W [c_t; s_t]): Bahdanau's readout / Luong's attentional hidden state h~_t."""
        return torch.tanh(self.combine(torch.cat([context, top], -1)))  # (B, [T,] D)
