"""`seqbench errors`: where greedy decoding first leaves the reference, counted over a split."""

import json
from collections import Counter

import pytest

from test_decode_cli import SMALL_TASK, make_run
from workbench.cli import main
from workbench.decoding import score_reference
from workbench.decoding.failures import failure_report
from workbench.runs import load_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("err") / "rev", {
        "task.name": "reverse", **SMALL_TASK, "task.long_size": 15, "model.hidden": 16, "model.emb_dim": 8})


def test_histograms_equal_a_direct_count_with_the_session_engine(run):
    loaded = load_run(run)
    task, model = loaded.task, loaded.model
    report = failure_report(model, task, "long", beam=3)
    v = task.tgt_vocab
    direct, by_len, ranks = Counter(), Counter(), []
    for ex in task.examples("long"):
        score = score_reference(model, task.src_vocab.encode(ex.src), v.encode(ex.tgt), bos_id=v.bos_id,
                                eos_id=v.eos_id, ban=(v.pad_id, v.bos_id))
        if score.divergence is not None:
            direct[score.divergence] += 1
            by_len[len(ex.src)] += 1
            ranks.append(score.ranks[score.divergence])
    assert report.by_position == dict(sorted(direct.items()))
    assert {n: f for n, (f, _) in report.by_length.items() if f} == dict(by_len)
    assert sum(report.ranks.values()) == len(ranks) == sum(direct.values())
    assert sorted(o.ref_rank for o in report.failed) == sorted(ranks)
    assert all(o.correct == (o.divergence is None) for o in report.outcomes)  # greedy output agrees
    beam = report.beam
    assert len(beam.same) + len(beam.fixed) + len(beam.broke) + len(beam.other) == len(report.outcomes)


def test_errors_command_writes_json_and_refuses_a_language_model(capsys, tmp_path, run):
    out = tmp_path / "errors.json"
    assert main(["errors", str(run), "--split", "test", "--limit", "8", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "first wrong step" in printed and "rank of the reference token" in printed
    data = json.loads(out.read_text())
    assert data["examples"] == 8 and sum(data["by_position"].values()) == data["failed"]
    assert main(["errors", str(run), "--split", "nope"]) == 2
    assert "has no split 'nope'" in capsys.readouterr().err
