"""Tasks: splits, batches, vocabularies, data errors and the committed sample corpora."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from workbench.errors import DataError, UserError
from workbench.tasks import SAMPLE_DATA_DIR, TASKS, Task, TaskConfig, Vocab, build_task
from workbench.tasks.config import TASK_NAMES
from workbench.tasks.make_data import (
    GENERATED_WITH, NUMBER_RANGE, date_pairs, generator_versions, number_pairs, tsv_bytes,
)
from workbench.tasks.readers import read_tsv
from workbench.tasks.tokenizer import Tokenizer

SMALL = dict(train_size=2000, val_size=100, test_size=200, long_size=50)


def sources(task: Task, split: str) -> set[str]:
    return {"".join(ex.src) for ex in task.examples(split)}


@pytest.fixture(scope="module")
def reverse_task() -> Task:
    return build_task(TaskConfig(name="reverse", **SMALL))


@pytest.fixture(scope="module")
def numbers_task() -> Task:
    return build_task(TaskConfig(name="numbers"))


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# --- registry and config ----------------------------------------------------------------------


def test_registry_lists_every_task_with_a_one_line_description():
    assert list(TASKS) == list(TASK_NAMES)
    for info in TASKS.values():
        assert info.family in ("lm", "seq2seq", "encoder") and "\n" not in info.description
    assert [n for n, i in TASKS.items() if i.needs_data] == ["tsv", "conll", "labels"]


def test_config_round_trips_and_rejects_unknown_keys_and_wrong_types():
    cfg = TaskConfig(name="sort", alphabet="xyz", seed=3)
    assert TaskConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(UserError, match="unknown task option.*blok"):
        TaskConfig.from_dict({"name": "charlm", "blok": 32})
    with pytest.raises(UserError, match="task.max_len: '12' is not allowed; must be an integer"):
        TaskConfig.from_dict({"max_len": "12"})


def test_catalogue_config_and_make_data_import_without_torch():
    code = ("import sys; from workbench.tasks import TASKS, TaskConfig, Vocab; "
            "import workbench.tasks.make_data; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"long_min": 10}, "long_min"),
        ({"alphabet": "aa"}, "alphabet"),
        ({"name": "nope"}, "name"),
        ({"tokens": "word"}, "tokens"),
        ({"alphabet": "ab", "min_len": 1, "max_len": 2}, "reverse"),  # too few strings for val + test
    ],
)
def test_bad_config_is_a_user_error_naming_the_key(changes, key):
    with pytest.raises(UserError, match=key):
        build_task(TaskConfig(**{"name": "reverse", **SMALL, **changes}))


# --- synthetic tasks --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["copy", "reverse", "sort"])
def test_synthetic_splits_are_disjoint_and_deterministic(name):
    task = build_task(TaskConfig(name=name, **SMALL))
    assert task.split_names == ["train", "val", "test", "long"]
    train, val, test = sources(task, "train"), sources(task, "val"), sources(task, "test")
    assert not train & val and not train & test and not val & test
    assert len(task.examples("val")) == len(val) == 100
    again = build_task(TaskConfig(name=name, **SMALL))
    assert again.src_vocab == task.src_vocab and again.tgt_vocab == task.tgt_vocab
    for split in task.split_names:
        assert again.examples(split) == task.examples(split)
    assert build_task(TaskConfig(name=name, seed=1, **SMALL)).examples("val") != task.examples("val")


def test_targets_follow_the_task():
    cfg = TaskConfig(name="sort", alphabet="zyx", **SMALL)  # sort by alphabet order, not by code point
    for ex in build_task(cfg).examples("test")[:50]:
        assert ex.tgt == sorted(ex.src, key="zyx".index)
    for ex in build_task(TaskConfig(name="reverse", **SMALL)).examples("val")[:50]:
        assert ex.tgt == ex.src[::-1]


def test_long_split_is_longer_than_training(reverse_task):
    train_lengths = [len(ex.src) for ex in reverse_task.examples("train")]
    long_lengths = [len(ex.src) for ex in reverse_task.examples("long")]
    assert max(train_lengths) == 12 and min(train_lengths) == 3
    assert min(long_lengths) >= 13 and max(long_lengths) <= 20
    assert reverse_task.max_target_len("long") > reverse_task.max_target_len("train")
    no_long = build_task(TaskConfig(name="copy", **{**SMALL, "long_size": 0}))
    assert no_long.split_names == ["train", "val", "test"]


# --- batches ----------------------------------------------------------------------------------


def test_seq2seq_batch_layout(reverse_task):
    v = reverse_task.tgt_vocab
    batch = next(reverse_task.eval_batches("val", 8))
    exs = reverse_task.examples("val")[:8]
    B, S = batch.src.shape
    assert B == 8 and S == max(len(ex.src) for ex in exs)
    assert batch.tgt_in.shape == batch.tgt_out.shape == (8, max(len(ex.tgt) for ex in exs) + 1)
    assert batch.src.dtype == batch.tgt_in.dtype == torch.long
    for i, ex in enumerate(exs):
        n = len(ex.tgt)
        assert batch.src_lengths[i] == len(ex.src)
        assert reverse_task.src_vocab.decode(batch.src[i]) == ex.src
        assert batch.tgt_in[i, 0] == v.bos_id and v.decode(batch.tgt_in[i]) == ex.tgt
        assert batch.tgt_out[i, n] == v.eos_id and v.decode(batch.tgt_out[i]) == ex.tgt
        assert (batch.tgt_out[i, n + 1 :] == v.pad_id).all() and (batch.src[i, len(ex.src) :] == 0).all()
    assert batch.n_tokens == int((batch.tgt_out != v.pad_id).sum()) == sum(len(ex.tgt) + 1 for ex in exs)


def test_same_generator_state_gives_the_same_batch(reverse_task):
    g = torch.Generator().manual_seed(123)
    reverse_task.train_batch(16, g)
    state = g.get_state()
    first = reverse_task.train_batch(16, g)
    g.set_state(state)
    again = reverse_task.train_batch(16, g)
    for a, b in [(first.src, again.src), (first.tgt_in, again.tgt_in), (first.tgt_out, again.tgt_out)]:
        assert torch.equal(a, b)
    assert not torch.equal(reverse_task.train_batch(16, g).src_lengths, first.src_lengths)


def test_length_batches_carry_little_padding_and_reach_every_example(reverse_task):
    """--length-batches: rows of one batch have (nearly) one length, and over many draws every example comes up."""
    g = torch.Generator().manual_seed(0)
    n = len(reverse_task.examples("train"))
    seen: set[tuple[int, ...]] = set()
    padding = []
    for _ in range(400):
        batch = reverse_task.train_batch(32, g, by_length=True)
        padding.append(1 - batch.n_tokens / batch.tgt_out.numel())
        seen.update(tuple(row[: int(length)].tolist()) for row, length in zip(batch.src, batch.src_lengths))
    random = reverse_task.train_batch(32, torch.Generator().manual_seed(0))
    assert sum(padding) / len(padding) < 0.05 < 1 - random.n_tokens / random.tgt_out.numel()
    assert len(seen) > 0.95 * len({tuple(ex.src) for ex in reverse_task.examples("train")}) and n >= 2000
    g2 = torch.Generator().manual_seed(5)
    first = reverse_task.train_batch(32, g2, by_length=True)
    g2.manual_seed(5)
    assert torch.equal(first.src, reverse_task.train_batch(32, g2, by_length=True).src)


def test_eval_batches_are_ordered_and_limited(reverse_task):
    batches = list(reverse_task.eval_batches("test", 64, limit=150))
    assert [len(b) for b in batches] == [64, 64, 22]
    decoded = [reverse_task.src_vocab.decode(row) for b in batches for row in b.src]
    assert decoded == [ex.src for ex in reverse_task.examples("test")[:150]]
    assert sum(len(b) for b in reverse_task.eval_batches("test", 64)) == 200


def test_eval_batches_by_length_cover_the_same_examples_grouped_by_length(reverse_task):
    batches = list(reverse_task.eval_batches("test", 64, limit=150, by_length=True))
    assert [len(b) for b in batches] == [64, 64, 22]
    index = torch.cat([b.index for b in batches])
    assert sorted(index.tolist()) == list(range(150))
    lengths = torch.cat([b.src_lengths for b in batches])
    assert torch.all(lengths[1:] >= lengths[:-1])  # short sources first, so batches pad little
    examples = reverse_task.examples("test")
    for b in batches:
        for row, i in zip(b.src, b.index.tolist()):
            assert reverse_task.src_vocab.decode(row) == examples[i].src


def test_charlm_default_corpus_loads_offline_and_batches_windows(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the default corpus must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    task = build_task(TaskConfig(name="charlm", block=32))
    assert task.family == "lm" and task.src_vocab is None and task.split_names == ["train", "val"]
    assert "assert" in task.detokenize(task.examples("train")[0].tgt)
    batch = task.train_batch(4, torch.Generator().manual_seed(0))
    assert batch.src is None and batch.src_lengths is None
    assert batch.tgt_in.shape == batch.tgt_out.shape == (4, 32) and batch.n_tokens == 4 * 32
    assert torch.equal(batch.tgt_in[:, 1:], batch.tgt_out[:, :-1])
    everything = list(task.eval_batches("val", 2))
    first, second = everything[0].tgt_in[0], everything[0].tgt_in[1]
    assert task.tgt_vocab.decode(torch.cat([first, second])) == task.examples("val")[0].tgt + task.examples("val")[1].tgt
    assert sum(len(b) for b in everything) == len(task.examples("val")) and task.max_target_len("val") == 32


def test_charlm_evaluation_subset_spreads_over_the_whole_split():
    """A limited evaluation samples the start, middle and end of val alike, the same windows every time."""
    task = build_task(TaskConfig(name="charlm", block=32))
    examples = task.examples("val")
    n = len(examples)
    picked = [task.tgt_vocab.decode(w) for b in task.eval_batches("val", 4, limit=9) for w in b.tgt_in]
    assert len(picked) == 9
    positions = [next(i for i, ex in enumerate(examples) if ex.tgt == p) for p in picked]
    assert positions[0] == 0 and positions[-1] == n - 1
    gaps = [b - a for a, b in zip(positions, positions[1:])]
    assert max(gaps) - min(gaps) <= 1  # evenly spaced
    again = [task.tgt_vocab.decode(w) for b in task.eval_batches("val", 4, limit=9) for w in b.tgt_in]
    assert again == picked


# --- vocabularies and tokenisers --------------------------------------------------------------


def test_vocab_round_trip():
    vocab = Vocab.build([["b", "a"], ["c", "a"]])
    assert vocab.itos == ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c"] and len(vocab) == 7
    assert Vocab.from_dict(vocab.to_dict()) == vocab
    ids = vocab.encode(["c", "a", "z"])
    assert ids == [6, 4, vocab.unk_id] and vocab.unknown(["c", "z", "z", "<pad>"]) == ["z", "<pad>"]
    assert vocab.decode([vocab.bos_id, 6, 4, vocab.eos_id, 5, 0]) == ["c", "a"]
    assert vocab.decode([1, 6, 2, 0], strip_special=False) == ["<bos>", "c", "<eos>", "<pad>"]
    assert vocab.encode(["<pad>"]) == [vocab.unk_id]  # a data token never becomes padding


def test_build_with_saved_vocabs_reuses_them(tmp_path):
    path = write(tmp_path, "pairs.tsv", b"ab\tba\nabc\tcba\nbb\tbb\nca\tac\n")
    first = build_task(TaskConfig(name="tsv", data=path, tokens="char"))
    other = write(tmp_path, "other.tsv", b"abz\tzba\nabc\tcba\nbb\tbb\nca\tac\n")
    reused = build_task(TaskConfig(name="tsv", data=other, tokens="char"), vocabs=(first.src_vocab, first.tgt_vocab))
    assert reused.src_vocab is first.src_vocab and "z" not in reused.tgt_vocab.stoi
    assert reused.src_vocab.unknown(reused.tokenize_src("zab")) == ["z"]
    with pytest.raises(UserError, match="source vocabulary"):
        build_task(TaskConfig(name="tsv", data=path), vocabs=(None, first.tgt_vocab))


def test_word_tokens_split_hyphens_and_round_trip_the_numbers_file(numbers_task):
    assert numbers_task.tokenize_tgt("soixante-dix-sept") == ["soixante", "-", "dix", "-", "sept"]
    assert numbers_task.tokenize_src("one thousand, two") == ["one", "thousand", ",", "two"]
    words = Tokenizer("word")
    for source, target in read_tsv(SAMPLE_DATA_DIR / "numbers.tsv"):
        assert words.detokenize(words.tokenize(source)) == source
        assert words.detokenize(words.tokenize(target)) == target


# --- file tasks and data errors ---------------------------------------------------------------


def test_file_splits_are_disjoint_by_source_and_small_files_still_split(tmp_path, numbers_task):
    assert [len(numbers_task.examples(s)) for s in numbers_task.split_names] == [8500, 500, 1000]
    assert not sources(numbers_task, "train") & sources(numbers_task, "test")
    lines = b"".join(b"s%d\tt%d\n" % (i % 4, i) for i in range(8))  # 4 sources, 2 targets each
    task = build_task(TaskConfig(name="tsv", data=write(tmp_path, "tiny.tsv", lines), tokens="word"))
    sizes = {split: len(task.examples(split)) for split in task.split_names}
    assert sizes == {"train": 4, "val": 2, "test": 2}
    assert not sources(task, "train") & (sources(task, "val") | sources(task, "test"))


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("gone.tsv", None, r"gone\.tsv: no such file"),
        ("folder", "dir", r"folder: is a directory"),
        ("empty.tsv", b"\n  \n", r"empty\.tsv: file is empty"),
        ("latin1.tsv", b"a\tb\nc\tb\ncaf\xe9\tx\n", r"latin1\.tsv:3: not UTF-8 \(byte 0xe9 at byte offset 11\)"),
        ("two.tsv", b"a\tb\tc\n", r"two\.tsv:1: expected 'source<TAB>target', found 2 tabs"),
        ("blank.tsv", b"a\tb\n \tb\n", r"blank\.tsv: needs at least 3 .*1 empty source \(line 2\)"),
        ("tatoeba.tsv", b"Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #1\n", r"tatoeba\.tsv:1: .*Tatoeba.*--columns 1,2"),
        ("few.tsv", b"a\tb\na\tc\n", r"few\.tsv: needs at least 3 different sources"),
    ],
)
def test_data_errors_are_one_line_and_name_the_file(tmp_path, name, content, expected):
    if content == "dir":
        (tmp_path / name).mkdir()
    elif content is not None:
        write(tmp_path, name, content)
    with pytest.raises(DataError, match=expected) as err:
        build_task(TaskConfig(name="tsv", data=str(tmp_path / name)))
    assert "\n" not in str(err.value)


def test_lm_text_too_short_and_tsv_without_data_are_data_errors(tmp_path):
    short = write(tmp_path, "short.txt", b"just a few characters\n" * 4)
    with pytest.raises(DataError, match=r"short\.txt: 88 characters is too short .* need at least 650") as err:
        build_task(TaskConfig(name="charlm", data=short))
    assert "\n" not in str(err.value)
    assert build_task(TaskConfig(name="charlm", data=short, block=4)).split_names == ["train", "val"]
    with pytest.raises(DataError, match="tsv needs a data file"):
        build_task(TaskConfig(name="tsv"))


# --- sample corpora ---------------------------------------------------------------------------


def test_every_date_input_has_exactly_one_output():
    pairs = read_tsv(SAMPLE_DATA_DIR / "dates.tsv")
    meanings: dict[str, set[str]] = {}
    for source, target in pairs:
        meanings.setdefault(source, set()).add(target)
    assert len(pairs) == 20_000 and len(meanings) == len(pairs)
    assert all(len(targets) == 1 for targets in meanings.values())
    assert all(re.fullmatch(r"(19[5-9]\d|20[0-4]\d)-[01]\d-[0-3]\d", t) for _, t in pairs)


def test_installed_package_without_sample_data_generates_it_into_the_cache(monkeypatch, tmp_path):
    import workbench.tasks.file_tasks as file_tasks
    import workbench.tasks.make_data as make_data

    monkeypatch.setattr(file_tasks, "SAMPLE_DATA_DIR", tmp_path / "not-installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(make_data, "number_pairs", lambda: [("one", "un")])  # the real one takes ~1 s
    task = build_task(TaskConfig(name="dates", train_size=50, val_size=10, test_size=10))
    cached = tmp_path / "cache" / "seqbench" / "sample_data" / "dates.tsv"
    assert cached.read_bytes() == tsv_bytes(date_pairs())
    assert len(task.examples("test")) == 10


@pytest.mark.skipif(generator_versions() != GENERATED_WITH, reason="other Babel/num2words versions")
def test_sample_files_regenerate_identically():
    assert tsv_bytes(date_pairs()) == (SAMPLE_DATA_DIR / "dates.tsv").read_bytes()
    # num2words' French takes ~1.5 s for all 10,000 lines, which are independent: every 7th
    # number (7 is coprime to 100, so every final two digits, 70-99 included) is enough.
    lines = (SAMPLE_DATA_DIR / "numbers.tsv").read_bytes().splitlines(keepends=True)
    assert len(lines) == len(NUMBER_RANGE)
    sample = NUMBER_RANGE[::7]
    assert tsv_bytes(number_pairs(sample)) == b"".join(lines[k] for k in sample)
