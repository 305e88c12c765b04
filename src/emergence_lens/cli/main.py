"""The ``emergence-lens`` application: every command module's function registered under its name, in
groups of ``--help``: Analyse (audit first), Run models, Paper, Inspect."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable
from typing import Annotated, NoReturn

import typer

from emergence_lens import __version__
from emergence_lens.cli import (
    audit,
    evaluate,
    finetune,
    listing,
    predict,
    report,
    reproduce,
    score,
    serve,
    theory,
    train,
)

__all__ = ["app", "main", "console", "leave", "build_app", "COMMANDS"]

_ANALYSE, _RUN, _PAPER, _INSPECT = "Analyse", "Run models", "Paper", "Inspect"
#: Every command: (the function of its CLI module, its name, its help panel), in the order of ``--help``.
COMMANDS: list[tuple[Callable[..., None], str, str]] = [
    (audit.audit, "audit", _ANALYSE), (score.score, "score", _ANALYSE), (predict.predict, "predict", _ANALYSE),
    (report.report, "report", _ANALYSE),
    (evaluate.evaluate, "evaluate", _RUN), (serve.serve, "serve", _RUN), (finetune.finetune, "finetune", _RUN),
    (reproduce.reproduce, "reproduce", _PAPER), (theory.theory, "theory", _PAPER),
    (train.train_ladder_cmd, "train-ladder", _PAPER), (train.train_vision_cmd, "train-vision", _PAPER),
    (listing.list_metrics_cmd, "metrics", _INSPECT), (listing.list_experiments, "experiments", _INSPECT),
    (listing.validate, "validate", _INSPECT),
]


def build_app(commands: list[tuple[Callable[..., None], str, str]] = COMMANDS) -> typer.Typer:
    """The Typer application with ``commands`` registered (their names and help panels)."""
    application = typer.Typer(add_completion=False, no_args_is_help=True,
                              help="Is a sudden jump in a scaling curve a property of the models or of the metric?")
    for fn, name, panel in commands:
        application.command(name, rich_help_panel=panel)(fn)
    application.callback()(_main)
    return application


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


def _main(version: Annotated[bool, typer.Option("--version", help="Print the version.", is_eager=True,
                                                 callback=_print_version)] = False) -> None:
    """Is a sudden jump in a scaling curve a property of the models or of the metric?"""


app = build_app()


def main() -> None:
    """The application (raises :class:`SystemExit` with its status, as a Typer application does)."""
    app()


def console() -> NoReturn:
    """The console script (``emergence-lens``, ``python -m emergence_lens``): :func:`main`, then
    :func:`leave` with its status."""
    try:
        main()
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


def leave(code: object) -> NoReturn:
    """End the process as ``sys.exit(code)`` would, without tearing the interpreter down.

    Freeing every module of a command that imported pandas, scipy and matplotlib takes ~0.2 s after
    its work is done (``docs/benchmarks.md``).  What a normal exit does that anyone can see still
    happens, in its order: the exit handlers run (``atexit``: multiprocessing's and tempfile's
    clean-ups, and any a caller registered), the standard streams are flushed (a closed pipe gives
    status 120, as Python's own exit does), a non-integer ``code`` is printed to stderr with status
    1.  While another thread runs, or where the interpreter has no way to run its exit handlers
    first, it is ``sys.exit(code)``."""
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_handlers is None or threading.active_count() > 1:
        sys.exit(code)
    if code is None or isinstance(code, int):
        status = code or 0
    else:
        print(code, file=sys.stderr)
        status = 1
    run_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            status = 120
    os._exit(status & 0xFF)
