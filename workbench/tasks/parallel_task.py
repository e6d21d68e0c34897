"""The parallel tasks (dates, numbers, tsv) built honestly: split by source, fitted on training only.

    read files -> split by source -> fit tokenisers on train -> tokenise, drop over-long pairs
    -> vocabularies from train -> Seq2SeqTask with its references and its DataReport

Every target of a source stays in the source's split and is one of its references when scoring.
Val and test come from ``val_data``/``test_data`` when given, else from sources of ``data``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import DataError
from workbench.tasks.base import Example
from workbench.tasks.catalog import TASKS
from workbench.tasks.config import TaskConfig
from workbench.tasks.data_report import DataReport, percentiles
from workbench.tasks.file_tasks import NATURAL_UNIT, tsv_path
from workbench.tasks.parallel import Pair, ReadLog, describe_drops, file_name, read_pairs
from workbench.tasks.seq2seq_task import Seq2SeqTask
from workbench.tasks.subword import DEFAULT_VOCAB_SIZE, TOKENIZER_FILES, SubwordTokenizer
from workbench.tasks.tokenizer import Tokenizer
from workbench.tasks.vocab import SPECIALS, Vocab

SPLITS = ("train", "val", "test")


@dataclass
class Group:
    """A source with all its targets: one unit of splitting and one multi-reference score."""

    source: str
    pairs: list[Pair]
    file: str


def split_groups(cfg: TaskConfig, main: list[Pair], main_name: str,
                 held: dict[str, tuple[list[Pair], str]], dropped: str = "") -> dict[str, list[Group]]:
    """train/val/test groups: val and test from their files when given, else sources of the main file.

    Distinct sources are shuffled with ``cfg.seed``. A carved split takes ``val_size`` /
    ``test_size`` sources, capped at ``val_fraction`` of the sources and at half of the rest.
    """
    groups = _group(main, main_name)
    out: dict[str, list[Group]] = {name: _group(*held[name]) for name in held}
    carve = [name for name in ("val", "test") if name not in held]
    if carve and len(groups) < 1 + len(carve):
        raise DataError(f"{main_name}: needs at least {1 + len(carve)} different sources for "
                        f"{'/'.join(['train', *carve])}, found {len(groups)}" + (f"; dropped {dropped}" if dropped else ""))
    random.Random(f"split:{cfg.seed}").shuffle(groups)
    cap = max(1, min(int(len(groups) * cfg.val_fraction), (len(groups) - 1) // max(1, len(carve))))
    start = 0
    for name in carve:
        n = min(cfg.val_size if name == "val" else cfg.test_size, cap)
        out[name] = groups[start: start + n]
        start += n
    out["train"] = groups[start:]
    return {name: out[name] for name in SPLITS}


def _group(pairs: list[Pair], name: str) -> list[Group]:
    by_source: dict[str, Group] = {}
    for pair in pairs:
        by_source.setdefault(pair.source, Group(pair.source, [], name)).pairs.append(pair)
    return list(by_source.values())


def make_tokenizers(cfg: TaskConfig, train: list[Group], run_dir: Path | None):
    """(source, target) tokenisers: char/word are rules; subword is loaded from the run or trained on train."""
    unit = cfg.tokens or NATURAL_UNIT[cfg.name]
    if unit != "subword":
        rule = Tokenizer(unit, strip=True)
        return rule, rule
    saved = [Path(run_dir) / TOKENIZER_FILES[side] for side in ("src", "tgt")] if run_dir else []
    if saved and all(p.exists() for p in saved):
        return tuple(SubwordTokenizer(p.read_bytes()) for p in saved)
    size = cfg.vocab_size or DEFAULT_VOCAB_SIZE
    sources = [g.source for g in train]
    targets = [p.target for g in train for p in g.pairs]
    if cfg.shared_vocab:  # one model for both sides: a name or a number is the same piece in both
        shared = SubwordTokenizer.train(sources + targets, size, cfg.subword_model)
        return shared, shared
    return (SubwordTokenizer.train(sources, size, cfg.subword_model),
            SubwordTokenizer.train(targets, size, cfg.subword_model))


def build_parallel_task(cfg: TaskConfig, vocabs: tuple[Vocab, Vocab] | None = None,
                        run_dir: Path | None = None, read_data: bool = True) -> Seq2SeqTask:
    """The dates/numbers/tsv task of ``cfg``; a saved run passes its vocabularies and directory.

    A saved run whose data file is gone (or that is asked not to read it) builds with empty splits
    and the data report it saved: it decodes typed input.
    """
    path = tsv_path(cfg)
    if vocabs is not None and run_dir is not None and (not read_data or not Path(path).expanduser().exists()):
        src_tok, tgt_tok = make_tokenizers(cfg, [], run_dir)
        return Seq2SeqTask(cfg, {name: [] for name in SPLITS}, vocabs[0], vocabs[1], src_tok, tgt_tok,
                           TASKS[cfg.name].is_translation, report=DataReport.load(run_dir))
    main, main_log = read_pairs(path, cfg.columns, cfg.normalize)
    logs, held = [main_log], {}
    for name, extra in (("val", cfg.val_data), ("test", cfg.test_data)):
        if extra:
            pairs, log = read_pairs(extra, cfg.columns, cfg.normalize)
            held[name] = (pairs, file_name(extra))
            logs.append(log)
    groups = split_groups(cfg, main, file_name(path), held, describe_drops(main_log.dropped) if main_log.dropped else "")
    src_tok, tgt_tok = make_tokenizers(cfg, groups["train"], run_dir)
    report = DataReport(files=[file_name(log.path) for log in logs], unit=cfg.tokens or NATURAL_UNIT[cfg.name])
    _log_reading(report, logs)
    splits, references, sizes = {}, {}, []
    for name in SPLITS:
        splits[name], references[name] = _tokenized(cfg, groups[name], src_tok, tgt_tok, report, sizes)
    report.longest = [where for _, where in sorted(sizes, key=lambda item: -item[0])[:3]]
    if not splits["train"]:
        raise DataError(f"{file_name(path)}: no training pair is left ({report.n_dropped} dropped)")
    if vocabs is None:
        vocabs = _vocabularies(cfg, splits["train"], src_tok, tgt_tok)
    _summarize(report, splits, groups, vocabs)
    return Seq2SeqTask(cfg, splits, vocabs[0], vocabs[1], src_tok, tgt_tok, TASKS[cfg.name].is_translation,
                       references=references, report=report)


def _log_reading(report: DataReport, logs: list[ReadLog]) -> None:
    for log in logs:
        report.lines += log.lines
        report.normalized_lines += log.normalized_lines
        for code, n in log.normalized.items():
            report.normalized[code] = report.normalized.get(code, 0) + n
        for reason, lines in log.dropped.items():
            report.dropped.setdefault(reason, []).extend(f"{file_name(log.path)}:{n}" for n in lines)


def _tokenized(cfg: TaskConfig, groups: list[Group], src_tok, tgt_tok, report: DataReport,
               sizes: list[tuple[int, str]]):
    """Examples and per-example (group id, references) of one split; over-long pairs dropped and logged.

    ``sizes`` collects (tokens, "file:line (S+T tokens)") of the split's longest pairs, for the report.
    """
    examples: list[Example] = []
    references: list[tuple[int, tuple[str, ...]]] = []
    too_long: list[tuple[int, str]] = []
    for gid, group in enumerate(groups):
        src = src_tok.tokenize(group.source)
        kept = []
        for pair in group.pairs:
            tgt = tgt_tok.tokenize(pair.target)
            where = f"{group.file}:{pair.line}"
            too_long.append((len(src) + len(tgt), f"{where} ({len(src)}+{len(tgt)} tokens)"))
            reason = _length_reason(cfg, len(src), len(tgt))
            if reason:
                report.dropped.setdefault(reason, []).append(where)
                continue
            kept.append((tgt, pair.target))
        refs = tuple(text for _, text in kept)
        for tgt, _ in kept:
            examples.append(Example(src, tgt))
            references.append((gid, refs))
    sizes.extend(sorted(too_long, key=lambda item: -item[0])[:3])
    return examples, references


def _length_reason(cfg: TaskConfig, n_src: int, n_tgt: int) -> str:
    if cfg.max_src_len and n_src > cfg.max_src_len:
        return f"source longer than {cfg.max_src_len} tokens"
    if cfg.max_tgt_len and n_tgt > cfg.max_tgt_len:
        return f"target longer than {cfg.max_tgt_len} tokens"
    return ""


def _vocabularies(cfg: TaskConfig, train: list[Example], src_tok, tgt_tok) -> tuple[Vocab, Vocab]:
    """Vocabularies of the training split only: a subword model's pieces, else the frequent tokens.

    ``shared_vocab``: one vocabulary of both sides, the same for source and target.
    """
    if isinstance(src_tok, SubwordTokenizer):
        return (Vocab(list(SPECIALS) + sorted(set(src_tok.pieces()) - set(SPECIALS))),
                Vocab(list(SPECIALS) + sorted(set(tgt_tok.pieces()) - set(SPECIALS))))
    if cfg.shared_vocab:
        both = Vocab.build([tokens for ex in train for tokens in (ex.src, ex.tgt)], cfg.min_freq, cfg.vocab_size)
        return both, both
    return (Vocab.build((ex.src for ex in train), cfg.min_freq, cfg.vocab_size),
            Vocab.build((ex.tgt for ex in train), cfg.min_freq, cfg.vocab_size))


def _summarize(report: DataReport, splits: dict[str, list[Example]], groups, vocabs) -> None:
    src_vocab, tgt_vocab = vocabs
    report.kept = sum(len(examples) for examples in splits.values())
    report.splits = {name: [len(splits[name]), len(groups[name])] for name in SPLITS}
    report.src_lengths = percentiles([len(ex.src) for ex in splits["train"]])
    report.tgt_lengths = percentiles([len(ex.tgt) for ex in splits["train"]])
    report.src_vocab, report.tgt_vocab = len(src_vocab), len(tgt_vocab)
    for name in ("val", "test"):
        if splits[name]:
            report.unknown[name] = [_unknown_share(src_vocab, [ex.src for ex in splits[name]]),
                                    _unknown_share(tgt_vocab, [ex.tgt for ex in splits[name]])]
    long = {r: w for r, w in report.dropped.items() if "longer than" in r}
    if long:
        n = sum(len(w) for w in long.values())
        report.warnings.append(f"dropped {n:,} pairs over the length limits (--max-src-len/--max-tgt-len); "
                               f"longest read: {', '.join(report.longest)}")


def _unknown_share(vocab: Vocab, token_lists: list[list[str]]) -> float:
    total = unknown = 0
    for tokens in token_lists:
        ids = vocab.encode(tokens)
        total += len(ids)
        unknown += sum(1 for i in ids if i == vocab.unk_id)
    return unknown / max(total, 1)
