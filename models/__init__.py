"""Model registry: one factory builds every seqbench architecture from a ``ModelConfig``.

``variants()`` enumerates small configurations covering every architecture and option; the
fidelity tests are parametrised over it, so a new architecture registered here is tested
automatically.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .config import ModelConfig, validate_config
from .names import ATTENTIONS, CELLS, CONTEXT_MODES, FAMILIES, POOLINGS, POSITIONS
from .settings import ConfigError

if TYPE_CHECKING:
    from .base import Capabilities, EncoderTrace, SeqModel, State, StepOutput, Trace, reorder_state

# torch-backed names, imported on first use so that configs and names load without torch
_LAZY = {name: "base" for name in
         ("Capabilities", "EncoderTrace", "SeqModel", "State", "StepOutput", "Trace", "reorder_state")}
_LAZY["Encoding"] = "encoder"

__all__ = [
    "ATTENTIONS",
    "Capabilities",
    "ConfigError",
    "CELLS",
    "CONTEXT_MODES",
    "FAMILIES",
    "POSITIONS",
    "EncoderTrace",
    "Encoding",
    "ModelConfig",
    "SeqModel",
    "State",
    "StepOutput",
    "Trace",
    "arch_slug",
    "attention_choices",
    "build_model",
    "capabilities",
    "describe",
    "reorder_state",
    "validate_config",
    "variants",
]


def __getattr__(name: str) -> Any:
    """Import the torch-backed names (SeqModel, Trace, ...) when first asked for."""
    if name in _LAZY:
        value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_model(cfg: ModelConfig) -> "SeqModel":
    """The one factory: a fresh, randomly initialised model for ``cfg``."""
    validate_config(cfg)
    if cfg.family == "encoder":
        from .encoder import RNNEncoderModel, TransformerEncoderModel

        return TransformerEncoderModel(cfg) if cfg.cell == "transformer" else RNNEncoderModel(cfg)
    if cfg.cell == "transformer":
        from .transformer import TransformerLM, TransformerSeq2Seq

        return TransformerLM(cfg) if cfg.family == "lm" else TransformerSeq2Seq(cfg)
    if cfg.family == "lm":
        from .rnn_lm import RNNLanguageModel

        return RNNLanguageModel(cfg)
    if cfg.decoders == "skip-thought":
        from .skip_thought import SkipThought

        return SkipThought(cfg)
    from .seq2seq import RNNSeq2Seq

    return RNNSeq2Seq(cfg)


def capabilities(cfg: ModelConfig) -> "Capabilities":
    """What a model built from ``cfg`` accepts and traces (no weights are built)."""
    from .base import Capabilities
    from .cells import GRU_GATES, LSTM_GATES

    transformer = cfg.cell == "transformer"
    seq2seq = cfg.family == "seq2seq"
    multihead = transformer or cfg.attention == "multihead"
    if cfg.family == "encoder":
        return _encoder_capabilities(cfg)
    return Capabilities(
        family=cfg.family,
        max_source_len=cfg.max_len if transformer and seq2seq else None,
        max_positions=cfg.max_len if transformer else None,
        cross_attention=seq2seq and (transformer or cfg.attention != "none"),
        self_attention=transformer,
        encoder_self_attention=transformer and seq2seq,
        gates={"lstm": LSTM_GATES, "gru": GRU_GATES}.get(cfg.cell, ()),
        cell_state=cfg.cell == "lstm",
        context=seq2seq,
        layers=cfg.layers,
        attention_layers=cfg.layers if transformer else 1,
        heads=cfg.heads if multihead else 1,
        hard_attention=seq2seq and not transformer and cfg.hard_attention != "off",
        receptive_field=1 + cfg.layers * (cfg.kernel - 1) if seq2seq and cfg.encoder == "conv" else None,
        decoders=("prev", "next") if seq2seq and cfg.decoders == "skip-thought" else (),
    )


def _encoder_capabilities(cfg: ModelConfig) -> "Capabilities":
    """An encoder's trace is ``encoder.Encoding``: per layer and direction, no decoder, no steps."""
    from .base import Capabilities
    from .cells import GATE_NAMES

    transformer = cfg.cell == "transformer"
    return Capabilities(
        family="encoder",
        max_source_len=cfg.max_len - int(cfg.head == "classify" and cfg.pooling == "cls") if transformer else None,
        max_positions=None,
        cross_attention=False,
        self_attention=False,
        encoder_self_attention=transformer,
        gates=() if transformer else GATE_NAMES[cfg.cell],
        cell_state=cfg.cell == "lstm",
        context=False,
        layers=cfg.layers,
        attention_layers=cfg.layers if transformer else 0,
        heads=cfg.heads if transformer else 1,
        directions=2 if cfg.bidirectional and not transformer else 1,
        head=cfg.head,
        pooling=cfg.pooling if cfg.head == "classify" else None,
    )


def attention_choices(family: str, cell: str) -> tuple[str, ...]:
    """The ``attention`` values a model of this family and cell can be built with (first = default)."""
    if family in ("lm", "encoder"):
        return ("none",)
    if cell == "transformer":
        return ("multihead",)
    return ATTENTIONS


def arch_slug(cfg: ModelConfig) -> str:
    """A short file-name-safe architecture name, e.g. ``gru-general``, ``lstm-ctx-init`` or ``bigru-tag``."""
    if cfg.family == "encoder":
        bi = "bi" if cfg.bidirectional and cfg.cell != "transformer" else ""
        where = f"-{cfg.positions}" if cfg.cell == "transformer" and cfg.positions != "sinusoidal" else ""
        return f"{bi}{cfg.cell}{where}-{cfg.head}" + (f"-{cfg.pooling}" if cfg.head == "classify" else "")
    if cfg.family == "lm" or cfg.cell == "transformer":
        return cfg.cell + ("" if cfg.positions == "sinusoidal" else f"-{cfg.positions}")
    hard = "" if cfg.hard_attention == "off" else f"-hard-{cfg.hard_attention}"
    if cfg.decoders == "skip-thought":
        return f"{'bi' if cfg.bidirectional else ''}{cfg.cell}-skipthought"
    if cfg.encoder == "vector":
        return f"{cfg.cell}-vector-{cfg.context}"
    if cfg.context_from != "last":
        hard += f"-c-{cfg.context_from}"
    if cfg.encoder == "conv":
        hard = f"-conv{hard}"
    return f"{cfg.cell}-{cfg.attention if cfg.attention != 'none' else 'ctx-' + cfg.context}{hard}"


def describe(cfg: ModelConfig) -> str:
    """A short human name, e.g. 'GRU enc-dec + additive attention (bi, 2 layers)'."""
    cell = cfg.cell.upper() if cfg.cell != "transformer" else "Transformer"
    if cfg.family == "encoder":
        return _describe_encoder(cfg, cell)
    where = f", {cfg.positions} positions" if cfg.cell == "transformer" and cfg.positions != "sinusoidal" else ""
    if cfg.family == "lm":
        return f"{cell} language model ({cfg.layers} layer{'s' if cfg.layers > 1 else ''}{where})"
    if cfg.cell == "transformer":
        return f"Transformer encoder-decoder ({cfg.layers} layers, {cfg.heads} heads{where})"
    if cfg.decoders == "skip-thought":
        size = f"{'bi, ' if cfg.bidirectional else ''}{cfg.layers} layer{'s' if cfg.layers > 1 else ''}"
        return f"{cell} skip-thought: sentence vector, decoders of the previous and next sentence ({size})"
    extra = []
    if cfg.bidirectional:
        extra.append("bi")
    extra.append(f"{cfg.layers} layer{'s' if cfg.layers > 1 else ''}")
    how = f"context c {cfg.context}" if cfg.attention == "none" else f"{cfg.attention} attention"
    if cfg.context_from != "last":
        how = f"context c = {cfg.context_from} of the encoder states, {cfg.context}"
    if cfg.encoder == "vector":
        return f"{cell} decoder from one input vector, x {cfg.context} (1 vs N, {cfg.layers} layer{'s' if cfg.layers > 1 else ''})"
    if cfg.hard_attention != "off":
        how = f"hard {cfg.attention} attention ({cfg.hard_attention})"
    if cfg.encoder == "conv":
        extra.insert(0, f"conv encoder k={cfg.kernel}, receptive field {1 + cfg.layers * (cfg.kernel - 1)}")
    return f"{cell} enc-dec + {how} ({', '.join(extra)})"


def _describe_encoder(cfg: ModelConfig, cell: str) -> str:
    """E.g. 'BiGRU encoder + tagging head (2 layers)', 'Transformer encoder + classifier (cls pooling, ...)'."""
    what = {"tag": "tagging head", "classify": f"classifier ({cfg.pooling} pooling)", "mlm": "masked-LM head"}[cfg.head]
    size = f"{cfg.layers} layer{'s' if cfg.layers > 1 else ''}"
    if cfg.cell == "transformer":
        where = "" if cfg.positions == "sinusoidal" else f", {cfg.positions} positions"
        return f"Transformer encoder + {what} ({size}, {cfg.heads} heads{where})"
    return f"{'Bi' if cfg.bidirectional else ''}{cell} encoder + {what} ({size})"


def variants(src_vocab: int = 11, tgt_vocab: int = 13) -> list[tuple[str, ModelConfig]]:
    """Small configurations covering every architecture and option, with a readable id each."""
    tiny = dict(emb_dim=8, hidden=12, heads=2, src_vocab=src_vocab, tgt_vocab=tgt_vocab, max_len=64)
    out: list[tuple[str, ModelConfig]] = []
    for cell in ("rnn", "gru", "lstm"):
        for layers in (1, 2):
            out.append((f"lm-{cell}-L{layers}", ModelConfig(family="lm", cell=cell, attention="none", layers=layers, **{**tiny, "src_vocab": 0})))
    for positions in POSITIONS:
        suffix = "" if positions == "sinusoidal" else f"-{positions}"
        out.append((f"lm-transformer-L2{suffix}", ModelConfig(family="lm", cell="transformer", attention="none", layers=2,
                                                              positions=positions, **{**tiny, "src_vocab": 0})))
    for cell in ("rnn", "gru", "lstm"):
        for context in CONTEXT_MODES:
            for bi in (False, True):
                out.append((f"s2s-{cell}-none-{context}-{'bi' if bi else 'uni'}-L2",
                            ModelConfig(family="seq2seq", cell=cell, attention="none", context=context, bidirectional=bi, layers=2, **tiny)))
        for attention in ATTENTIONS[1:]:
            for bi, layers in ((False, 1), (True, 2)):
                out.append((f"s2s-{cell}-{attention}-{'bi' if bi else 'uni'}-L{layers}",
                            ModelConfig(family="seq2seq", cell=cell, attention=attention, bidirectional=bi, layers=layers, **tiny)))
    for how in ("transform", "mean", "max"):
        for cell, context, bi in (("gru", "init", True), ("lstm", "every-step", False)):
            out.append((f"s2s-{cell}-none-{context}-c-{how}-{'bi' if bi else 'uni'}-L2",
                        ModelConfig(family="seq2seq", cell=cell, attention="none", context=context, context_from=how,
                                    bidirectional=bi, layers=2, **tiny)))
    for cell, attention, layers in (("gru", "general", 2), ("lstm", "additive", 1), ("gru", "none", 2),
                                    ("rnn", "multihead", 1)):
        out.append((f"s2s-{cell}-{attention}-conv-L{layers}",
                    ModelConfig(family="seq2seq", cell=cell, attention=attention, encoder="conv", layers=layers, **tiny)))
    for context in CONTEXT_MODES:
        out.append((f"s2s-gru-vector-{context}-L2", ModelConfig(family="seq2seq", cell="gru", attention="none", context=context,
                                                                encoder="vector", layers=2, **tiny)))
    for attention, cell, estimator in (("general", "gru", "gumbel"), ("additive", "lstm", "reinforce"),
                                       ("local", "rnn", "gumbel"), ("dot", "gru", "reinforce")):
        out.append((f"s2s-{cell}-{attention}-hard-{estimator}",
                    ModelConfig(family="seq2seq", cell=cell, attention=attention, hard_attention=estimator,
                                bidirectional=True, layers=2, **tiny)))
    for cell, bi, layers in (("gru", False, 1), ("lstm", True, 2), ("rnn", False, 2)):
        out.append((f"s2s-{cell}-skipthought-{'bi' if bi else 'uni'}-L{layers}",
                    ModelConfig(family="seq2seq", cell=cell, attention="none", context="every-step", decoders="skip-thought",
                                prev_id=4, bidirectional=bi, layers=layers, **tiny)))
    for positions in POSITIONS:
        suffix = "" if positions == "sinusoidal" else f"-{positions}"
        out.append((f"s2s-transformer-L2{suffix}", ModelConfig(family="seq2seq", cell="transformer", attention="multihead",
                                                               layers=2, positions=positions, **tiny)))
    return out + encoder_variants(src_vocab, tgt_vocab)


def encoder_variants(src_vocab: int = 11, tgt_vocab: int = 13) -> list[tuple[str, ModelConfig]]:
    """The encoder family's share of ``variants()``: every cell, direction, head and pooling."""
    tiny = dict(family="encoder", attention="none", emb_dim=8, hidden=12, heads=2, src_vocab=src_vocab,
                tgt_vocab=tgt_vocab, max_len=64)
    out: list[tuple[str, ModelConfig]] = []
    for cell in ("rnn", "gru", "lstm"):
        for bi, layers in ((False, 1), (True, 2)):
            name = f"enc-{'bi' if bi else 'uni'}{cell}-L{layers}"
            out.append((f"{name}-tag", ModelConfig(cell=cell, bidirectional=bi, layers=layers, head="tag", **tiny)))
            out.append((f"{name}-mlm", ModelConfig(cell=cell, bidirectional=bi, layers=layers, head="mlm",
                                                   **{**tiny, "tgt_vocab": src_vocab})))
            for pooling in POOLINGS[:-1]:
                out.append((f"{name}-cls-{pooling}", ModelConfig(cell=cell, bidirectional=bi, layers=layers,
                                                                 head="classify", pooling=pooling, **tiny)))
    for head, pooling in (("tag", "mean"), ("mlm", "mean"), *(("classify", p) for p in POOLINGS)):
        vocab = src_vocab if head == "mlm" else tgt_vocab
        out.append((f"enc-transformer-L2-{head}" + (f"-{pooling}" if head == "classify" else ""),
                    ModelConfig(cell="transformer", layers=2, head=head, pooling=pooling, **{**tiny, "tgt_vocab": vocab})))
    for positions in POSITIONS[1:]:  # every head, and [CLS] (position 0) under every scheme
        for head, pooling in (("tag", "mean"), ("mlm", "mean"), ("classify", "mean"), ("classify", "cls")):
            vocab = src_vocab if head == "mlm" else tgt_vocab
            out.append((f"enc-transformer-L2-{head}" + (f"-{pooling}" if head == "classify" else "") + f"-{positions}",
                        ModelConfig(cell="transformer", layers=2, head=head, pooling=pooling, positions=positions,
                                    **{**tiny, "tgt_vocab": vocab})))
    return out
