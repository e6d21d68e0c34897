"""What ``seqbench decode`` prints and writes for one finished session: summary, panels, JSON, exports.

Kept apart from the option handling in ``workbench/decode_cli.py``; everything is drawn on the
Rich console it is given, with token text always in ``Text`` (never markup).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.text import Text

from ..errors import UserError
from ..runs import atomic_write
from .export import export_attention, write_npy
from .render import escape_control, heatmap, hidden_strip, nbest_table, probs_table, token_label
from .scoring import ReferenceScore
from .session import DecodeSession
from .views import alignment, cross_attention_path, hidden_path, hidden_stack, path_rows, self_attention_matrix


class Report:
    """Renders one decoded input: the best hypothesis, its path through the records, its scores."""

    def __init__(self, loaded: Any, session: DecodeSession, job: Any, score: Optional[ReferenceScore],
                 console: Console):
        self.loaded, self.session, self.job, self.score, self.console = loaded, session, job, score, console
        self.task = loaded.task
        self.itos = self.task.tgt_vocab.itos
        self.records = session.records
        self.best = session.result()[0]
        self.rows = path_rows(self.records, self.best)
        self.out_tokens = [self.itos[t] for t in self.best.tokens]
        self.extra: dict[str, Any] = {}  # more top-level JSON keys (e.g. "intervention")

    def text(self, ids) -> str:
        """Display text of output ids (stops at EOS, drops pad/BOS), detokenised, control characters escaped."""
        return escape_control(self.task.detokenize(self.task.tgt_vocab.decode(list(ids))))

    # ---- summary ---------------------------------------------------------------------------------

    def summary(self) -> None:
        from models import describe

        out, best, cfg = self.console, self.best, self.session.config
        out.print(Text.assemble(("run     ", "bold"), str(self.loaded.path), " ",
                                (f"(step {self.loaded.step}, {describe(self.loaded.model.config)})", "dim")))
        prepared = self.job.src or self.job.prompt
        label = "input   " if self.job.src else "prompt  "
        shown_input = (self.task.detokenize_src if self.job.src else self.task.detokenize)(prepared.tokens)
        out.print(Text.assemble((label, "bold"), escape_control(shown_input),
                                (f"  ({len(prepared.tokens)} tokens)", "dim")))
        shown = self.text(best.tokens)
        out.print(Text.assemble(("output  ", "bold"), (shown, "bold green") if shown else ("(empty)", "dim")))
        how = {"greedy": "greedy", "beam": f"beam {cfg.beam}",
               "sample": f"sample T={cfg.temperature:g} top-k={cfg.top_k} top-p={cfg.top_p:g} seed={cfg.seed}"}
        ended = {"eos": "ended by <eos>", "max_len": f"cut at --max-len {self.session.max_len}",
                 "live": "unfinished"}[best.status]
        hard = f" · hard attention sampled (seed {cfg.seed})" if cfg.hard_sample else ""
        out.print(Text.assemble(("        ", ""), (f"{how[cfg.strategy]}{hard} · log-prob {best.logprob:.4f} · "
                                f"{len(best.tokens)} tokens · {ended}", "dim")))
        if self.session.forced:
            forced = ", ".join(f"{t}:{token_label(self.itos[tok])}" for t, tok in sorted(self.session.forced.items()))
            out.print(Text.assemble(("forced  ", "bold magenta"), forced))
            unused = [t for t in sorted(self.session.forced) if t >= len(self.records)]
            if unused:
                out.print(Text(f"        not applied: decoding ended after {len(self.records)} steps, before step "
                               f"{', '.join(map(str, unused))}", style="yellow"))
        if self.score is not None:
            self._reference_summary()

    def _reference_summary(self) -> None:
        s, out = self.score, self.console
        ppl = f"{s.perplexity:.3f}" if math.isfinite(s.perplexity) else "inf"
        out.print(Text.assemble(("reference ", "bold"), self.text(s.tokens),
                                (f"  log-prob {s.logprob:.4f} · perplexity {ppl}", "dim")))
        if s.divergence is None:
            out.print(Text("          free-running greedy decoding reproduces it", style="green"))
            return
        t = s.divergence
        want, got = self.itos[s.tokens[t]], self.itos[s.argmax[t]]
        out.print(Text.assemble(
            (f"          greedy decoding leaves it at step {t}: the model prefers ", "yellow"),
            (token_label(got), "bold"), (" over the reference's ", "yellow"), (token_label(want), "bold"),
            (f" (p={math.exp(s.logprobs[t]):.3f}, rank {s.ranks[t]})", "yellow")))

    # ---- panels ----------------------------------------------------------------------------------

    def panels(self, names: list[str]) -> None:
        for name in names:
            self.console.print()
            getattr(self, f"_panel_{name}")()

    def _attention_view(self):
        """(matrix (T, C), column labels, full tensor, kind) for the best hypothesis, or None."""
        cross = alignment(self.records, self.best)
        if cross is not None:
            cols = [self.task.src_vocab.itos[i] for i in self.session.src]
            return cross, cols, cross_attention_path(self.records, self.best), "attention"
        own = self_attention_matrix(self.records, self.best)
        if own is None:
            return None
        prefix = ["<bos>"] + [self.itos[i] for i in self.session.prompt] + self.out_tokens
        return own, prefix[: own.shape[1]], None, "self_attention"

    def _panel_attention(self) -> None:
        view = self._attention_view()
        if view is None:
            self.console.print(Text("attention: this model has no attention to draw (try --show hidden)", style="dim"))
            return
        matrix, cols, _, kind = view
        heads = self.loaded.model.capabilities.heads
        title = "alignment (rows: output tokens, columns: source tokens)" if kind == "attention" else \
            "self-attention (rows: output tokens, columns: the prefix fed so far)"
        self.console.print(Text(title, style="bold"))
        note = "last layer" + (f", mean over {heads} heads" if heads > 1 else "")
        self.console.print(heatmap(matrix, self.out_tokens, cols, width=self.console.width, note=note))

    def _panel_beams(self) -> None:
        self.console.print(nbest_table(self.session.result(), self.text, alpha=self.session.config.alpha))
        if self.session.config.strategy == "beam":
            considered = sum(len(r.candidates) for r in self.records)
            finished = len(self.records[-1].finished) if self.records else 0
            self.console.print(Text(f"{len(self.records)} steps, {considered} candidate expansions considered, "
                                    f"{finished} hypotheses finished", style="dim"))

    def _panel_probs(self) -> None:
        self.console.print(probs_table(self.records, self.best, self.rows, self.itos, k=self.session.config.show_k))

    def _panel_hidden(self) -> None:
        matrix = hidden_path(self.records, self.best)
        if matrix is None:
            self.console.print(Text("hidden: this model reports no hidden state", style="dim"))
            return
        self.console.print(Text("hidden state of the top decoder layer after each output token", style="bold"))
        self.console.print(hidden_strip(matrix, self.out_tokens, width=self.console.width))

    # ---- files -----------------------------------------------------------------------------------

    def write_json(self, path: str) -> None:
        data = self.session.to_json()
        data["run"] = str(self.loaded.path)
        data["reference"] = self.score.to_json(self.itos) if self.score is not None else None
        data["warnings"] = list(self.job.warnings)
        data.update(self.extra)
        target = Path(path)
        try:
            atomic_write(target, json.dumps(data, allow_nan=False) + "\n")
        except OSError as exc:
            raise UserError(f"cannot write --json {path}: {exc.strerror or exc}") from None
        self.console.print(Text(f"wrote {target}", style="dim"))

    def step_frames(self, view) -> tuple:
        """The step-through's frames as (outputs, columns, alignment rows, candidates, title), the
        arguments of ``steps_svg`` and ``steps_cast``: output so far, alignment row, top candidates per step."""
        labels = [token_label(t) for t in self.out_tokens]
        candidates = [[(token_label(self.itos[i]), p) for i, p in record.topk(row)[:3]]
                      for record, row in zip(self.records, self.rows)]
        matrix, cols = (view[0], [token_label(c) for c in view[1]]) if view is not None else (None, [])
        return labels, cols, matrix, candidates, f"{self.loaded.path.name}: {self.text(self.best.tokens)}"

    def export(self, directory: str, err: Console) -> None:
        out = Path(directory)
        try:
            out.mkdir(parents=True, exist_ok=True)
            written: list[Path] = []
            view = self._attention_view()
            if view is None:
                err.print(Text("note: this model has no attention; exporting hidden states only", style="yellow"))
            else:
                matrix, cols, full, kind = view
                written += export_attention(out, kind, full, matrix, self.out_tokens, cols,
                                            f"{kind.replace('_', '-')}: {self.text(self.best.tokens)}")
            if self.out_tokens:
                from .steps_cast import steps_cast

                from .steps_svg import steps_svg

                frames = self.step_frames(view)
                atomic_write(out / "steps.svg", steps_svg(*frames))
                atomic_write(out / "steps.cast", steps_cast(*frames))
                written += [out / "steps.svg", out / "steps.cast"]
            hidden = hidden_stack(self.records, self.best)
            if hidden is not None:
                write_npy(out / "hidden.npy", hidden)
                written.append(out / "hidden.npy")
        except OSError as exc:
            raise UserError(f"cannot write --export {directory}: {exc.strerror or exc}") from None
        self.console.print(Text("wrote " + ", ".join(str(p) for p in written), style="dim"))
