"""Metric names as a user reads them, importable without torch (the app's banner and the CLI share them)."""

from __future__ import annotations

# metric name -> (label, higher is better)
METRIC_INFO = {
    "loss": ("loss", False),
    "ppl": ("perplexity", False),
    "accuracy": ("token acc", True),
    "accuracy_prev": ("prev token acc", True),  # skip-thought: the decoder of sentence i-1
    "accuracy_next": ("next token acc", True),  # skip-thought: the decoder of sentence i+1
    "exact_match": ("exact match", True),
    "bleu": ("BLEU", True),
    "chrf": ("chrF", True),
    "bpc": ("bits/char", False),
    "unigram_accuracy": ("unigram acc", True),  # masked LM: the baseline of guessing the most frequent token
    "unigram_ppl": ("unigram ppl", False),
}


# what an encoder head's metrics count, where the shared label would mislead: a classifier's accuracy is
# over sequences (not tokens), a masked LM's accuracy and perplexity are over the masked positions only
HEAD_LABELS = {
    "tag": {"accuracy": "tag acc", "exact_match": "sentence exact"},
    "classify": {"accuracy": "accuracy"},
    "mlm": {"accuracy": "masked acc", "ppl": "masked ppl"},
}


def metric_label(name: str, head: str | None = None) -> str:
    """The label a user reads for metric ``name``; ``head`` (an encoder task's) names what it counts."""
    return HEAD_LABELS.get(head or "", {}).get(name, METRIC_INFO[name][0])
