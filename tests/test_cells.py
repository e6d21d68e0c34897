"""The hand-written step cells compute exactly what torch's fused recurrent modules compute."""

import pytest
import torch
from torch import nn

from models.cells import GATE_NAMES, gru_cell, layer_weights, lstm_cell, make_rnn, rnn_cell, stack_step

B, IN, D = 4, 5, 7


def _copy_layer0(cell: nn.RNNCellBase, fused: nn.RNNBase) -> None:
    with torch.no_grad():
        for mine, theirs in zip(layer_weights(fused, 0), (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)):
            theirs.copy_(mine)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_cell_equals_torch_cell(kind):
    torch.manual_seed(0)
    fused = make_rnn(kind, IN, D, 1)
    ref = {"rnn": nn.RNNCell(IN, D, nonlinearity="tanh"), "gru": nn.GRUCell(IN, D), "lstm": nn.LSTMCell(IN, D)}[kind]
    _copy_layer0(ref, fused)
    x, h, c = torch.randn(B, IN), torch.randn(B, D), torch.randn(B, D)
    w = layer_weights(fused, 0)
    with torch.no_grad():
        if kind == "lstm":
            out = lstm_cell(x, h, c, *w)
            h_ref, c_ref = ref(x, (h, c))
            torch.testing.assert_close(out.c, c_ref, atol=1e-5, rtol=1e-5)
        else:
            out = (gru_cell if kind == "gru" else rnn_cell)(x, h, *w)
            h_ref = ref(x, h)
    torch.testing.assert_close(out.h, h_ref, atol=1e-5, rtol=1e-5)
    assert len(out.gates) == len(GATE_NAMES[kind])


def test_gates_are_in_their_ranges_and_explain_the_lstm_update():
    torch.manual_seed(1)
    fused = make_rnn("lstm", IN, D, 1)
    h, c = torch.randn(B, D), torch.randn(B, D)
    with torch.no_grad():
        out = stack_step(fused, torch.randn(B, IN), h.unsqueeze(1), c.unsqueeze(1))
    g = out.gates
    for name in ("input", "forget", "output"):
        assert 0 < g[name].min() and g[name].max() < 1
    assert g["candidate"].abs().max() <= 1
    # the inspector's story must be the real update: c' = f * c + i * g
    torch.testing.assert_close(out.c[:, 0], g["forget"][:, 0] * c + g["input"][:, 0] * g["candidate"][:, 0])


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 3])
def test_stack_step_unrolled_equals_fused_module(kind, layers):
    torch.manual_seed(2)
    fused = make_rnn(kind, IN, D, layers, dropout=0.3).eval()  # dropout is off in eval, as in the fused module
    T = 6
    x = torch.randn(B, T, IN)
    h0 = torch.randn(layers, B, D)
    c0 = torch.randn(layers, B, D)
    with torch.no_grad():
        out_ref, final_ref = fused(x, (h0, c0) if kind == "lstm" else h0)
        h, c = h0.transpose(0, 1), (c0.transpose(0, 1) if kind == "lstm" else None)  # (B, L, D)
        outs = []
        for t in range(T):
            step = stack_step(fused, x[:, t], h, c)
            h, c = step.h, step.c
            outs.append(h[:, -1])
            if kind != "rnn":
                assert set(step.gates) == set(GATE_NAMES[kind])
                assert all(v.shape == (B, layers, D) for v in step.gates.values())
    torch.testing.assert_close(torch.stack(outs, 1), out_ref, atol=1e-5, rtol=1e-5)
    h_ref = final_ref[0] if kind == "lstm" else final_ref
    torch.testing.assert_close(h, h_ref.transpose(0, 1), atol=1e-5, rtol=1e-5)
    if kind == "lstm":
        torch.testing.assert_close(c, final_ref[1].transpose(0, 1), atol=1e-5, rtol=1e-5)


def test_stack_step_applies_inter_layer_dropout_only_in_training():
    torch.manual_seed(3)
    fused = make_rnn("gru", IN, D, 2, dropout=0.5)
    x, h = torch.randn(B, IN), torch.zeros(B, 2, D)
    with torch.no_grad():
        fused.eval()
        a, b = stack_step(fused, x, h).h, stack_step(fused, x, h).h
        torch.testing.assert_close(a, b)
        fused.train()
        draws = [stack_step(fused, x, h).h for _ in range(4)]
    torch.testing.assert_close(draws[0][:, 0], a[:, 0])  # the bottom layer sees no dropout
    assert any(not torch.allclose(d[:, 1], a[:, 1]) for d in draws)  # the top layer's input is dropped


def test_stack_step_trains():
    torch.manual_seed(4)
    fused = make_rnn("lstm", IN, D, 2)
    h = torch.zeros(B, 2, D)
    out = stack_step(fused, torch.randn(B, IN), h, torch.zeros_like(h), with_gates=False)
    assert out.gates is None
    out.h.sum().backward()
    assert fused.weight_ih_l0.grad is not None and fused.weight_hh_l1.grad is not None
