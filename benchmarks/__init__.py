"""seqbench's benchmarks: speed, memory and time-to-accuracy measured against real baselines.

    python -m benchmarks                 # every benchmark, full length (about 35 min on 2 quiet cores)
    python -m benchmarks --quick         # every benchmark for a few seconds: proves the harness works
    python -m benchmarks --only decoding,startup
    python -m benchmarks --only charlm-sweep     # opt-in: candidate char-LM settings (about 10 min)
    python -m benchmarks --list

Each benchmark is a function registered with ``@benchmark`` (``core.py``), one module per topic:

- ``startup.py``: ``seqbench --help`` latency; peak RSS of default training, headless and in the app
- ``decoding.py``: engine step with beam 5, batched vs one-by-one decoding, Transformer step vs prefix
- ``ablation.py``: ``seqbench ablate`` over every hidden unit of the reverse default model, test split
- ``inspector.py``: an inspector step (engine + redraw of every panel) at 120×40
- ``app.py``: event-loop lag and training throughput with the dashboard open; the app's first frame
- ``lag.py``: the event-loop lag harness (``python -m benchmarks.lag``; ``SEQBENCH_LAG_LOG`` in the app)
- ``overhead.py``: seqbench's Trainer against a bare PyTorch loop written there
- ``threads.py``: torch threads and the OpenMP wait policy, alone and next to a busy process
- ``accuracy.py``: time to each task's target with its default configuration
- ``charlm.py``: val loss vs seconds on tinyshakespeare for each LM architecture (and the sweep)
- ``encoders.py``: the encoder family's tasks with their defaults; ``later`` unidirectional vs bidirectional
- ``translation.py``: the tsv defaults on eng-fra-20k, BLEU/chrF on held-out sources against wall
  time; ``seqbench decode --input-file`` against separate calls

``trainruns.py`` runs the real Trainer with a wall-clock timeline of its events; ``worker.py`` runs
measurements that need a fresh process; ``machine.py`` describes the machine and measures how much
CPU other processes took; ``report.py`` writes the results.

Machines are noisy, so every A-versus-B figure is measured interleaved (A B B A ...) in one process
and reported as medians and ratios; each benchmark also records how much CPU *other* processes
used while it ran and warns when that was significant. Quick mode trains on one torch thread (two
threads collapse when other processes compete for the cores) and is not judged against targets
where its short runs cannot be. Results go to ``benchmarks/results/``: ``results.json``
(everything, including curves) and ``RESULTS.md`` (the table the README quotes); ``--only``
merges into them.
"""
