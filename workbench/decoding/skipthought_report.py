"""What ``seqbench decode`` prints for a skip-thought run: both decoders, the nearest sentences, the map.

For one input sentence: each decoder's output (greedy, or as the decode options say) with the
usual report and ``--show`` panels, then the corpus sentences nearest by sentence vector (cosine)
and a character-cell scatter of every sentence on the two principal axes, the input marked ``@``
and its neighbours ``*``. ``--json`` writes all of it (``decoders``, ``neighbours``, ``projection``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.text import Text

from ..errors import UserError
from ..runs import atomic_write
from .neighbours import SentenceSpace, sentence_space
from .report import Report
from .scoring import ReferenceScore

TOPIC_COLOURS = ("#5fafff", "#ffaf00", "#5fd75f", "#d787d7", "#d7875f", "#87d7d7", "#d7d75f", "#ff8787")
HEADINGS = {"prev": "previous sentence (decoder of sentence i−1)", "next": "next sentence (decoder of sentence i+1)"}


def topic_colour(topic: str, topics: list[str]) -> str:
    """A stable colour per topic (the order the corpus lists them)."""
    return TOPIC_COLOURS[topics.index(topic) % len(TOPIC_COLOURS)] if topic in topics else "white"


def scatter_text(space: SentenceSpace, marks: list[tuple[str, tuple[float, float]]], width: int, height: int) -> Text:
    """The map as coloured text: a letter per topic, ``+`` where topics meet, the marks in bold red."""
    topics = space.topic_names
    out = Text()
    for r, row in enumerate(space.grid(width, height, marks)):
        if r:
            out.append("\n")
        out.append("│")
        for char, topic in row:
            style = "bold red" if topic == "mark" else topic_colour(topic, topics) if topic else "dim"
            out.append(char, style=style)
    out.append("\n└" + "─" * width)
    return out


def legend(space: SentenceSpace) -> Text:
    topics = space.topic_names
    out = Text("@ the input  * its neighbours  ")
    for topic in topics:
        out.append(f"{topic[0]} {topic}  ", style=topic_colour(topic, topics))
    if not topics:
        out.append("· a sentence  ")
    out.append("+ several topics", style="dim")
    return out


def run_skip_thought(loaded: Any, args: Any, panels: list[str], job: Any, config_for: Callable[[Any], Any]) -> int:
    """Decode ``job`` (``--input`` / ``--example``) with both decoders and print its neighbourhood.

    ``config_for(job)`` is the DecodeConfig the options ask for; returns the exit code."""
    task, model = loaded.task, loaded.model
    err, console = Console(stderr=True), Console()
    for warning in job.warnings:
        err.print(Text.assemble(("warning: ", "bold yellow"), warning))
    data: dict[str, Any] = {"run": str(loaded.path), "input": task.detokenize_src(job.src.tokens), "decoders": {}}
    for name, start in task.decoders.items():
        own = job.start in (None, start) if job.example is None else job.start == start  # whose reference it is
        one = dataclasses.replace(job, start=start, reference=job.reference if own else None,
                                  reference_ids=job.reference_ids if own else None)
        session = one.session(model, task, config_for(one), history=False)
        session.run()
        score = None if one.reference_ids is None else ReferenceScore.from_session(
            one.teacher_session(model, task, show_k=session.config.show_k, history=False))
        console.print(Text(HEADINGS.get(name, name), style="bold underline"))
        report = Report(loaded, session, one, score, console)
        report.summary()
        report.panels(panels)
        console.print()
        data["decoders"][name] = {"output": report.text(report.best.tokens), "logprob": report.best.logprob,
                                  "session": session.to_json(),
                                  "reference": score.to_json(report.itos) if score is not None else None}
    space = sentence_space(model, task)
    data.update(neighbourhood(space, model, task, data["input"], args.neighbours, console))
    if args.json:
        try:
            atomic_write(Path(args.json), json.dumps(data, allow_nan=False) + "\n")
        except OSError as exc:
            raise UserError(f"cannot write --json {args.json}: {exc.strerror or exc}") from None
        console.print(Text(f"wrote {args.json}", style="dim"))
    return 0


def neighbourhood(space: SentenceSpace, model: Any, task: Any, text: str, k: int, console: Console) -> dict:
    """Print the nearest sentences and the map; return them as JSON-ready dicts."""
    vector = space.vector_of(model, task, text)
    hits = space.nearest(vector, k=k, skip=text)
    thinned = f", {len(space.texts)} of {space.total} spread evenly" if space.total > len(space.texts) else ""
    console.print(Text(f"nearest sentences by sentence vector (cosine, over {len(space.texts)} corpus sentences"
                       f"{thinned})", style="bold underline"))
    topics = space.topic_names
    for hit in hits:
        line = Text(f"  {hit.cosine:+.3f}  ")
        line.append(hit.text)
        if hit.topic:
            line.append(f"  {hit.topic}", style=topic_colour(hit.topic, topics))
        line.append(f"  ({hit.split})", style="dim")
        console.print(line)
    agreement = space.agreement
    if agreement is not None:
        console.print(Text(f"  over the whole corpus, {100 * agreement:.1f}% of each sentence's 5 nearest "
                           "sentences share its topic", style="dim"))
    here = space.project(vector)
    console.print()
    console.print(Text(f"sentence vectors on their two principal axes (PCA: {100 * space.explained[0]:.1f}% and "
                       f"{100 * space.explained[1]:.1f}% of the variance)", style="bold underline"))
    marks = [("*", tuple(space.coords[h.index].tolist())) for h in hits] + [("@", here)]
    console.print(scatter_text(space, marks, max(20, min(100, console.width - 4)), 16))
    console.print(legend(space))
    return {"neighbours": [h.to_json() for h in hits],
            "topic_agreement": agreement,
            "projection": {"explained": list(space.explained), "input": list(here),
                           "points": [{"text": t, "x": round(x, 6), "y": round(y, 6), "topic": topic}
                                      for t, (x, y), topic in zip(space.texts, space.coords.tolist(), space.topics)]}}

