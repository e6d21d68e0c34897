"""Decoding: one driver over the models' ``start/step/reorder`` for evaluation and inspection.

- ``greedy_decode_batch``: fast batched greedy decoding for evaluation (token ids only).
- ``DecodeSession``: steppable greedy / beam / sampling decoding of one input, with a
  ``StepRecord`` per step (fields documented in ``records.py``), back/forward, forcing (what-if).
- ``score_reference``: teacher-forced scoring of a reference (per-token log-prob, rank, divergence);
  ``reference_session`` steps through the same reference.
- ``views``: per-hypothesis alignment / self-attention / hidden matrices from the records.
- ``inputs``: text -> ids with OOV reporting; ``--force`` parsing.
- ``job``: what to decode for a run (example or typed input, reference, limits, automatic length):
  the one builder ``seqbench decode`` and the inspector (``inspection.py``) share.
- ``render`` / ``report`` / ``export``: Rich renderables, the ``seqbench decode`` report, CSV/.npy/SVG files.
- strategies (``strategies.py``) are pure tensor math; they never call a model.
"""

from .batch import greedy_decode_batch
from .inputs import PreparedText, parse_forced, prepare_text
from .records import Candidate, Hypothesis, StepRecord
from .scoring import ReferenceScore, reference_session, score_reference
from .session import STRATEGIES, DecodeConfig, DecodeSession, beam_decode_rows
from .strategies import length_penalty

__all__ = [
    "STRATEGIES",
    "Candidate",
    "DecodeConfig",
    "DecodeSession",
    "Hypothesis",
    "PreparedText",
    "ReferenceScore",
    "StepRecord",
    "beam_decode_rows",
    "greedy_decode_batch",
    "length_penalty",
    "parse_forced",
    "prepare_text",
    "reference_session",
    "score_reference",
]
