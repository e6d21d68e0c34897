"""Teacher forcing and scheduled sampling: what a decoder is fed while its loss is computed.

Teacher forcing feeds the reference token at every step, so the whole target runs through the
fused ``forward`` at once. Scheduled sampling (Bengio et al., 2015) feeds the reference only with
probability ``ratio`` and otherwise the model's own argmax, through the step path, so the model
learns to recover from its own mistakes. Training uses ``training_logits``; evaluation and
scoring use ``teacher_forced_logits``.
"""

from __future__ import annotations

import torch


def teacher_forced_logits(model, batch) -> torch.Tensor:
    """Logits (B, T, V) of the model fed the reference prefix ``batch.tgt_in`` at every step."""
    return model(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, V)


def scheduled_sampling_logits(model, batch, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Unroll ``start/step``, feeding the reference with probability ``ratio``, else the model's argmax."""
    B, T = batch.tgt_in.shape
    state = model.start(batch.src, batch.src_lengths, batch_size=B)
    token = batch.tgt_in[:, 0]  # (B,) always BOS
    outs = []
    for t in range(T):
        out = model.step(state, token)
        state = out.state
        outs.append(out.logits)  # (B, V)
        if t + 1 < T:
            use_ref = torch.rand(B, generator=generator, device=token.device) < ratio  # (B,)
            token = torch.where(use_ref, batch.tgt_in[:, t + 1], out.logits.detach().argmax(-1))
    return torch.stack(outs, 1)  # (B, T, V)


def training_logits(model, batch, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Logits (B, T, V) for the training loss: teacher-forced when ``ratio`` is 1, else scheduled sampling."""
    if ratio >= 1.0:
        return teacher_forced_logits(model, batch)
    return scheduled_sampling_logits(model, batch, ratio, generator)
