"""Hard attention: the decoder reads one source position per step, drawn from a soft scorer's distribution.

Soft attention (``layers.py``) computes a_t = softmax_s(score(q_t, h_s)) and reads the average
c_t = Σ_s a_t(s) h_s. Hard attention (Xu et al. 2015, "Show, attend and tell", §4.1, stochastic
"hard" attention) reads a single position: z_t ~ Categorical(a_t), c_t = h_{z_t}. Drawing z_t has no
gradient, so training needs an estimator (``config.hard_attention``):

  "gumbel" (Jang et al. 2017, "Categorical reparameterization with Gumbel-softmax", straight-through):
      y_soft = softmax_s((log a_t(s) + g_s) / τ),   g_s ~ Gumbel(0, 1) independent,   z_t = argmax_s y_soft
      y = onehot(z_t) − stopgrad(y_soft) + y_soft,   c_t = Σ_s y(s) h_s
      The forward pass reads exactly h_{z_t}; the backward pass uses the gradient of y_soft. τ anneals
      geometrically from ``hard_tau_start`` to ``hard_tau_end`` over training (``schedule``), so the
      relaxation the gradient follows gets closer to the choice the forward pass makes.
  "reinforce" (Williams 1992; Xu et al. 2015, eqs. 10-12, with a moving-average baseline):
      z_t ~ Categorical(a_t), c_t = h_{z_t}; the scorer learns from the surrogate loss
          − Σ_t (r_t − b) · log a_t(z_t) / N
      r_t = log p(y_t | y_<t, x), the model's log-likelihood of the reference token at step t (a
      per-step reward), b an exponential moving average of r (decay ``BASELINE_DECAY``), N the number
      of target tokens. For a Luong decoder c_t only feeds step t's readout, so r_t is the whole
      effect of z_t; for the Bahdanau decoder c_t also feeds later steps, which a per-step reward
      ignores (lower variance, some bias). The dashboard shows var(r_t − b), the spread of the
      weights the score-function gradient is made of.

In eval mode both pick z_t = argmax_s a_t(s): deterministic, so ``step`` equals ``forward``. The
traced weights are a_t itself and ``Attended.chosen`` is z_t: the inspector marks the position read
on top of the distribution it was drawn from. Drawing z_t ~ a_t at decode time instead is an option
(``sampling_positions``: ``seqbench decode --hard-sample``), seeded so that it repeats.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .layers import Attended, Scorer

BASELINE_DECAY = 0.9  # reinforce: weight of the old baseline in each update
_TINY = 1e-30  # smallest probability whose log is taken (masked positions stay masked)


class HardAttention(Scorer):
    """Wraps a single-head scorer so the context is one source position's value (see the module docstring)."""

    def __init__(self, soft: Scorer, estimator: str, tau_start: float, tau_end: float):
        super().__init__()
        if estimator not in ("gumbel", "reinforce"):
            raise ValueError(f"unknown hard-attention estimator {estimator!r}; choose gumbel or reinforce")
        self.soft, self.estimator = soft, estimator
        self.context_dim = soft.context_dim
        self.tau_start, self.tau_end = tau_start, tau_end
        self.temperature = tau_start  # set by ``schedule`` before each training step
        self.register_buffer("baseline", torch.zeros(()))  # reinforce: moving average of r_t, kept in checkpoints
        self.variance = math.nan  # reinforce: var(r_t - b) of the last training step
        self._log_choice: list[Tensor] = []  # reinforce, training: log a_t(z_t) per attend call, (B, [T])
        self.sampler: Optional[torch.Generator] = None  # eval: draw z_t ~ a_t with it instead of the argmax

    def prepare(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        self._log_choice = []  # a new source: a new forward pass begins
        return self.soft.prepare(memory)

    def attend(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor, lengths: Tensor) -> Attended:
        soft = self.soft.attend(query, keys, values, mask, lengths)
        probs = soft.weights.squeeze(2)  # (B, T, 1, S) -> (B, T, S): a_t
        S = probs.shape[-1]
        if not self.training:
            chosen = probs.argmax(-1) if self.sampler is None else self._draw(probs)  # (B, T)
            y = F.one_hot(chosen, S).to(values.dtype)  # (B, T, S)
        elif self.estimator == "gumbel":
            log_p = probs.clamp_min(_TINY).log().masked_fill(probs == 0, float("-inf"))  # (B, T, S)
            uniform = torch.rand_like(probs).clamp(_TINY, 1.0)
            y_soft = ((log_p - (-uniform.log()).log()) / self.temperature).softmax(-1)  # (B, T, S)
            chosen = y_soft.argmax(-1)  # (B, T)
            y = F.one_hot(chosen, S).to(values.dtype) - y_soft.detach() + y_soft  # straight-through
        else:
            chosen = torch.multinomial(probs.detach().reshape(-1, S), 1).view(probs.shape[:-1])  # (B, T)
            y = F.one_hot(chosen, S).to(values.dtype)
            self._log_choice.append(probs.gather(-1, chosen.unsqueeze(-1)).squeeze(-1).clamp_min(_TINY).log())
        context = torch.bmm(y, values)  # (B, T, S) @ (B, S, Dv) -> (B, T, Dv)
        return Attended(context, soft.weights, soft.center, chosen)

    def _draw(self, probs: Tensor) -> Tensor:
        """z ~ a per row of ``probs`` (B, T, S) with the decode-time generator (on the CPU: its device)."""
        flat = probs.detach().reshape(-1, probs.shape[-1]).float().cpu()  # (B*T, S)
        return torch.multinomial(flat, 1, generator=self.sampler).view(probs.shape[:-1]).to(probs.device)

    def schedule(self, progress: float) -> dict[str, float]:
        """Set the temperature for training ``progress`` (0 at the first step, 1 at the last); what to show."""
        if self.estimator == "gumbel":
            progress = min(max(progress, 0.0), 1.0)
            self.temperature = self.tau_start * (self.tau_end / self.tau_start) ** progress
            return {"temperature": self.temperature}
        return {"baseline": float(self.baseline), "advantage var": self.variance}

    def extra_loss(self, logits: Tensor, targets: Tensor, pad_id: int) -> Optional[Tensor]:
        """REINFORCE's surrogate loss for the forward pass just run (logits (B, T, V), targets (B, T)); else None."""
        if self.estimator != "reinforce" or not self._log_choice:
            return None
        steps = self._log_choice
        self._log_choice = []
        log_choice = torch.cat(steps, 1)  # T x (B, 1) (Bahdanau, one step at a time) or 1 x (B, T) -> (B, T)
        keep = targets != pad_id  # (B, T)
        reward = logits.detach().log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T): r_t
        advantage = (reward - self.baseline)[keep]  # (N,)
        with torch.no_grad():
            self.baseline.mul_(BASELINE_DECAY).add_((1 - BASELINE_DECAY) * reward[keep].mean())
            self.variance = float(advantage.var()) if advantage.numel() > 1 else 0.0
        return -(advantage * log_choice[keep]).sum() / keep.sum().clamp_min(1)


@contextmanager
def sampling_positions(model: torch.nn.Module, generator: torch.Generator) -> Iterator[torch.nn.Module]:
    """Within the block, an eval-mode model's hard attention draws z_t ~ a_t with ``generator`` (a CPU
    generator) instead of taking the argmax; ValueError if the model has no hard attention."""
    layers = [m for m in model.modules() if isinstance(m, HardAttention)]
    if not layers:
        raise ValueError("this model has no hard attention whose positions could be sampled")
    before = [m.sampler for m in layers]
    for m in layers:
        m.sampler = generator
    try:
        yield model
    finally:
        for m, old in zip(layers, before):
            m.sampler = old
