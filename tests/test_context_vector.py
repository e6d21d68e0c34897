"""The fixed context c from all encoder states: last, a learned transform of it, mean or max; and who fed it."""

import pytest
import torch

from models import ConfigError, ModelConfig, build_model, validate_config

TINY = dict(family="seq2seq", cell="gru", attention="none", emb_dim=8, hidden=12, src_vocab=11, tgt_vocab=13)


def _encode(how, bidirectional=False):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, context_from=how, bidirectional=bidirectional)).eval()
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    lengths = torch.tensor([4, 2])
    with torch.no_grad():
        state = model.start(src, lengths)
        memory, final = model.encoder(src, lengths)
    return model, state, memory, final, lengths


@pytest.mark.parametrize("bidirectional", [False, True])
def test_each_rule_computes_c_from_the_encoder_states_it_names(bidirectional):
    _, last, memory, final, lengths = _encode("last", bidirectional)
    torch.testing.assert_close(last["context"], final)
    _, mean, memory, _, _ = _encode("mean", bidirectional)
    torch.testing.assert_close(mean["context"][1], memory[1, :2].mean(0))  # padding left out
    _, mx, memory, _, _ = _encode("max", bidirectional)
    torch.testing.assert_close(mx["context"][1], memory[1, :2].max(0).values)
    model, tr, _, final, _ = _encode("transform", bidirectional)
    with torch.no_grad():
        torch.testing.assert_close(tr["context"], torch.tanh(model.summary.transform(final)))


def test_the_sources_say_which_states_fed_c():
    _, last, _, _, _ = _encode("last")
    assert last["context_sources"].tolist() == [[0, 0, 0, 1], [0, 1, 0, 0]]
    _, bi, _, _, _ = _encode("last", bidirectional=True)
    assert bi["context_sources"].tolist() == [[0.5, 0, 0, 0.5], [0.5, 0.5, 0, 0]]
    _, mean, _, _, _ = _encode("mean")
    torch.testing.assert_close(mean["context_sources"][1], torch.tensor([0.5, 0.5, 0.0, 0.0]))
    _, mx, memory, _, _ = _encode("max")
    sources = mx["context_sources"]
    torch.testing.assert_close(sources.sum(1), torch.ones(2))
    assert sources[1, 2:].sum() == 0  # padding never wins a max
    winners = memory[0].argmax(0)  # (D,) the position each unit's max came from
    torch.testing.assert_close(sources[0], torch.bincount(winners, minlength=4).float() / winners.numel())


def test_only_a_no_attention_rnn_encoder_decoder_chooses():
    with pytest.raises(ConfigError, match="model.context_from"):
        validate_config(ModelConfig(**{**TINY, "attention": "general"}, context_from="mean"))


def test_the_inspector_says_which_states_fed_c(tmp_path):
    from conftest import inspected_untrained
    from workbench.decoding.panels import ViewOptions, attention_grid

    ins = inspected_untrained(tmp_path / "run", attention="none", context_from="mean")
    grid = attention_grid(ins, ViewOptions())
    n = len(ins.input_tokens)
    assert "mean of all encoder states" in grid.message and f"1:{ins.input_tokens[0]} {1 / n:.2f}" in grid.message
    assert grid.vector is not None
