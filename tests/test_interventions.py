"""Interventions in the models' step path: what an edit changes is exactly what the cells say it should."""

import copy

import pytest
import torch

from models import build_model, variants
from models.base import ModelConfig, intervening
from models.cells import gru_cell, layer_weights, lstm_cell
from models.interventions import Edit

pytestmark = pytest.mark.usefixtures("one_torch_thread")
VARIANTS = [v for v in variants() if v[1].family != "encoder"]  # the encoder family has no step: test_encoder_fidelity.py


def _first_steps(model, cfg, steps=3, B=2):
    """(state before the last step, its input tokens, the last step's output) after a few steps."""
    torch.manual_seed(1)
    src = torch.randint(3, cfg.src_vocab, (B, 5)) if cfg.family == "seq2seq" else None
    state = model.start(src, torch.tensor([5, 4][:B]) if src is not None else None, batch_size=B)
    tokens = torch.full((B,), 1)
    for _ in range(steps - 1):
        out = model.step(state, tokens)
        state, tokens = out.state, out.logits.argmax(-1)
    return state, tokens, model.step(state, tokens)


@pytest.mark.parametrize("name, cfg", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_clamping_a_unit_to_its_own_value_changes_nothing(name, cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        state, tokens, plain = _first_steps(model, cfg, B=1)  # an edit sets one value: one row
        layer, unit = cfg.layers - 1, 5
        own = plain.trace.hidden[0, layer, unit].item()
        with intervening(model, [Edit("hidden", layer, unit, value=own)]):
            edited = model.step(state, tokens)
    assert torch.equal(edited.logits, plain.logits)
    assert model.edits is None  # the edit ends with the block


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_zeroing_a_hidden_unit_equals_the_cells_recomputed_by_hand(cell):
    cfg = ModelConfig(family="lm", cell=cell, attention="none", tgt_vocab=13, emb_dim=8, hidden=12, layers=2)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        state, tokens, plain = _first_steps(model, cfg)
        with intervening(model, [Edit("hidden", 0, 3)]):
            edited = model.step(state, tokens)
        x, h, c = model.embed(tokens), state["h"], state.get("c")
        step = (lambda k, inp: lstm_cell(inp, h[:, k], c[:, k], *layer_weights(model.rnn, k))) if cell == "lstm" \
            else (lambda k, inp: gru_cell(inp, h[:, k], *layer_weights(model.rnn, k)))
        h0 = step(0, x).h.clone()
        h0[:, 3] = 0.0
        by_hand = model.out(step(1, h0).h)
    assert torch.equal(edited.logits, by_hand)
    assert not torch.equal(edited.logits, plain.logits)
    assert (edited.trace.hidden[:, 0, 3] == 0).all()  # the trace shows what was computed


def test_a_clamped_gate_is_what_the_cell_uses():
    cfg = ModelConfig(family="lm", cell="lstm", attention="none", tgt_vocab=13, emb_dim=8, hidden=12, layers=1)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        state, tokens, _ = _first_steps(model, cfg)
        with intervening(model, [Edit("gate", 0, 7, value=0.0, gate="forget")]):
            edited = model.step(state, tokens)
        i, f, g, o = lstm_cell(model.embed(tokens), state["h"][:, 0], state["c"][:, 0],
                               *layer_weights(model.rnn, 0)).gates
    f = f.clone()
    f[:, 7] = 0.0
    c_new = f * state["c"][:, 0] + i * g  # the forgotten unit keeps only what the input gate writes
    assert torch.allclose(edited.state["c"][:, 0], c_new, atol=1e-7)
    assert torch.allclose(edited.logits, model.out(o * torch.tanh(c_new)), atol=1e-6)


@pytest.mark.parametrize("attention", ["general", "multihead"])
def test_pinned_attention_reads_exactly_the_chosen_source_position(attention):
    cfg = ModelConfig(family="seq2seq", cell="gru", attention=attention, src_vocab=11, tgt_vocab=13, emb_dim=8,
                      hidden=12, heads=2)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        state, tokens, plain = _first_steps(model, cfg)
        with intervening(model, [Edit("pin", None, 2)]):
            edited = model.step(state, tokens)
    weights = edited.trace.cross_attention  # (B, 1, H, S)
    assert (weights[..., 2] == 1).all() and weights.sum().item() == weights[..., 2].numel()
    if attention == "general":
        assert torch.equal(edited.trace.context, state["enc_hidden"][:, 2])
    assert not torch.equal(edited.logits, plain.logits)


def test_zeroing_a_transformer_head_equals_removing_its_columns_of_w_o():
    cfg = ModelConfig(family="seq2seq", cell="transformer", attention="multihead", src_vocab=11, tgt_vocab=13,
                      hidden=12, heads=2, layers=2, max_len=32)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    surgery = copy.deepcopy(model)
    attn = surgery.decoder.layers[1].cross_attn
    with torch.no_grad():
        attn.out.weight[:, : attn.head_dim] = 0  # W^O no longer reads head 0
        state, tokens, plain = _first_steps(model, cfg)
        with intervening(model, [Edit("head", 1, 0, attention="cross")]):
            edited = model.step(state, tokens)
        by_surgery = surgery.step(state, tokens)
    assert torch.allclose(edited.logits, by_surgery.logits, atol=1e-6)
    assert not torch.allclose(edited.logits, plain.logits, atol=1e-4)
    assert torch.equal(edited.trace.cross_attention, plain.trace.cross_attention)  # weights are not the edit


@pytest.mark.parametrize("cfg, edit, message", [
    (ModelConfig(family="lm", cell="rnn", attention="none", tgt_vocab=9), Edit("gate", 0, 1, gate="forget"),
     "no gates"),
    (ModelConfig(family="lm", cell="gru", attention="none", tgt_vocab=9), Edit("hidden", 3, 1), "layers are 0..0"),
    (ModelConfig(family="lm", cell="gru", attention="none", tgt_vocab=9, hidden=8), Edit("hidden", 0, 8),
     "units are 0..7"),
    (ModelConfig(family="seq2seq", cell="gru", attention="general", src_vocab=9, tgt_vocab=9),
     Edit("head", 0, 0), "multi-head"),
    (ModelConfig(family="lm", cell="lstm", attention="none", tgt_vocab=9), Edit("pin", None, 0), "no attention"),
])
def test_edits_a_model_cannot_apply_are_refused_by_name(cfg, edit, message):
    model = build_model(cfg)
    with pytest.raises(ValueError, match=message):
        with intervening(model, [edit]):
            pass
    assert model.edits is None


# ---- the engine: sessions and `seqbench decode --intervene` ------------------------------------------

def test_an_intervention_acts_from_its_step_on(tmp_path):
    from workbench.decoding import DecodeConfig, DecodeSession

    cfg = ModelConfig(family="seq2seq", cell="lstm", attention="additive", src_vocab=11, tgt_vocab=13, emb_dim=8,
                      hidden=12)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    options = dict(bos_id=1, eos_id=2, ban=(0, 1), config=DecodeConfig(max_len=6, show_k=13))
    plain = DecodeSession(model, [4, 5, 6, 7], forced={t: 3 + t for t in range(6)}, **options).run()
    edited = DecodeSession(model, [4, 5, 6, 7], forced={t: 3 + t for t in range(6)},
                           interventions=[(2, Edit("cell", 0, 4))], **options).run()
    for before, after in zip(plain[:2], edited[:2]):
        assert torch.equal(before.topk_probs, after.topk_probs)
    assert not torch.equal(plain[2].topk_probs, edited[2].topk_probs)
    assert (edited[2].trace.cell[0, 0, 4] == 0).all() and plain[2].trace.cell[0, 0, 4] != 0


def test_decode_intervene_reports_changed_tokens_and_reference_logprob(capsys, tmp_path):
    import json

    from test_decode_cli import SMALL_TASK, make_run
    from workbench.cli import main

    run = make_run(tmp_path / "rev", {"task.name": "reverse", **SMALL_TASK, "model.hidden": 16, "model.emb_dim": 8})
    out = tmp_path / "edit.json"
    assert main(["decode", str(run), "--example", "0", "--intervene", "pin:S0", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "edited  pin:S0" in printed and "reference log-prob" in printed
    effect = json.loads(out.read_text())["intervention"]
    a, b = effect["baseline"]["tokens"], effect["edited"]["tokens"]
    assert effect["changed"] == [t for t in range(max(len(a), len(b))) if t >= min(len(a), len(b)) or a[t] != b[t]]
    ref = effect["reference_logprob"]
    assert ref["delta"] == pytest.approx(ref["edited"] - ref["baseline"])
    assert main(["decode", str(run), "--example", "0", "--intervene", "zero:hidden:L0:U3@99", "--json", str(out)]) == 0
    late = json.loads(out.read_text())["intervention"]  # after the last step: nothing changes
    assert late["changed"] == [] and late["reference_logprob"]["delta"] == 0.0
    assert main(["decode", str(run), "--input", "abc", "--intervene", "zero:gate.forget:L0:U1"]) == 2
    assert "gates: reset, update, candidate" in capsys.readouterr().err
