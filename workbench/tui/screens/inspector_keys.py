"""The inspector's keys that explain rather than decode: all heads at a glance, a fixed colour scale,
the replay's autoplay and its place in training time (the cursor it shares with the dashboard's charts).
A mixin of ``InspectorScreen`` (it reads ``ins``, ``opts``, ``probes``, ``run_dir``)."""

from __future__ import annotations

from workbench.decoding import panels as X

from ..widgets.inspector.hidden import HiddenStrips
from ..widgets.training_time import cursor_for, nearest, timeline

PLAY_SECONDS = 0.6  # one training snapshot per tick of the replay's autoplay


class TeachingKeys:
    """Actions for m (all heads), v (fixed scale) and space (play the replay)."""

    _player = None
    _history_for = None  # (id, len) of the probes the cached entropy and loss were read for
    _history: tuple = ([], [])  # (entropy curve, train loss points)

    def _view(self) -> str:
        views = X.view_choices(self.ins)
        return self.opts.view if self.opts.view in views else (views[0] if views else "")

    def _state(self) -> str:
        choices = X.state_choices(self.ins)
        return self.opts.state if self.opts.state in choices else "hidden"

    def action_fix_scale(self) -> None:
        strips = self.query_one(HiddenStrips)
        if not strips.signed:
            self.notify("gates are always drawn on the fixed 0-1 scale", timeout=3)
            return
        fixed = strips.fix_scale(strips.fixed is None)
        self.notify(f"colour scale fixed at ±{fixed:g}: colours keep their meaning across steps" if fixed
                    else "colour scale follows the values shown again", timeout=3)

    def action_overview(self) -> None:
        from ..widgets.inspector.overview import HeadsOverview, tiles_for

        tiles = tiles_for(self.ins, self.opts)
        if not tiles:
            self.notify("no attention to show for this model or step", timeout=3)
            return
        heads = X.head_count(self.ins)
        layer = X._layer(X.layer_count(self.ins, self.opts), self.opts.layer)
        selected = layer * heads + (self.opts.head if self.opts.head is not None else 0)

        def opened(choice) -> None:
            if choice is not None:
                self.opts.layer, self.opts.head = choice
                self.opts.probe = None
                self.redraw()

        self.app.push_screen(HeadsOverview(X.VIEW_NAMES.get(self._view(), "attention"), tiles, heads,
                                           min(selected, len(tiles) - 1)), opened)

    def action_play(self) -> None:
        """Autoplay the probe replay: one training snapshot after another, so attention is seen forming."""
        if self.opts.probe is None or not self.probes:
            self.notify("press p to replay a probe first, then space plays it", timeout=4)
            return
        player = getattr(self, "_player", None)
        if player is not None:
            player.stop()
            self._player = None
            self.notify("replay paused: [ ] step through it", timeout=2)
            return
        if self.opts.probe_step % len(self.probes) == len(self.probes) - 1:
            self.opts.probe_step = 0  # at the end: play from the first snapshot
            self.redraw()
        self._player = self.set_interval(PLAY_SECONDS, self._play_tick)

    def _play_tick(self) -> None:
        last = len(self.probes) - 1
        if self.opts.probe is None or self.opts.probe_step % len(self.probes) >= last:
            self._player.stop()
            self._player = None
            return
        self.opts.probe_step = self.opts.probe_step % len(self.probes) + 1
        self.redraw()

    # ---- the replay in training time ------------------------------------------------------------------

    def _replay_start(self) -> None:
        """Enter the replay at the step the run's cursor points to (picked on a chart or last replayed)."""
        step = cursor_for(self.app, self.run_dir).step
        if step is not None and self.probes:
            self.opts.probe_step = nearest([p.step for p in self.probes], step)

    def _replay_timeline(self):
        """The heatmap's timeline for the snapshot shown; moves the cursor the dashboard's charts mark."""
        index = self.opts.probe_step % len(self.probes)
        steps = [p.step for p in self.probes]
        cursor_for(self.app, self.run_dir).move(steps[index])
        entropy, loss = self._replay_history()
        return lambda width: timeline(steps, index, loss, entropy, width)

    def _replay_history(self) -> tuple:
        """(attention entropy per snapshot, train loss points), read again only when the probes change."""
        key = (id(self.probes), len(self.probes))
        if self._history_for != key:
            from workbench.probes import entropy_curve

            loss = []
            if self.run_dir is not None:
                from workbench.records import TrainRecord, read_records

                loss = [(r.step, r.loss) for r in read_records(self.run_dir).of(TrainRecord)]
            self._history_for, self._history = key, (entropy_curve(self.probes), loss)
        return self._history
