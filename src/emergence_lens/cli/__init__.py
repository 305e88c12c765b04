"""Command-line interface: ``emergence-lens --help``.  One module per command (options -> the
command's pipeline in :mod:`emergence_lens.pipelines` -> console); :mod:`.main` registers them."""

from emergence_lens.cli.main import app, console, main

__all__ = ["app", "main", "console"]
