"""The inspector screen, driven with Pilot: what it shows is what the decoding engine reports.

A tiny reverse model is trained once (a few seconds) for the behaviour tests; the snapshot tests use
seeded, untrained models so their pictures do not depend on floating-point details of training.
"""

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from textual.app import App
from textual.widgets import TabbedContent

from models import ModelConfig, build_model
from workbench.config import build_config
from workbench.decoding import DecodeConfig, DecodeSession, score_reference
from workbench.errors import UserError
from workbench.probes import read_probes
from workbench.tasks import TaskConfig, build_task
from workbench.training import Trainer
from workbench.tui.screens.inspector import InspectorApp, InspectorScreen, run_inspector
from workbench.tui.widgets.inspector.beam import BeamPanel
from workbench.tui.widgets.inspector.distribution import NextTokenPanel
from workbench.tui.widgets.inspector.heatmap import AttentionHeatmap
from workbench.tui.widgets.inspector.hidden import HiddenStrips
from workbench.tui.widgets.inspector.output import OutputView

TINY = {
    "task.name": "reverse", "task.train_size": 400, "task.val_size": 40, "task.test_size": 40, "task.long_size": 20,
    "task.max_len": 6, "task.long_min": 7, "task.long_max": 8,
    "model.cell": "gru", "model.attention": "general", "model.hidden": 32, "model.emb_dim": 16,
    "train.steps": 150, "train.eval_every": 50, "train.batch_size": 32, "train.threads": 1, "train.warmup": 10,
    "train.eval_examples": 40, "train.lr": 0.01,
}


class Trained:
    def __init__(self, trainer: Trainer):
        self.model, self.task, self.run_dir, self.probes = trainer.snapshot(), trainer.task, trainer.run_dir, trainer.probes


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    trainer = Trainer(build_config(overrides=TINY), tmp_path_factory.mktemp("runs") / "reverse")
    trainer.run()
    return Trained(trainer)


def tiny_task(name: str = "reverse"):
    return build_task(TaskConfig(name=name, train_size=200, val_size=20, test_size=20, long_size=10, max_len=6,
                                 long_min=7, long_max=8))


def untrained(task, **model) -> torch.nn.Module:
    """A seeded, untrained model for ``task`` (deterministic pictures)."""
    torch.manual_seed(0)
    cfg = ModelConfig(family="seq2seq", src_vocab=len(task.src_vocab), tgt_vocab=len(task.tgt_vocab), emb_dim=8,
                      hidden=16, max_len=64, **model)
    return build_model(cfg).eval()


def ancestor_rows(records, hyp) -> list[int]:
    """Trace row of ``hyp``'s ancestor at each step, walked from the candidates (independent of the screen)."""
    parent = {c.id: c.parent for r in records for c in r.candidates if c.id is not None}
    chain = [hyp.id]
    while chain[-1] in parent:
        chain.append(parent[chain[-1]])
    chain.reverse()  # root first; chain[t] is fed at step t
    return [records[t].rows.index(chain[t]) for t in range(len(hyp.tokens))]


async def steps(pilot, n: int, key: str = "right") -> None:
    for _ in range(n):
        await pilot.press(key)
    await pilot.pause()


# ---- the panels show the engine's numbers -------------------------------------------------------

async def test_heatmap_matrix_equals_the_engines_trace_under_beam_search(trained):
    app = InspectorApp(trained.model, trained.task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")  # greedy -> beam (width 5)
        await steps(pilot, 3)
        screen = app.screen
        records, hyp = screen.ins.records, screen.ins.focus_hyp()
        assert len(records) == 4 and len(hyp.tokens) == 4
        rows = ancestor_rows(records, hyp)
        expected = np.stack([records[t].trace.cross_attention[row, 0].mean(0).numpy() for t, row in enumerate(rows)])
        heat = screen.query_one(AttentionHeatmap)
        np.testing.assert_allclose(heat.matrix, expected, atol=1e-6)
        assert heat.current == 3 and heat.cols == screen.ins.input_tokens
        await pilot.press("n")  # follow the next hypothesis: the heatmap follows it
        await pilot.pause()
        other = screen.ins.focus_hyp()
        assert other.id != hyp.id
        rows = ancestor_rows(records, other)
        np.testing.assert_allclose(heat.matrix[-1], records[3].trace.cross_attention[rows[-1], 0, 0].numpy(), atol=1e-6)


async def test_transformer_layer_and_head_select_the_traced_weights():
    task = tiny_task()
    model = untrained(task, cell="transformer", attention="multihead", layers=2, heads=2)
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await steps(pilot, 2)
        await pilot.press("l", "h", "h")  # layer 1 of 2, then head 2 of 2
        await pilot.pause()
        screen = app.screen
        last = screen.ins.records[-1]
        heat = screen.query_one(AttentionHeatmap)
        np.testing.assert_allclose(heat.matrix[-1], last.trace.cross_attention[0, 0, 1].numpy(), atol=1e-6)
        assert "layer 1/2" in heat.title and "head 2/2" in heat.title
        await pilot.press("a")  # decoder self-attention over <bos> and the outputs so far
        await pilot.pause()
        np.testing.assert_allclose(heat.matrix[-1], last.trace.self_attention[0, 0, 1].numpy(), atol=1e-6)
        assert heat.cols[0] == "<bos>"
        await pilot.press("a")  # encoder self-attention
        await pilot.pause()
        enc = screen.ins.session.encoder.self_attention[0, 0, 1].numpy()
        np.testing.assert_allclose(heat.matrix, enc, atol=1e-6)


async def test_hidden_panel_shows_the_traced_states_and_gates(trained):
    app = InspectorApp(trained.model, trained.task)
    async with app.run_test(size=(120, 40)) as pilot:
        await steps(pilot, 2)
        screen = app.screen
        records = screen.ins.records
        strips = screen.query_one(HiddenStrips)
        expected = np.stack([r.trace.hidden[0, -1].numpy() for r in records])
        np.testing.assert_allclose(strips.values, expected, atol=1e-6)
        await pilot.press("g", "g")  # hidden -> reset gate -> update gate (GRU)
        await pilot.pause()
        assert "update gate" in strips.title and not strips.signed
        np.testing.assert_allclose(strips.values[-1], records[-1].trace.gates["update"][0, -1].numpy(), atol=1e-6)
        await pilot.press("full_stop", "full_stop")
        await pilot.pause()
        assert strips.unit == 2


# ---- stepping, forcing, teacher forcing, beam -------------------------------------------------------

async def test_back_and_forward_are_consistent(trained):
    app = InspectorApp(trained.model, trained.task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await steps(pilot, 3)
        screen = app.screen
        heat, out, dist = screen.query_one(AttentionHeatmap), screen.query_one(OutputView), screen.query_one(NextTokenPanel)
        before = (heat.matrix.copy(), list(out.tokens), list(dist.topk))
        await steps(pilot, 2, "left")
        assert screen.ins.t == 2 and heat.matrix.shape[0] == 2
        await steps(pilot, 2, "right")
        after = (heat.matrix.copy(), list(out.tokens), list(dist.topk))
        np.testing.assert_array_equal(before[0], after[0])
        assert before[1:] == after[1:]
        await pilot.press("home")
        await pilot.pause()
        assert screen.ins.t == 0 and out.tokens == []


async def test_forcing_a_token_changes_the_continuation(trained):
    task, model = trained.task, trained.model
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("end")
        await pilot.pause()
        free = list(screen.query_one(OutputView).tokens)
        await pilot.press("home", "right", "right")
        await pilot.press("f", "down", "enter")  # the second most probable token at output position 1
        await pilot.pause()
        forced = screen.ins.session.forced
        assert list(forced) == [1] and screen.ins.t == 2
        await pilot.press("end")
        await pilot.pause()
        tokens = list(screen.query_one(OutputView).tokens)
        assert tokens != free and tokens[1] == task.tgt_vocab.itos[forced[1]]
        v = task.tgt_vocab  # the same what-if straight from the engine
        engine = DecodeSession(model, screen.ins.input_ids, bos_id=v.bos_id, eos_id=v.eos_id, ban=(v.pad_id, v.bos_id),
                               forced=dict(forced), config=DecodeConfig(max_len=screen.ins.max_len))
        engine.run()
        assert tokens == [v.itos[i] for i in engine.result()[0].tokens]
        # typing a special token: <eos> at position 1 ends the output there
        await pilot.press("home", "right", "right", "f")
        screen.query_one("#force-input").focus()
        screen.query_one("#force-input").value = "<eos>"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.ins.done and screen.query_one(OutputView).tokens == free[:1] + ["<eos>"]


async def test_teacher_forced_mode_shows_the_reference_rank(trained):
    task, model = trained.task, trained.model
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await steps(pilot, 2)
        screen = app.screen
        ex = task.examples("test")[0]
        v = task.tgt_vocab
        score = score_reference(model, task.src_vocab.encode(ex.src), v.encode(ex.tgt), bos_id=v.bos_id,
                                eos_id=v.eos_id, ban=(v.pad_id, v.bos_id))
        panel = screen.query_one(NextTokenPanel)
        assert panel.teacher.step == 2 and panel.teacher.rank == score.ranks[2]
        assert panel.teacher.token == score.tokens[2]
        assert panel.teacher.loss == pytest.approx(-score.logprobs[2])
        assert f"rank {score.ranks[2]}" in panel.content.plain
        assert screen.query_one(OutputView).tokens == ex.tgt[:3]


async def test_beam_panel_lists_k_hypotheses(trained):
    app = InspectorApp(trained.model, trained.task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s", "o")  # beam, then the options bar
        app.screen.query_one("#opt-beam").value = "3"
        await pilot.press("enter")
        await steps(pilot, 2)
        panel = app.screen.query_one(BeamPanel)
        live = [h for h in panel.hypotheses if h.status == "live"]
        assert app.screen.ins.config.beam == 3 and len(live) == 3
        assert len(panel.candidates) == 6 and sum(c.survived for c in panel.candidates) >= 3


async def test_sampling_matches_the_engine_with_the_same_seed(trained):
    task, model = trained.task, trained.model
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s", "s", "plus")  # beam -> sample, temperature 1.0 -> 1.1
        await pilot.press("end")
        await pilot.pause()
        screen = app.screen
        assert screen.ins.mode == "sample" and screen.ins.config.temperature == pytest.approx(1.1)
        v = task.tgt_vocab
        engine = DecodeSession(model, screen.ins.input_ids, bos_id=v.bos_id, eos_id=v.eos_id, ban=(v.pad_id, v.bos_id),
                               config=DecodeConfig(strategy="sample", temperature=1.1, max_len=screen.ins.max_len))
        engine.run()
        assert screen.query_one(OutputView).tokens == [v.itos[i] for i in engine.result()[0].tokens]


# ---- input ---------------------------------------------------------------------------------------

async def test_typed_input_names_unknown_tokens_and_shows_specials_literally(trained):
    app = InspectorApp(trained.model, trained.task)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash")
        app.screen.query_one("#typed-input").value = "ab#c"
        await pilot.press("enter", "end")
        await pilot.pause()
        screen = app.screen
        assert screen.ins.example is None and screen.ins.input_tokens == ["a", "b", "<unk>", "c"]
        assert any("'#'" in n.message for n in app._notifications)
        assert screen.query_one(OutputView).tokens[-1] == "<eos>"
        picture = app.export_screenshot()
        assert "&lt;eos&gt;" in picture and "&lt;unk&gt;" in picture.replace("&#160;", " ")
        await pilot.press("down")  # back to the examples, with their reference
        await pilot.pause()
        assert screen.ins.example == 0 and screen.ins.reference == trained.task.examples("test")[0].tgt


def test_run_inspector_rejects_bad_input_before_starting(trained):
    with pytest.raises(UserError, match="empty"):
        run_inspector(trained.run_dir, "")


# ---- layouts, probes, models without attention ----------------------------------------------------

async def test_layout_follows_the_terminal_size(trained):
    app = InspectorApp(trained.model, trained.task)
    async with app.run_test(size=(80, 24)) as pilot:
        await steps(pilot, 2)
        screen = app.screen
        assert screen.arrangement == "narrow"
        await pilot.press("2")
        assert screen.query_one("#insp-body", TabbedContent).active == "tab-next"
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert screen.arrangement == "wide" and screen.query_one("#insp-corner", TabbedContent)
        assert screen.query_one(AttentionHeatmap).matrix.shape[0] == 3
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        assert screen.arrangement == "tall" and not screen.query(TabbedContent)


async def test_probe_scrubber_replays_the_recorded_alignments(trained):
    probes = read_probes(trained.run_dir)
    assert [p.step for p in probes] == [0, 10, 25, 50, 100, 150]  # step 0, densely early, then each evaluation
    app = InspectorApp(trained.model, trained.task, run_dir=trained.run_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        heat = app.screen.query_one(AttentionHeatmap)
        np.testing.assert_allclose(heat.matrix, probes[-1].probes[0].attention[0].mean(0), atol=1e-6)
        assert heat.rows == probes[-1].probes[0].target_tokens and "training step 150" in heat.title
        await pilot.press(*["left_square_bracket"] * 6, "p")
        await pilot.pause()
        np.testing.assert_allclose(heat.matrix, probes[0].probes[1].attention[0].mean(0), atol=1e-6)
        assert "probe 2/3 at training step 0 (" in heat.title


async def test_probe_replay_autoplays_and_shows_the_probe_in_full(trained):
    """space plays the replay from the first training snapshot to the last: attention seen forming."""
    probes = trained.probes
    app = InspectorApp(trained.model, trained.task, probes=probes)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p", "space")  # at the latest snapshot: play starts again from the first
        await pilot.pause()
        heat = app.screen.query_one(AttentionHeatmap)
        seen = [heat.title]
        while getattr(app.screen, "_player", None) is not None:
            await pilot.pause(0.1)
            seen.append(heat.title)
        steps = [next(f"step {p.step}" for p in probes if f"training step {p.step:,} (" in t) for t in seen]
        assert steps[0] == f"step {probes[0].step}" and steps[-1] == f"step {probes[-1].step}"
        assert len(set(steps)) == len(probes)
        probe = probes[-1].probes[0]
        assert f"probe: {''.join(probe.source_tokens)} → {''.join(probe.target_tokens)}" in heat.caption


async def test_live_probes_passed_in_are_used(trained):
    app = InspectorApp(trained.model, trained.task, probes=trained.probes)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        heat = app.screen.query_one(AttentionHeatmap)
        np.testing.assert_allclose(heat.matrix, trained.probes[-1].probes[0].attention[0].mean(0), atol=1e-6)


async def test_model_without_attention_says_so_and_shows_the_context():
    task = tiny_task()
    model = untrained(task, cell="lstm", attention="none", context="every-step")
    app = InspectorApp(model, task)
    async with app.run_test(size=(120, 40)) as pilot:
        await steps(pilot, 1)
        heat = app.screen.query_one(AttentionHeatmap)
        assert "no attention" in heat.message and heat.matrix.size == 0
        np.testing.assert_allclose(heat.vector, app.screen.ins.records[0].trace.context[0].numpy(), atol=1e-6)
        await pilot.press("g")  # hidden -> cell state (LSTM)
        await pilot.pause()
        assert "cell state" in app.screen.query_one(HiddenStrips).title


async def test_language_model_decodes_a_typed_prompt_with_self_attention():
    task = build_task(TaskConfig(name="charlm", block=32))
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="lm", cell="transformer", attention="none", tgt_vocab=len(task.tgt_vocab),
                                    emb_dim=16, hidden=16, heads=2, layers=1, max_len=64)).eval()
    app = InspectorApp(model, task, initial_input="def f")
    async with app.run_test(size=(120, 40)) as pilot:
        await steps(pilot, 2)
        screen = app.screen
        assert screen.ins.input_tokens == list("def f") and screen.ins.split == "val"
        heat = screen.query_one(AttentionHeatmap)
        assert heat.cols[:6] == ["<bos>", *"def f"] and heat.matrix.shape == (3, 8)
        last = screen.ins.records[-1]
        np.testing.assert_allclose(heat.matrix[-1], last.trace.self_attention[0, 0].mean(0).numpy(), atol=1e-6)


async def test_pushed_on_another_screen_escape_goes_back(trained):
    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(InspectorScreen(trained.model, trained.task, title="snapshot"))

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, InspectorScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectorScreen)


async def test_the_inspector_steps_on_one_thread_and_leaves_the_trainers_threads(trained):
    """The UI thread must not grow a second OpenMP team next to a training thread's (see one_thread_here)."""
    seen, ready, done = {}, threading.Event(), threading.Event()

    def training_thread() -> None:
        torch.set_num_threads(2)
        torch.get_num_threads()
        ready.set()
        done.wait(60)
        seen["threads"] = torch.get_num_threads()

    before = torch.get_num_threads()
    worker = threading.Thread(target=training_thread)
    worker.start()
    ready.wait(60)
    try:
        torch.set_num_threads(2)  # the process-wide default a 2-thread trainer leaves behind
        app = InspectorApp(trained.model, trained.task)
        async with app.run_test(size=(120, 40)) as pilot:
            await steps(pilot, 2)
            assert torch.get_num_threads() == 1  # the app's loop runs on this thread
    finally:
        done.set()
        worker.join()
        torch.set_num_threads(before)
    assert seen["threads"] == 2


def test_a_step_redraws_within_budget():
    """Engine step + redraw of every panel at 120x40, beam 5, the reverse task's default-size model."""
    from workbench.defaults import task_defaults
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed
    from benchmarks.inspector import measure_step_ms

    task = tiny_task()
    torch.manual_seed(0)
    model = build_model(ModelConfig(src_vocab=len(task.src_vocab), tgt_vocab=len(task.tgt_vocab),
                                    **task_defaults("reverse")["model"])).eval()
    stats = measure_step_ms(model, task, size=(120, 40), beam=5, steps=8)
    print(f"inspector step at 120x40, beam 5: {stats}")
    budget = 50 if os.environ.get("SEQBENCH_STRICT_TIMING") else 250  # shared CI machines are noisy
    assert stats["step_ms"] <= budget


# ---- pictures ------------------------------------------------------------------------------------

def _snapshot_app(cell: str = "gru", **screen):
    task = tiny_task()
    attention = "multihead" if cell == "transformer" else "general"
    model = untrained(task, cell=cell, attention=attention, layers=2 if cell == "transformer" else 1)
    return InspectorApp(model, task, title="snapshot", **screen)


def test_snapshot_beam_120x40(snap_compare):
    assert snap_compare(_snapshot_app(), terminal_size=(120, 40), press=["s", "right", "right", "right"])


def test_snapshot_tabs_80x24(snap_compare):
    assert snap_compare(_snapshot_app(), terminal_size=(80, 24), press=["right", "right", "3"])


def test_snapshot_teacher_forced_transformer_200x60(snap_compare):
    assert snap_compare(_snapshot_app("transformer"), terminal_size=(200, 60), press=["t", "right", "right", "right"])
