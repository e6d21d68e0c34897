"""`python -m benchmarks`: see ``benchmarks/__init__.py``."""

from .cli import main

raise SystemExit(main())
