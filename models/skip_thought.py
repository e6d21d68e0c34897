"""Skip-thought vectors (Kiros et al. 2015, "Skip-thought vectors"): one encoder, two decoders.

The encoder (``seq2seq.RNNEncoder``: a GRU by default, any cell, uni- or bidirectional, L layers)
reads sentence i, w_i^1..w_i^N, and its final top-layer state is the sentence vector h_i (B, De).
Two decoders with weights of their own generate the sentence before it (i−1, "prev") and the one
after it (i+1, "next"), each conditioned on h_i at every step (the paper's sec. 2, with the bias
terms C_r h_i, C_z h_i, C h_i; x^{t−1} the embedding of the previous target word):

    r^t = σ(W_r x^{t−1} + U_r h^{t−1} + C_r h_i)                 reset
    z^t = σ(W_z x^{t−1} + U_z h^{t−1} + C_z h_i)                 update
    n^t = tanh(W x^{t−1} + C h_i + r^t ⊙ (U h^{t−1}))            candidate
    h^t = (1 − z^t) ⊙ n^t + z^t ⊙ h^{t−1},   h^0 = 0
    P(w^t | w^{<t}, h_i) ∝ exp(V h^t)

The conditioning is the decoder cell's input [x^{t−1}; h_i]: W x + C h_i is one matrix applied to
the concatenation (Cho et al. 2014's "c at every step", ``seq2seq`` mode "every-step"). The
candidate applies r after U, as torch's GRU does (the paper writes U (r ⊙ h)). As in the paper, the
decoders share the vocabulary matrix V and the word embeddings; everything else is per decoder.
Training maximises log P(sentence i−1 | h_i) + log P(sentence i+1 | h_i): a batch holds both
kinds of rows and the trainer's cross-entropy sums over them.

Which decoder a row uses is told by its first decoder input: the task's ``<prev>`` token
(``config.prev_id``) starts the previous-sentence decoder, ``<bos>`` (any other token) the
next-sentence one. So ``forward(src, src_lengths, tgt_in)`` and ``start``/``step`` keep the one
protocol of ``base.py``, every decoding tool drives either decoder by choosing the first token,
and both decoders read the same ``state["context"]``: the sentence vector, computed once.

State keys (batch on dim 0): h (B, L, D), c (B, L, D) LSTM cell state, context (B, De) the
sentence vector h_i, route (B,) long: −1 before the first token, then 0 (prev) or 1 (next),
enc_hidden (B, S, De), src_mask (B, S), src_lengths (B,).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from .base import ModelConfig, SeqModel, State, StepOutput, Trace, lengths_to_mask
from .cells import make_rnn, stack_step
from .rnn_lm import tie_or_check
from .seq2seq import RNNEncoder

DECODER_NAMES = ("prev", "next")  # decoder k generates sentence i−1 (k = 0) or sentence i+1 (k = 1)


class SkipThought(SeqModel):
    """Encoder of sentence i, decoders of sentences i−1 and i+1 (see the module docstring)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.is_lstm = cfg.cell == "lstm"
        self.encoder = RNNEncoder(cfg)
        De, D = self.encoder.out_dim, cfg.hidden
        self.embed = nn.Embedding(cfg.tgt_vocab, cfg.emb_dim, padding_idx=cfg.pad_id)  # shared by both decoders
        self.decoders = nn.ModuleList(make_rnn(cfg.cell, cfg.emb_dim + De, D, cfg.layers, cfg.dropout)
                                      for _ in DECODER_NAMES)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(D, cfg.tgt_vocab)  # V, shared by both decoders
        tie_or_check(self.embed, self.out, cfg)

    def route(self, first: Tensor) -> Tensor:
        """Which decoder (0 prev, 1 next) rows starting with tokens ``first`` (B,) use: (B,) long."""
        return (first != self.config.prev_id).long()

    def sentence_vectors(self, src: Tensor, src_lengths: Tensor) -> Tensor:
        """The sentence vectors h_i (B, De) of a padded batch of sentences: what the neighbour view compares."""
        return self.encoder(src, src_lengths)[1]

    # ---- encoding -------------------------------------------------------------------------------

    def start(self, src: Optional[Tensor], src_lengths: Optional[Tensor], batch_size: Optional[int] = None) -> State:
        """Encode sentence i once: the sentence vector both decoders read, zero decoder states, no route yet."""
        if src is None:
            raise ValueError("skip-thought needs a source sentence to start")
        B, S = src.shape
        if src_lengths is None:
            src_lengths = torch.full((B,), S, dtype=torch.long, device=src.device)
        lengths = src_lengths.to(device=src.device, dtype=torch.long)
        memory, vector = self.encoder(src, lengths)  # (B, S, De), (B, De)
        h = memory.new_zeros(B, self.config.layers, self.config.hidden)  # (B, L, D): h^0 = 0
        state = {"enc_hidden": memory, "src_mask": lengths_to_mask(lengths, S), "src_lengths": lengths,
                 "context": vector, "h": h, "route": torch.full((B,), -1, dtype=torch.long, device=src.device)}
        if self.is_lstm:
            state["c"] = torch.zeros_like(h)
        return state

    # ---- the training path ----------------------------------------------------------------------

    def forward(self, src: Optional[Tensor], src_lengths: Optional[Tensor], tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V): each decoder runs fused over the rows its first token routes to it."""
        state = self.start(src, src_lengths)
        B, T = tgt_in.shape
        route = self.route(tgt_in[:, 0])  # (B,)
        emb = self.drop(self.embed(tgt_in))  # (B, T, E)
        x = torch.cat([emb, state["context"].unsqueeze(1).expand(-1, T, -1)], -1)  # (B, T, E + De)
        out = emb.new_zeros(B, T, self.config.hidden)  # (B, T, D)
        for k, rnn in enumerate(self.decoders):
            rows = (route == k).nonzero().squeeze(1)  # (B_k,)
            if rows.numel():
                top, _ = rnn(x.index_select(0, rows))  # (B_k, T, D), h^0 = 0
                out = out.index_copy(0, rows, top)
        return self.out(self.drop(out))  # (B, T, V)

    # ---- the decoding path ----------------------------------------------------------------------

    def step(self, state: State, tokens: Tensor) -> StepOutput:
        """Feed tokens (B,) through each row's decoder (hand-written cells; rows of both: both run, each keeps its own)."""
        route = torch.where(state["route"] < 0, self.route(tokens), state["route"])  # (B,)
        x = torch.cat([self.drop(self.embed(tokens)), state["context"]], -1)  # (B, E + De)
        first = int(route[0])
        if bool((route == first).all()):  # one decoder for every row (a session, most batches): step it alone
            one = stack_step(self.decoders[first], x, state["h"], state.get("c"), edits=self.edits)
            h, c, gates = one.h, one.c, one.gates  # (B, L, D)
        else:
            steps = [stack_step(rnn, x, state["h"], state.get("c"), edits=self.edits) for rnn in self.decoders]
            nxt = route == 1  # (B,)

            def pick(prev: Tensor, after: Tensor) -> Tensor:
                return torch.where(nxt.view(-1, *([1] * (prev.dim() - 1))), after, prev)

            h = pick(steps[0].h, steps[1].h)  # (B, L, D)
            c = None if steps[0].c is None else pick(steps[0].c, steps[1].c)
            gates = None if steps[0].gates is None else {k: pick(v, steps[1].gates[k])
                                                         for k, v in steps[0].gates.items()}
        logits = self.out(self.drop(h[:, -1]))  # (B, V)
        new_state = dict(state, h=h, route=route)
        if c is not None:
            new_state["c"] = c
        trace = Trace(hidden=h, cell=c, gates=gates, context=state["context"], decoder=route)
        return StepOutput(logits, new_state, trace)
