"""``emergence-lens score``: options -> :func:`emergence_lens.pipelines.score.score` -> console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergence_lens.cli.common import command_line, console, fail, parse_chance, print_verdicts, say


def score(
    ctx: typer.Context,
    records: Annotated[list[Path], typer.Argument(help="Records files (.parquet or .jsonl).", metavar="RECORDS...")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    metric: Annotated[list[str] | None, typer.Option(
        help="Metric to score (repeatable; default: every applicable registered metric). Parametrised "
             "metrics by name, e.g. 'reconstruction_at[c=0.003]'.")] = None,
    tokenizer: Annotated[str, typer.Option(
        help="Tokens for token_edit_distance: characters or whitespace.")] = "characters",
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples (0: no CIs).")] = 1000,
    confidence: Annotated[float, typer.Option(help="CI level.")] = 0.95,
    threshold: Annotated[float, typer.Option(help="Sharpness threshold for verdicts.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    x: Annotated[str, typer.Option("--x", help="x-axis: params, flops (6ND) or loss (pretraining loss).")] = "params",
    chance: Annotated[list[str] | None, typer.Option(
        help="TASK=LEVEL chance level for a task (repeatable; default: mean 1/K for multiple choice, "
             "0 for generation).")] = None,
    fit_on: Annotated[int | None, typer.Option(
        help="Also backtest each sharp metric from its K smallest models (predictions.csv).")] = None,
) -> None:
    """Score records under every metric pair: curves with CIs, emergence scores, verdicts, figures."""
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.pipelines.score import ScoreError
    from emergence_lens.pipelines.score import score as run_score

    try:
        levels = parse_chance(chance)
        with console.status("scoring, bootstrapping, testing, plotting"):
            run = run_score(records, out, metric=metric, tokenizer=tokenizer, n_boot=n_boot, confidence=confidence,
                            threshold=threshold, seed=seed, x=x, chance=levels, fit_on=fit_on,
                            command_line=command_line(ctx, "score"))
    except (ScoreError, OutputConflict, ValueError) as exc:
        fail(str(exc))
    print_verdicts(run.analysis.verdict_table)
    for f in run.analysis.files:
        say(f"wrote {f}")
    say(run.report)
