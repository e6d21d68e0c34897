"""The architecture names seqbench knows, declared once and importable without torch.

The CLI's ``--help``, the launcher's pickers and the model registry all read these tuples.
"""

from __future__ import annotations

FAMILIES = ("lm", "seq2seq", "encoder")  # language model (no source), encoder-decoder, or encoder only (issue 14)
CELLS = ("rnn", "gru", "lstm", "transformer")  # the recurrent cell, or the Transformer
ATTENTIONS = ("none", "additive", "dot", "general", "scaled-dot", "local", "multihead")  # encoder-decoder attention
CONTEXT_MODES = ("init", "every-step")  # without attention: the context c starts the decoder, or feeds every step
HEADS = ("tag", "classify", "mlm")  # encoder family: a label per position, one per sequence, or masked tokens
POOLINGS = ("last", "mean", "max", "attention", "cls")  # how a classifying encoder reduces its positions
CONTEXT_FROM = ("last", "transform", "mean", "max")  # without attention: which encoder states make c, and how
ENCODERS = ("rnn", "vector", "conv")  # RNN decoders read: an RNN encoder, one input vector (1 vs N), or gated convolutions
HARD_ATTENTION = ("off", "gumbel", "reinforce")  # soft attention, or one source position per step and its estimator
POSITIONS = ("sinusoidal", "learned", "relative", "rotary")  # where a Transformer token is: see models/positions.py
DECODERS = ("one", "skip-thought")  # one decoder, or skip-thought's two: sentence i-1 and sentence i+1 (Kiros et al. 2015)
