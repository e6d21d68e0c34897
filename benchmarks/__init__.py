"""seqbench's benchmarks: speed, memory and time-to-accuracy measured against real baselines.

    python -m benchmarks                 # every benchmark, full length (the lead runs this on a quiet machine)
    python -m benchmarks --quick         # every benchmark for a few seconds: proves the harness works
    python -m benchmarks --only decoding,startup
    python -m benchmarks --list

Each benchmark is a function registered with ``@benchmark`` (``core.py``) in one module per topic:
``overhead.py`` (trainer vs a bare PyTorch loop), ``accuracy.py`` (time to each task's target),
``charlm.py`` (val loss vs seconds on tinyshakespeare), ``decoding.py`` (engine step, batched vs
one-by-one, Transformer step vs prefix), ``app.py`` (event-loop lag, throughput in the app,
first frame, inspector step) and ``startup.py`` (``--help`` time, peak memory).

Machines are noisy, so every A-versus-B figure is measured interleaved (A B B A ...) in one process
and reported as medians and ratios; each benchmark also records how much CPU *other* processes
used while it ran and warns when that was significant. Results go to ``benchmarks/results/``:
``results.json`` (everything, including curves) and ``RESULTS.md`` (the table the README quotes).
"""
