"""``emergence-lens audit``: options -> :func:`emergence_lens.pipelines.audit.audit` -> console."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from emergence_lens.cli.common import (
    Chance,
    Confidence,
    Family,
    Models,
    NBoot,
    NExamples,
    OldX,
    Out,
    ScaleMap,
    Seed,
    Threshold,
    XAxis,
    alias,
    command_line,
    console,
    fail,
    metric_list,
    parse_chance,
    print_answer,
    say,
    split_list,
)


def audit(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(
        help="Files or folders, recognised by content: lm-eval results and samples (any file name), BIG-bench "
             "score files, tidy or wide CSV/TSV/Parquet tables; local paths or URLs fsspec opens (s3://bucket/runs, "
             "gs://..., with that filesystem's package installed).", metavar="PATH")],
    out: Out,
    models: Models = None,
    scale_map: ScaleMap = None,
    family: Family = None,
    model_col: Annotated[str | None, typer.Option(help="Wide tables: the model column.")] = None,
    task_col: Annotated[str | None, typer.Option(
        help="Tables: the task column (each row's task; each value column is then a metric).")] = None,
    metric: Annotated[list[str] | None, typer.Option(
        help="Only this metric (repeatable or comma-separated): for wide tables the value columns to read "
             "(default: every numeric column that is not a size), for every other source a filter on its "
             "metric names (as reported, or ours for re-scored samples: emergence-lens metrics).")] = None,
    metric_cols: Annotated[str | None, typer.Option("--metric-cols", hidden=True)] = None,
    by: Annotated[str | None, typer.Option(
        help="Wide tables: comma-separated condition columns (prompt format, shots, ...), kept as separate "
             "curves.")] = None,
    bigbench_scale: Annotated[str, typer.Option(
        help="BIG-bench scale: non_embedding_params, total_params or flop_matched_non_embedding_params.")
    ] = "non_embedding_params",
    n_boot: NBoot = 1000,
    confidence: Confidence = 0.95,
    threshold: Threshold = 2.0,
    seed: Seed = 0,
    x_axis: XAxis = "params",
    x: OldX = None,
    chance: Chance = None,
    n_examples: NExamples = None,
    figures: Annotated[bool, typer.Option(
        help="Draw Figures 5-6 (--no-figures: tables and report without them, faster).")] = True,
    engine: Annotated[str, typer.Option(
        help="Where lm-eval samples are read and re-scored, one (family, task) partition at a time: 'local' "
             "(this machine's cores) or 'dask' (Dask distributed; --scheduler for a cluster). Same outputs, byte "
             "for byte.")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        help="--engine dask: a running scheduler's address (tcp://host:8786) instead of a LocalCluster; the "
             "input paths must be readable by its workers.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    resume: Annotated[bool, typer.Option(
        help="Reuse partitions a killed run finished (OUT/.partitions; removed after a run that completes).")
    ] = True,
    max_member_mb: Annotated[float | None, typer.Option(
        help="Cap on one archive member's decompressed size (Inspect .eval logs), in MB; a member past it is "
             "reported, never expanded (default 256).")] = None,
) -> None:
    """Meta-analysis (paper Figs. 5-6): emergence score and verdict of every curve in any result files.

    Exit 0 with outputs whenever anything was audited; exit 1 (outputs and issues.csv still written)
    when nothing could be; exit 2 for bad options.  Every file is accounted for in OUT/inputs.csv.
    """
    from emergence_lens.workers import SERIAL_BYTES, input_bytes, prestart_workers

    if max_member_mb is not None:
        if not max_member_mb > 0:
            fail(f"--max-member-mb {max_member_mb}: give a positive size in MB")
        os.environ["EMERGENCE_LENS_MAX_MEMBER_MB"] = repr(max_member_mb)  # workers inherit it
    if engine == "local" and (workers or os.cpu_count() or 1) > 1 and input_bytes(paths) >= SERIAL_BYTES:
        prestart_workers()  # the workers' imports overlap this process's own
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.pipelines.audit import AuditError
    from emergence_lens.pipelines.audit import audit as run_audit
    from emergence_lens.sources import parse_n_examples

    axis = alias(x_axis, x, "params", "--x-axis", "--x")
    metrics = metric_list([*(metric or []), *([metric_cols] if metric_cols else [])])
    try:
        levels = parse_chance(chance)
        sizes = parse_n_examples(n_examples)
    except ValueError as exc:
        fail(str(exc))
    columns = (TextColumn("[bold]{task.description}"), BarColumn())
    with Progress(*columns, MofNCompleteColumn(), TextColumn("files / partitions"), TimeElapsedColumn(),
                  console=console, transient=True) as prog:
        bar = prog.add_task("reading", total=None)
        rows = [0]

        def on_file(name: str) -> None:
            prog.update(bar, advance=1, description=f"reading {name[:40]}")

        def on_plan(n: int) -> None:
            prog.reset(bar, total=n, description="re-scoring samples")

        def on_partition(r, resumed: bool) -> None:
            rows[0] += r.rows_read
            prog.update(bar, advance=1, description=f"{'resumed' if resumed else 're-scored'} "
                        f"{r.key[0]}/{r.key[1]}"[:60] + f" ({rows[0]:,} rows)")

        try:
            run = run_audit(paths, out, models=models, scale_map=scale_map, family=family, model_col=model_col,
                            task_col=task_col, metric=metrics, by=split_list(by),
                            bigbench_scale=bigbench_scale, n_boot=n_boot, threshold=threshold, seed=seed, x=axis,
                            chance=levels, n_examples=sizes, confidence=confidence, figures=figures, engine=engine,
                            scheduler=scheduler, workers=workers,
                            resume=resume, command_line=command_line(ctx, "audit"), on_file=on_file,
                            on_plan=on_plan, on_partition=on_partition)
        except (AuditError, OutputConflict) as exc:
            fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - a user sees one line, never a traceback
            fail(f"audit failed: {type(exc).__name__}: {exc}")
    bundle = run.bundle
    for issue in bundle.issues[:20]:
        say(str(issue), style="yellow")
    if len(bundle.issues) > 20:
        say(f"... {len(bundle.issues) - 20} more in {out / 'issues.csv'}")
    if len(bundle.unresolved):
        say(f"{len(bundle.unresolved)} model(s) with unknown size held out: see {out / 'unresolved.csv'} "
            "(give --models or --scale-map)", style="yellow")
    inputs = bundle.inputs
    say(f"{len(inputs)} files ({int((inputs['format'] != '').sum())} recognised, "
        f"{int(inputs['rows_loaded'].sum())} rows loaded, {int(inputs['rows_reported'].sum())} reported)")
    print_answer(run.table, run.report)
    say(f"{len(run.table)} curves -> {out / 'audit.csv'}, verdicts.csv, models.csv, inputs.csv, "
        + ("figures, " if figures else "") + "summary.md")
    if not run.audited:
        console.print("[bold red]error:[/] nothing could be audited: see issues.csv and inputs.csv")
        raise typer.Exit(code=1)
