"""The encoder family's tasks: generated data that teaches, the user's files, BERT masking, training end to end."""

import pytest
import torch

from models import build_model
from workbench.config import build_config
from workbench.errors import DataError
from workbench.tasks import TaskConfig, build_task
from workbench.tasks.encoder_data import has_majority, later_tags, majority_label, read_conll
from workbench.tasks.encoder_task import MASK, bert_mask

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SMALL = dict(train_size=300, val_size=30, test_size=30, long_size=10)


def test_later_tags_need_the_right_context():
    assert later_tags("abca") == ["Y", "N", "N", "N"]
    assert later_tags("abab") == ["Y", "Y", "N", "N"]


def test_majority_needs_the_whole_string_and_draws_no_ties():
    assert majority_label("abcbb") == ["b"] and not has_majority("aabb")
    task = build_task(TaskConfig(name="majority", alphabet="abc", min_len=4, max_len=9, long_min=10, long_max=12, **SMALL))
    for ex in task.examples("train") + task.examples("long"):
        assert has_majority("".join(ex.src)) and ex.tgt == majority_label("".join(ex.src))
    held = {tuple(ex.src) for split in ("val", "test") for ex in task.examples(split)}
    assert not held & {tuple(ex.src) for ex in task.examples("train")}


def test_nounverb_uses_the_same_word_as_noun_and_as_verb():
    task = build_task(TaskConfig(name="nounverb", **{**SMALL, "long_size": 0}))
    seen = {}
    for ex in task.examples("train"):
        for word, tag in zip(ex.src, ex.tgt):
            seen.setdefault(word, set()).add(tag)
    assert {"NOUN", "VERB"} <= seen["fish"] and {"NOUN", "VERB", "AUX"} <= seen["can"]


def test_conll_file_reads_sentences_and_names_a_bad_line(tmp_path):
    good = tmp_path / "tags.tsv"
    good.write_text("the\tDET\ndog\tNOUN\n\nit\tPRON\nruns\tVERB\n", encoding="utf-8")
    sentences = read_conll(str(good))
    assert [ex.src for ex in sentences] == [["the", "dog"], ["it", "runs"]]
    bad = tmp_path / "bad.tsv"
    bad.write_text("the\tDET\ndog NOUN\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.tsv:2: expected 'token<TAB>tag', found no tab"):
        read_conll(str(bad))


def test_labelled_file_errors_name_text_and_label(tmp_path):
    bad = tmp_path / "labels.tsv"
    bad.write_text("good film\tpos\nbad film\t\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"labels.tsv:2: expected 'text<TAB>label', the label is empty"):
        build_task(TaskConfig(name="labels", data=str(bad)))


def test_user_files_train_as_tagging_and_classification(tmp_path):
    tags = tmp_path / "tags.tsv"
    tags.write_text("\n\n".join(f"w{i}\tA\nx{i}\tB" for i in range(40)), encoding="utf-8")
    task = build_task(TaskConfig(name="conll", data=str(tags)))
    batch = task.train_batch(4, torch.Generator().manual_seed(0))
    assert batch.src.shape == batch.tgt_out.shape and set(task.tgt_vocab.itos[4:]) == {"A", "B"}
    labels = tmp_path / "labels.tsv"
    labels.write_text("\n".join(f"text number {i}\t{'even' if i % 2 == 0 else 'odd'}" for i in range(40)), encoding="utf-8")
    task = build_task(TaskConfig(name="labels", data=str(labels)))
    batch = task.train_batch(4, torch.Generator().manual_seed(0))
    assert batch.tgt_out.shape == (4, 1) and batch.src.shape[1] == 3


def test_bert_masking_is_80_10_10_and_scores_only_chosen_positions():
    ids = torch.randint(5, 50, (400, 64))
    src, tgt = bert_mask(ids, 0.15, 4, 50, torch.Generator().manual_seed(0))
    chosen = tgt != 0
    assert 0.13 < chosen.float().mean() < 0.17 and chosen.any(1).all()
    assert torch.equal(tgt[chosen], ids[chosen]) and torch.equal(src[~chosen], ids[~chosen])
    masked = (src == 4)[chosen].float().mean()
    kept = (src == ids)[chosen].float().mean()
    assert 0.77 < masked < 0.83 and 0.08 < kept < 0.13  # a random token may also equal the original


def test_a_masked_tokens_identity_never_reaches_the_model():
    task = build_task(TaskConfig(name="mlm", block=32))
    mask_id = task.tgt_vocab.stoi[MASK]
    ids = task.train_batch(8, torch.Generator().manual_seed(0)).tgt_out  # any ids will do as a text
    ids = torch.where(ids == 0, torch.full_like(ids, 10), ids)
    src, _ = bert_mask(ids, 0.15, mask_id, len(task.tgt_vocab), torch.Generator().manual_seed(3))
    changed = torch.where(src == mask_id, torch.full_like(ids, 11), ids)  # other tokens under every [MASK]
    src2, _ = bert_mask(changed, 0.15, mask_id, len(task.tgt_vocab), torch.Generator().manual_seed(3))
    assert torch.equal(src, src2)
    cfg = build_config(task="mlm", overrides={"model.hidden": 16, "model.layers": 1, "model.heads": 2}).model
    model = build_model(cfg.with_(src_vocab=len(task.src_vocab), tgt_vocab=len(task.tgt_vocab))).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(src, None, None), model(src2, None, None))


def test_mlm_evaluation_reports_masked_accuracy_beside_the_unigram_baseline(tmp_path):
    from workbench.training import Trainer

    cfg = build_config(task="mlm", overrides={"model.hidden": 16, "model.layers": 1, "model.heads": 2, "task.block": 16,
                                              "train.steps": 4, "train.eval_every": 4, "train.eval_examples": 16,
                                              "train.threads": 1})
    end = Trainer(cfg, tmp_path / "run").run()
    val = end.final["val"]
    assert {"accuracy", "ppl", "unigram_accuracy", "unigram_ppl"} <= set(val) and 0 < val["unigram_accuracy"] < 1


@pytest.mark.parametrize("task", ["nounverb", "majority"])
def test_encoder_tasks_train_end_to_end(tmp_path, task):
    from workbench.training import Trainer

    cfg = build_config(task=task, overrides={"task.train_size": 300, "task.val_size": 30, "task.test_size": 30,
                                             "task.long_size": 0, "model.hidden": 16, "train.steps": 6,
                                             "train.eval_every": 3, "train.threads": 1})
    end = Trainer(cfg, tmp_path / "run").run()
    assert 0 <= end.final["test"]["accuracy"] <= 1 and end.best["name"] == "accuracy"


def test_metric_labels_say_what_each_encoder_head_counts():
    from workbench.tasks.catalog import task_head
    from workbench.train_cli import format_metrics
    from workbench.tui.screens.dashboard import metric_series
    from workbench.live import Curves

    m = {"loss": 0.1, "ppl": 1.1, "accuracy": 0.5, "exact_match": 0.25, "unigram_accuracy": 0.2}
    assert format_metrics(m).count("token acc 50.0%") == 1  # seq2seq and LMs keep their label
    assert "tag acc 50.0%" in format_metrics(m, task_head("later")) and "sentence exact 25.0%" in format_metrics(m, "tag")
    classify = format_metrics(m, task_head("majority"))
    assert "accuracy 50.0%" in classify and "token" not in classify
    mlm = format_metrics(m, task_head("mlm"))
    assert "masked acc 50.0%" in mlm and "masked ppl 1.1" in mlm and "unigram acc 20.0%" in mlm
    curves = Curves(label="this run")
    curves.add_val(10, {"accuracy": 0.5, "loss": 0.1})
    assert [s.label for s in metric_series(curves, None, "classify")[1]] == ["accuracy"]
    assert [s.label for s in metric_series(curves, None, "mlm")[1]] == ["masked acc"]
    from workbench.metric_names import metric_label  # the app's solved banner and the CLI's solved line
    from types import SimpleNamespace

    from workbench.tui.widgets.runs_table import best_text

    assert best_text(SimpleNamespace(best_name="accuracy", best_value=0.5, task="mlm")) == "masked acc 50.0%"
    assert best_text(SimpleNamespace(best_name="exact_match", best_value=0.5, task="copy")) == "exact match 50.0%"

    assert metric_label("accuracy", "tag") == "tag acc" and metric_label("exact_match") == "exact match"


# ---- the word-level masked LM (task.tokens = word) ------------------------------------------------

def test_word_level_masked_lm_masks_real_words_of_padded_sentences():
    task = build_task(TaskConfig(name="mlm", tokens="word", **{**SMALL, "long_size": 0}))
    assert task.head == "mlm" and task.src_vocab is task.tgt_vocab and task.src_vocab.itos[4] == MASK
    assert {"fish", "can", "."} <= set(task.src_vocab.itos)  # words, not characters
    batch = task.train_batch(64, torch.Generator().manual_seed(0))
    real = torch.arange(batch.src.shape[1]).unsqueeze(0) < batch.src_lengths.unsqueeze(1)  # (B, S)
    chosen = batch.tgt_out != 0
    assert chosen.any(1).all() and not (chosen & ~real).any() and (batch.src[~real] == 0).all()
    first = [b.tgt_out for b in task.eval_batches("val", 16)]
    again = [b.tgt_out for b in task.eval_batches("val", 16)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))  # every evaluation scores the same masks
    assert task.unigram.exp()[task.src_vocab.stoi["."]] > 0.1  # every sentence ends with one
    assert task.detokenize_src(["we", "can", "fish", "."]) == "we can fish."


def test_word_level_masked_lm_reads_a_sentence_per_line_and_refuses_other_units(tmp_path):
    text = tmp_path / "sentences.txt"
    text.write_text("".join(f"The cat number {i} sat on the mat, twice.\n\n" for i in range(40)), encoding="utf-8")
    task = build_task(TaskConfig(name="mlm", tokens="word", data=str(text), block=6))
    assert all(len(ex.src) == 6 for split in task.split_names for ex in task.examples(split))
    assert task.examples("train")[0].src[:2] == ["The", "cat"]
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="empty|no sentences"):
        build_task(TaskConfig(name="mlm", tokens="word", data=str(empty)))
    from workbench.errors import UserError

    with pytest.raises(UserError, match="task.tokens"):
        build_task(TaskConfig(name="mlm", tokens="subword"))


def test_word_level_masked_lm_trains_saves_and_fills_typed_masks(tmp_path):
    from workbench.decoding.encoding import prepare_encoder, unmask
    from workbench.runs import load_run
    from workbench.training import Trainer

    cfg = build_config(task="mlm", overrides={"task.tokens": "word", "task.train_size": 300, "task.val_size": 20,
                                              "task.test_size": 20, "model.hidden": 16, "model.layers": 1,
                                              "model.heads": 2, "train.steps": 4, "train.eval_every": 4,
                                              "train.threads": 1})
    end = Trainer(cfg, tmp_path / "run").run()
    assert {"accuracy", "ppl", "unigram_accuracy", "unigram_ppl"} <= set(end.final["val"])
    loaded = load_run(tmp_path / "run")
    job = prepare_encoder(loaded.task, loaded.model.capabilities, text="we _ fish [MASK]")
    assert job.tokens == ["we", MASK, "fish", MASK] and job.masks == [1, 3]
    steps = unmask(loaded.model, loaded.task, job)
    assert sorted(s.position for s in steps) == [1, 3] and all(s.token in loaded.task.src_vocab.stoi for s in steps)
