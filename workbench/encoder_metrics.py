"""Evaluation of the encoder family: tag / label / masked-token accuracy, a confusion matrix, the unigram baseline.

Metrics by head (all over the positions that have a target; ``loss`` in nats, ``ppl`` its exp):
    tag       accuracy (per token) and exact_match (every tag of a sentence right)
    classify  accuracy (per sequence); ``confusion`` counts reference x prediction
    mlm       accuracy and ppl on the masked positions only, beside unigram_accuracy and unigram_ppl:
              what always guessing the training text's most frequent token (and its frequencies) scores
"""

from __future__ import annotations

import math

import torch

import torch.nn.functional as F

from .events import Sample
from .perplexity import perplexity
from .tasks.vocab import SPECIALS

MASK_SHOWN = "▒"  # a masked position in displayed text (a corpus may hold "_" itself)


@torch.no_grad()
def evaluate_encoder(model, task, split: str, *, limit: int, batch_size: int, device,
                     samples: int = 0) -> tuple[dict[str, float], list[Sample]]:
    """(metrics, samples) of ``metrics.evaluate`` for an encoder task; the model is left in its previous mode."""
    was_training = model.training
    model.eval()
    pad = task.tgt_vocab.pad_id
    loss = correct = tokens = exact = rows = 0.0
    uni_correct, uni_nll = 0.0, 0.0
    unigram = getattr(task, "unigram", None)
    shown: list[Sample] = []
    try:
        for batch in task.eval_batches(split, batch_size, limit):
            batch = batch.to(device)
            logits = model(batch.src, batch.src_lengths, batch.tgt_in)  # (B, S|1, V)
            loss += F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=pad,  # (B*S, V)
                                    reduction="sum").item()
            mask = batch.tgt_out != pad  # (B, S|1)
            right = (logits.argmax(-1) == batch.tgt_out) | ~mask  # (B, S|1)
            correct += (right & mask).sum().item()
            tokens += mask.sum().item()
            exact += right.all(1).sum().item()
            rows += len(batch)
            if unigram is not None:
                targets = batch.tgt_out[mask]  # (n,)
                uni_correct += (targets == unigram.argmax()).sum().item()
                uni_nll -= unigram.to(device)[targets].sum().item()
            if len(shown) < samples:
                shown += encoder_samples(task, batch, logits, samples - len(shown))
    finally:
        model.train(was_training)
    mean = loss / max(tokens, 1)
    metrics = {"loss": mean, "ppl": perplexity(mean), "accuracy": correct / max(tokens, 1)}
    if task.head == "tag":
        metrics["exact_match"] = exact / max(rows, 1)
    if unigram is not None:
        metrics["unigram_accuracy"] = uni_correct / max(tokens, 1)
        metrics["unigram_ppl"] = math.exp(min(uni_nll / max(tokens, 1), 700.0))
    return metrics, shown


def encoder_samples(task, batch, logits, n: int) -> list[Sample]:
    """Up to ``n`` rows as samples: tags or label (reference vs prediction), or a masked window filled in."""
    out = []
    preds = logits.argmax(-1).cpu()  # (B, S|1)
    for row in range(min(n, len(batch))):
        length = int(batch.src_lengths[row])
        src = task.src_vocab.decode(batch.src[row, :length].cpu(), strip_special=False)
        gold = batch.tgt_out[row].cpu()
        if task.head == "mlm":
            where = gold != task.tgt_vocab.pad_id  # (S,)
            shown = [MASK_SHOWN if w else tok for tok, w in zip(src, where.tolist())]
            ref = task.tgt_vocab.decode(torch.where(where, gold, batch.src[row].cpu())[:length], strip_special=False)
            pred = task.tgt_vocab.decode(torch.where(where, preds[row], batch.src[row].cpu())[:length],
                                         strip_special=False)
            out.append(Sample(task.detokenize_src(shown), task.detokenize_src(ref), task.detokenize_src(pred),
                              shown, ref, pred))
            continue
        width = length if task.head == "tag" else 1
        ref = task.tgt_vocab.decode(gold[:width], strip_special=False)
        pred = task.tgt_vocab.decode(preds[row, :width], strip_special=False)
        out.append(Sample(task.detokenize_src(src), " ".join(ref), " ".join(pred), src, ref, pred))
    return out


@torch.no_grad()
def confusion(model, task, split: str, *, limit: int | None = None, batch_size: int = 256, device="cpu"):
    """(labels, counts) for a classification task: counts[i][j] = examples of label i predicted as j."""
    first = len(SPECIALS)  # labels follow the specials, which a classifier never answers
    labels = task.tgt_vocab.itos[first:]
    counts = [[0] * len(labels) for _ in labels]
    was_training = model.training
    model.eval()
    try:
        for batch in task.eval_batches(split, batch_size, limit):
            batch = batch.to(device)
            logits = model(batch.src, batch.src_lengths, batch.tgt_in)[:, 0, first:]  # (B, labels)
            for gold, pred in zip(batch.tgt_out[:, 0].tolist(), logits.argmax(-1).tolist()):
                counts[gold - first][pred] += 1
    finally:
        model.train(was_training)
    return labels, counts
