"""The ``emergence-lens`` application: every command module's function registered under its name, in
groups of ``--help``: Analyse (audit first), Run models, Paper, Inspect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

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

__all__ = ["app", "main", "build_app", "COMMANDS"]

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
    app()
