"""`seqbench decode --export`: an animated step-through SVG (one frame per step) and a replay file that reopens it."""

import json
import xml.etree.ElementTree as ET

import pytest

from test_decode_cli import SMALL_TASK, decode, make_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def s2s_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("steps") / "rev", {
        "task.name": "reverse", **SMALL_TASK, "model.hidden": 16, "model.emb_dim": 8})


def frames(path):
    root = ET.parse(path).getroot()  # raises if it is not well-formed XML
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "frame"]


def test_steps_svg_has_one_frame_per_step_with_the_alignment_row(capsys, tmp_path, s2s_run):
    code, _, _ = decode(capsys, s2s_run, "--input", "abc&<d", "--max-len", "7", "--export", str(tmp_path),
                        "--json", str(tmp_path / "s.json"))
    assert code == 0
    steps = json.loads((tmp_path / "s.json").read_text())["steps"]
    found = frames(tmp_path / "steps.svg")
    assert len(found) == len(steps) == 7
    for t, frame in enumerate(found):
        assert frame.find(f"{SVG}title").text == f"step {t}"
        cells = frame.findall(f"{SVG}rect")
        assert len(cells) == 6 + t + 1  # the source's cells (its alignment row), then the output so far
    style = ET.parse(tmp_path / "steps.svg").getroot().find(f"{SVG}style").text
    assert all(f"@keyframes f{t} " in style for t in range(7))


def test_a_language_model_without_attention_gets_frames_of_its_output(capsys, tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("the quick brown fox. " * 40, encoding="utf-8")
    run = make_run(tmp_path / "lm", {"task.name": "charlm", "task.data": str(text), "task.block": 16,
                                     "model.hidden": 8, "model.emb_dim": 4, "model.layers": 1})
    code, _, _ = decode(capsys, run, "--input", "the", "--length", "5", "--export", str(tmp_path / "x"))
    assert code == 0 and len(frames(tmp_path / "x" / "steps.svg")) == 5


def test_replay_reopens_the_same_decoding(capsys, tmp_path, s2s_run):
    out = tmp_path / "x"
    code, _, _ = decode(capsys, s2s_run, "--input", "bad", "--sample", "--seed", "7", "--temperature", "2",
                        "--force", "1:c", "--export", str(out), "--json", str(tmp_path / "a.json"))
    assert code == 0
    record = json.loads((out / "replay.json").read_text())
    assert record["options"]["seed"] == 7 and len(record["weights"]) == 64
    from workbench.cli import main

    assert main(["decode", "--replay", str(out / "replay.json"), "--json", str(tmp_path / "b.json")]) == 0
    assert "warning" not in capsys.readouterr().err
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a["steps"] == b["steps"] and a["result"] == b["result"] and a["config"] == b["config"]
    record["weights"] = "0" * 64  # as if the run had trained on since
    (out / "replay.json").write_text(json.dumps(record))
    assert main(["decode", str(s2s_run), "--replay", str(out / "replay.json")]) == 0
    assert "weights are not those recorded" in capsys.readouterr().err
    assert main(["decode", "--replay", str(out / "replay.json"), "--beam", "2"]) == 2
    assert "drop --beam" in capsys.readouterr().err
