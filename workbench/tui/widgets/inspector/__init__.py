"""The inspector's widgets (one per file) and its decoding driver; see ``screens/inspector.py``."""
