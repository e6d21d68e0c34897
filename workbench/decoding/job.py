"""What to decode for one run: the input, its reference, forced tokens, limits and the automatic length.

The one place where ``seqbench decode`` and the app's inspector turn a user's choice (an example of
the run's task, or typed text) into ids a ``DecodeSession`` can decode, so the same run and input
give the same steps and warnings in both:

    job = prepare(task, model.capabilities, example=3)          # or text="abc", reference="cba"
    session = job.session(model, task, DecodeConfig(max_len=job.max_len(task)))

Limits come from the model (a Transformer covers ``max_positions``) and from the task: an input far
longer than anything the model was trained on is refused, so pasted garbage cannot keep a decoder
busy for minutes, and the automatic output length, which follows the input, stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..errors import UserError
from .inputs import PreparedText, parse_forced, prepare_text
from .scoring import reference_session
from .session import DecodeConfig, DecodeSession

DEFAULT_LM_LENGTH = 100  # tokens a language model generates after a typed prompt
INPUT_FACTOR = 4  # inputs up to this many times the task's longest are accepted
MIN_INPUT_LIMIT = 64  # ... and never fewer tokens than this


def example_split(task: Any) -> str:
    """The split examples are drawn from: val for an LM (its windows), else test (or the last split)."""
    names = task.split_names
    return "val" if task.family == "lm" else ("test" if "test" in names else names[-1])


def input_limit(task: Any, caps: Any) -> tuple[int, str]:
    """(most input tokens accepted, why): the model's own limit or a multiple of the task's longest input."""
    if task.family == "lm":
        longest = max(task.max_target_len(s) for s in task.split_names)
        own = caps.max_positions - 1 if caps.max_positions is not None else None  # leave room for one output
    else:
        longest = max((len(ex.src) for s in task.split_names for ex in task.examples(s)), default=0)
        own = caps.max_source_len
    task_limit = max(INPUT_FACTOR * longest, MIN_INPUT_LIMIT)
    if own is not None and own <= task_limit:
        return own, f"this model covers {caps.max_positions or own} positions"
    return task_limit, f"{INPUT_FACTOR}x the longest it was trained on"


@dataclass
class InspectionJob:
    """One input resolved against a run's task and vocabularies: what both faces hand the session."""

    src: Optional[PreparedText]  # the source, None for a language model
    prompt: Optional[PreparedText]  # the LM prompt, None for an encoder-decoder
    reference: Optional[list[str]]  # target tokens to score / teacher-force (no BOS/EOS), or None
    reference_ids: Optional[list[int]]
    forced: dict[int, int] = field(default_factory=dict)  # output step -> token id (what-if)
    warnings: list[str] = field(default_factory=list)
    example: Optional[int] = None  # index in its split (``prepare``) when the input is an example
    interventions: list = field(default_factory=list)  # (first step, models Edit) pairs: ``intervene``
    intervention_specs: list = field(default_factory=list)  # the specs they were parsed from
    start: Optional[int] = None  # the first decoder input (None: <bos>); skip-thought's <prev> picks its other decoder

    @property
    def input(self) -> PreparedText:
        return self.src if self.src is not None else self.prompt

    def max_len(self, task: Any, requested: Optional[int] = None) -> int:
        """Most output tokens: ``requested``, else automatic (bounded, because the input is)."""
        if requested is not None:
            return requested
        if task.family == "lm":
            return len(self.reference) if self.example is not None and self.reference else DEFAULT_LM_LENGTH
        longest = max(task.max_target_len(split) for split in task.split_names)
        return 2 * max(longest, len(self.src.ids), len(self.reference or ())) + 10

    def intervene(self, model: Any, task: Any, specs: Sequence[str]) -> None:
        """Apply ``--intervene`` specs (syntax in ``interventions.py``) to every session of this job."""
        from .interventions import parse_intervention, resolve

        parsed = [parse_intervention(s) for s in specs]
        self.interventions = resolve(parsed, model, task, len(self.src.ids) if self.src else None)
        self.intervention_specs = list(specs)

    def session(self, model: Any, task: Any, config: DecodeConfig, history: bool = True) -> DecodeSession:
        """A free-running session (greedy, beam or sampling as ``config`` says) over this input."""
        return DecodeSession(model, self.src.ids if self.src else None, config=config, forced=self.forced,
                             history=history, **_common(task, self))

    def teacher_session(self, model: Any, task: Any, show_k: int, history: bool = True) -> DecodeSession:
        """A session that feeds the reference token by token (teacher forcing)."""
        if self.reference_ids is None:
            raise UserError("teacher forcing needs a reference: pick an example instead of typed input")
        return reference_session(model, self.src.ids if self.src else None, self.reference_ids, show_k=show_k,
                                 history=history, **_common(task, self))


def _common(task: Any, job: InspectionJob) -> dict:
    v = task.tgt_vocab
    start = v.bos_id if job.start is None else job.start
    return dict(bos_id=start, eos_id=v.eos_id, prompt=job.prompt.ids if job.prompt else (),
                interventions=job.interventions,
                ban=tuple(dict.fromkeys((v.pad_id, v.bos_id, start))), itos=list(v.itos),
                src_itos=list(task.src_vocab.itos) if task.src_vocab is not None else None)


def prepare(task: Any, caps: Any, *, text: Optional[str] = None, example: Optional[int] = None,
            reference: Optional[str] = None, force: Sequence[str] = (), max_len: Optional[int] = None,
            wrap: bool = False, split: Optional[str] = None) -> InspectionJob:
    """Tokenise and check typed ``text`` or example ``example`` of ``split`` (default ``example_split``;
    ``wrap``: modulo the split's size),
    an optional ``reference`` text and ``force`` specs ("T:TOKEN"); UserError on anything unusable."""
    if (text is None) == (example is None):
        raise UserError("give either an input text or an example number")
    if text is not None:
        tokens, ref_tokens = (task.tokenize_tgt if task.family == "lm" else task.tokenize_src)(text), None
    else:
        example, tokens, ref_tokens = _example(task, caps, example, wrap, split)
    _check_length(task, caps, tokens)
    if reference is not None:
        ref_tokens = task.tokenize_tgt(reference)
    warnings: list[str] = []
    if task.family == "lm":
        src, prompt = None, prepare_text(task.tgt_vocab, tokens, what="prompt", allow_empty=True)
        ref_tokens = _fit_reference(caps, len(tokens), ref_tokens, warnings)
    else:
        src, prompt = prepare_text(task.src_vocab, tokens, what="input"), None
    _note_unknown(src or prompt, "input" if src else "prompt", warnings)
    ref_ids = None
    if ref_tokens is not None:
        ref = prepare_text(task.tgt_vocab, ref_tokens, what="reference", allow_empty=True)
        _note_unknown(ref, "reference", warnings)
        ref_ids = ref.ids
    job = InspectionJob(src, prompt, ref_tokens, ref_ids, parse_forced(list(force), task.tokenize_tgt, task.tgt_vocab),
                        warnings, example)
    if example is not None and task.family == "seq2seq":  # skip-thought: the example's reference is one neighbour
        job.start = task.example_start(split or example_split(task), example)
    _note_positions(caps, job, job.max_len(task, max_len), warnings)
    return job


def _check_length(task: Any, caps: Any, tokens: list[str]) -> None:
    limit, why = input_limit(task, caps)
    if len(tokens) > limit:
        what = "prompt" if task.family == "lm" else "input"
        raise UserError(f"the {what} has {len(tokens)} tokens; at most {limit} are accepted ({why})")


def _example(task: Any, caps: Any, index: int, wrap: bool,
             split: Optional[str] = None) -> tuple[int, list[str], list[str]]:
    """(index, input tokens, reference tokens) of an example; an LM window (cut to the positions the
    model covers, so teacher forcing reaches the end of its reference) is halved into prompt and rest."""
    split = split or example_split(task)
    if split not in task.split_names:
        raise UserError(f"task {task.name} has no split {split!r} (it has {', '.join(task.split_names)})")
    examples = task.examples(split)
    if not examples:
        missing = getattr(task, "missing_data", None)  # a saved run whose data file moved (workbench.runs.RunTask)
        raise UserError(missing or f"the {split} split has no examples; type an input instead")
    if wrap:
        index %= len(examples)
    if not 0 <= index < len(examples):
        raise UserError(f"no example {index}: the {split} split has {len(examples)} examples (0..{len(examples) - 1})")
    ex = examples[index]
    if task.family == "lm":
        window = list(ex.tgt[: caps.max_positions] if caps.max_positions is not None else ex.tgt)
        cut = max(1, len(window) // 2)
        return index, window[:cut], window[cut:]
    return index, list(ex.src), list(ex.tgt)


def _fit_reference(caps: Any, prompt_len: int, reference: Optional[list[str]], warnings: list[str]):
    """Cut an LM reference to the positions left after <bos> and the prompt, saying so."""
    if reference is None or caps.max_positions is None:
        return reference
    room = caps.max_positions - prompt_len
    if len(reference) > room:
        warnings.append(f"the reference is cut to its first {room} tokens: this model covers "
                        f"{caps.max_positions} positions")
        return reference[:room]
    return reference


def _note_positions(caps: Any, job: InspectionJob, max_len: int, warnings: list[str]) -> None:
    if job.prompt is None or caps.max_positions is None:
        return
    room = caps.max_positions - len(job.prompt.ids)
    if max_len > room:
        warnings.append(f"generating at most {room} tokens: this model covers {caps.max_positions} positions")


def _note_unknown(prepared: PreparedText, what: str, warnings: list[str]) -> None:
    if prepared.unknown:
        shown = ", ".join(repr(t) for t in prepared.unknown[:10])
        more = f" and {len(prepared.unknown) - 10} more" if len(prepared.unknown) > 10 else ""
        warnings.append(f"{what} tokens not in the vocabulary, decoded as <unk>: {shown}{more}")
