"""`seqbench ablate`: zeroing a unit over a split costs what recomputing the decoder by hand says."""

import json

import pytest
import torch
import torch.nn.functional as F

from models.base import intervening
from workbench.cli import main
from workbench.decoding import greedy_decode_batch
from workbench.decoding.ablation import ablate, encode_split, outcome, targets
from workbench.runs import load_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--task", "reverse", "--set", "task.alphabet=abcd", "--set", "task.min_len=1", "--set", "task.max_len=4",
        "--set", "task.train_size=500", "--set", "task.val_size=30", "--set", "task.test_size=30",
        "--set", "task.long_size=0", "--hidden", "16", "--emb", "8", "--eval-every", "1000", "--threads", "1",
        "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny reverse run trained long enough that exact match is neither 0 nor 1 (GRU, general attention)."""
    path = tmp_path_factory.mktemp("abl") / "rev"
    assert main(["train", *TINY, "--steps", "200", "--out", str(path)]) == 0
    return path


def loss_by_hand(model, task, unit):
    """Mean reference-token loss over the test split with decoder unit ``unit`` zeroed, one example at a time,
    with torch's own GRU cell (not the model's step code)."""
    cell = torch.nn.GRUCell(model.decoder.input_size, model.config.hidden)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in model.decoder.state_dict().items()})
    v, total, count = task.tgt_vocab, 0.0, 0
    with torch.no_grad():
        for ex in task.examples("test"):
            src = torch.tensor([task.src_vocab.encode(ex.src)])
            state = model.start(src, torch.tensor([src.shape[1]]))
            h, gold = state["h"][:, 0], v.encode(ex.tgt) + [v.eos_id]
            for prev, want in zip([v.bos_id] + gold[:-1], gold):
                h = cell(model.embed(torch.tensor([prev])), h)
                h[:, unit] = 0.0
                att = model.attention(h, state["att_keys"], state["att_values"], state["src_mask"],
                                      state["src_lengths"])
                logits = model.out(torch.tanh(model.combine(torch.cat([att.context, h], -1))))
                total += float(F.cross_entropy(logits, torch.tensor([want])))
                count += 1
    return total / count


def test_ablation_loss_equals_the_decoder_recomputed_by_hand_and_the_ranking_is_sorted(trained):
    loaded = load_run(trained)
    model, task = loaded.model, loaded.task
    report = ablate(model, task, "test")
    rows = {r.label: r for r in report.rows}
    assert len(rows) == 16 and report.examples == 30
    for unit in (3, 11):
        assert rows[f"L0:U{unit}"].outcome.loss == pytest.approx(loss_by_hand(model, task, unit), abs=1e-5)
    d = [r.d_loss for r in report.rows]
    assert d == sorted(d, reverse=True) and d[0] > 0
    assert 0 < report.baseline.exact < 1


def test_exact_match_is_what_greedy_decoding_with_the_edit_gives(trained):
    loaded = load_run(trained)
    model, task = loaded.model, loaded.task
    v = task.tgt_vocab
    encoded = encode_split(model, task, "test")
    examples = task.examples("test")
    src = [task.src_vocab.encode(ex.src) for ex in examples]
    batch = torch.zeros(len(src), max(map(len, src)), dtype=torch.long)
    for i, ids in enumerate(src):
        batch[i, : len(ids)] = torch.tensor(ids)
    lengths = torch.tensor([len(ids) for ids in src])
    seen = set()
    for _, edit in targets(model, "hidden")[:6]:
        with intervening(model, [edit]):
            got = outcome(model, task, encoded).exact
            preds = greedy_decode_batch(model, batch, lengths, bos_id=v.bos_id, eos_id=v.eos_id, max_len=12,
                                        ban=(v.pad_id, v.bos_id))
        assert got == sum(p == v.encode(ex.tgt) for p, ex in zip(preds, examples)) / len(examples)
        seen.add(got)
    assert len(seen) > 1  # the edits do change exact match: the comparison is not 0 == 0


def test_ablate_command_prints_a_ranked_table_and_writes_json(capsys, tmp_path, trained):
    out = tmp_path / "ablate.json"
    assert main(["ablate", str(trained), "--top", "3", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "most harmful first" in printed and "13 more" in printed
    data = json.loads(out.read_text())
    assert len(data["ranking"]) == 16 and data["ranking"][0]["d_loss"] >= data["ranking"][-1]["d_loss"]
    assert main(["ablate", str(trained), "--what", "heads"]) == 2
    assert "only multi-head attention" in capsys.readouterr().err
