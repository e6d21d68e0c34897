"""Hard attention: the decoder reads the one source position it chose, the argmax of what the trace shows."""

import pytest
import torch

from models import ConfigError, ModelConfig, build_model, validate_config

TINY = dict(family="seq2seq", cell="gru", emb_dim=8, hidden=12, src_vocab=11, tgt_vocab=13, bidirectional=True)


def _batch(B=3, S=6, T=5):
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([S, S - 2, 2])
    src = torch.randint(1, 11, (B, S), generator=g)
    src[torch.arange(S).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
    return src, lengths, torch.randint(1, 13, (B, T), generator=g)


@pytest.mark.parametrize("attention", ["general", "additive", "local"])
@pytest.mark.parametrize("estimator", ["gumbel", "reinforce"])
def test_the_chosen_position_is_the_argmax_of_the_traced_distribution(attention, estimator):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, attention=attention, hard_attention=estimator)).eval()
    src, lengths, tgt_in = _batch()
    with torch.no_grad():
        state = model.start(src, lengths)
        for t in range(tgt_in.shape[1]):
            out = model.step(state, tgt_in[:, t])
            dist = out.trace.cross_attention[:, 0, 0]  # (B, S)
            assert torch.equal(out.trace.chosen, dist.argmax(-1))
            assert (out.trace.chosen < lengths).all()  # never a padding position
            # the context is exactly the value at the chosen position
            values = state["att_values"]  # (B, S, Dv)
            torch.testing.assert_close(out.trace.context, values[torch.arange(3), out.trace.chosen])
            state = out.state


def test_gumbel_training_reads_one_position_and_still_trains_the_scorer():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, attention="general", hard_attention="gumbel")).train()
    src, lengths, tgt_in = _batch()
    state = model.start(src, lengths)
    query = state["h"][:, -1]  # (B, D)
    att = model.attention(query, state["att_keys"], state["att_values"], state["src_mask"], lengths)
    values = state["att_values"]
    torch.testing.assert_close(att.context, values[torch.arange(3), att.chosen])  # forward: one-hot exactly
    model(src, lengths, tgt_in).sum().backward()
    assert model.attention.soft.W.weight.grad.abs().sum() > 0  # backward: through the relaxation


def test_gumbel_temperature_anneals_from_start_to_end():
    model = build_model(ModelConfig(**TINY, attention="general", hard_attention="gumbel",
                                    hard_tau_start=2.0, hard_tau_end=0.5))
    assert model.schedule(0.0) == {"temperature": 2.0}
    assert model.schedule(0.5)["temperature"] == pytest.approx(1.0)
    assert model.schedule(1.0)["temperature"] == pytest.approx(0.5)


def test_reinforce_adds_a_surrogate_loss_that_trains_the_scorer_and_moves_the_baseline():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, attention="additive", hard_attention="reinforce")).train()
    src, lengths, tgt_in = _batch()
    logits = model(src, lengths, tgt_in)
    targets = torch.randint(1, 13, tgt_in.shape)
    targets[2, 3:] = 0  # padding takes no part
    extra = model.extra_loss(logits, targets, pad_id=0)
    assert extra is not None and extra.dim() == 0 and torch.isfinite(extra)
    extra.backward()
    assert model.attention.soft.v.weight.grad.abs().sum() > 0
    assert float(model.attention.baseline) != 0.0
    shown = model.schedule(0.5)
    assert set(shown) == {"baseline", "advantage var"} and shown["advantage var"] >= 0
    assert model.extra_loss(logits, targets, pad_id=0) is None  # one surrogate per forward pass


def test_soft_models_add_nothing():
    model = build_model(ModelConfig(**TINY, attention="general"))
    src, lengths, tgt_in = _batch()
    assert model.schedule(0.3) == {} and model.extra_loss(model(src, lengths, tgt_in), tgt_in, 0) is None


@pytest.mark.parametrize("changes", [dict(attention="multihead"), dict(attention="none"),
                                     dict(cell="transformer", attention="multihead")])
def test_hard_attention_needs_a_single_head_rnn_attention(changes):
    with pytest.raises(ConfigError, match="model.hard_attention"):
        validate_config(ModelConfig(**{**TINY, **changes}, hard_attention="gumbel"))


def test_the_inspector_marks_the_position_read_on_the_alignment(tmp_path):
    import numpy as np

    from conftest import inspected_untrained
    from workbench.decoding.panels import ViewOptions, attention_grid
    from workbench.tui.widgets.inspector.heatmap import AttentionHeatmap

    ins = inspected_untrained(tmp_path / "run", hard_attention="gumbel")
    grid = attention_grid(ins, ViewOptions())
    assert grid.marks == [int(np.argmax(row)) for row in grid.values] and "hard" in grid.title
    heat = AttentionHeatmap()
    heat.show(grid.values, grid.rows, grid.cols, current=grid.current, title=grid.title, marks=grid.marks)
    drawn = "".join(strip.text for strip in heat.build(80, 30))
    assert drawn.count("●") >= min(len(grid.rows), 20)


def test_training_shows_the_annealed_temperature(tmp_path):
    from workbench import events as ev
    from workbench.config import build_config
    from workbench.training import Trainer
    from workbench.tui.widgets.run_stats import RunStats

    cfg = build_config(overrides={"task.name": "reverse", "task.train_size": "200", "task.val_size": "20",
                                  "task.test_size": "20", "task.long_size": "0", "model.hidden": "16",
                                  "model.emb_dim": "8", "model.hard_attention": "gumbel", "train.steps": "8",
                                  "train.eval_every": "8", "train.batch_size": "8", "train.threads": "1"})
    seen = []
    trainer = Trainer(cfg, on_event=lambda e: seen.append(e) if isinstance(e, ev.Progress) else None,
                      runs_root=tmp_path)
    trainer.PROGRESS_INTERVAL = 0
    trainer.run()
    temps = [e.shown["temperature"] for e in seen]
    assert temps and all(0.1 <= t <= 1.0 for t in temps) and temps == sorted(temps, reverse=True)

    class Session:  # what the dashboard's stats panel reads
        status, step, total_steps, live, device, last_eval, best = "running", 8, 8, True, "", None, None
        progress = seen[-1]

    assert ("temperature", f"{temps[-1]:.3g}") in RunStats.pairs(Session())
