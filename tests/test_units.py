"""`seqbench units`: the peaks reported are where the unit's activation, computed directly, is highest."""

import json

import pytest
import torch

from test_decode_cli import SMALL_TASK, make_run
from workbench.cli import main
from workbench.decoding.units import parse_unit, unit_peaks
from workbench.runs import load_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("units")
    text = root / "corpus.txt"
    text.write_text('she said "yes" and he said "no". ' * 30, encoding="utf-8")
    return make_run(root / "lm", {"task.name": "charlm", "task.data": str(text), "task.block": 16,
                                  "model.cell": "gru", "model.hidden": 8, "model.emb_dim": 4, "model.layers": 1})


def direct(model, task, unit):
    """(example, position) -> the unit's value, from torch's fused GRU over each val window alone."""
    values = {}
    with torch.no_grad():
        for e, ex in enumerate(task.examples("val")):
            ids = torch.tensor([task.tgt_vocab.encode(ex.tgt)])
            out, _ = model.rnn(model.embed(ids))  # (1, T, D)
            values.update({(e, t): float(v) for t, v in enumerate(out[0, :, unit])})
    return values


def test_peaks_are_the_argmax_of_the_activations_computed_directly(lm_run):
    loaded = load_run(lm_run)
    model, task = loaded.model, loaded.task
    for unit in (2, 5):
        values = direct(model, task, unit)
        ranked = sorted(values, key=values.get, reverse=True)
        found = unit_peaks(model, task, [parse_unit(f"L0:U{unit}")], top=5, context=3)[0]
        assert [(p.example, p.position) for p in found.peaks] == ranked[:5]
        assert [p.value for p in found.peaks] == pytest.approx([values[k] for k in ranked[:5]], abs=1e-5)
        assert found.high == pytest.approx(values[ranked[0]], abs=1e-5)
        top = found.peaks[0]
        window = task.examples("val")[top.example].tgt
        assert top.tokens[top.center] == window[top.position]  # the token just read
    spread = unit_peaks(model, task, [parse_unit("L0:U2")], top=3, limit=3)[0]  # windows spread over the split
    for p in spread.peaks:
        assert p.value == pytest.approx(direct(model, task, 2)[(p.example, p.position)], abs=1e-5)


def test_units_command_on_a_seq2seq_run_prints_contexts_and_writes_json(capsys, tmp_path):
    run = make_run(tmp_path / "rev", {"task.name": "reverse", **SMALL_TASK, "model.hidden": 8, "model.emb_dim": 8})
    out = tmp_path / "units.json"
    assert main(["units", str(run), "--unit", "L0:U1", "--unit", "l0:u7", "--top", "4", "--json", str(out)]) == 0
    assert "L0:U7" in capsys.readouterr().out
    data = json.loads(out.read_text())
    task = load_run(run).task
    for unit in data["units"]:
        assert len(unit["top"]) == 4 and unit["top"][0]["value"] == unit["max"]
        for peak in unit["top"]:
            assert peak["activations"][peak["center"]] == peak["value"]
            read = ["<bos>"] + task.examples("val")[peak["example"]].tgt  # what the decoder read
            assert peak["tokens"][peak["center"]] == read[peak["position"]]
    assert main(["units", str(run), "--unit", "L3:U1"]) == 2
    assert "decoder layers are 0..0" in capsys.readouterr().err
    assert main(["units", str(run), "--unit", "U1"]) == 2
