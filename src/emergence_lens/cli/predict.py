"""``emergence-lens predict``: options -> :func:`emergence_lens.pipelines.predict.predict` -> console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emergence_lens.cli.common import console, fail, say


def predict(
    paths: Annotated[list[Path], typer.Argument(
        help="Records files, folders of a `reproduce` / `score` run (every records.parquet inside, with a "
             "pass_rates.csv beside it for passuntil), an `audit` folder (its curves.csv and rescored_curves.csv), or "
             "tables of aggregates (CSV/TSV, wide or tidy, as `audit` reads them).", metavar="PATH...")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    fit_on: Annotated[str, typer.Option(
        help="Fit on the K smallest models of each family; a list (3,4,5,6) sweeps K: OUT/fit_on_K/ per K and "
             "OUT/sweep.csv.")] = "4",
    fit_below: Annotated[float | None, typer.Option(
        help="Instead of K: fit on every model below this value of the x-axis (parameters, FLOPs; for loss: "
             "above it), across families, and predict the rest.")] = None,
    methods: Annotated[str, typer.Option(
        help="Forecast methods, comma-separated, or 'all': transform, two-step, passuntil, naive, "
             "observational.")] = "all",
    metric: Annotated[list[str] | None, typer.Option(
        help="Metric to backtest (repeatable; default for records: exact_match, multiple_choice_grade and the "
             "sharp metrics of a verdicts.csv beside them; for tables: every metric in [0, 1]).")] = None,
    x: Annotated[str, typer.Option("--x", help="x-axis: params, flops or loss.")] = "params",
    models: Annotated[Path | None, typer.Option(
        help="Metadata table (model, size, ...) for tables whose model names carry no size.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    confidence: Annotated[float, typer.Option(help="Interval level.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    figures: Annotated[bool, typer.Option(help="One figure per curve with every method's fan.")] = True,
) -> None:
    """Backtest forecasts: fit on the smaller models (the K smallest of each family, or every model below a
    cut-off), predict the larger ones with every method (the metric's transform, two-step, PassUntil, naive,
    observational), with calibrated intervals; "which method wins" in summary.md and report.html."""
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.pipelines.predict import PredictError
    from emergence_lens.pipelines.predict import predict as run_predict

    try:
        ks = [int(k) for k in fit_on.split(",") if k.strip()]
    except ValueError:
        fail(f"--fit-on {fit_on!r}: expected K or a list K1,K2,... of whole numbers >= 2")
    try:
        with console.status("reading, resampling and backtesting"):
            run = run_predict(paths, out, fit_on=ks, fit_below=fit_below, methods=methods, metric=metric, x=x,
                              models=models, n_boot=n_boot, confidence=confidence, seed=seed, figures=figures)
    except (PredictError, OutputConflict) as exc:
        fail(str(exc))
    for issue in run.issues[:20]:
        say(str(issue), style="yellow")
    if len(run.issues) > 20:
        say(f"... {len(run.issues) - 20} more in {out / 'issues.csv'}")
    res = run.result
    if not res.wins.empty:
        table = Table("family", "metric", "K", "method", "curves", "error", "coverage", "width", "best on")
        for r in res.wins.itertuples():
            table.add_row(escape(str(r.family)), escape(str(r.metric)), str(r.fit_on), str(r.method), str(r.n_curves),
                          f"{r.mae:.3g}", f"{r.coverage:.0%}", f"{r.mean_width:.3g}", str(r.n_best))
        Console(width=max(Console().width, 140)).print(table)  # "which method wins": never truncate its names
    written = len({str(f) for f in res.files})
    say(f"wrote {written} files into {out} (summary.md, report.html, backtest.csv, predictions.csv, wins.csv"
        + (", issues.csv, inputs.csv)" if run.tables else ")"))
    if res.wins.empty:
        console.print("[bold red]error:[/] nothing could be backtested (no curve with enough models beyond the "
                      f"fitted ones): see {escape(str(out / 'summary.md'))}"
                      + (f" and {escape(str(out / 'issues.csv'))}" if run.tables else ""))
        raise typer.Exit(code=1)
