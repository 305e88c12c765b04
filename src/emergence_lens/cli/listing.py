"""``emergence-lens experiments``, ``metrics`` and ``validate``: what the toolkit knows, and whether
records files are valid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emergence_lens.cli.common import console


def list_experiments() -> None:
    """List the experiments `reproduce` can run."""
    from emergence_lens.experiments import EXPERIMENTS

    table = Table("name", "description", "options (-o KEY=VALUE)")
    for exp in EXPERIMENTS.values():
        table.add_row(exp.name, exp.description, "\n".join(f"{k}: {h}" for k, h in exp.options.items()))
    Console().print(table)


def list_metrics_cmd() -> None:
    """List the registered metrics and their properties."""
    from emergence_lens.metrics import list_metrics

    table = Table("name", "kind", "better", "partners", "paper", "description")
    for s in list_metrics():
        table.add_row(s.name, s.kind, "higher" if s.higher_is_better else "lower",
                      ", ".join(s.partners), s.paper, s.description)
    Console(width=200).print(table)


def validate(files: Annotated[list[Path], typer.Argument(help="Records files (.parquet or .jsonl).",
                                                       metavar="RECORDS")]) -> None:
    """Validate records files; report the first problem with file, row and column."""
    from emergence_lens.records import RecordsError, read_records

    bad = 0
    for f in files:
        try:
            df = read_records(f)
        except (RecordsError, FileNotFoundError) as exc:
            console.print(f"[red]invalid[/] {exc}")
            bad += 1
            continue
        console.print(f"[green]ok[/] {f}: {len(df)} records, {df['model'].nunique()} models, "
                      f"{df['task'].nunique()} tasks")
    if bad:
        raise typer.Exit(code=1)
