"""Events the trainer emits. Plain dataclasses of floats and strings: any listener (CLI, TUI) may keep them.

The trainer never knows who listens; the CLI renders these with Rich and the TUI turns them into
Textual messages. Tensors never travel in events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class TrainStarted:
    """Training begins (or resumes) in ``run_dir``."""

    run_dir: str
    task: str
    architecture: str  # human description of the model
    device: str  # e.g. "cpu (2 threads)" or "cuda:0 (NVIDIA ...)"
    parameters: int
    start_step: int
    total_steps: int


@dataclass
class DataReported:
    """What loading the corpus did (pairs kept, dropped and why, lengths, vocabularies), as lines."""

    lines: list[str]  # the DataReport's summary lines
    warnings: list[str] = field(default_factory=list)  # e.g. pairs dropped over the length limits


@dataclass
class Progress:
    """Training progress, averaged since the previous Progress (emitted a few times per second)."""

    step: int
    total_steps: int
    epoch: float  # passes over the training data so far
    loss: float  # mean training loss (nats/token) since the last Progress
    lr: float
    grad_norm: float  # gradient norm before clipping
    tokens_per_s: float
    elapsed: float  # training seconds so far (this run, including earlier sessions)
    eta: float  # seconds to the last step at the current speed (or to the time limit, if sooner)
    threads: int = 0  # CPU threads torch trains on now (0: not a CPU run)
    shown: dict[str, float] = field(default_factory=dict)  # the model's own training values, e.g. temperature

    @property
    def perplexity(self) -> float:
        from .perplexity import perplexity

        return perplexity(self.loss)


@dataclass
class Sample:
    """One sample prediction at evaluation time (tokens as text, detokenised)."""

    source: str
    reference: str
    prediction: str
    source_tokens: list[str] = field(default_factory=list)
    reference_tokens: list[str] = field(default_factory=list)
    prediction_tokens: list[str] = field(default_factory=list)


@dataclass
class Evaluated:
    """Validation metrics at ``step`` (keys: loss, ppl, accuracy, exact_match, bleu, bpc as the task defines)."""

    step: int
    split: str
    metrics: dict[str, float]
    samples: list[Sample] = field(default_factory=list)
    best: bool = False  # this evaluation is the best so far


@dataclass
class CheckpointSaved:
    step: int
    path: str
    reason: str  # "start" | "eval" | "request" | "stop" | "end"


@dataclass
class StatusChanged:
    status: str  # "running" | "paused" | "stopping"


@dataclass
class ThreadsChanged:
    """The trainer moved to another CPU thread count because it trains faster there now."""

    step: int
    threads: int
    reason: str  # for people: "2 -> 1 thread: 2.1x the tokens/s of 2 (the machine is busy)"


@dataclass
class Warned:
    message: str


@dataclass
class TrainFinished:
    """The loop ended; ``reason`` says why, ``message`` says it for people."""

    step: int
    reason: str  # "completed" | "stopped" | "time-limit" | "diverged"
    message: str
    run_dir: str
    elapsed: float
    final: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> metrics at the end
    best: Optional[dict[str, float]] = None
    decoding: str = "greedy"  # how the final test (and long) evaluation decoded, e.g. "beam 4, α 0.6"


Event = (TrainStarted | DataReported | Progress | Evaluated | CheckpointSaved | StatusChanged | ThreadsChanged | Warned
         | TrainFinished)
