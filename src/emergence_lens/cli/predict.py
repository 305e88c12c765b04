"""``emergence-lens predict``: options -> :func:`emergence_lens.pipelines.predict.predict` -> console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from emergence_lens.cli.common import (
    Confidence,
    Family,
    Figures,
    FitOn,
    Metric,
    Models,
    NBoot,
    NExamples,
    OldX,
    Out,
    ScaleMap,
    Seed,
    XAxis,
    alias,
    console,
    fail,
    metric_list,
    parse_fit_on,
    say,
    wide_console,
)


def predict(
    paths: Annotated[list[Path], typer.Argument(
        help="Records files, folders of a `reproduce` / `score` run (every records.parquet inside, with a "
             "pass_rates.csv beside it for passuntil), an `audit` folder (its curves.csv and rescored_curves.csv), or "
             "tables of aggregates (CSV/TSV, wide or tidy, as `audit` reads them).", metavar="PATH")],
    out: Out,
    fit_on: FitOn = "4",
    fit_below: Annotated[float | None, typer.Option(
        help="Instead of K: fit on every model below this value of the x-axis (parameters, FLOPs; for loss: "
             "above it), across families, and predict the rest.")] = None,
    methods: Annotated[str, typer.Option(
        help="Forecast methods, comma-separated, or 'all': transform, per-example, two-step, passuntil, naive, "
             "observational, loss, loss-law, finetune.")] = "all",
    metric: Metric = None,
    x_axis: XAxis = "params",
    x: OldX = None,
    models: Models = None,
    family: Family = None,
    scale_map: ScaleMap = None,
    n_examples: NExamples = None,
    n_boot: NBoot = 1000,
    confidence: Confidence = 0.95,
    seed: Seed = 0,
    figures: Figures = True,
    finetuned: Annotated[Path | None, typer.Option(
        help="A folder of `emergence-lens finetune` (or its finetune.csv): the finetuned evaluations the "
             "'finetune' method fits its emergence law on.")] = None,
) -> None:
    """Backtest forecasts: fit on the smaller models (the K smallest of each family, or every model below a
    cut-off), predict the larger ones with every method (the metric's transform, on the mean or per example,
    two-step, PassUntil, naive, observational, the metric against pretraining loss, an emergence law on
    finetuned models), with calibrated intervals; "which method wins" (by interval
    score) in summary.md and report.html.  Default metrics for records: exact_match, multiple_choice_grade and
    the sharp metrics of a verdicts.csv beside them; for tables: every metric in [0, 1]."""
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.pipelines.predict import PredictError
    from emergence_lens.pipelines.predict import predict as run_predict
    from emergence_lens.sources import parse_n_examples

    axis = alias(x_axis, x, "params", "--x-axis", "--x")
    ks = parse_fit_on(fit_on)
    try:
        sizes = parse_n_examples(n_examples)
    except ValueError as exc:
        fail(str(exc))
    try:
        with console.status("reading, resampling and backtesting"):
            run = run_predict(paths, out, fit_on=ks, fit_below=fit_below, methods=methods,
                              metric=metric_list(metric) or None, x=axis, models=models, family=family,
                              scale_map=scale_map, n_examples=sizes or None, n_boot=n_boot, confidence=confidence,
                              seed=seed, figures=figures, finetuned=finetuned)
    except (PredictError, OutputConflict) as exc:
        fail(str(exc))
    for issue in run.issues[:20]:
        say(str(issue), style="yellow")
    if len(run.issues) > 20:
        say(f"... {len(run.issues) - 20} more in {out / 'issues.csv'}")
    res = run.result
    if not res.wins.empty:
        table = Table("family", "metric", "K", "rank", "method", "curves", "interval score", "error", "coverage",
                      "width", "whole-range", "best on", title="which method wins (rank: interval score; a whole-range "
                      "interval says nothing and ranks last)", title_justify="left")
        for r in res.wins.itertuples():
            table.add_row(escape(str(r.family)), escape(str(r.metric)), str(r.fit_on), str(r.rank), str(r.method),
                          str(r.n_curves), f"{r.interval_score:.3g}", f"{r.mae:.3g}", f"{r.coverage:.0%}",
                          f"{r.mean_width:.3g}", str(r.n_uninformative), str(r.n_best))
        wide_console(140).print(table)
    say(f"report: {out / 'report.html'}" if (out / "report.html").exists() else "no report")
    written = len({str(f) for f in res.files})
    say(f"wrote {written} files into {out} (summary.md, report.html, backtest.csv, predictions.csv, wins.csv"
        + (", issues.csv, inputs.csv)" if run.tables else ")"))
    if res.wins.empty:
        console.print("[bold red]error:[/] nothing could be backtested (no curve with enough models beyond the "
                      f"fitted ones): see {escape(str(out / 'summary.md'))}"
                      + (f" and {escape(str(out / 'issues.csv'))}" if run.tables else ""))
        raise typer.Exit(code=1)
