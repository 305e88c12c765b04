"""``python -m emergence_lens`` is the command-line interface."""

from emergence_lens.cli import console

console()
