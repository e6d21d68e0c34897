"""ModelConfig: everything needed to rebuild a model, each field with its allowed values beside it.

Pure Python (no torch), so the CLI and the launcher check a configuration before torch loads.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .names import (ATTENTIONS, CELLS, CONTEXT_FROM, CONTEXT_MODES, DECODERS, ENCODERS, FAMILIES, HARD_ATTENTION, HEADS, POOLINGS,
                    POSITIONS)
from .settings import ConfigError, check_fields, refusal, setting

_WIDTH = dict(ge=1, le=65536)  # embedding and model widths: at least one unit, at most what fits in memory


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; stored with every checkpoint."""

    family: str = setting("seq2seq", str, choices=FAMILIES)  # "lm" (no source) or "seq2seq" (encoder-decoder)
    cell: str = setting("gru", str, choices=CELLS)  # rnn (tanh) | gru | lstm | transformer
    # RNN seq2seq only ("multihead" is implied for transformer, "none" for a language model)
    attention: str = setting("additive", str, choices=ATTENTIONS)
    # RNN attention over one source position per step (see layers.HardAttention): off (soft) | gumbel | reinforce
    hard_attention: str = setting("off", str, choices=HARD_ATTENTION)
    hard_tau_start: float = setting(1.0, float, gt=0, le=100)  # gumbel: softmax temperature at the first step
    hard_tau_end: float = setting(0.1, float, gt=0, le=100)  # gumbel: temperature at the last step (annealed geometrically)
    # without attention, c from the encoder: last state | tanh(W last) | mean | max over all states
    context_from: str = setting("last", str, choices=CONTEXT_FROM)
    # RNN seq2seq: rnn reads the source in order; vector makes it one input vector x (1 vs N, no attention)
    encoder: str = setting("rnn", str, choices=ENCODERS)
    kernel: int = setting(3, int, ge=1, le=63, rule=lambda k: None if k % 2 else "an odd number (a centred window)")  # conv encoder width k
    # seq2seq without attention: c as decoder initial state, or as input every step
    context: str = setting("init", str, choices=CONTEXT_MODES)
    src_vocab: int = setting(0, int, ge=0)  # source vocabulary size (0 for a language model); set by the task
    tgt_vocab: int = setting(0, int, ge=0)  # target / output vocabulary size; set by the task
    emb_dim: int = setting(64, int, **_WIDTH)  # token embedding width E
    hidden: int = setting(128, int, **_WIDTH)  # hidden width D (RNN units; transformer d_model)
    layers: int = setting(1, int, ge=1, le=64)  # stacked layers L (encoder and decoder each)
    bidirectional: bool = setting(False, bool)  # bidirectional RNN encoder
    dropout: float = setting(0.0, float, ge=0, lt=1)  # dropout between layers and on embeddings
    heads: int = setting(4, int, ge=1, le=1024)  # attention heads H (multihead attention and transformer)
    ffn: int = setting(0, int, ge=0, le=262144)  # transformer feed-forward width; 0 means 4 * hidden
    local_window: int = setting(2, int, ge=1, le=4096)  # local-p attention half-window D (window 2D + 1)
    max_len: int = setting(512, int, ge=1, le=65536)  # longest sequence the transformer's positions cover
    # transformer positions: sinusoidal | learned (absolute, added) | relative (T5 bias) | rotary (RoPE)
    positions: str = setting("sinusoidal", str, choices=POSITIONS)
    pad_id: int = setting(0, int, ge=0)  # padding index in both vocabularies
    # share decoder input embedding and output projection (needs emb_dim == hidden for RNNs)
    tie_embeddings: bool = setting(False, bool)
    # encoder family only (the task sets it): tag each position, classify the sequence, or fill masks
    head: str = setting("tag", str, choices=HEADS)
    # encoder + classify: last state (bi: both directions' finals), mean, max, learned-query attention, [CLS] (transformer)
    pooling: str = setting("mean", str, choices=POOLINGS)
    # seq2seq: the encoder reads the decoder's token embedding (one vocabulary for both sides)
    share_embeddings: bool = setting(False, bool)
    # RNN seq2seq: one decoder, or skip-thought's two (sentence i-1 and i+1 from sentence i's vector; models/skip_thought.py)
    decoders: str = setting("one", str, choices=DECODERS)
    # skip-thought: the first decoder input that starts the previous-sentence decoder (the task's <prev>; set by the task)
    prev_id: int = setting(4, int, ge=1)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown model option(s): {', '.join(unknown)}")
        return cls(**d)

    def with_(self, **changes) -> "ModelConfig":
        return replace(self, **changes)


def validate_config(cfg: ModelConfig, section: str = "model") -> None:
    """Raise ConfigError naming the offending key (``model.hidden``) if ``cfg`` cannot be built."""
    check_fields(cfg, section)

    def key(name: str) -> str:
        return f"{section}.{name}"

    transformer = cfg.cell == "transformer"
    if cfg.family == "lm" and cfg.attention != "none" and not transformer:
        raise refusal(key("attention"), cfg.attention,
                      "none for a language model: it has no source to attend to")
    if cfg.family == "encoder":
        _validate_encoder(cfg, key)
    if cfg.tgt_vocab < 1:
        raise refusal(key("tgt_vocab"), cfg.tgt_vocab, "at least 1 (the task sets it)")
    if cfg.family == "seq2seq" and cfg.src_vocab < 1:
        raise refusal(key("src_vocab"), cfg.src_vocab, "at least 1 for an encoder-decoder (the task sets it)")
    if (transformer or cfg.attention == "multihead") and cfg.hidden % cfg.heads:
        raise refusal(key("hidden"), cfg.hidden, f"divisible by {key('heads')} ({cfg.heads})")
    if cfg.share_embeddings and cfg.family != "seq2seq":
        raise refusal(key("share_embeddings"), True, "false for a language model: it has no encoder")
    if cfg.share_embeddings and cfg.encoder == "vector":
        raise refusal(key("share_embeddings"), True, "false with encoder vector: it embeds each token per position")
    if cfg.share_embeddings and cfg.src_vocab != cfg.tgt_vocab:
        raise refusal(key("share_embeddings"), True,
                      f"false unless {key('src_vocab')} ({cfg.src_vocab}) equals {key('tgt_vocab')} ({cfg.tgt_vocab}): "
                      "one vocabulary for both sides (task.shared_vocab)")
    if cfg.positions != "sinusoidal" and not transformer:
        raise refusal(key("positions"), cfg.positions, "sinusoidal unless model.cell is transformer")
    if transformer and cfg.positions == "rotary" and (cfg.hidden // cfg.heads) % 2:
        raise refusal(key("positions"), cfg.positions,
                      f"not rotary with an odd head width {key('hidden')} / {key('heads')} = {cfg.hidden // cfg.heads}")
    if cfg.hard_attention != "off" and (transformer or cfg.attention in ("none", "multihead")):
        raise refusal(key("hard_attention"), cfg.hard_attention,
                      "off unless an RNN encoder-decoder has single-head attention (additive, dot, general, "
                      "scaled-dot or local)")
    if cfg.encoder == "vector" and (transformer or cfg.family != "seq2seq" or cfg.attention != "none"
                                    or cfg.bidirectional):
        raise refusal(key("encoder"), cfg.encoder, "rnn unless an RNN encoder-decoder has attention none and "
                      "bidirectional false (one input vector has no positions to attend to or read backwards)")
    if cfg.encoder == "conv" and (transformer or cfg.family != "seq2seq" or cfg.bidirectional):
        raise refusal(key("encoder"), cfg.encoder, "rnn unless an RNN encoder-decoder has bidirectional false "
                      "(a convolution already reads both sides)")
    if cfg.context_from != "last" and (transformer or cfg.family != "seq2seq" or cfg.attention != "none"
                                       or cfg.encoder != "rnn"):
        raise refusal(key("context_from"), cfg.context_from,
                      "last unless an RNN encoder-decoder has attention none and an rnn encoder")
    if cfg.decoders == "skip-thought":
        _validate_skip_thought(cfg, key)
    if cfg.tie_embeddings and not transformer and cfg.emb_dim != cfg.hidden:
        raise refusal(key("tie_embeddings"), True,
                      f"false unless {key('emb_dim')} ({cfg.emb_dim}) equals {key('hidden')} ({cfg.hidden})")


def _validate_skip_thought(cfg: ModelConfig, key) -> None:
    """Skip-thought is an RNN encoder's final state read by two decoders at every step, no attention."""
    if (cfg.cell == "transformer" or cfg.family != "seq2seq" or cfg.attention != "none" or cfg.encoder != "rnn"
            or cfg.context_from != "last"):
        raise refusal(key("decoders"), cfg.decoders, "one unless an RNN encoder-decoder has attention none, "
                      "encoder rnn and context_from last (skip-thought's decoders read the sentence vector)")
    if cfg.context != "every-step":
        raise refusal(key("context"), cfg.context, "every-step with decoders skip-thought (Kiros et al. 2015 "
                      "condition every decoder step on the sentence vector)")
    if cfg.prev_id == cfg.pad_id:
        raise refusal(key("prev_id"), cfg.prev_id, f"not {key('pad_id')} ({cfg.pad_id})")


def _validate_encoder(cfg: ModelConfig, key) -> None:
    """Rules of the encoder family (tagging, classification, masked LM)."""
    if cfg.attention != "none":
        raise refusal(key("attention"), cfg.attention, "none for an encoder: it has no decoder to attend from")
    if cfg.src_vocab < 1:
        raise refusal(key("src_vocab"), cfg.src_vocab, "at least 1 for an encoder (the task sets it)")
    if cfg.head == "mlm" and cfg.src_vocab != cfg.tgt_vocab:
        raise refusal(key("tgt_vocab"), cfg.tgt_vocab,
                      f"equal to {key('src_vocab')} ({cfg.src_vocab}): a masked LM predicts its input tokens")
    if cfg.head == "classify" and cfg.pooling == "cls" and cfg.cell != "transformer":
        raise refusal(key("pooling"), "cls", "last, mean, max or attention for a recurrent encoder "
                      "(a [CLS] position is the Transformer's)")
