"""The inspector's keys for a model with two decoders (skip-thought): d decodes the same input with
the other decoder (sentence i−1 ↔ sentence i+1), N opens the neighbour view of the input sentence.

A mixin of ``InspectorScreen`` (it reads ``ins``, ``model``, ``seq_task``); the engine decodes
(``Inspection.switch_decoder``) and computes the sentence space (``decoding.neighbours``).
"""

from __future__ import annotations

from typing import Optional

DECODER_ACTIONS = ("decoder", "neighbours")
DECODER_LABELS = {"prev": "sentence i−1 (prev)", "next": "sentence i+1 (next)"}


class DecoderKeys:
    """Actions for d and N."""

    _spaces: Optional[dict] = None  # model id -> the sentence space, kept between visits

    def decoder_check(self, action: str) -> bool:
        return bool(self.ins.decoders)

    def action_decoder(self) -> None:
        def switch() -> None:
            name = self.ins.switch_decoder()
            self.notify(f"decoder of {DECODER_LABELS.get(name, name)}: the same sentence vector, its own weights",
                        timeout=3)

        self._do(switch)

    def action_neighbours(self) -> None:
        from .neighbours import NeighboursScreen

        if self.ins.job is None or self.ins.job.src is None:
            return
        if self._spaces is None:
            self._spaces = {}
        text = self.seq_task.detokenize_src(self.ins.job.src.tokens)

        def back(picked: Optional[str]) -> None:
            if picked is None:
                return

            def load() -> None:
                self._warn(self.ins.load_text(picked))
                self.ins.step()

            self._do(load)

        self.app.push_screen(NeighboursScreen(self.model, self.seq_task, text, self._spaces), back)
