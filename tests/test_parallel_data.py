"""Your own parallel data: the quirks of real files, exact tokenisation, honest splits and scores."""

import time

import pytest
import sacrebleu

from workbench import runs
from workbench.config import build_config
from workbench.errors import DataError, UserError
from workbench.events import DataReported
from workbench.tasks import TaskConfig, build_task
from workbench.tasks.parallel import read_pairs
from workbench.tasks.scoring import group_hypotheses, translation_scores
from workbench.tasks.subword import SubwordTokenizer
from workbench.tasks.tokenizer import Tokenizer
from workbench.training import Trainer

NNBSP, NBSP = "\u202f", "\u00a0"
VARIED = [
    "Je dois me presser !", "Qu'est-ce que c'est ?", "J'ai 3,5 € : « bien » ; non…", "Il est 10 h 30.",
    "Don't go -- it's 1,000 miles (really)!", "soixante-dix-sept", "Tom's dog, a 2-year-old, barks.",
    "l'homme qu'il voit", "C’est l’été !", "e.g. U.S.A. and 3.14", "\"Quoted\" 'single' text", "¿Qué? ¡Sí!",
]


def corpus(n: int = 40) -> list[tuple[str, str]]:
    """Varied short English-French-like pairs: n sources, some with two translations."""
    words = ["chat", "chien", "maison", "arbre", "livre", "pomme", "train", "fleur"]
    pairs = []
    for i in range(n):
        src = f"the {words[i % 8]} number {i} runs."
        pairs.append((src, f"le {words[i % 8]} numéro {i} court !"))
        if i % 5 == 0:
            pairs.append((src, f"Le {words[i % 8]} n°{i} court."))
    return pairs


def write(tmp_path, name: str, lines: list[str], end: str = "\n") -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return str(path)


def tsv(tmp_path, name="pairs.tsv", pairs=None, extra: list[str] = (), end="\n") -> str:
    return write(tmp_path, name, [f"{s}\t{t}" for s, t in (pairs or corpus())] + list(extra), end)


def small(**options) -> dict:
    return {"val_size": 5, "test_size": 5, "tokens": "word", **options}


# --- reading real files ------------------------------------------------------------------------


def test_tatoeba_third_column_is_read_with_columns_and_can_be_swapped(tmp_path):
    lines = [f"{s}\t{t}\tCC-BY 2.0 (France) Attribution: tatoeba.org #{i} (someone)"
             for i, (s, t) in enumerate(corpus())]
    path = write(tmp_path, "tatoeba.tsv", lines)
    with pytest.raises(DataError, match=r"tatoeba\.tsv:1: .*Tatoeba's attribution.*--columns 1,2"):
        build_task(TaskConfig(name="tsv", data=path))
    task = build_task(TaskConfig(name="tsv", data=path, columns="1,2", **small()))
    assert all("Attribution" not in " ".join(ex.tgt) for ex in task.examples("train"))
    swapped = build_task(TaskConfig(name="tsv", data=path, columns="2,1", **small()))
    assert swapped.examples("train")[0].src[0].lower() == "le"
    with pytest.raises(UserError, match="task.columns: .*two different column numbers"):
        build_task(TaskConfig(name="tsv", data=path, columns="1"))


def test_odd_spaces_are_normalised_counted_and_can_be_kept(tmp_path):
    pairs = [(s, t.replace(" !", NNBSP + "!").replace("le ", "le" + NBSP)) for s, t in corpus()]
    path = tsv(tmp_path, pairs=pairs)
    task = build_task(TaskConfig(name="tsv", data=path, **small(tokens="char")))
    assert NNBSP not in task.tgt_vocab.stoi and NBSP not in task.tgt_vocab.stoi
    report = task.report
    assert report.normalized == {"U+00A0": 40, "U+202F": 40} and report.normalized_lines == 40
    assert any("normalised spaces on 40 lines" in line for line in report.summary_lines())
    raw = build_task(TaskConfig(name="tsv", data=path, normalize="none", **small(tokens="char")))
    assert NNBSP in raw.tgt_vocab.stoi and raw.report.normalized == {}


def test_duplicates_truncated_last_line_and_empty_sides_are_dropped_with_line_numbers(tmp_path):
    pairs = corpus(20)
    extra = [f"{pairs[0][0]}\t{pairs[0][1]}", f"\t{pairs[1][1]}", f"{pairs[2][0]}\t  ", "the truncated la"]
    path = tsv(tmp_path, pairs=pairs, extra=extra, end="")
    n = len(pairs)
    kept, log = read_pairs(path)
    assert len(kept) == n and log.lines == n + 4
    assert log.dropped == {"duplicate pair": [n + 1], "empty source": [n + 2], "empty target": [n + 3],
                           "no tab (truncated line?)": [n + 4]}
    task = build_task(TaskConfig(name="tsv", data=path, **small()))
    text = "\n".join(task.report.summary_lines())
    assert f"dropped 1 no tab (truncated line?): pairs.tsv:{n + 4}" in text
    assert f"{n:,} pairs kept · 4 dropped" in text
    with pytest.raises(DataError, match=r"nothing\.tsv: no usable .*2 no tab \(truncated line\?\) \(lines 1, 2\)"):
        read_pairs(write(tmp_path, "nothing.tsv", ["just text", "more text"]))


def test_length_limits_drop_count_and_name_the_longest_and_a_1mb_line_is_quick(tmp_path):
    huge = "word " * 200_000  # 1 MB on one line
    line = len(corpus()) + 1
    path = tsv(tmp_path, extra=[f"{huge}\tcourt", "a b c d e f g h\tx"])
    start = time.perf_counter()
    task = build_task(TaskConfig(name="tsv", data=path, **small(max_src_len=7)))
    assert time.perf_counter() - start < 10
    assert all(len(ex.src) <= 7 for split in task.split_names for ex in task.examples(split))
    dropped = task.report.dropped["source longer than 7 tokens"]
    assert sorted(dropped) == [f"pairs.tsv:{line}", f"pairs.tsv:{line + 1}"]
    assert task.report.longest[0] == f"pairs.tsv:{line} (200000+1 tokens)"
    assert task.report.warnings and f"pairs.tsv:{line} (200000+1 tokens)" in task.report.warnings[0]
    default = build_task(TaskConfig(name="tsv", data=path, **small(tokens="char")))  # 256 tokens by default
    assert "source longer than 256 tokens" in default.report.dropped


def test_report_gives_lengths_vocabularies_and_unknown_rates(tmp_path):
    task = build_task(TaskConfig(name="tsv", data=tsv(tmp_path), **small()))
    r = task.report
    assert r.splits["train"][0] + r.splits["val"][0] + r.splits["test"][0] == r.kept == 48
    assert r.src_lengths == (6, 6, 6) and r.src_vocab == len(task.src_vocab)
    assert set(r.unknown) == {"val", "test"} and r.unknown["test"][0] > 0  # numbers only in test are unknown
    assert r.to_dict()["kept"] == 48


# --- tokenisation ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", VARIED)
def test_word_tokens_round_trip_exactly(text):
    words = Tokenizer("word")
    assert words.detokenize(words.tokenize(text)) == text


def test_word_tokens_keep_french_spacing_as_tokens_and_plain_words_unmarked():
    words = Tokenizer("word")
    assert words.tokenize("Je dois me presser !") == ["Je", "dois", "me", "presser", "\u2581!"]
    assert words.tokenize("Hurry up!") == ["Hurry", "up", "!"]
    assert words.tokenize("l'homme") == ["l'", "homme"]


def test_subword_round_trips_exactly_including_unseen_characters():
    texts = [t for t in VARIED for _ in range(3)] + [s + " " + t for s, t in corpus()]
    sub = SubwordTokenizer.train(texts, vocab_size=400)
    for text in VARIED + ["Œuvre inédite ✓ 42 ½", "plain  double space"]:
        assert sub.detokenize(sub.tokenize(text)) == text
    again = SubwordTokenizer.train(texts, vocab_size=400)
    assert again.model_bytes == sub.model_bytes  # the same training text gives the same model
    with pytest.raises(DataError, match="vocab_size: 60 is too small .* needs at least"):
        SubwordTokenizer.train(texts, vocab_size=60)


def test_word_vocabulary_min_freq_and_size_cap(tmp_path):
    path = tsv(tmp_path)
    every = build_task(TaskConfig(name="tsv", data=path, **small()))
    frequent = build_task(TaskConfig(name="tsv", data=path, **small(min_freq=3)))
    capped = build_task(TaskConfig(name="tsv", data=path, **small(vocab_size=10)))
    assert "the" in frequent.src_vocab.stoi and "17" in every.src_vocab.stoi and "17" not in frequent.src_vocab.stoi
    assert len(capped.src_vocab) == 10 and {"the", "number", "runs"} <= set(capped.src_vocab.itos)


# --- honest evaluation -------------------------------------------------------------------------


def test_vocabularies_come_from_the_training_split_only(tmp_path):
    task = build_task(TaskConfig(name="tsv", data=tsv(tmp_path), **small()))
    train_words = {tok for ex in task.examples("train") for tok in ex.src}
    test_words = {tok for ex in task.examples("test") for tok in ex.src}
    assert set(task.src_vocab.itos[4:]) == train_words
    assert test_words - train_words and not (test_words - train_words) & set(task.src_vocab.itos)


def test_all_targets_of_a_source_share_its_split_and_are_its_references(tmp_path):
    task = build_task(TaskConfig(name="tsv", data=tsv(tmp_path), seed=3, **small()))
    where = {}
    for split in task.split_names:
        for ex in task.examples(split):
            where.setdefault(tuple(ex.src), set()).add(split)
    assert all(len(splits) == 1 for splits in where.values())
    groups = task.reference_groups("test")
    multi = [refs for _, refs in groups if len(refs) == 2]
    assert multi and all(refs[0].startswith("le ") and refs[1].startswith("Le ") for refs in multi)


def test_held_out_files_become_val_and_test(tmp_path):
    pairs = corpus(40)
    main = tsv(tmp_path, "train.tsv", pairs[:30])
    test = tsv(tmp_path, "test.tsv", pairs[30:])
    task = build_task(TaskConfig(name="tsv", data=main, test_data=test, val_fraction=0.5, **small()))
    assert len(task.examples("test")) == len(pairs) - 30
    assert task.report.files == ["train.tsv", "test.tsv"] and task.report.splits["val"][1] == 5


def test_multi_reference_scores_equal_sacrebleu_on_the_same_grouped_references():
    groups = [(0, ("le chat dort .", "Le chat dort.")), (0, ("le chat dort .", "Le chat dort.")),
              (1, ("il pleut",)), (2, ("bonjour !", "salut !", "coucou !"))]
    hyps = {0: "Le chat dort.", 1: "ignored: same source as position 0", 2: "il pleut fort", 3: "salut"}
    h, r = group_hypotheses(groups, hyps)
    assert h == ["Le chat dort.", "il pleut fort", "salut"] and r == [groups[0][1], groups[2][1], groups[3][1]]
    metrics, signatures = translation_scores(h, r)
    streams = [["le chat dort .", "il pleut", "bonjour !"], ["Le chat dort.", None, "salut !"],
               [None, None, "coucou !"]]
    assert metrics["bleu"] == pytest.approx(sacrebleu.corpus_bleu(h, streams).score)
    assert metrics["chrf"] == pytest.approx(sacrebleu.corpus_chrf(h, streams).score)
    assert metrics["exact_match"] == pytest.approx(1 / 3)
    assert "nrefs:var" in signatures["bleu"] and signatures["chrf"].startswith("nrefs:var")


# --- a subword run end to end ------------------------------------------------------------------


def test_subword_run_reports_its_data_saves_its_tokenizers_and_decodes_without_the_file(tmp_path, one_torch_thread):
    data = tsv(tmp_path, pairs=corpus(60))
    cfg = build_config(overrides={
        "task.name": "tsv", "task.data": data, "task.tokens": "subword", "task.vocab_size": 320,
        "task.val_size": 5, "task.test_size": 5, "model.cell": "gru", "model.attention": "general",
        "model.hidden": 16, "model.emb_dim": 8, "train.steps": 2, "train.eval_every": 2, "train.batch_size": 8,
        "train.threads": 1, "train.eval_examples": 10})
    events = []
    trainer = Trainer(cfg, tmp_path / "run", on_event=events.append)
    finished = trainer.run()
    reported = [e for e in events if isinstance(e, DataReported)]
    assert reported and reported[0].lines[0].startswith("data: pairs.tsv")
    assert {"bleu", "chrf", "exact_match"} <= set(finished.final["test"])
    from workbench.records import EvalRecord, read_records

    record = read_records(tmp_path / "run").of(EvalRecord)[-1]
    assert "nrefs" in record.signatures["bleu"]
    assert (tmp_path / "run" / "tokenizer-src.model").exists() and (tmp_path / "run" / "data_report.json").exists()
    (tmp_path / "pairs.tsv").unlink()
    loaded = runs.load_run(tmp_path / "run")
    text = "le chat numéro 7 court !"
    assert loaded.task.detokenize(loaded.task.tokenize_tgt(text)) == text
    assert loaded.task.src_vocab == trainer.task.src_vocab


def test_shared_vocab_is_one_vocabulary_of_both_training_sides(tmp_path):
    path = tsv(tmp_path)
    words = build_task(TaskConfig(name="tsv", data=path, shared_vocab=True, **small()))
    train = {tok for ex in words.examples("train") for tok in ex.src + ex.tgt}
    assert words.src_vocab == words.tgt_vocab and set(words.src_vocab.itos[4:]) == train
    pieces = build_task(TaskConfig(name="tsv", data=path, shared_vocab=True, **small(tokens="subword", vocab_size=320)))
    assert pieces.src_vocab == pieces.tgt_vocab
    assert pieces.tokenize_src("chat 7") == pieces.tokenize_tgt("chat 7")  # a name or number is one piece on both sides
    with pytest.raises(UserError, match="task.shared_vocab"):
        TaskConfig(name="reverse", shared_vocab=True).validate()


def test_shared_embeddings_need_a_shared_vocab_and_tie_encoder_to_decoder(tmp_path, one_torch_thread):
    settings = {"task.name": "tsv", "task.data": tsv(tmp_path), "task.tokens": "word", "task.val_size": 5,
                "task.test_size": 5, "model.share_embeddings": True, "model.hidden": 16, "model.heads": 2,
                "train.steps": 2, "train.eval_every": 2, "train.batch_size": 8, "train.eval_examples": 5}
    with pytest.raises(UserError, match="model.share_embeddings.*task.shared_vocab"):
        build_config(overrides={**settings, "model.cell": "transformer"})
    for cell in ("transformer", "gru"):
        cfg = build_config(overrides={**settings, "model.cell": cell, "task.shared_vocab": True})
        trainer = Trainer(cfg, tmp_path / f"run-{cell}")
        trainer.run()
        model = runs.load_run(tmp_path / f"run-{cell}").model
        encoder = model.src_embed.tokens if cell == "transformer" else model.encoder.embed
        decoder = model.decoder.embed.tokens if cell == "transformer" else model.embed
        assert encoder.weight is decoder.weight  # one matrix, also after saving and loading
