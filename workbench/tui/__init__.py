"""The seqbench terminal app (Textual): launcher, training dashboard, inspector. Entry: ``app.main``."""
