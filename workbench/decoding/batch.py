"""Batched greedy decoding for evaluation: many sources at once, no records, just token ids.

This is the fast path the trainer uses for exact-match accuracy and sample predictions. It drives
the same ``start/step/reorder`` protocol as the inspector's session (``session.py``) and gives the
same tokens as a greedy session on each row, but keeps no history and shrinks the batch as rows
finish.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from models.base import SeqModel

# Compact the batch (drop finished rows from the state) once this fraction of active rows is done;
# compacting copies the state, so doing it for every finished row would cost more than it saves.
_COMPACT_FRACTION = 0.25


def greedy_decode_batch(
    model: SeqModel,
    src: Optional[Tensor],
    src_lengths: Optional[Tensor],
    *,
    bos_id: int | Tensor,
    eos_id: int,
    max_len: int,
    batch_size: Optional[int] = None,
    prompt: Optional[Tensor] = None,
    ban: Sequence[int] = (),
    logprobs: Optional[list[float]] = None,
    row_max_len: Optional[Sequence[int]] = None,
) -> list[list[int]]:
    """Greedy-decode every row; returns the generated ids per row, without BOS and EOS.

    Encoder-decoder: ``src`` (B, S) and ``src_lengths`` (B,). Language model: ``src`` is None and
    ``batch_size`` rows are decoded, each continuing ``prompt`` (B, P) when given (the prompt is
    fed after BOS and is not part of the output). At most ``max_len`` tokens are generated per row
    (EOS included); a row stops at EOS. ``bos_id`` may give each row its own first input (B,): a
    skip-thought batch starts each row's decoder with its own token. Tokens in ``ban`` (e.g. pad, bos) are never chosen.
    A ``logprobs`` list is filled with each row's log-probability (EOS included, over the whole
    vocabulary, as a greedy ``DecodeSession`` scores it). ``row_max_len`` gives each row its own
    limit (at most ``max_len``), as if each were decoded alone.
    """
    device = model.device
    if src is not None:
        src, src_lengths = src.to(device), src_lengths.to(device)
        rows = src.shape[0]
    else:
        rows = prompt.shape[0] if prompt is not None else batch_size
        if rows is None:
            raise ValueError("a language model needs batch_size or prompt")
    positions = model.capabilities.max_positions
    if positions is not None:  # positions end there: stop instead of failing
        max_len = max(1, min(max_len, positions - (prompt.shape[1] if prompt is not None else 0)))
    with torch.inference_mode():
        state = model.start(src, src_lengths, batch_size=rows)
        state, tokens = _feed_prompt(model, state, prompt, rows, bos_id, device)
        limits = torch.tensor(row_max_len if row_max_len is not None else [max_len] * rows, device=device)  # (B,)
        return _greedy_loop(model, state, tokens, eos_id, max_len, ban, logprobs, limits)


def _feed_prompt(model: SeqModel, state, prompt: Optional[Tensor], rows: int, bos_id, device):
    """Feed BOS and all but the last prompt token; return the state and the next input (B,)."""
    if isinstance(bos_id, Tensor):
        bos = bos_id.to(device=device, dtype=torch.long)  # (B,) one first input per row
    else:
        bos = torch.full((rows,), bos_id, dtype=torch.long, device=device)  # (B,)
    if prompt is None or prompt.shape[1] == 0:
        return state, bos
    prompt = prompt.to(device)
    inputs = torch.cat([bos.unsqueeze(1), prompt], dim=1)  # (B, 1 + P)
    for t in range(inputs.shape[1] - 1):
        state = model.step(state, inputs[:, t]).state
    return state, inputs[:, -1]


def _greedy_loop(model: SeqModel, state, tokens: Tensor, eos_id: int, max_len: int, ban: Sequence[int],
                 logprobs: Optional[list[float]] = None, limits: Optional[Tensor] = None) -> list[list[int]]:
    rows = tokens.shape[0]
    total = torch.zeros(rows, device=tokens.device)  # (B,) summed log-prob per original row
    out = torch.full((rows, max_len), eos_id, dtype=torch.long, device=tokens.device)  # (B, max_len)
    active = torch.arange(rows, device=tokens.device)  # original row of each state row
    alive = torch.ones(rows, dtype=torch.bool, device=tokens.device)  # per state row
    ban_index = torch.tensor(list(ban), dtype=torch.long, device=tokens.device)
    for t in range(max_len):
        output = model.step(state, tokens)
        state, scores = output.state, output.logits  # scores (B', V)
        if len(ban):
            scores = scores.index_fill(1, ban_index, float("-inf"))
        tokens = scores.argmax(dim=-1)  # (B',)
        if logprobs is not None:  # only rows still alive add their token's log-prob
            lp = output.logits.float().log_softmax(dim=-1).gather(1, tokens.unsqueeze(1)).squeeze(1)  # (B',)
            total[active] += torch.where(alive, lp, torch.zeros_like(lp))
        tokens = torch.where(alive, tokens, torch.full_like(tokens, eos_id))
        out[active, t] = tokens
        alive = alive & (tokens != eos_id)
        if limits is not None:  # a row at its own limit stops there
            alive = alive & (limits[active] > t + 1)
        n_alive = int(alive.sum())
        if n_alive == 0:
            break
        if n_alive <= (1 - _COMPACT_FRACTION) * alive.numel():
            keep = alive.nonzero().squeeze(1)  # (B'',)
            state = model.reorder(state, keep)
            tokens, active, alive = tokens[keep], active[keep], alive[keep]
    if logprobs is not None:
        logprobs.extend(total.tolist())
    return [_until_eos(row, eos_id) for row in out.tolist()]


def _until_eos(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


def content_ids(ids: Sequence[int], vocab) -> list[int]:
    """The tokens of a decoded or reference row: up to the first EOS, without padding or BOS."""
    out = []
    for i in ids:
        if i == vocab.eos_id:
            break
        if i not in (vocab.pad_id, vocab.bos_id):
            out.append(i)
    return out
