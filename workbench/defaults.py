"""Each task's solving defaults (architecture and hyperparameters), importable without torch.

The CLI reads this module to write ``--help`` text, so it must stay free of heavy imports.
Values here are what ``seqbench train --task NAME`` uses when no option overrides them; they
were chosen so that the task is solved on a 2-core CPU in a few minutes (see README).
"""

from __future__ import annotations

from .tasks.catalog import LM_TASKS, TASK_NAMES  # noqa: F401  (the catalogue declares the names)

# task -> {"model": {...}, "train": {...}, "task": {...}}; keys are fields of ModelConfig,
# TrainConfig and TaskConfig. Anything absent takes the dataclass default.
# copy, reverse and sort are solved in a classroom's attention span (benchmarks/accuracy.py): a
# 600-step schedule decays in time for val exact match to pass 99 % at step 400-600, and width 64
# makes a step about half the cost of width 128 (which needed 500 steps at 28 ms each on a 2-core
# Xeon: 14 s; the old 1,500-step schedule passed 99 % at step 750-1,000). Evaluations every 100
# steps say so as soon as it happens. The longer, wider runs did better on the `long` split only.
_SYNTHETIC = {
    "model": dict(cell="gru", attention="general", bidirectional=True, emb_dim=32, hidden=64, layers=1),
    "train": dict(steps=600, batch_size=64, lr=3e-3, warmup=100, eval_every=100),
}

TASK_DEFAULTS: dict[str, dict[str, dict]] = {
    "copy": _SYNTHETIC,
    "reverse": _SYNTHETIC,
    "sort": {"model": _SYNTHETIC["model"], "train": {**_SYNTHETIC["train"], "lr": 5e-3}},  # 3e-3: test 98.7 %
    # 1 vs N: the digits become one input vector x (model.encoder = vector); a GRU decoder writes the
    # words from x alone, x as its initial state (--context every-step: x at every step instead)
    "num2words": {
        "model": dict(cell="gru", attention="none", encoder="vector", context="init", bidirectional=False,
                      emb_dim=32, hidden=128, layers=1, max_len=8),
        "train": dict(steps=1000, batch_size=64, lr=3e-3, warmup=100, eval_every=250),
    },
    # skip-thought (Kiros et al. 2015): a GRU reads sentence i; two GRU decoders, fed the sentence
    # vector at every step, write sentence i-1 and i+1; val/test count stories of the toy corpus
    "skipthought": {
        "model": dict(cell="gru", attention="none", context="every-step", decoders="skip-thought", bidirectional=False,
                      emb_dim=64, hidden=128, layers=1),
        "train": dict(steps=800, batch_size=64, lr=3e-3, warmup=50, eval_every=200),
        "task": dict(val_size=20, test_size=30),
    },
    "charlm": {
        "model": dict(family="lm", cell="lstm", attention="none", emb_dim=64, hidden=256, layers=2),
        "train": dict(steps=3000, batch_size=32, lr=3e-3, warmup=50, eval_every=100, eval_examples=250, clip=1.0),
    },
    "dates": {  # val passes 99 % at step 300 of 500-700-step schedules
        "model": dict(cell="gru", attention="general", bidirectional=True, emb_dim=32, hidden=64, layers=1),
        "train": dict(steps=600, batch_size=64, lr=3e-3, warmup=100, eval_every=100),
    },
    "numbers": {
        "model": dict(cell="gru", attention="general", bidirectional=True, emb_dim=64, hidden=128, layers=1),
        "train": dict(steps=1000, batch_size=64, lr=3e-3, warmup=100, eval_every=250),
    },
    # tsv (issue 12): short-sentence translation of the user's corpus with subword tokens
    # (file_tasks.NATURAL_UNIT, 2,000 pieces per side) in a 5-minute budget on 2 CPU cores. What
    # pays there is steps, not width: a 2-layer Transformer of width 128 reached 36 val BLEU on
    # eng-fra-20k in 190 CPU-seconds where width 256 reached 20 in 145 (2.3x the cost per step);
    # batches of similar lengths (length_batches) halve the padding; dropout only slows a model
    # that sees each pair a few times; tied or shared embeddings learnt slower; smaller val/test
    # splits leave more sources to train on. On two quiet cores 3,000 steps take about three
    # minutes; on a busy machine the time limit ends the run first (its schedule decays over the
    # time), 20 s short of five minutes, room for the final evaluation. Twice the steps gained under
    # one BLEU. The final test evaluation and `seqbench decode` use beam search (eval_beam): 3-5
    # BLEU over greedy decoding. benchmarks/translation.py measures it.
    "tsv": {
        "model": dict(cell="transformer", attention="multihead", hidden=128, ffn=512, layers=2, heads=4, dropout=0.0),
        "train": dict(steps=5000, batch_size=96, lr=2e-3, warmup=300, label_smoothing=0.1, length_batches=True,
                      eval_every=500, eval_examples=500, max_seconds=280.0, hold=0.0,  # tuned decaying from the start
                      eval_beam=4, eval_alpha=0.6),
        "task": dict(val_size=300, test_size=500),
    },
    # the encoder family (issue 14); benchmarks/encoders.py measures each (README: steps, seconds, metric)
    "later": {
        "model": dict(cell="gru", bidirectional=True, emb_dim=32, hidden=64, layers=1),
        "train": dict(steps=800, batch_size=64, lr=3e-3, warmup=50, eval_every=200),
    },
    "nounverb": {
        "model": dict(cell="gru", bidirectional=True, emb_dim=32, hidden=64, layers=1),
        "train": dict(steps=400, batch_size=64, lr=3e-3, warmup=50, eval_every=100),
        "task": dict(train_size=5000),
    },
    "conll": {
        "model": dict(cell="lstm", bidirectional=True, emb_dim=64, hidden=128, layers=1, dropout=0.2),
        "train": dict(steps=1500, batch_size=32, lr=2e-3, warmup=50, eval_every=250),
    },
    "majority": {
        "model": dict(cell="gru", bidirectional=True, emb_dim=16, hidden=64, layers=1, pooling="mean"),
        "train": dict(steps=1000, batch_size=64, lr=3e-3, warmup=50, eval_every=250),
        "task": dict(alphabet="abc", min_len=5, max_len=15, long_min=16, long_max=25),
    },
    "labels": {
        "model": dict(cell="gru", bidirectional=True, emb_dim=64, hidden=128, layers=1, pooling="attention",
                      dropout=0.2),
        "train": dict(steps=1500, batch_size=32, lr=2e-3, warmup=50, eval_every=250),
    },
    "mlm": {
        "model": dict(cell="transformer", hidden=128, layers=2, heads=4, dropout=0.1),
        # a busy machine stops at max_seconds (the final evaluation fits in the five minutes)
        "train": dict(steps=1500, batch_size=32, lr=1e-3, warmup=100, eval_every=250, eval_examples=250, clip=1.0,
                      max_seconds=280.0),
        "task": dict(block=64),
    },
}


# Model options that learn slower than a task's default architecture keep the settings the
# synthetic tasks had before they were tuned for speed. These replace the task's when the option is
# chosen and no value of the user's own is given (flags, --set, a config file, the launcher's field
# left as it was); a task whose own value is larger keeps it. Hard attention reads one source
# position per step, a noisier gradient than soft attention's: on reverse, Gumbel at width 64
# reached 88 % test in 1,500 steps, at width 128 99.1 % (val ≥ 99 % at step 1,250; REINFORCE 1,000).
OPTION_DEFAULTS: dict[tuple[str, str], dict[str, dict]] = {
    ("hard_attention", "gumbel"): {"train": {"steps": 1500}, "model": {"hidden": 128}},
    ("hard_attention", "reinforce"): {"train": {"steps": 1500}, "model": {"hidden": 128}},
}


def option_defaults(task: str, model_values: dict) -> dict[str, dict]:
    """section -> {key: value} that the chosen model options (``model_values``: field -> value) add to
    ``task``'s defaults; never below the task's own value."""
    out: dict[str, dict] = {}
    own = task_defaults(task)
    for (key, value), sections in OPTION_DEFAULTS.items():
        if str(model_values.get(key)) == value:
            for section, values in sections.items():
                for k, v in values.items():
                    out.setdefault(section, {})[k] = max(v, own[section].get(k, 0))
    return out


def task_defaults(task: str) -> dict[str, dict]:
    """A fresh copy of ``task``'s defaults (sections model/train/task); a task without any takes the dataclasses'."""
    d = TASK_DEFAULTS.get(task, {})
    return {section: dict(d.get(section, {})) for section in ("model", "train", "task")}
