"""`seqbench decode --export`: an animated step-through SVG (one frame per step) and a replay file that reopens it."""

import json
import re
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


def cast_events(path):
    """The header and events of an asciicast v2 file (every line JSON)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    events = [json.loads(line) for line in lines[1:]]
    return header, events


def test_steps_cast_is_an_asciicast_v2_with_one_frame_per_step(capsys, tmp_path, s2s_run):
    code, _, _ = decode(capsys, s2s_run, "--input", "abc&<d", "--max-len", "7", "--export", str(tmp_path),
                        "--json", str(tmp_path / "s.json"))
    assert code == 0
    steps = json.loads((tmp_path / "s.json").read_text())["steps"]
    header, events = cast_events(tmp_path / "steps.cast")
    assert header["version"] == 2 and header["width"] >= 80 and header["height"] >= 5
    assert all(len(e) == 3 and e[1] == "o" and isinstance(e[0], (int, float)) for e in events)
    times = [e[0] for e in events]
    assert times == sorted(times)
    frames = [e for e in events if "\x1b[2J" in e[2]]  # each frame clears the screen and draws the step
    assert len(frames) == len(steps) == 7
    for t, (_, _, text) in enumerate(frames):
        assert f"step {t}: chose" in text and "\x1b[" in text  # coloured cells
        assert "abc&<d"[0] in text and "\n" not in text.replace("\r\n", "")
        visible = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line) for line in text.split("\r\n")]
        assert 0 < max(len(line) for line in visible) <= header["width"]  # every frame fits the recorded terminal


def test_steps_cast_plays_in_asciinema(capsys, tmp_path, s2s_run):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    player = shutil.which("asciinema", path=str(Path(sys.executable).parent)) or shutil.which("asciinema")
    if player is None:
        pytest.skip("asciinema is not installed")
    assert decode(capsys, s2s_run, "--input", "bad", "--export", str(tmp_path))[0] == 0
    done = subprocess.run([player, "play", "-s", "100", str(tmp_path / "steps.cast")], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 0 and b"step 0: chose" in done.stdout
