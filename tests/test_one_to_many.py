"""1 vs N: one input vector, a sequence out; the num2words task that needs it."""

import pytest
import torch

from models import ConfigError, ModelConfig, build_model, validate_config
from workbench.config import build_config
from workbench.tasks import build_task
from workbench.tasks.num2words import words

TINY = dict(family="seq2seq", cell="gru", attention="none", encoder="vector", emb_dim=8, hidden=12,
            src_vocab=14, tgt_vocab=13, max_len=8)


@pytest.mark.parametrize("n,text", [(0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"),
                                    (105, "one hundred five"), (4021, "four thousand twenty one"),
                                    (99999, "ninety nine thousand nine hundred ninety nine"),
                                    (70000, "seventy thousand"), (512300, "five hundred twelve thousand three hundred")])
def test_numbers_in_words(n, text):
    assert " ".join(words(n)) == text


def test_the_task_scores_only_numbers_it_never_trained_on():
    task = build_task(build_config(overrides={"task.name": "num2words", "task.val_size": "50",
                                              "task.test_size": "50"}).task)
    seen = {"".join(ex.src) for ex in task.examples("train")}
    for split in ("val", "test"):
        held = task.examples(split)
        assert len(held) == 50 and not seen & {"".join(ex.src) for ex in held}
    ex = task.examples("test")[0]
    assert ex.tgt == words(int("".join(ex.src)))


@pytest.mark.parametrize("context", ["init", "every-step"])
def test_the_source_is_one_vector_built_from_each_digits_term(context):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, context=context)).eval()
    src = torch.tensor([[4, 5, 6], [7, 8, 0]])
    lengths = torch.tensor([3, 2])
    with torch.no_grad():
        state = model.start(src, lengths)
        terms, x = state["enc_hidden"], state["context"]  # (B, S, D), (B, D)
        torch.testing.assert_close(x, torch.tanh(terms.sum(1) + model.encoder.bias))
        assert terms[1, 2].abs().sum() == 0  # padding puts nothing in
        # places count from the end: the last digit of "78" uses the units table, as the last of "456" does
        V = model.config.src_vocab
        torch.testing.assert_close(terms[1, 1], model.encoder.embed.weight[0 * V + 8])
        torch.testing.assert_close(terms[0, 0], model.encoder.embed.weight[2 * V + 4])
        trace = model.step(state, torch.tensor([1, 1])).trace
    torch.testing.assert_close(trace.context, x)  # the inspector shows x as the fixed context


def test_a_vector_encoder_needs_no_attention_and_one_direction():
    for changes in (dict(attention="general"), dict(bidirectional=True), dict(cell="transformer", attention="multihead")):
        with pytest.raises(ConfigError, match="model.encoder"):
            validate_config(ModelConfig(**{**TINY, **changes}))
