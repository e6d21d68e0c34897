"""``python -m workbench``: the ``seqbench`` command, so ``torchrun ... -m workbench train ...`` starts it per rank."""

from .cli import entry

entry()
