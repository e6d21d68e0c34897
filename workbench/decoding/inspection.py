"""The inspector's state: the input, the decoding options and the engine's session that decodes it.

No Textual here and nothing computed that the engine does not report: the session
(``workbench.decoding.DecodeSession``) steps, backs up, forces and scores; this class only chooses
what to feed it and which of its hypotheses the panels follow (the "focus").

    ins = Inspection(model, task)
    ins.load_example(0)            # or ins.load_text("abc"); both prepared by ``decoding.job.prepare``
    ins.set_mode("beam")           # greedy | beam | sample | teacher-forced
    ins.step(); ins.back(); ins.run(); ins.reset()
    ins.force(ins.parse_token("b"))  # what-if: the last decoded position becomes "b", then continue
    ins.intervene("zero:hidden:L0:U3@2")  # edit what the decoder computes (``interventions.py``); ins.effect()
    ins.switch_decoder()           # skip-thought: the same input through its other decoder
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from . import DecodeConfig, DecodeSession, Hypothesis, ReferenceScore, StepRecord, parse_forced
from .job import InspectionJob, example_split, prepare
from .render import path_candidates
from .views import path_rows
from workbench.errors import UserError

TEACHER = "teacher-forced"
MODES = ("greedy", "beam", "sample", TEACHER)
SHOW_K = 8  # size of the next-token distribution the engine keeps per step


class Inspection:
    """One input decoded one step at a time by the engine, plus which hypothesis the panels follow."""

    def __init__(self, model: Any, task: Any):
        self.model, self.task = model, task
        self.vocab = task.tgt_vocab
        self.itos: list[str] = list(self.vocab.itos)
        self.src_itos: Optional[list[str]] = list(task.src_vocab.itos) if task.src_vocab is not None else None
        self.is_lm = model.is_lm
        self.split = example_split(task)
        self._examples: Optional[list] = None
        self.job: Optional[InspectionJob] = None  # what is decoded (engine: ``decoding.job.prepare``)
        self.warnings: list[str] = []
        self.config = DecodeConfig(strategy="greedy", beam=5, show_k=SHOW_K)
        self.auto_max_len = True
        self.mode = "greedy"
        self.session: Optional[DecodeSession] = None
        self.score: Optional[ReferenceScore] = None
        self.focus = 0  # index into ``hypotheses()``
        self._effect: Optional[tuple] = None  # (job, (specs, config), InterventionEffect) of the last ``effect()``
        self._home: tuple = (None, None, None)  # (start, reference, reference ids) the input came with

    # ---- input -----------------------------------------------------------------------------------

    @property
    def examples(self) -> list:
        if self._examples is None:
            self._examples = self.task.examples(self.split)
        return self._examples

    @property
    def example(self) -> Optional[int]:
        """Index in ``examples`` of the input, None when typed."""
        return self.job.example if self.job is not None else None

    @property
    def input_ids(self) -> list[int]:
        return self.job.input.ids if self.job is not None else []

    @property
    def input_tokens(self) -> list[str]:
        """The input as the vocabulary spells it (unknown tokens as <unk>)."""
        itos = self.itos if self.is_lm else self.src_itos
        return [itos[i] for i in self.input_ids]

    @property
    def reference(self) -> Optional[list[str]]:
        """Target tokens to teacher-force / compare with."""
        return self.job.reference if self.job is not None else None

    def load_example(self, index: int, split: Optional[str] = None) -> None:
        """Decode example ``index`` (wrapping) of ``split`` (default: the one shown, test at first); its target
        is the reference."""
        job = prepare(self.task, self.model.capabilities, example=index, wrap=True, split=split or self.split)
        if split is not None and split != self.split:
            self.split, self._examples = split, None
        self._set_job(job)

    def load_text(self, text: str) -> list[str]:
        """Decode text the user typed (an LM's prompt); returns warnings naming unknown tokens."""
        self._set_job(prepare(self.task, self.model.capabilities, text=text))
        return self.warnings

    def _set_job(self, job: InspectionJob) -> None:
        self.job, self.warnings = job, list(job.warnings)
        self._home = (job.start, job.reference, job.reference_ids)
        if job.reference is None and self.mode == TEACHER:
            self.mode = "greedy"
            self.warnings.append("no reference for typed input: back to greedy decoding")
        self.rebuild()

    # ---- skip-thought's two decoders ---------------------------------------------------------------

    @property
    def decoders(self) -> dict[str, int]:
        """Decoder name -> its first input, for a model with several decoders (skip-thought); else empty."""
        return dict(self.task.decoders) if self.model.capabilities.decoders else {}

    @property
    def decoder(self) -> Optional[str]:
        """The decoder this input goes through (skip-thought: "prev" or "next"), None with one decoder."""
        if not self.decoders:
            return None
        start = self.job.start if self.job is not None and self.job.start is not None else self.vocab.bos_id
        return next((name for name, first in self.decoders.items() if first == start), None)

    def switch_decoder(self) -> str:
        """Decode the same input with the next decoder; an example's reference stays with its own decoder."""
        names = list(self.decoders)
        if not names or self.job is None:
            raise UserError("this model has one decoder")
        name = names[(names.index(self.decoder) + 1) % len(names)] if self.decoder in names else names[0]
        start = self.decoders[name]
        home_start, reference, ids = self._home
        own = start == (self.vocab.bos_id if home_start is None else home_start)
        self.job = replace(self.job, start=start, reference=reference if own else None,
                           reference_ids=ids if own else None)
        if self.job.reference is None and self.mode == TEACHER:
            self.mode = "greedy"
        self.rebuild(keep_steps=True)
        return name

    # ---- options ---------------------------------------------------------------------------------

    @property
    def max_len(self) -> int:
        """Most output tokens: the engine's automatic length for the input, or the one the user set."""
        if self.job is None:
            return self.config.max_len
        return self.job.max_len(self.task, None if self.auto_max_len else self.config.max_len)

    def set_mode(self, mode: str) -> None:
        """Switch strategy, keeping the number of decoded steps where possible."""
        if mode not in MODES:
            raise UserError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        if mode == TEACHER and self.reference is None:
            raise UserError("teacher forcing needs a reference: pick an example (↑/↓) instead of typed input")
        self.mode = mode
        self.rebuild(keep_steps=True)

    def set_options(self, **changes: Any) -> None:
        """Change DecodeConfig fields (beam, alpha, temperature, top_k, top_p, seed, max_len; max_len 0 = auto)."""
        if "max_len" in changes:
            self.auto_max_len = not changes["max_len"]
            if self.auto_max_len:
                changes.pop("max_len")
        config = replace(self.config, **changes)
        config.validate()
        self.config = config
        self.rebuild(keep_steps=True)

    def rebuild(self, keep_steps: bool = False) -> None:
        """A fresh session for the input and options (re-stepped to where it was with ``keep_steps``)."""
        steps = self.t if keep_steps and self.session is not None else 0
        self.score = None
        self.focus = 0
        if self.job is None:
            return
        if self.mode == TEACHER:
            # One pass over the reference: run it to the end for the whole-reference score, then step back.
            self.session = self.job.teacher_session(self.model, self.task, show_k=self.config.show_k)
            self.score = ReferenceScore.from_session(self.session)
            while self.t > steps:
                self.session.back()
            return
        config = replace(self.config, strategy=self.mode, max_len=self.max_len)
        self.session = self.job.session(self.model, self.task, config)
        for _ in range(steps):
            if self.session.step() is None:
                break

    # ---- stepping --------------------------------------------------------------------------------

    @property
    def records(self) -> list[StepRecord]:
        return self.session.records if self.session is not None else []

    @property
    def t(self) -> int:
        """Steps decoded so far."""
        return len(self.records)

    @property
    def done(self) -> bool:
        return self.session is not None and self.session.done

    def step(self) -> bool:
        self.focus = 0
        return self.session.step() is not None

    def back(self) -> bool:
        if not self.records:
            return False
        self.focus = 0
        self.session.back()
        return True

    def run(self) -> None:
        self.focus = 0
        self.session.run()

    def reset(self) -> None:
        self.focus = 0
        self.session.reset()

    def parse_token(self, text: str) -> int:
        """Id of one output token typed by the user (as the vocabulary spells it, e.g. ``<eos>``)."""
        return parse_forced([f"0:{text}"], self.task.tokenize_tgt, self.vocab)[0]

    def force_position(self) -> int:
        """The output position a force replaces: the last decoded one (0 before any step)."""
        return max(0, self.t - 1)

    def force(self, token: int) -> None:
        """What-if: the last decoded position becomes ``token`` (for every beam row); decoding goes on from there."""
        if self.mode == TEACHER:
            raise UserError("teacher-forced decoding already forces every token: switch to greedy, beam or sampling")
        self.session.force(self.force_position(), token)
        self.focus = 0
        self.session.step()

    # ---- interventions -------------------------------------------------------------------------------

    @property
    def interventions(self) -> list[str]:
        """The ``--intervene`` specs active on this input (in the order given)."""
        return list(self.job.intervention_specs) if self.job is not None else []

    def intervene(self, spec: str) -> None:
        """Add one edit (syntax in ``interventions.py``) to the input's sessions; re-decode to where it was."""
        if self.job is None:
            raise UserError("nothing is loaded to intervene on")
        self.job.intervene(self.model, self.task, self.interventions + [spec])
        self.rebuild(keep_steps=True)

    def clear_interventions(self) -> None:
        if self.job is not None and self.job.interventions:
            self.job.intervene(self.model, self.task, [])
            self.rebuild(keep_steps=True)

    def effect(self):
        """What the edits do to the whole decoding (``intervention_effect``), or None without edits; cached."""
        if self.job is None or not self.job.interventions:
            return None
        mode = "greedy" if self.mode == TEACHER else self.mode
        config = replace(self.config, strategy=mode, max_len=self.max_len)
        key = (tuple(self.interventions), config)
        if self._effect is None or self._effect[0] is not self.job or self._effect[1] != key:
            from .intervention_effect import intervention_effect

            self._effect = (self.job, key, intervention_effect(self.job, self.model, self.task, config))
        return self._effect[2]

    # ---- what the panels follow ------------------------------------------------------------------

    def hypotheses(self) -> list[Hypothesis]:
        """Hypotheses at the current step, best first: by score while searching, the engine's result when done."""
        if not self.records:
            return []
        last = self.records[-1]
        ranked = sorted(last.live + last.finished, key=lambda h: (h.score, h.status == "live"), reverse=True)
        if self.done and last.best is not None:
            ranked = [last.best] + [h for h in ranked if h.id != last.best.id]
        return ranked

    def focus_hyp(self) -> Optional[Hypothesis]:
        hyps = self.hypotheses()
        return hyps[self.focus % len(hyps)] if hyps else None

    def cycle_focus(self, delta: int = 1) -> None:
        n = len(self.hypotheses())
        self.focus = (self.focus + delta) % n if n else 0

    def path(self, hyp: Hypothesis) -> list[int]:
        """Trace row of ``hyp``'s ancestor at each of its steps (engine: ``views.path_rows``)."""
        return path_rows(self.records, hyp)

    def path_candidates(self, hyp: Hypothesis) -> list:
        """The engine's Candidate that produced each token of ``hyp`` (log-prob, rank)."""
        return path_candidates(self.records, hyp, self.path(hyp))

    def last_step_of(self, hyp: Hypothesis) -> tuple[Optional[StepRecord], int]:
        """(record, row) of the step that produced ``hyp``'s last token; (None, 0) for the empty root."""
        if not hyp.tokens:
            return None, 0
        s = len(hyp.tokens) - 1
        return self.records[s], self.path(hyp)[s]

    def forced_steps(self) -> set[int]:
        return {r.step for r in self.records if r.forced is not None}

    @property
    def fed_prefix(self) -> list[str]:
        """Tokens fed before the first output: <bos> and, for an LM, the prompt."""
        start = self.job.start if self.job is not None and self.job.start is not None else self.vocab.bos_id
        return [self.itos[start]] + (self.input_tokens if self.is_lm else [])

    def text(self, ids) -> list[str]:
        return [self.itos[i] for i in ids]
