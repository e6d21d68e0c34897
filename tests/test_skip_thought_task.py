"""The skipthought task, its metrics, `seqbench decode` on a skip-thought run and the inspector's decoder switch."""

import json

import pytest

from workbench.config import build_config
from workbench.errors import UserError
from workbench.tasks import build_task
from workbench.tasks.stories import SCRIPTS, text_stories

TINY = {"task.name": "skipthought", "model.hidden": "16", "model.emb_dim": "8", "train.steps": "6",
        "train.eval_every": "6", "train.batch_size": "16", "train.threads": "1", "train.samples": "2"}


@pytest.fixture(scope="module")
def task():
    return build_task(build_config(overrides={"task.name": "skipthought"}).task)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from workbench.training import Trainer

    run_dir = tmp_path_factory.mktemp("st") / "run"
    finished = Trainer(build_config(overrides=TINY), run_dir=run_dir).run()
    return run_dir, finished


def test_each_neighbour_is_one_example_started_by_its_decoders_token(task):
    prev, bos = task.decoders["prev"], task.decoders["next"]
    assert task.tgt_vocab.itos[prev] == "<prev>" and prev == 4 and bos == task.tgt_vocab.bos_id
    story = task.stories["train"][0].sentences
    examples = task.examples("train")
    tokens = [s.split() for s in story]
    # sentence 0 has only a next neighbour; sentence 1 has both, previous first
    assert [(ex.src, ex.tgt) for ex in examples[:3]] == [(tokens[0], tokens[1]), (tokens[1], tokens[0]),
                                                         (tokens[1], tokens[2])]
    assert [task.example_start("train", i) for i in range(3)] == [bos, prev, bos]
    batch = next(task.eval_batches("train", 3))
    assert batch.tgt_in[:, 0].tolist() == [bos, prev, bos]
    assert len(examples) == sum(2 * (len(s.sentences) - 1) for s in task.stories["train"])


def test_val_and_test_stories_never_occur_in_training(task):
    train = {tuple(s.sentences) for s in task.stories["train"]}
    held = [tuple(s.sentences) for split in ("val", "test") for s in task.stories[split]]
    assert len(held) == 50 and not train & set(held)
    assert {s.topic for s in task.stories["train"]} == set(SCRIPTS)


def test_a_text_is_cut_at_sentence_ends_and_blank_lines():
    text = "One fish. Two fish!\nRed fish? Blue fish.\n\nA new story starts. It goes on.\n" + "More. " * 20
    stories = text_stories(text, 0.1)
    train = stories["train"]
    assert train[0].sentences == ["One fish", "Two fish", "Red fish", "Blue fish"]
    assert train[1].sentences[:3] == ["A new story starts", "It goes on", "More"]
    assert all(stories[s] for s in ("val", "test"))
    with pytest.raises(UserError, match="at least 10"):
        text_stories("Too short. Really.", 0.1)


def test_data_file_task_builds_from_any_text(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text("The cat sat. The cat slept.\nThe dog barked! " * 20, encoding="utf-8")
    task = build_task(build_config(overrides={"task.name": "skipthought", "task.data": str(path)}).task)
    assert task.examples("train")[0].src == ["The", "cat", "sat"]
    assert "<prev>" in task.tgt_vocab.itos


def test_skip_thought_decoders_belong_to_the_skipthought_task():
    with pytest.raises(UserError, match="model.decoders"):
        build_config(overrides={"task.name": "reverse", "model.attention": "none", "model.context": "every-step",
                                "model.decoders": "skip-thought"})
    with pytest.raises(UserError, match="model.context"):
        build_config(overrides={"task.name": "skipthought", "model.context": "init"})


def test_training_reports_both_decoders_accuracy(trained_run):
    run_dir, finished = trained_run
    for split in ("val", "test"):
        metrics = finished.final[split]
        assert 0 <= metrics["accuracy_prev"] <= 1 and 0 <= metrics["accuracy_next"] <= 1
        assert min(metrics["accuracy_prev"], metrics["accuracy_next"]) <= metrics["accuracy"] \
            <= max(metrics["accuracy_prev"], metrics["accuracy_next"])
    assert (run_dir / "config.toml").read_text().count('decoders = "skip-thought"') == 1


def test_decode_shows_both_decoders_and_the_nearest_sentences(trained_run, tmp_path, capsys):
    from workbench.cli import main

    run_dir, _ = trained_run
    out_json = tmp_path / "out.json"
    code = main(["decode", str(run_dir), "--input", "anna buys some fish", "--neighbours", "4", "--json", str(out_json)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "previous sentence" in printed and "next sentence" in printed and "nearest sentences" in printed
    data = json.loads(out_json.read_text())
    assert set(data["decoders"]) == {"prev", "next"}
    assert data["decoders"]["prev"]["session"]["steps"] and data["decoders"]["next"]["session"]["steps"]
    assert len(data["neighbours"]) == 4 and all(n["text"] != "anna buys some fish" for n in data["neighbours"])
    cosines = [n["cosine"] for n in data["neighbours"]]
    assert cosines == sorted(cosines, reverse=True)
    assert len(data["projection"]["points"]) == len(build_task(build_config(overrides=TINY).task).sentences())


def test_the_inspector_switches_decoder_and_keeps_an_examples_reference_with_its_own(trained_run):
    from workbench.decoding.inspection import Inspection
    from workbench.runs import load_run

    loaded = load_run(trained_run[0])
    ins = Inspection(loaded.model, loaded.task)
    ins.load_example(1)  # test example 1: sentence 1 of a story and the sentence before it
    assert ins.decoder == "prev" and ins.fed_prefix == ["<prev>"] and ins.reference
    ins.run()
    assert all(r.trace.decoder.tolist() == [0] * len(r.rows) for r in ins.records)
    assert ins.switch_decoder() == "next" and ins.reference is None and ins.fed_prefix == ["<bos>"]
    assert ins.switch_decoder() == "prev" and ins.reference


def test_the_sentence_map_projects_on_principal_axes(trained_run):
    import torch

    from workbench.decoding.neighbours import sentence_space
    from workbench.runs import load_run

    loaded = load_run(trained_run[0])
    space = sentence_space(loaded.model, loaded.task)
    centred = space.vectors - space.vectors.mean(0)
    torch.testing.assert_close(space.axes.T @ space.axes, torch.eye(2), atol=1e-5, rtol=0)
    assert space.explained[0] >= space.explained[1] > 0
    assert space.coords[:, 0].var() >= space.coords[:, 1].var()  # the first axis carries the most variance
    torch.testing.assert_close(space.coords, centred @ space.axes)
    grid = space.grid(30, 8, marks=[("@", space.project(space.vectors[0]))])
    assert len(grid) == 8 and all(len(row) == 30 for row in grid) and any(c == ("@", "mark") for r in grid for c in r)
