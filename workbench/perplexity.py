"""Perplexity and bits per character: what a cross-entropy loss in nats per token means.

Perplexity ``exp(loss)`` is the number of equally likely choices the model is as unsure as;
bits per character ``loss / ln 2`` is the loss in bits (for a character model, per character).
Every place that shows either figure calls these two functions.
"""

from __future__ import annotations

import math

MAX_EXPONENT = 50.0  # exp(50) ≈ 5e21: beyond it a figure means "untrained", not a number to compare


def perplexity(loss: float) -> float:
    """``exp(loss)`` of a mean loss in nats per token (capped: an untrained model's loss can be huge)."""
    if math.isnan(loss):
        return math.nan
    return math.exp(min(loss, MAX_EXPONENT))


def bits_per_char(loss: float) -> float:
    """A loss in nats per character as bits per character."""
    return loss / math.log(2)
