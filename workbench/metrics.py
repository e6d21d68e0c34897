"""Evaluation: loss, perplexity, token accuracy, exact match, BLEU, chrF and bits per character.

Which metrics a task reports: every task gets ``loss`` (nats/token), ``ppl`` and ``accuracy``
(teacher-forced argmax); encoder-decoder tasks add ``exact_match`` of greedy decodes (each row
decoded from its own first decoder input), skip-thought adds ``accuracy_prev`` and
``accuracy_next`` (each decoder's token accuracy, rows told apart by that input), translation
tasks add ``bleu`` and ``chrf`` (sacreBLEU, 0-100) with one hypothesis per distinct source scored
against all its references, and exact match there means "equals one of the references";
language models add ``bpc`` (bits per character).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .events import Sample
from .metric_names import METRIC_INFO
from .perplexity import bits_per_char, perplexity
from .teacher_forcing import teacher_forced_logits


def final_decoding(train_config) -> str:
    """How a run's final test evaluation decodes, for people: 'greedy' or 'beam 4, α 0.6'."""
    beam, alpha = train_config.eval_beam, train_config.eval_alpha
    if beam <= 1:
        return "greedy"
    return f"beam {beam}, α {alpha:g}" if alpha else f"beam {beam}"


def best_metric_name(task) -> str:
    """The metric that decides the best checkpoint (``tasks.catalog.best_metric``)."""
    from .tasks.catalog import best_metric

    return best_metric(task.name)


def is_better(name: str, new: float, old) -> bool:
    if old is None:
        return True
    return new > old if METRIC_INFO[name][1] else new < old


def sequence_loss(logits: torch.Tensor, tgt_out: torch.Tensor, pad_id: int, label_smoothing: float = 0.0,
                  reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of (B, T, V) logits against (B, T) targets, padding ignored."""
    B, T, V = logits.shape
    return F.cross_entropy(logits.reshape(B * T, V), tgt_out.reshape(B * T), ignore_index=pad_id,  # (B*T, V)
                           label_smoothing=label_smoothing, reduction=reduction)


@dataclass
class EvalResult:
    metrics: dict[str, float]
    samples: list[Sample] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)  # metric -> sacreBLEU signature


@torch.no_grad()
def evaluate(model, task, split: str, *, limit: int, batch_size: int, device, samples: int = 0,
             beam: int = 1, alpha: float = 0.0) -> EvalResult:
    """Evaluate ``model`` on up to ``limit`` examples of ``split``; the model is left in its previous mode.

    Encoder-decoders decode greedily, or with ``beam`` > 1 by beam search (length penalty ``alpha``)."""
    from .decoding import beam_decode_rows, greedy_decode_batch
    from .decoding.batch import content_ids

    if task.family == "encoder":
        from .encoder_metrics import evaluate_encoder

        return EvalResult(*evaluate_encoder(model, task, split, limit=limit, batch_size=batch_size, device=device,
                                            samples=samples))

    was_training = model.training
    model.eval()
    vocab = task.tgt_vocab
    total_loss, total_tokens, correct = 0.0, 0, 0
    exact, n_seq = 0, 0
    hyps: dict[int, str] = {}  # position in the split -> detokenised greedy output
    shown: dict[int, Sample] = {}  # the split's first ``samples`` examples, by position
    max_len = int(task.max_target_len(split) * 1.5) + 5
    decoders = task.decoders  # skip-thought: decoder name -> its first decoder input
    by_decoder = {name: [0, 0] for name in decoders}  # name -> [correct, tokens]
    try:
        for batch in task.eval_batches(split, batch_size, limit, by_length=True):
            batch = batch.to(device)
            logits = teacher_forced_logits(model, batch)  # (B, T, V)
            total_loss += sequence_loss(logits, batch.tgt_out, vocab.pad_id, reduction="sum").item()
            mask = batch.tgt_out != vocab.pad_id  # (B, T)
            hit = (logits.argmax(-1) == batch.tgt_out) & mask  # (B, T)
            correct += hit.sum().item()
            total_tokens += int(mask.sum().item())
            for name, start in decoders.items():
                own = batch.tgt_in[:, :1] == start  # (B, 1): the rows this decoder writes
                by_decoder[name][0] += (hit & own).sum().item()
                by_decoder[name][1] += int((mask & own).sum().item())
            if task.family == "lm":
                continue
            starts = batch.tgt_in[:, 0]  # (B,) each row's first decoder input: <bos>, or skip-thought's <prev>
            if beam > 1:
                rows = [batch.src[r, : batch.src_lengths[r]].tolist() for r in range(batch.src.size(0))]
                preds = beam_decode_rows(model, rows, bos_id=starts.tolist(), eos_id=vocab.eos_id, max_len=max_len,
                                         beam=beam, alpha=alpha, ban=(vocab.pad_id, vocab.bos_id))
            else:
                preds = greedy_decode_batch(model, batch.src, batch.src_lengths, bos_id=starts,
                                            eos_id=vocab.eos_id, max_len=max_len)
            for row, (position, pred) in enumerate(zip(batch.index.tolist(), preds)):  # by_length: index is set
                ref = content_ids(batch.tgt_out[row].tolist(), vocab)
                pred = content_ids(pred, vocab)
                exact += int(pred == ref)
                n_seq += 1
                if task.is_translation:
                    hyps[position] = task.detokenize(vocab.decode(pred))
                if position < samples:
                    shown[position] = _sample(task, batch.src[row, : batch.src_lengths[row]].tolist(), ref, pred)
                    if decoders:  # skip-thought: say which neighbour the row's decoder writes
                        first = int(batch.tgt_in[row, 0])
                        name = next((n for n, s in decoders.items() if s == first), "")
                        shown[position].source = f"{name}: {shown[position].source}"
    finally:
        model.train(was_training)
    loss = total_loss / max(total_tokens, 1)
    metrics = {"loss": loss, "ppl": perplexity(loss), "accuracy": correct / max(total_tokens, 1)}
    if task.family == "lm":
        metrics["bpc"] = bits_per_char(loss)
        return EvalResult(metrics, lm_samples(model, task, split, samples, device) if samples else [])
    metrics["exact_match"] = exact / max(n_seq, 1)
    for name, (right, tokens) in by_decoder.items():
        metrics[f"accuracy_{name}"] = right / max(tokens, 1)
    signatures: dict[str, str] = {}
    if task.is_translation and hyps:
        from .tasks.scoring import group_hypotheses, translation_scores

        scores, signatures = translation_scores(*group_hypotheses(task.reference_groups(split), hyps))
        metrics.update(scores)
    return EvalResult(metrics, [shown[i] for i in sorted(shown)], signatures)


def _sample(task, src_ids: list[int], ref_ids: list[int], pred_ids: list[int]) -> Sample:
    src = task.src_vocab.decode(src_ids)
    ref = task.tgt_vocab.decode(ref_ids)
    pred = task.tgt_vocab.decode(pred_ids)
    return Sample(task.detokenize_src(src), task.detokenize(ref), task.detokenize(pred), src, ref, pred)


def lm_samples(model, task, split: str, n: int, device, prompt_len: int = 24, length: int = 48) -> list[Sample]:
    """Greedy continuations of the first ``prompt_len`` characters of a few ``split`` windows."""
    from .decoding import greedy_decode_batch

    examples = task.examples(split)[:n]
    if not examples:
        return []
    vocab = task.tgt_vocab
    prompts = torch.tensor([vocab.encode(ex.tgt[:prompt_len]) for ex in examples], device=device)  # (n, P)
    preds = greedy_decode_batch(model, None, None, bos_id=vocab.bos_id, eos_id=vocab.eos_id, max_len=length,
                                batch_size=len(examples), prompt=prompts)
    out = []
    for ex, pred in zip(examples, preds):
        prompt, ref = ex.tgt[:prompt_len], ex.tgt[prompt_len: prompt_len + length]
        pred_tokens = vocab.decode(pred)
        out.append(Sample(task.detokenize(prompt), task.detokenize(ref), task.detokenize(pred_tokens),
                          prompt, ref, pred_tokens))
    return out
