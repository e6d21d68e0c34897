"""seqbench's engine: tasks, training, decoding and runs (no Textual here outside ``tui/``)."""
