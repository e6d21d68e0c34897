"""Skip-thought's sentence space: every corpus sentence's vector, its nearest neighbours and a 2-D map.

The neighbour view of Seq2Seq-Vis (Strobelt et al. 2018) for a skip-thought run: each distinct
sentence of the task is encoded once (the encoder's sentence vector h_i, what both decoders read),
neighbours of a sentence are the corpus sentences of highest cosine similarity, and the map is the
projection on the two principal axes (PCA by SVD of the centred vectors). Used by ``seqbench
decode`` (printed, and in ``--json``) and by the app's neighbour screen alike.

    space = sentence_space(model, task)
    hits = space.nearest(space.vector_of(model, task, "anna buys some fish"), k=8)
    grid = space.grid(60, 16, marks=[("@", point)])   # character cells for a scatter plot
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch
from torch import Tensor

MAX_SENTENCES = 4000  # a long --data text: the map spreads this many sentences evenly over it


@dataclass
class Neighbour:
    """One corpus sentence near the query: its text, cosine similarity, split and topic (toy corpus)."""

    text: str
    cosine: float
    split: str
    topic: Optional[str]
    index: int = -1  # its row in the SentenceSpace (vectors, coords)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "cosine": round(self.cosine, 6), "split": self.split, "topic": self.topic}


@dataclass
class SentenceSpace:
    """Sentence vectors of a corpus and their principal axes."""

    texts: list[str]
    splits: list[str]
    topics: list[Optional[str]]
    vectors: Tensor  # (N, De) sentence vectors
    mean: Tensor  # (De,) mean vector, removed before projecting
    axes: Tensor  # (De, 2) the first two principal directions
    explained: tuple[float, float]  # share of the variance along each axis
    coords: Tensor  # (N, 2) every sentence on the map
    total: int  # distinct sentences in the corpus (more than len(texts) when it was thinned)
    agreement: Optional[float] = None  # topic_agreement of the space (None without topics)

    @property
    def topic_names(self) -> list[str]:
        """The corpus's topics in the order it lists them (empty for a corpus without topics)."""
        return list(dict.fromkeys(t for t in self.topics if t))

    def nearest(self, vector: Tensor, k: int = 8, skip: str = "") -> list[Neighbour]:
        """The ``k`` corpus sentences most cosine-similar to ``vector`` (De,), except the text ``skip``."""
        sims = torch.nn.functional.cosine_similarity(self.vectors, vector.unsqueeze(0), dim=1)  # (N,)
        out: list[Neighbour] = []
        for i in torch.argsort(sims, descending=True).tolist():
            if self.texts[i] == skip:
                continue
            out.append(Neighbour(self.texts[i], float(sims[i]), self.splits[i], self.topics[i], i))
            if len(out) == k:
                break
        return out

    def project(self, vector: Tensor) -> tuple[float, float]:
        """Where ``vector`` (De,) falls on the map."""
        x, y = ((vector - self.mean) @ self.axes).tolist()
        return x, y

    def vector_of(self, model: Any, task: Any, text: str) -> Tensor:
        """The sentence vector (De,) of typed ``text``."""
        return _encode(model, task, [task.tokenize_src(text)])[0]

    def grid(self, width: int, height: int, marks: Sequence[tuple[str, tuple[float, float]]] = (),
             ) -> list[list[tuple[str, Optional[str]]]]:
        """``height`` rows of ``width`` cells (char, topic) for a scatter plot; ``marks`` (char, point) on top.

        A cell shows the first letter of its sentences' topic (``·`` without topics), ``+`` where
        topics meet; marks are drawn last, so the input stays visible.
        """
        cells: list[list[tuple[str, Optional[str]]]] = [[(" ", None)] * width for _ in range(height)]
        lo, hi = self.coords.min(0).values, self.coords.max(0).values  # (2,) each
        span = (hi - lo).clamp(min=1e-9)

        def cell(x: float, y: float) -> tuple[int, int]:
            col = int((x - float(lo[0])) / float(span[0]) * (width - 1) + 0.5)
            row = int((float(hi[1]) - y) / float(span[1]) * (height - 1) + 0.5)  # larger y higher up
            return min(max(row, 0), height - 1), min(max(col, 0), width - 1)

        for (x, y), topic in zip(self.coords.tolist(), self.topics):
            r, c = cell(x, y)
            char = topic[0] if topic else "·"
            old, old_topic = cells[r][c]
            cells[r][c] = (char, topic) if old == " " or old_topic == topic else ("+", None)
        for char, (x, y) in marks:
            r, c = cell(x, y)
            cells[r][c] = (char, "mark")
        return cells


@torch.no_grad()
def sentence_space(model: Any, task: Any, limit: int = MAX_SENTENCES) -> SentenceSpace:
    """Encode every distinct sentence of ``task`` (at most ``limit``, spread evenly) and find its axes."""
    rows = task.sentences()
    total = len(rows)
    if total > limit:
        rows = [rows[i * total // limit] for i in range(limit)]
    vectors = _encode(model, task, [task.tokenize_src(text) for text, _, _ in rows])  # (N, De)
    mean = vectors.mean(0)  # (De,)
    centred = vectors - mean  # (N, De)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)  # vh (min(N, De), De)
    axes = vh[:2].T.clone()  # (De, 2)
    if axes.shape[1] < 2:  # a single sentence has one direction at most
        axes = torch.cat([axes, torch.zeros(axes.shape[0], 2 - axes.shape[1])], 1)
    signs = torch.sign(axes[axes.abs().argmax(0), torch.arange(2)])  # (2,) the largest loading positive
    axes = axes * torch.where(signs == 0, torch.ones_like(signs), signs)
    power = s.pow(2)
    share = (power / power.sum().clamp(min=1e-12)).tolist() + [0.0, 0.0]
    space = SentenceSpace([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], vectors, mean, axes,
                          (share[0], share[1]), centred @ axes, total)
    space.agreement = topic_agreement(space)
    return space


@torch.no_grad()
def _encode(model: Any, task: Any, sentences: list[list[str]], batch_size: int = 256) -> Tensor:
    """Sentence vectors (N, De) of token lists, on the CPU (empty sentences read as one <unk>)."""
    vocab, device = task.src_vocab, model.device
    out = []
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(sentences), batch_size):
            ids = [vocab.encode(tokens) or [vocab.unk_id] for tokens in sentences[start: start + batch_size]]
            width = max(len(x) for x in ids)
            src = torch.tensor([x + [vocab.pad_id] * (width - len(x)) for x in ids], device=device)  # (B, S)
            lengths = torch.tensor([len(x) for x in ids], device=device)  # (B,)
            out.append(model.sentence_vectors(src, lengths).float().cpu())  # (B, De)
    finally:
        model.train(was_training)
    return torch.cat(out)  # (N, De)


def topic_agreement(space: SentenceSpace, k: int = 5) -> Optional[float]:
    """Share of each sentence's ``k`` nearest neighbours that come from its own topic (None without topics).

    A student's check of the toy corpus: how far the sentence vectors group sentences by story topic.
    """
    if not space.topics or space.topics[0] is None:
        return None
    unit = torch.nn.functional.normalize(space.vectors, dim=1)  # (N, De)
    sims = unit @ unit.T  # (N, N)
    sims.fill_diagonal_(-2.0)
    top = sims.topk(min(k, len(space.texts) - 1), dim=1).indices  # (N, k)
    topics = space.topics
    same = [topics[j] == topics[i] for i, row in enumerate(top.tolist()) for j in row]
    return sum(same) / max(len(same), 1)
