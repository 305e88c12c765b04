"""``emergence-lens score``: options -> :func:`emergence_lens.pipelines.score.score` -> console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergence_lens.cli.common import (
    Chance,
    Confidence,
    Figures,
    FitOn,
    Metric,
    NBoot,
    OldX,
    Out,
    Seed,
    Threshold,
    XAxis,
    alias,
    command_line,
    console,
    fail,
    metric_list,
    parse_chance,
    parse_fit_on,
    print_answer,
    say,
)


def score(
    ctx: typer.Context,
    records: Annotated[list[Path], typer.Argument(help="Records files (.parquet or .jsonl).", metavar="RECORDS")],
    out: Out,
    metric: Metric = None,
    tokenizer: Annotated[str, typer.Option(
        help="Tokens for token_edit_distance: characters or whitespace.")] = "characters",
    n_boot: NBoot = 1000,
    confidence: Confidence = 0.95,
    threshold: Threshold = 2.0,
    seed: Seed = 0,
    x_axis: XAxis = "params",
    x: OldX = None,
    chance: Chance = None,
    fit_on: FitOn = None,
    methods: Annotated[str, typer.Option(
        help="With --fit-on: forecast methods, comma-separated, or 'all' (as predict).")] = "all",
    figures: Figures = True,
) -> None:
    """Score records under every metric pair: curves with CIs, emergence scores, verdicts, figures;
    with --fit-on, the backtest predict runs (predictions.csv, backtest.csv, wins.csv)."""
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.pipelines.score import ScoreError
    from emergence_lens.pipelines.score import score as run_score

    axis = alias(x_axis, x, "params", "--x-axis", "--x")
    ks = parse_fit_on(fit_on) if fit_on is not None else None
    try:
        levels = parse_chance(chance)
        with console.status("scoring, bootstrapping, testing, plotting"):
            run = run_score(records, out, metric=metric_list(metric) or None, tokenizer=tokenizer, n_boot=n_boot,
                            confidence=confidence, threshold=threshold, seed=seed, x=axis, chance=levels,
                            fit_on=ks, methods=methods, figures=figures, command_line=command_line(ctx, "score"))
    except (ScoreError, OutputConflict, ValueError) as exc:
        fail(str(exc))
    print_answer(run.analysis.curve_verdicts, run.report)
    for f in run.analysis.files:
        say(f"wrote {f}")
