"""The one step interface every seqbench architecture implements.

Every model is an ``nn.Module`` with four methods:

    forward(src, src_lengths, tgt_in) -> logits (B, T, V)   teacher-forced, fused: the training path
    start(src, src_lengths, batch_size) -> state             encode once; a language model starts empty
    step(state, tokens (B,)) -> StepOutput(logits (B, V), state, trace)
    reorder(state, index (B',)) -> state                     select/duplicate rows: beam search

``state`` is a plain ``dict[str, Tensor]`` with the batch on dim 0 of every tensor, passed in and
out and never kept on ``self``; that is what lets ``reorder`` be written once, here.

Shape glossary (used in every shape comment in ``models/``):
    B batch   S source length   T target length   t steps decoded so far (prefix length)
    V vocabulary   E embedding width   D model / hidden width   L layers   H heads   Dh = D / H

Fidelity invariant, tested for every registered architecture: in eval mode, ``step`` unrolled over a
teacher-forced target gives the same logits as ``forward`` (atol 1e-5). What the inspector shows is
what the model computes.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Iterable, Iterator, Optional

import torch
from torch import Tensor, nn

from .config import ModelConfig
from .names import ATTENTIONS, CELLS, CONTEXT_MODES, FAMILIES  # noqa: F401  (re-exported)

State = dict[str, Tensor]

@dataclass(frozen=True)
class Capabilities:
    """What a model can show and accept, so nothing outside ``models/`` asks which cell it is."""

    family: str  # "lm", "seq2seq" or "encoder" (no step: ``encoder.EncoderModel.encode`` instead)
    max_source_len: Optional[int]  # longest source the encoder accepts (None: no fixed limit)
    max_positions: Optional[int]  # decoder positions, <bos> and prompt included (None: no fixed limit)
    cross_attention: bool  # the decoder attends over the source (Trace.cross_attention)
    self_attention: bool  # the decoder attends over its prefix (Trace.self_attention)
    encoder_self_attention: bool  # the encoder attends over the source (EncoderTrace.self_attention)
    gates: tuple[str, ...]  # names of Trace.gates, empty when the cell has none
    cell_state: bool  # Trace.cell is filled (LSTM)
    context: bool  # Trace.context is filled (attention context or the fixed c)
    layers: int  # decoder layers a view can select
    attention_layers: int  # layers of Trace.cross_attention (an RNN decoder attends once, from its top)
    heads: int  # heads a view can select in every attention the model has (1: single-head)
    directions: int = 1  # encoder family: directions of the encoder's hidden states (2: bidirectional RNN)
    head: str = ""  # encoder family: "tag", "classify" or "mlm" (what ``forward``'s logits are); "" for decoders
    pooling: Optional[str] = None  # encoder + classify: how positions are pooled (Encoding.pooling is filled)
    hard_attention: bool = False  # Trace.chosen is filled: the decoder reads one source position per step
    receptive_field: Optional[int] = None  # a convolutional encoder: source tokens each encoder state sees
    decoders: tuple[str, ...] = ()  # skip-thought: names of its decoders ("prev", "next"); Trace.decoder is filled

    @property
    def views(self) -> tuple[str, ...]:
        """Attention views the inspector can draw: "cross", "self", "encoder" where the model has them."""
        named = (("cross", self.cross_attention), ("self", self.self_attention),
                 ("encoder", self.encoder_self_attention))
        return tuple(name for name, present in named if present)


@dataclass
class Trace:
    """What one decoding step computed, for the inspector. Fields a model does not have are None."""

    cross_attention: Optional[Tensor] = None  # (B, L, H, S) alignment over the source, rows sum to 1
    self_attention: Optional[Tensor] = None  # (B, L, H, t) decoder self-attention over the prefix
    hidden: Optional[Tensor] = None  # (B, L, D) hidden state per layer after this step (top layer last)
    cell: Optional[Tensor] = None  # (B, L, D) LSTM cell state per layer
    gates: Optional[dict[str, Tensor]] = None  # name -> (B, L, D): LSTM input/forget/output/candidate, GRU reset/update/candidate
    context: Optional[Tensor] = None  # (B, Dc) attention context vector (or the fixed context c)
    local_center: Optional[Tensor] = None  # (B,) local-p attention's predicted source position p_t
    chosen: Optional[Tensor] = None  # (B,) long: hard attention's source position, drawn from cross_attention
    decoder: Optional[Tensor] = None  # (B,) long: skip-thought's decoder of each row (index into Capabilities.decoders)

    def to(self, device) -> "Trace":
        def mv(x):
            if x is None:
                return None
            if isinstance(x, dict):
                return {k: v.to(device) for k, v in x.items()}
            return x.to(device)

        return Trace(**{f.name: mv(getattr(self, f.name)) for f in fields(self)})


@dataclass
class EncoderTrace:
    """What the encoder computed once per source (from ``start``)."""

    hidden: Optional[Tensor] = None  # (B, S, De) top encoder layer output per source position
    self_attention: Optional[Tensor] = None  # (B, L, H, S, S) transformer encoder self-attention
    context_sources: Optional[Tensor] = None  # (B, S) share of the fixed context c each source position fed, sums to 1

    @classmethod
    def from_state(cls, state: State) -> "EncoderTrace":
        return cls(hidden=state.get("enc_hidden"), self_attention=state.get("enc_self_attention"),
                   context_sources=state.get("context_sources"))


@dataclass
class StepOutput:
    """Result of one decoding step."""

    logits: Tensor  # (B, V) unnormalised next-token scores
    state: State  # state to pass to the next step
    trace: Trace = field(default_factory=Trace)


def reorder_state(state: State, index: Tensor) -> State:
    """Select / duplicate batch rows of every tensor in ``state`` (dim 0 is always the batch)."""
    return {k: v.index_select(0, index.to(v.device)) for k, v in state.items()}


def lengths_to_mask(lengths: Tensor, max_len: int) -> Tensor:
    """(B,) lengths -> (B, S) bool mask, True on real (unpadded) positions."""
    positions = torch.arange(max_len, device=lengths.device)  # (S,)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)  # (B, S)


class SeqModel(nn.Module):
    """Base class: every architecture implements forward/start/step; reorder is shared."""

    config: ModelConfig
    edits = None  # an interventions.EditSet while inside ``intervening``; the step path reads it

    @property
    def is_lm(self) -> bool:
        return self.config.family == "lm"

    @property
    def capabilities(self) -> Capabilities:
        """What this model accepts and traces (``models.capabilities`` of its config)."""
        from . import capabilities

        return capabilities(self.config)

    def forward(self, src: Optional[Tensor], src_lengths: Optional[Tensor], tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V) for decoder inputs ``tgt_in`` (B, T). LMs ignore src."""
        raise NotImplementedError

    def start(self, src: Optional[Tensor], src_lengths: Optional[Tensor], batch_size: Optional[int] = None) -> State:
        """Encode ``src`` (B, S) once; a language model ignores src and starts ``batch_size`` empty rows."""
        raise NotImplementedError

    def step(self, state: State, tokens: Tensor) -> StepOutput:
        """Feed one token per row (B,) and return next-token logits, the new state and the trace."""
        raise NotImplementedError

    def reorder(self, state: State, index: Tensor) -> State:
        return reorder_state(state, index)

    def schedule(self, progress: float) -> dict[str, float]:
        """Called by the trainer before every step with the fraction of training done (0..1).

        A model whose training changes with time (hard attention's Gumbel temperature) adapts here;
        the returned name -> value pairs are shown with the training progress. Most models: {}."""
        return {}

    def extra_loss(self, logits: Tensor, targets: Tensor, pad_id: int) -> Optional[Tensor]:
        """A loss term the trainer adds to the cross-entropy of the ``forward`` just run, or None.

        ``logits`` (B, T, V) are that forward's output and ``targets`` (B, T) the reference tokens
        (hard attention's REINFORCE surrogate lives here). Most models: None."""
        return None

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


@contextmanager
def intervening(model: SeqModel, edits: Iterable) -> Iterator[SeqModel]:
    """Within the block, ``model.step`` applies ``edits`` (``interventions.Edit``); ValueError if one does not fit.

    Only the step path reads them: ``forward`` and ``start`` compute what they always do.
    """
    from .interventions import EditSet, check_edits

    edits = list(edits)
    check_edits(model, edits)
    before = model.edits
    model.edits = EditSet(edits) if edits else None
    try:
        yield model
    finally:
        model.edits = before
