"""`seqbench decode RUN --input-file FILE`: many lines with one loaded run, as one-at-a-time decoding gives."""

import io
import json
import re
import sys

import pytest
import sacrebleu

from workbench import runs
from workbench.cli import main
from workbench.config import build_config
from workbench.decoding import DecodeConfig
from workbench.decoding.job import prepare
from workbench.training import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = ["cat", "dog", "house", "tree", "book", "apple", "train", "flower"]
FR = ["chat", "chien", "maison", "arbre", "livre", "pomme", "train", "fleur"]


def pairs(n: int = 48) -> list[tuple[str, str]]:
    return [(f"the {WORDS[i % 8]} number {i % 12} runs.", f"le {FR[i % 8]} numéro {i % 12} court !") for i in range(n)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny subword Transformer trained briefly on a toy corpus (the tsv task's own family)."""
    root = tmp_path_factory.mktemp("batch")
    data = root / "pairs.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in pairs()), encoding="utf-8")
    cfg = build_config(overrides={
        "task.name": "tsv", "task.data": str(data), "task.vocab_size": 300, "task.val_size": 4,
        "task.test_size": 4, "model.hidden": 32, "model.heads": 2, "model.layers": 1, "model.dropout": 0.0,
        "train.steps": 120, "train.eval_every": 120, "train.batch_size": 16, "train.lr": 3e-3, "train.warmup": 10,
        "train.threads": 1, "train.eval_examples": 8})
    Trainer(cfg, root / "run").run()
    return root / "run", data


def lines_file(tmp_path, lines, name="in.txt"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


SOURCES = [s for s, _ in pairs(14)] + ["the dog number 3 runs and runs.", "a zebra!", "", "the apple"]


def decode_file(capsys, run, *args):
    code = main(["decode", str(run), *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_at_a_time(run, lines, config: DecodeConfig):
    """What `seqbench decode RUN --input LINE` decodes, line by line (the CLI's own job and session)."""
    loaded = runs.load_run(run)
    out = []
    for line in lines:
        if not line:
            out.append(("", 0.0))
            continue
        job = prepare(loaded.task, loaded.model.capabilities, text=line)
        cfg = DecodeConfig(**{**config.__dict__, "max_len": job.max_len(loaded.task)})
        session = job.session(loaded.model, loaded.task, cfg, history=False)
        session.run()
        best = session.result()[0]
        ids = [t for t in best.tokens if t != loaded.task.tgt_vocab.eos_id]
        out.append((loaded.task.detokenize(loaded.task.tgt_vocab.decode(ids)), best.logprob))
    return out


@pytest.mark.parametrize("options,config", [
    (["--batch-size", "5", "--greedy"], DecodeConfig(strategy="greedy")),
    (["--beam", "3"], DecodeConfig(strategy="beam", beam=3)),
    ([], DecodeConfig(strategy="beam", beam=4, alpha=0.6)),  # a tsv run's own decoding (train.eval_beam/eval_alpha)
])
def test_file_decoding_gives_what_one_at_a_time_decoding_gives(capsys, tmp_path, trained, options, config):
    run, _ = trained
    code, out, err = decode_file(capsys, run, "--input-file", lines_file(tmp_path, SOURCES), "--format", "jsonl",
                                 *options)
    assert code == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in got] == list(range(1, len(SOURCES) + 1))
    expected = one_at_a_time(run, SOURCES, config)
    assert [r["output"] for r in got] == [text for text, _ in expected]
    assert [r["logprob"] for r in got] == pytest.approx([lp for _, lp in expected], abs=1e-3)
    assert len({r["output"] for r in got}) >= 5  # varied outputs, not one degenerate string for every line
    assert got[SOURCES.index("")]["status"] == "empty" and "1 empty lines" in err


def test_stdin_text_output_and_no_training_file_needed(capsys, monkeypatch, tmp_path, trained):
    run, data = trained
    moved = data.with_suffix(".away")
    data.rename(moved)  # decoding needs only the run
    try:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("the cat number 0 runs.\n\nthe dog\n".encode())))
        code, out, err = decode_file(capsys, run, "--input-file", "-")
    finally:
        moved.rename(data)
    assert code == 0, err
    assert out.count("\n") == 3 and out.splitlines()[1] == ""
    assert "decoded 3 lines" in err


def test_output_file_and_tsv_format(capsys, tmp_path, trained):
    run, _ = trained
    target = tmp_path / "out.tsv"
    code, out, err = decode_file(capsys, run, "--input-file", lines_file(tmp_path, SOURCES[:3]), "--format", "tsv",
                                 "--output", str(target))
    assert code == 0 and out == ""
    rows = [line.split("\t") for line in target.read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["line", "source", "output", "logprob", "tokens", "status"] and len(rows) == 4
    assert rows[1][1] == SOURCES[0] and float(rows[1][3]) < 0


def test_references_score_as_sacrebleu_does_with_every_reference(capsys, tmp_path, trained):
    run, _ = trained
    sources = [s for s, _ in pairs(12)]
    refs1 = [t for _, t in pairs(12)]
    refs2 = [t.replace("court", "marche") for t in refs1]
    code, out, err = decode_file(capsys, run, "--input-file", lines_file(tmp_path, sources), "--references",
                                 lines_file(tmp_path, refs1, "r1"), lines_file(tmp_path, refs2, "r2"))
    assert code == 0, err
    hyps = out.splitlines()
    bleu = sacrebleu.corpus_bleu(hyps, [refs1, refs2]).score
    chrf = sacrebleu.corpus_chrf(hyps, [refs1, refs2]).score
    shown = re.search(r"BLEU (\S+)\s+chrF (\S+)\s+exact match (\S+)%", err)
    assert shown, err
    assert float(shown.group(1)) == pytest.approx(bleu, abs=0.006)
    assert float(shown.group(2)) == pytest.approx(chrf, abs=0.006)
    exact = 100 * sum(h in (a, b) for h, a, b in zip(hyps, refs1, refs2)) / len(hyps)
    assert float(shown.group(3)) == pytest.approx(exact, abs=0.06)
    assert "2 references each" in err and "nrefs:2" in err


@pytest.mark.parametrize("args,message", [
    (["--input-file", "MISSING"], "no such file"),
    (["--input-file", "DIR"], "is a directory"),
    (["--input-file", "BINARY"], "not UTF-8"),
    (["--input-file", "GOOD", "--references", "SHORT"], "has 1 lines but the input has 2"),
    (["--input-file", "GOOD", "--input", "x"], "--input does not combine with --input-file"),
    (["--input-file", "GOOD", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["--input", "x", "--references", "GOOD"], "--references applies with --input-file"),
    (["--input-file", "GOOD", "--beam", "2", "--greedy"], "choose one of --beam K, --sample and --greedy"),
])
def test_bad_files_and_options_are_one_line_errors(capsys, tmp_path, trained, args, message):
    run, _ = trained
    (tmp_path / "bin").write_bytes(b"ok\n\xff\xfe\n")
    names = {"MISSING": str(tmp_path / "missing.txt"), "DIR": str(tmp_path), "BINARY": str(tmp_path / "bin"),
             "GOOD": lines_file(tmp_path, ["the cat", "the dog"]), "SHORT": lines_file(tmp_path, ["le chat"], "s")}
    code, out, err = decode_file(capsys, run, *[names.get(a, a) for a in args])
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_single_decode_shows_a_subword_source_as_typed(capsys, trained):
    run, _ = trained
    code, out, err = decode_file(capsys, run, "--input", "the zebra number 3 runs.")
    assert code == 0, err
    assert "input   the zebra number 3 runs." in out


def test_the_final_test_evaluation_scores_the_runs_own_decoding(trained):
    """A tsv run evaluates its test split by beam search (train.eval_beam), as `decode` gives by default;
    validation during training stays greedy."""
    from workbench.metrics import evaluate
    from workbench.records import EvalRecord, read_records

    run, _ = trained
    loaded = runs.load_run(run)
    tc = loaded.config.train
    assert (tc.eval_beam, tc.eval_alpha) == (4, 0.6)
    log = read_records(run)
    args = dict(limit=10**9, batch_size=64, device=loaded.model.device)
    beam = evaluate(loaded.model, loaded.task, "test", beam=4, alpha=0.6, **args).metrics
    assert log.of(EvalRecord, "test")[-1].metrics == pytest.approx(beam)
    val = evaluate(loaded.model, loaded.task, "val", **args).metrics
    assert log.of(EvalRecord, "val")[-1].metrics == pytest.approx(val)


def test_beam_rows_are_what_a_beam_session_gives(trained):
    from workbench.decoding import DecodeSession, beam_decode_rows

    run, _ = trained
    loaded = runs.load_run(run)
    v = loaded.task.tgt_vocab
    sources = [loaded.task.src_vocab.encode(loaded.task.tokenize_src(s)) for s in SOURCES[:6]]
    got = beam_decode_rows(loaded.model, sources, bos_id=v.bos_id, eos_id=v.eos_id, max_len=20, beam=3, alpha=0.6,
                           ban=(v.pad_id, v.bos_id))
    for src, ids in zip(sources, got):
        session = DecodeSession(loaded.model, src, bos_id=v.bos_id, eos_id=v.eos_id, ban=(v.pad_id, v.bos_id),
                                config=DecodeConfig(strategy="beam", beam=3, alpha=0.6, max_len=20))
        session.run()
        assert ids == [t for t in session.result()[0].tokens if t != v.eos_id]
