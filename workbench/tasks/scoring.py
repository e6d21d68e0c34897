"""Translation scores with every reference of a source: sacreBLEU's BLEU and chrF, and exact match.

A source listed with several targets is one hypothesis scored against all of them (a model that
produces any of the corpus's translations is right), not several single-reference examples.
"""

from __future__ import annotations


def group_hypotheses(reference_groups: list[tuple[int, tuple[str, ...]]],
                     hyps: dict[int, str]) -> tuple[list[str], list[tuple[str, ...]]]:
    """One (hypothesis, references) per source among the decoded positions ``hyps`` (position -> text).

    ``reference_groups`` is the task's per-position (group id, references); the first decoded
    position of a group speaks for it.
    """
    out_h: list[str] = []
    out_r: list[tuple[str, ...]] = []
    seen: set[int] = set()
    for position in sorted(hyps):
        gid, refs = reference_groups[position]
        if gid in seen:
            continue
        seen.add(gid)
        out_h.append(hyps[position])
        out_r.append(refs)
    return out_h, out_r


def reference_streams(refs: list[tuple[str, ...]]) -> list[list[str | None]]:
    """sacreBLEU's layout: stream k holds every hypothesis's k-th reference (None where it has fewer)."""
    width = max((len(r) for r in refs), default=0)
    return [[r[k] if k < len(r) else None for r in refs] for k in range(width)]


def translation_scores(hyps: list[str], refs: list[tuple[str, ...]]) -> tuple[dict[str, float], dict[str, str]]:
    """({bleu, chrf, exact_match}, {bleu, chrf: sacreBLEU signatures}) of hypotheses against their references."""
    from sacrebleu.metrics import BLEU, CHRF

    if not hyps:
        return {}, {}
    streams = reference_streams(refs)
    bleu, chrf = BLEU(), CHRF()
    metrics = {
        "bleu": float(bleu.corpus_score(hyps, streams).score),
        "chrf": float(chrf.corpus_score(hyps, streams).score),
        "exact_match": sum(h in r for h, r in zip(hyps, refs)) / len(hyps),
    }
    return metrics, {"bleu": str(bleu.get_signature()), "chrf": str(chrf.get_signature())}
