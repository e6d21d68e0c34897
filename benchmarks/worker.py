"""Measurements that need a fresh process (environment read at torch's import, peak memory).

    python -m benchmarks.worker '{"kind": "train", "overrides": {...}, "time_cap": 8}'

prints one JSON line with the result. Run by ``threads.py``; not meant for people.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def train(spec: dict) -> dict:
    """Train headless until the configured steps or ``time_cap`` seconds; report tokens/s."""
    from .trainruns import build, run_trainer, tokens_per_second

    config = build(spec["overrides"])
    with tempfile.TemporaryDirectory(prefix="seqbench-worker-") as tmp:
        tl = run_trainer(config, Path(tmp), stop_after_last_step=True, time_cap=spec.get("time_cap"))
    import torch

    return {"tokens_per_s": tokens_per_second(tl), "steps": tl.steps, "tokens": tl.tokens,
            "seconds": tl.last_step_at - tl.loop_start, "threads": torch.get_num_threads()}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    import workbench  # noqa: F401  (as the CLI does: the package first, then torch)

    result = {"train": train}[spec["kind"]](spec)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
