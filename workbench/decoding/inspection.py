"""The inspector's state: the input, the decoding options and the engine's session that decodes it.

No Textual here and nothing computed that the engine does not report: the session
(``workbench.decoding.DecodeSession``) steps, backs up, forces and scores; this class only chooses
what to feed it and which of its hypotheses the panels follow (the "focus").

    ins = Inspection(model, task)
    ins.load_example(0)            # or ins.load_text("abc"); both validate against the vocabulary
    ins.set_mode("beam")           # greedy | beam | sample | teacher-forced
    ins.step(); ins.back(); ins.run(); ins.reset()
    ins.force(ins.parse_token("b"))  # what-if: the last decoded position becomes "b", then continue
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from . import (
    DecodeConfig,
    DecodeSession,
    Hypothesis,
    ReferenceScore,
    StepRecord,
    parse_forced,
    prepare_text,
    prompt_limit,
    reference_session,
    score_reference,
    source_limit,
)
from .render import path_candidates
from .views import path_rows
from workbench.errors import UserError

TEACHER = "teacher-forced"
MODES = ("greedy", "beam", "sample", TEACHER)
LM_LENGTH = 60  # tokens an LM generates from a typed prompt
SHOW_K = 8  # size of the next-token distribution the engine keeps per step


class Inspection:
    """One input decoded one step at a time by the engine, plus which hypothesis the panels follow."""

    def __init__(self, model: Any, task: Any):
        self.model, self.task = model, task
        self.vocab = task.tgt_vocab
        self.itos: list[str] = list(self.vocab.itos)
        self.src_itos: Optional[list[str]] = list(task.src_vocab.itos) if task.src_vocab is not None else None
        self.is_lm = model.is_lm
        names = task.split_names
        self.split = "val" if self.is_lm else ("test" if "test" in names else names[-1])
        self._examples: Optional[list] = None
        self._longest: Optional[int] = None
        self.example: Optional[int] = None  # index in ``examples`` of the input, None when typed
        self.input_tokens: list[str] = []  # as the vocabulary spells them (unknown ones as <unk>)
        self.input_ids: list[int] = []
        self.reference: Optional[list[str]] = None  # target tokens to teacher-force / compare with
        self.warnings: list[str] = []
        self.config = DecodeConfig(strategy="greedy", beam=5, show_k=SHOW_K)
        self.auto_max_len = True
        self.mode = "greedy"
        self.session: Optional[DecodeSession] = None
        self.score: Optional[ReferenceScore] = None
        self.focus = 0  # index into ``hypotheses()``

    # ---- input -----------------------------------------------------------------------------------

    @property
    def examples(self) -> list:
        if self._examples is None:
            self._examples = self.task.examples(self.split)
        return self._examples

    def load_example(self, index: int) -> None:
        """Decode example ``index`` (wrapping) of the test split; its target is the reference."""
        if not self.examples:
            raise UserError(f"the {self.split} split has no examples; type an input instead")
        index %= len(self.examples)
        ex = self.examples[index]
        if self.is_lm:
            cut = max(1, len(ex.tgt) // 2)
            self._set_input(list(ex.tgt[:cut]), list(ex.tgt[cut:]))
        else:
            self._set_input(list(ex.src), list(ex.tgt))
        self.example = index

    def load_text(self, text: str) -> list[str]:
        """Decode text the user typed (an LM's prompt); returns warnings naming unknown tokens."""
        tokenize = self.task.tokenize_tgt if self.is_lm else self.task.tokenize_src
        self._set_input(tokenize(text), None)
        self.example = None
        return self.warnings

    def _set_input(self, tokens: list[str], reference: Optional[list[str]]) -> None:
        cfg = self.model.config
        if self.is_lm:
            prepared = prepare_text(self.vocab, tokens, what="prompt", limit=prompt_limit(cfg), allow_empty=True)
            itos = self.itos
        else:
            prepared = prepare_text(self.task.src_vocab, tokens, what="input", limit=source_limit(cfg))
            itos = self.src_itos
        self.warnings = []
        if prepared.unknown:
            shown = ", ".join(repr(t) for t in prepared.unknown[:8])
            self.warnings.append(f"not in the vocabulary, decoded as <unk>: {shown}")
        self.input_ids = prepared.ids
        self.input_tokens = [itos[i] for i in prepared.ids]
        self.reference = reference
        if reference is None and self.mode == TEACHER:
            self.mode = "greedy"
            self.warnings.append("no reference for typed input: back to greedy decoding")
        self.rebuild()

    # ---- options ---------------------------------------------------------------------------------

    @property
    def max_len(self) -> int:
        if not self.auto_max_len:
            return self.config.max_len
        if self.is_lm:
            return len(self.reference) if self.reference else LM_LENGTH
        if self._longest is None:
            self._longest = max(self.task.max_target_len(s) for s in self.task.split_names)
        return 2 * max(self._longest, len(self.input_ids), len(self.reference or ())) + 10

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
        v = self.vocab
        src = None if self.is_lm else self.input_ids
        prompt = self.input_ids if self.is_lm else ()
        common = dict(bos_id=v.bos_id, eos_id=v.eos_id, prompt=prompt, ban=(v.pad_id, v.bos_id), itos=self.itos,
                      src_itos=self.src_itos)
        self.score = None
        if self.mode == TEACHER:
            ref = v.encode(self.reference)
            self.score = score_reference(self.model, src, ref, bos_id=v.bos_id, eos_id=v.eos_id, prompt=prompt,
                                         ban=common["ban"], show_k=self.config.show_k)
            self.session = reference_session(self.model, src, ref, show_k=self.config.show_k, **common)
        else:
            config = replace(self.config, strategy=self.mode, max_len=self.max_len)
            self.session = DecodeSession(self.model, src, config=config, **common)
        self.focus = 0
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
        return [self.itos[self.vocab.bos_id]] + (self.input_tokens if self.is_lm else [])

    def text(self, ids) -> list[str]:
        return [self.itos[i] for i in ids]
