"""Character-level recurrent language models: Elman RNN, GRU and LSTM.

The char-RNN of Karpathy (2015) / Graves (2013, "Generating sequences with recurrent neural
networks", sec. 2, without skip connections): x_t = E[y_{t-1}], a stack of L recurrent layers
h^l_t = cell(h^{l-1}_t, h^l_{t-1}) (Elman 1990 tanh RNN, Cho et al. 2014 GRU, or Hochreiter &
Schmidhuber 1997 LSTM; cell equations in ``cells.py``), and p(y_t | y_<t) = softmax(W h^L_t + b).
Optionally the output matrix W is the input embedding E (Press & Wolf 2017, "Using the output
embedding to improve language models"), which needs emb_dim == hidden.

``forward`` runs the fused cuDNN-style module over the whole sequence (the training path); ``step``
computes the same thing one token at a time with the hand-written cells, which also expose gates.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from .base import ModelConfig, SeqModel, State, StepOutput, Trace
from .cells import make_rnn, stack_step


def tie_or_check(embedding: nn.Embedding, output: nn.Linear, cfg: ModelConfig) -> None:
    """Share the embedding matrix with the output projection when ``tie_embeddings`` is set."""
    if not cfg.tie_embeddings:
        return
    if embedding.embedding_dim != output.in_features:
        raise ValueError(f"tie_embeddings needs emb_dim == hidden for RNN models "
                         f"(emb_dim={cfg.emb_dim}, hidden={cfg.hidden})")
    output.weight = embedding.weight


class RNNLanguageModel(SeqModel):
    """A stacked RNN / GRU / LSTM language model with the seqbench step interface.

    State: ``h`` (B, L, D) hidden state per layer; ``c`` (B, L, D) cell state, LSTM only.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.embed = nn.Embedding(cfg.tgt_vocab, cfg.emb_dim, padding_idx=cfg.pad_id)
        self.rnn = make_rnn(cfg.cell, cfg.emb_dim, cfg.hidden, cfg.layers, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.hidden, cfg.tgt_vocab)
        tie_or_check(self.embed, self.out, cfg)
        self.is_lstm = cfg.cell == "lstm"

    def forward(self, src: Optional[Tensor], src_lengths: Optional[Tensor], tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V), through the fused module from a zero state."""
        x = self.drop(self.embed(tgt_in))  # (B, T, E)
        out, _ = self.rnn(x)  # (B, T, D)
        return self.out(self.drop(out))  # (B, T, V)

    def start(self, src: Optional[Tensor], src_lengths: Optional[Tensor], batch_size: Optional[int] = None) -> State:
        """Zero state for ``batch_size`` rows (a language model has no source; ``src`` only sets B if given)."""
        if batch_size is None:
            if src is None:
                raise ValueError("a language model needs batch_size to start")
            batch_size = src.shape[0]
        weight = self.out.weight
        h = weight.new_zeros(batch_size, self.config.layers, self.config.hidden)  # (B, L, D)
        return {"h": h, "c": torch.zeros_like(h)} if self.is_lstm else {"h": h}

    def step(self, state: State, tokens: Tensor) -> StepOutput:
        """Feed tokens (B,) through the hand-written cells; trace holds hidden, cell and gates."""
        x = self.drop(self.embed(tokens))  # (B, E)
        h, c, gates = stack_step(self.rnn, x, state["h"], state.get("c"), edits=self.edits)
        logits = self.out(self.drop(h[:, -1]))  # (B, V)
        new_state = {"h": h, "c": c} if self.is_lstm else {"h": h}
        return StepOutput(logits, new_state, Trace(hidden=h, cell=c, gates=gates))
