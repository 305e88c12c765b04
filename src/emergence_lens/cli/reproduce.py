"""``emergence-lens reproduce``: options -> :func:`emergence_lens.pipelines.reproduce.reproduce` -> console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from emergence_lens.cli.common import command_line, console, fail, say


def reproduce(
    ctx: typer.Context,
    experiments: Annotated[list[str] | None, typer.Argument(
        help="Experiments to run (default: all). See `emergence-lens experiments`.", metavar="EXPERIMENT")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("results"),
    quick: Annotated[bool, typer.Option(help="Smaller, faster settings.")] = False,
    seed: Annotated[int, typer.Option(help="Master seed.")] = 0,
    force: Annotated[bool, typer.Option(help="Rerun experiments already completed in OUT.")] = False,
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-o", help="KEY=VALUE for experiments that take it, e.g. -o thresholds=0.001,0.004 "
                               "-o data_dir=DATA (vision). Repeatable; `emergence-lens experiments` lists "
                               "them.")] = None,
    retrain: Annotated[bool, typer.Option(
        help="arithmetic and vision: train the ladders from scratch (same recipes as `train-ladder` and "
             "`train-vision`) instead of evaluating the ladders shipped in the package.")] = False,
) -> None:
    """Run the paper reproductions on embedded defaults; write figures, CSVs and OUT/summary.md.

    Each experiment writes into OUT/<name>/ and a manifest when it completes; a rerun with the
    same settings skips completed experiments (resume after an interruption) unless --force.
    """
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.pipelines.reproduce import ReproduceError
    from emergence_lens.pipelines.reproduce import reproduce as run_reproduce

    options: dict[str, str] = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--option {item!r}: expected KEY=VALUE")
        options[key.strip()] = value.strip()
    def on_skipped(message: str) -> None:
        console.print(f"[yellow]skipped: {escape(message)}[/]")

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("reproduce", total=None)

        def on_start(name: str, i: int, n: int) -> None:
            progress.update(bar, total=n, completed=i, description=f"reproduce: {name}")

        def on_done(name: str, message: str) -> None:
            say(f"{name}: {message}")
            progress.advance(bar)

        try:
            run = run_reproduce(experiments, out, quick=quick, seed=seed, force=force, options=options,
                                retrain=retrain, command_line=command_line(ctx, "reproduce"),
                                on_skipped=on_skipped, on_start=on_start, on_done=on_done)
        except (ReproduceError, OutputConflict) as exc:
            fail(str(exc))
    say(f"wrote {run.summary}")
    say(run.report)
