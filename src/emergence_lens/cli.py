"""Command-line interface: ``emergence-lens --help``."""

from __future__ import annotations

import contextlib
import os
import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from emergence_lens import __version__
from emergence_lens._io import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Is a sudden jump in a scaling curve a property of the models or of the metric?")
console = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=2)


def _require(extra: str, what: str) -> None:
    """Exit 2 with one line when ``what`` needs an optional extra that is not installed."""
    from emergence_lens.extras import ExtraMissing, require_extra

    try:
        require_extra(extra, what)
    except ExtraMissing as exc:
        _fail(str(exc))


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


def _command_line(ctx: typer.Context | None, command: str) -> str:
    """The command as a user would type it, rebuilt from the parsed options (the process's own argv
    is a test runner's or a notebook's when the CLI is called in-process)."""
    import shlex

    parts = ["emergence-lens", command]
    if ctx is not None:
        for param in ctx.command.params:
            value = ctx.params.get(param.name)
            if value is None or value == param.default or value in ([], ()):
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            if param.param_type_name == "argument":
                parts += [str(v) for v in values]
            elif isinstance(value, bool):
                parts.append(param.opts[0] if value else (param.secondary_opts or [f"--no-{param.name}"])[0])
            else:
                for v in values:
                    parts += [param.opts[0], str(v)]
    return shlex.join(parts)


def _finish_run(out: Path, *, command: str, started: float, seed: int | None,
                inputs: list[Path] | tuple[()] = (), ctx: typer.Context | None = None,
                digests: dict[str, str] | None = None, executor: Any = None, pending: Any = ()) -> None:
    """Record provenance (OUT/run.json) and write the HTML report (OUT/report.html); ``digests``:
    input SHA-256s already computed, ``executor``: where the report's panels may be drawn,
    ``pending``: figures still being drawn (waited for before the report reads them)."""
    from emergence_lens.report.html import ReportError, write_report
    from emergence_lens.report.provenance import write_run_info

    try:
        write_run_info(out, command=command, seed=seed, inputs=inputs, started=started, finished=time.time(),
                       extra={"command_line": _command_line(ctx, command)}, digests=digests)
        with console.status("writing report.html"):
            path = write_report(out, executor=executor, pending=pending)
    except (ReportError, OSError) as exc:
        console.print(f"[yellow]no report: {escape(str(exc))}[/]")
        return
    except Exception as exc:  # noqa: BLE001 - a figure or panel whose worker failed: the CSVs stand
        console.print(f"[yellow]no report: a figure or panel could not be drawn ({type(exc).__name__}: "
                      f"{escape(str(exc))})[/]")
        return
    console.print(f"wrote {path}")


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", help="Print the version.", is_eager=True,
                                                 callback=_print_version)] = False) -> None:
    """Is a sudden jump in a scaling curve a property of the models or of the metric?"""


@app.command()
def theory(
    out: Annotated[Path, typer.Option(help="Output directory.")],
    c: Annotated[float, typer.Option(help="Scale constant c in CE(N) = (N/c)^alpha.")] = 1e9,
    alpha: Annotated[float, typer.Option(help="Exponent alpha (< 0).")] = -0.3,
    lengths: Annotated[str, typer.Option(help="Target lengths L, comma-separated.")] = "1,2,3,4,5",
    n_choices: Annotated[int, typer.Option(help="Options per multiple-choice question.")] = 4,
    n_min: Annotated[float, typer.Option(help="Smallest N.")] = 1e7,
    n_max: Annotated[float, typer.Option(help="Largest N.")] = 1e14,
    points: Annotated[int, typer.Option(help="Log-spaced N values.")] = 141,
) -> None:
    """Closed-form model (paper Fig. 2): write OUT/theory.csv and OUT/theory.png (panels A-F)."""
    from emergence_lens.experiments.theory import run_theory
    from emergence_lens.theory import ScalingModel

    try:
        ls = [int(v) for v in lengths.split(",") if v.strip()]
        model = ScalingModel(c=c, alpha=alpha, n_choices=n_choices, n_min=n_min, n_max=n_max,
                             n_points=points)
        res = run_theory(out, model=model, lengths=ls)
    except ValueError as exc:
        _fail(str(exc))
        return
    for f in res.files:
        console.print(f"wrote {f}")


def _config_hash(name: str, quick: bool, seed: int, options: dict[str, str] | None = None) -> str:
    key = [name, quick, seed, __version__] + ([sorted(options.items())] if options else [])
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]


@app.command()
def reproduce(
    ctx: typer.Context,
    experiments: Annotated[list[str] | None, typer.Argument(
        help="Experiments to run (default: all). See `emergence-lens experiments`.")] = None,
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
    from emergence_lens.experiments import EXPERIMENTS, ExperimentOptionError, get_experiment
    from emergence_lens.vision.data import DatasetError

    from emergence_lens.extras import ExtraMissing, require_extra

    started = time.time()
    names = experiments or list(EXPERIMENTS)
    try:
        exps = [get_experiment(n) for n in names]
    except KeyError as exc:
        _fail(str(exc.args[0]))
        return
    skipped: list[str] = []
    runnable = []
    for exp in exps:
        try:
            for extra in exp.requires:
                require_extra(extra, f"'reproduce {exp.name}'")
        except ExtraMissing as exc:
            if experiments:  # named explicitly: refuse in one line
                _fail(str(exc))
            skipped.append(str(exc))
            console.print(f"[yellow]skipped: {escape(str(exc))}[/]")
            continue
        runnable.append(exp)
    exps = runnable
    options: dict[str, str] = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"--option {item!r}: expected KEY=VALUE")
        options[key.strip()] = value.strip()
    accepted = {k for e in exps for k in e.options}
    unknown = sorted(set(options) - accepted)
    if unknown:
        _fail(f"--option {', '.join(unknown)}: not accepted by {', '.join(names)} "
              f"(accepted: {', '.join(sorted(accepted)) or 'none'})")
    out.mkdir(parents=True, exist_ok=True)
    sections: list[str] = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("reproduce", total=len(exps))
        for exp in exps:
            progress.update(task, description=f"reproduce: {exp.name}")
            exp_dir = out / exp.name
            manifest = exp_dir / "manifest.json"
            exp_options = {k: v for k, v in options.items() if k in exp.options}
            if retrain and "retrain" in exp.options:
                exp_options["retrain"] = "1"
            digest = _config_hash(exp.name, quick, seed, exp_options)
            if not force and manifest.exists():
                info = json.loads(manifest.read_text())
                if info.get("config") == digest and all((exp_dir / f).exists() for f in info["files"]):
                    sections.append(info["summary_md"])
                    console.print(f"{exp.name}: already complete in {exp_dir}, skipped (--force reruns)")
                    progress.advance(task)
                    continue
            t0 = time.perf_counter()
            try:
                res = exp.run(exp_dir, quick, seed, exp_options)
            except (ExperimentOptionError, DatasetError, FileNotFoundError) as exc:  # bad options or data
                _fail(f"{exp.name}: {exc}")
            elapsed = time.perf_counter() - t0
            files = sorted({str(Path(f).relative_to(exp_dir)) for f in res.files})
            atomic_write_text(manifest, json.dumps(
                {"experiment": exp.name, "config": digest, "quick": quick, "seed": seed, "options": exp_options,
                 "version": __version__, "files": files, "summary_md": res.summary_md}, indent=1))
            sections.append(res.summary_md)
            console.print(f"{exp.name}: {len(files)} files in {exp_dir} ({elapsed:.1f} s)")
            progress.advance(task)
    opt_text = "".join(f" -o {k}={v}" for k, v in options.items())
    header = (f"# emergence-lens reproduce\n\nSettings: quick={quick}, seed={seed}, version "
              f"{__version__}. Command: `emergence-lens reproduce {' '.join(names)}"
              f"{' --quick' if quick else ''}{' --retrain' if retrain else ''}{opt_text} --out {out}`. Each section's files are in its "
              "subdirectory.\n" + "".join(f"\nSkipped: {m}.\n" for m in skipped))
    atomic_write_text(out / "summary.md", "\n\n".join([header, *sections]) + "\n")
    console.print(f"wrote {out / 'summary.md'}")
    _finish_run(out, command="reproduce", started=started, seed=seed, ctx=ctx)


@app.command("train-ladder")
def train_ladder_cmd(
    out: Annotated[Path, typer.Option(help="Directory for the models (OUT/ladder-01 ...).")] = Path("ladder"),
    seed: Annotated[int, typer.Option(help="Training seed (seeds 0, 1 and 2 ship; reproduce evaluates 0).")] = 0,
    jobs: Annotated[int, typer.Option(help="Members trained at once, one CPU thread each; the bytes do "
                                           "not depend on it.")] = 2,
    size: Annotated[list[str] | None, typer.Option(
        help="Train only these members (e.g. --size ladder-01); default all eight.")] = None,
) -> None:
    """Train the arithmetic ladder with the default recipe; resumable.

    `emergence-lens train-ladder --out src/emergence_lens/models/checkpoints` regenerates the
    ladder that ships in the package, and `--seed 1 --out src/emergence_lens/models/checkpoints/seed-1`
    (likewise seed 2) the seed ladders shipped beside it. Each member trains on one thread in its own
    process with the numeric libraries pinned: same seed, same bytes on the same machine; on another
    CPU kind the loss curve follows the shipped one closely, then the weights differ (README).
    """
    _require("train", "'train-ladder'")
    from dataclasses import replace

    from emergence_lens.models.ladder import DEFAULT_RECIPE, DEFAULT_SIZES, train_ladder

    sizes = DEFAULT_SIZES
    if size:
        known = {s.name: s for s in DEFAULT_SIZES}
        missing = [n for n in size if n not in known]
        if missing:
            _fail(f"--size {', '.join(missing)}: unknown (members: {', '.join(known)})")
        sizes = tuple(known[n] for n in size)
    if jobs < 1:
        _fail("--jobs must be >= 1")
    t0 = time.perf_counter()
    metas = train_ladder(out, sizes, replace(DEFAULT_RECIPE, seed=seed), jobs=jobs)
    table = Table("model", "non-embedding params", "final loss")
    for m in metas:
        table.add_row(m["name"], f"{m['non_embedding_params']:,}", f"{m['final_loss']:.4f}")
    console.print(table)
    console.print(f"{len(metas)} models in {out} ({time.perf_counter() - t0:.0f} s)")


@app.command("train-vision")
def train_vision_cmd(
    out: Annotated[Path, typer.Option(help="Directory for the models (OUT/lenet/lenet-01 ...).")] = Path("vision-ladders"),
    seed: Annotated[int, typer.Option(help="Training seed (seed 0 ships; reproduce vision evaluates it).")] = 0,
    quick: Annotated[bool, typer.Option(help="Fewer epochs and less data (the quick recipes).")] = False,
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder with real datasets (mnist/, cifar-100-python/, omniglot/); default: the embedded ones.")] = None,
    jobs: Annotated[int, typer.Option(help="Families trained at once, one CPU thread each.")] = 2,
) -> None:
    """Train the LeNet, autoencoder and transformer ladders (paper Figs. 7-9); resumable.

    `emergence-lens train-vision --out src/emergence_lens/vision/checkpoints` regenerates the vision
    ladders that ship in the package. Each family trains on one thread in its own pinned process:
    the same seed gives the same bytes on the same machine; on another CPU the weights differ in the
    last bits (see the README's "What is byte-identical").
    """
    _require("vision", "'train-vision'")
    from emergence_lens.experiments.vision import train_vision
    from emergence_lens.vision.data import DatasetError

    if jobs < 1:
        _fail("--jobs must be >= 1")
    t0 = time.perf_counter()
    try:
        metas = train_vision(out, quick=quick, seed=seed, data_dir=data_dir, jobs=jobs)
    except (DatasetError, FileNotFoundError) as exc:
        _fail(str(exc))
        return
    table = Table("model", "params", "epochs")
    for m in metas:
        table.add_row(m["name"], f"{m['params']:,}", str(m["recipe"]["epochs"]))
    console.print(table)
    console.print(f"{len(metas)} models in {out} ({time.perf_counter() - t0:.0f} s)")


@app.command("experiments")
def list_experiments() -> None:
    """List the experiments `reproduce` can run."""
    from emergence_lens.experiments import EXPERIMENTS

    table = Table("name", "description", "options (-o KEY=VALUE)")
    for exp in EXPERIMENTS.values():
        table.add_row(exp.name, exp.description, "\n".join(f"{k}: {h}" for k, h in exp.options.items()))
    Console().print(table)


@app.command("metrics")
def list_metrics_cmd() -> None:
    """List the registered metrics and their properties."""
    from emergence_lens.metrics import list_metrics

    table = Table("name", "kind", "better", "partners", "paper", "description")
    for s in list_metrics():
        table.add_row(s.name, s.kind, "higher" if s.higher_is_better else "lower",
                      ", ".join(s.partners), s.paper, s.description)
    Console(width=200).print(table)


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Records files (.parquet or .jsonl).")]) -> None:
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


@app.command()
def score(
    ctx: typer.Context,
    records: Annotated[list[Path], typer.Argument(help="Records files (.parquet or .jsonl).")],
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
    import pandas as pd

    from emergence_lens.analysis import analyze
    from emergence_lens.records import RecordsError, read_records, validate_records

    started = time.time()
    if tokenizer not in ("characters", "whitespace"):
        _fail("--tokenizer must be 'characters' or 'whitespace' (use the Python API for a callable)")
    try:
        frames = [read_records(f) for f in records]
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if len(frames) > 1:
            validate_records(df, source=" + ".join(map(str, records)))
        opts = {}
        if metric is None or "token_edit_distance" in metric:
            opts["token_edit_distance"] = {"tokenizer": tokenizer}
        levels = _parse_chance(chance)
        with console.status("scoring, bootstrapping, testing, plotting"):
            res = analyze(df, out, metrics=metric, metric_options=opts, n_boot=n_boot,
                          confidence=confidence, seed=seed, threshold=threshold, x_axis=x, chance=levels,
                          fit_on=fit_on)
    except (RecordsError, FileNotFoundError, KeyError, ValueError) as exc:
        _fail(str(exc))
        return
    _print_verdicts(res.verdict_table)
    for f in res.files:
        console.print(f"wrote {f}")
    _finish_run(out, command="score", started=started, seed=seed, inputs=list(records), ctx=ctx)


def _parse_chance(items: list[str] | None) -> dict[str, float]:
    levels: dict[str, float] = {}
    for item in items or []:
        task, sep, value = item.rpartition("=")
        try:
            if not sep or not task:
                raise ValueError
            levels[task] = float(value)
        except ValueError:
            raise ValueError(f"--chance {item!r}: expected TASK=LEVEL with a number") from None
    return levels


def _print_verdicts(verdicts: pd.DataFrame) -> None:
    """The verdict of every sharp metric against its first partner, and every other curve's."""
    if verdicts.empty:
        return
    first = verdicts.drop_duplicates(["family", "task", "metric"], keep="first")
    table = Table("family", "task", "metric", "partner", "state", "explained", "verdict")
    for r in first.itertuples():
        if r.partner or r.verdict not in ("no emergence",):
            table.add_row(str(r.family), str(r.task), r.metric, r.partner, r.metric_state, r.explained, r.verdict)
    Console().print(table)


def _records_in(paths: list[Path]) -> tuple[list[Path], dict[str, list[str]]]:
    """Records files under ``paths`` (files as given; folders: every ``records.parquet`` inside), and per
    family the sharp metrics a ``verdicts.csv`` beside them names."""
    import pandas as pd

    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(p.rglob("records.parquet"))
        elif p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"not found: {p}")
    if not found:
        raise FileNotFoundError(f"no records.parquet under {', '.join(map(str, paths))}")
    extra: dict[str, list[str]] = {}
    for f in found:
        v = f.parent / "verdicts.csv"
        if v.exists():
            t = pd.read_csv(v, usecols=["family", "metric", "partner"], keep_default_na=False)
            for fam, g in t[t["partner"] != ""].groupby("family"):
                extra.setdefault(str(fam), []).extend(sorted(set(g["metric"])))
    return found, extra


@app.command()
def predict(
    paths: Annotated[list[Path], typer.Argument(
        help="Records files, folders of a `reproduce` / `score` run (every records.parquet inside, with a "
             "pass_rates.csv beside it for passuntil), an `audit` folder (its curves.csv and rescored_curves.csv), or "
             "tables of aggregates "
             "(CSV/TSV, wide or tidy, as `audit` reads them).")],
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
    import pandas as pd

    from emergence_lens.emergence.forecast import resolve_methods
    from emergence_lens.predictability import (
        attach_pools,
        curves_from_records,
        curves_from_table,
        predict_sweep,
        run_backtest,
    )
    from emergence_lens.records import RecordsError, read_records
    from emergence_lens.analysis import write_csv
    from emergence_lens.sources import load_sources, read_metadata

    try:
        ks = [int(k) for k in fit_on.split(",") if k.strip()]
        if not ks or min(ks) < 2:
            raise ValueError
    except ValueError:
        _fail(f"--fit-on {fit_on!r}: expected K or a list K1,K2,... of whole numbers >= 2")
        return
    if fit_below is not None and len(ks) > 1:
        _fail("--fit-below and a list of --fit-on exclude each other: give one")
        return
    try:
        resolve_methods(methods)
    except KeyError as exc:
        _fail(str(exc.args[0]))
        return
    tables = [p for p in paths if p.is_file() and p.suffix.lower() in (".csv", ".tsv")]
    audits = [p for p in paths if p.is_dir() and not any(p.rglob("records.parquet"))]
    try:
        with console.status("reading and resampling"):
            if tables or audits:
                # an audit's results-only curves and its curves re-scored from samples (per-example n)
                frames = [pd.read_csv(c) for a in audits for c in sorted([*a.rglob("curves.csv"),
                                                                          *a.rglob("rescored_curves.csv")])]
                if audits and not frames:
                    raise FileNotFoundError(f"no records.parquet and no curves.csv under {', '.join(map(str, audits))}")
                if tables:
                    bundle = load_sources(tables, metadata=read_metadata(models) if models else None)
                    # as audit: every input file accounted for, every problem with its file, line, field
                    out.mkdir(parents=True, exist_ok=True)
                    write_csv(bundle.issues.frame(), out / "issues.csv")
                    write_csv(bundle.inputs, out / "inputs.csv")
                    for issue in bundle.issues[:20]:
                        console.print(str(issue), style="yellow", markup=False, highlight=False)
                    if len(bundle.issues) > 20:
                        console.print(f"... {len(bundle.issues) - 20} more in {out / 'issues.csv'}")
                    frames.append(bundle.curves)
                curves, skipped = curves_from_table(pd.concat(frames, ignore_index=True), metrics=metric, x_axis=x,
                                                    n_boot=n_boot, seed=seed)
                title = "forecast backtest (aggregates)"
            else:
                files, extra = _records_in(paths)
                df = pd.concat([read_records(f) for f in files], ignore_index=True)
                rates = [pd.read_csv(f.parent / "pass_rates.csv") for f in files if (f.parent / "pass_rates.csv").exists()]
                curves, skipped = curves_from_records(df, metrics=metric, x_axis=x, n_boot=n_boot, seed=seed,
                                                      extra_metrics=None if metric else extra,
                                                      pass_rates=pd.concat(rates, ignore_index=True) if rates else None)
                title = "forecast backtest"
            attach_pools(curves)
        with console.status(f"backtesting {len(curves)} curves"):
            kw = dict(methods=methods, x_axis=x, confidence=confidence, title=title, figures=figures)
            if fit_below is not None:
                res = run_backtest(curves, out, fit_below=fit_below, skipped=skipped, **kw)  # type: ignore[arg-type]
            elif len(ks) == 1:
                res = run_backtest(curves, out, fit_on=ks[0], skipped=skipped, **kw)  # type: ignore[arg-type]
            else:
                res = predict_sweep(curves, out, fit_ons=ks, skipped=skipped, **kw)
    except (RecordsError, FileNotFoundError, KeyError, ValueError, OSError, pd.errors.ParserError) as exc:
        _fail(str(exc))
        return
    if not res.wins.empty:
        table = Table("family", "metric", "K", "method", "curves", "error", "coverage", "width", "best on")
        for r in res.wins.itertuples():
            table.add_row(str(r.family), str(r.metric), str(r.fit_on), str(r.method), str(r.n_curves),
                          f"{r.mae:.3g}", f"{r.coverage:.0%}", f"{r.mean_width:.3g}", str(r.n_best))
        Console(width=max(Console().width, 140)).print(table)  # "which method wins": never truncate its names
    console.print(f"wrote {len(res.files)} files into {out} (summary.md, report.html, backtest.csv, "
                  "predictions.csv, wins.csv" + (", issues.csv, inputs.csv)" if tables else ")"))
    if res.wins.empty:
        console.print("[bold red]error:[/] nothing could be backtested (no curve with enough models beyond the "
                      f"fitted ones): see {out / 'summary.md'}" + (f" and {out / 'issues.csv'}" if tables else ""))
        raise typer.Exit(code=1)


def _load_task(spec: str, shots: int, n: int | None, seed: int):
    """Task examples from a GPT-3 JSONL file, a BIG-bench task.json / directory, or
    ``generate:OP:DIGITS`` (GPT-3 format, 2-shot by default) / ``generate:OP:DIGITS:compact`` (the
    ladder's ``a+b=`` format, drawn from the held-out half the ladder never trained on)."""
    from emergence_lens.tasks import (
        TaskExample,
        generate_arithmetic,
        load_bigbench_dir,
        load_bigbench_task,
        load_gpt3_arithmetic,
    )

    if spec.startswith("generate:"):
        parts = spec.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "compact") or not parts[2].isdigit():
            raise ValueError(f"--task {spec!r}: expected generate:OP:DIGITS or generate:OP:DIGITS:compact")
        if len(parts) == 4:
            return generate_arithmetic(parts[1], int(parts[2]), n or 1000, seed=seed, k_shot=shots,  # type: ignore[arg-type]
                                       format="compact", heldout=True)
        return generate_arithmetic(parts[1], int(parts[2]), n or 1000, seed=seed, k_shot=shots)  # type: ignore[arg-type]
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"task file not found: {path}")
    if path.suffix == ".jsonl":
        base = load_gpt3_arithmetic(path)
        if shots:
            # k solved examples from the same file (the next ones, cyclically), never the question.
            solved = [e.prompt + " " + e.target for e in base]
            base = [TaskExample(e.task, e.example_id,
                                "".join(solved[(i + j) % len(base)] for j in range(1, shots + 1)) + e.prompt,
                                e.target) for i, e in enumerate(base)]
        return base[:n] if n else base
    examples = (load_bigbench_task(path) if path.is_file()
                else [e for ex in load_bigbench_dir(path).values() for e in ex])
    return examples[:n] if n else examples


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="Local path or hub id (hf, vllm) or served model name (openai).")],
    task: Annotated[str, typer.Option(help="GPT-3 JSONL, BIG-bench task.json or directory, generate:OP:DIGITS, "
                                           "or generate:OP:DIGITS:compact (the shipped ladder's format).")],
    out: Annotated[Path, typer.Option(help="Output directory (records.parquet; resumable parts/).")],
    backend: Annotated[str, typer.Option(help="hf, openai or vllm.")] = "hf",
    family: Annotated[str | None, typer.Option(
        help="Model family for the records (default: inferred from the model name).")] = None,
    scale_params: Annotated[float | None, typer.Option(
        help="Parameter count (default for hf: counted from the loaded model).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (…/v1).")] = None,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API key.")] = "OPENAI_API_KEY",
    tensor_parallel_size: Annotated[int, typer.Option(help="vLLM tensor parallelism.")] = 1,
    shots: Annotated[int, typer.Option(help="Solved examples prepended (GPT-3 JSONL / generate).")] = 2,
    n: Annotated[int | None, typer.Option(help="Evaluate at most N examples.")] = None,
    device: Annotated[str, typer.Option(help="hf: auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed for generated tasks and for sampling.")] = 0,
    sample_until_pass: Annotated[int | None, typer.Option(
        help="PassUntil (Hu et al. 2023): also sample completions per problem until K are right (records "
             "attempts, passes); resolves pass rates far below 1/n.")] = None,
    max_samples: Annotated[int, typer.Option(help="PassUntil: at most this many samples per problem.")] = 1000,
    temperature: Annotated[float, typer.Option(help="PassUntil: sampling temperature (> 0).")] = 1.0,
) -> None:
    """Run a model on a task and write per-example records (completion, target log-probs, choices)."""
    extra = {"hf": "train", "openai": "openai", "vllm": "vllm"}.get(backend)
    if extra:
        _require(extra, f"'evaluate --backend {backend}'")
    from emergence_lens.models.backends import BackendError, make_backend
    from emergence_lens.models.evaluate import evaluate_to_dir
    from emergence_lens.tasks import TaskFormatError

    try:
        examples = _load_task(task, shots, n, seed)
        if backend == "openai":
            if not base_url:
                _fail("--backend openai needs --base-url")
            be = make_backend("openai", model, base_url=base_url, api_key_env=api_key_env)
        elif backend == "vllm":
            be = make_backend("vllm", model, tensor_parallel_size=tensor_parallel_size)
        else:
            be = make_backend(backend, model, device=device)
        if scale_params is None:
            if backend != "hf":
                _fail("--scale-params is required for this backend")
            scale_params = float(sum(p.numel() for p in be.model.parameters()))  # type: ignore[attr-defined]
        with console.status(f"evaluating {len(examples)} examples"):
            from emergence_lens.sources.scale import infer_family

            sampling = ({} if sample_until_pass is None else
                        {"sample_until_pass": sample_until_pass, "max_samples": max_samples,
                         "temperature": temperature, "sample_seed": seed})
            # the compact format's answer follows "=" directly; GPT-3's follows "A:" and a space
            prefix = "" if task.startswith("generate:") and task.endswith(":compact") else " "
            df = evaluate_to_dir(be, examples, out, family=family or infer_family(model),
                                 model=Path(model).name or model, answer_prefix=prefix,
                                 scale_params=scale_params, **sampling)
    except (BackendError, TaskFormatError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
        return
    console.print(f"wrote {out / 'records.parquet'}: {len(df)} records")


@app.command()
def audit(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(
        help="Files or folders, recognised by content: lm-eval results and samples (any file name), BIG-bench "
             "score files, tidy or wide CSV/TSV/Parquet tables; local paths or URLs fsspec opens (s3://bucket/runs, "
             "gs://..., with that filesystem's package installed).")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    models: Annotated[Path | None, typer.Option(
        "--models", help="Metadata table: a model column and sizes with units in the header, e.g. 'Size (B)', "
                         "'Tokens (T)', 'FLOPs (1E21)'; optional family.")] = None,
    scale_map: Annotated[Path | None, typer.Option(
        help="CSV/JSON mapping model -> scale_params[, family] for models whose size is unknown.")] = None,
    family: Annotated[str | None, typer.Option(help="Use this family name for every model.")] = None,
    model_col: Annotated[str | None, typer.Option(help="Wide tables: the model column.")] = None,
    task_col: Annotated[str | None, typer.Option(help="Tables: the task column.")] = None,
    metric_cols: Annotated[str | None, typer.Option(
        help="Wide tables: comma-separated value columns (default: every numeric column that is not a size).")
    ] = None,
    by: Annotated[str | None, typer.Option(
        help="Wide tables: comma-separated condition columns (prompt format, shots, ...), kept as separate "
             "curves.")] = None,
    bigbench_scale: Annotated[str, typer.Option(
        help="BIG-bench scale: non_embedding_params, total_params or flop_matched_non_embedding_params.")
    ] = "non_embedding_params",
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for per-sample sources.")] = 1000,
    threshold: Annotated[float, typer.Option(help="Sharpness threshold.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    x: Annotated[str, typer.Option("--x", help="x-axis: params, flops or loss.")] = "params",
    chance: Annotated[list[str] | None, typer.Option(
        help="TASK=LEVEL (or TASK:METRIC=LEVEL) chance level, e.g. for multiple-choice accuracy in results "
             "files that do not say how many options there are (repeatable).")] = None,
    n_examples: Annotated[list[str] | None, typer.Option(
        "--n-examples", help="TASK=N test-set size for results-only values that carry neither n nor a stderr "
                             "(repeatable); gives their points a resolution and their curves a CI.")] = None,
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
            _fail(f"--max-member-mb {max_member_mb}: give a positive size in MB")
            return
        os.environ["EMERGENCE_LENS_MAX_MEMBER_MB"] = repr(max_member_mb)  # workers inherit it
    if engine == "local" and (workers or os.cpu_count() or 1) > 1 and input_bytes(paths) >= SERIAL_BYTES:
        prestart_workers()  # the workers' imports overlap this process's own
    from emergence_lens.audit import Rescored
    from emergence_lens.audit import audit as run_audit
    from emergence_lens.emergence import x_column
    from emergence_lens.engine import (
        ENGINES,
        AuditOptions,
        EngineSession,
        PartitionStore,
        plan_partitions,
        run_audit_partitions,
    )
    from emergence_lens.sources import WideSpec, load_scale_map, load_sources, parse_n_examples, read_metadata
    from emergence_lens.sources.load import complete_bundle

    started = time.time()
    if engine not in ENGINES:
        _fail(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
        return
    if scheduler is not None and engine != "dask":
        _fail("--scheduler is for --engine dask")
        return
    try:
        x_column(x)
        levels = _parse_chance(chance)
        sizes = parse_n_examples(n_examples)
        mapping = load_scale_map(scale_map) if scale_map else None
        meta = read_metadata(models) if models else None
    except (ValueError, OSError) as exc:
        _fail(str(exc))
        return
    spec = WideSpec(model_col=model_col, task_col=task_col,
                    metric_cols=tuple(c.strip() for c in (metric_cols or "").split(",") if c.strip()),
                    by=tuple(c.strip() for c in (by or "").split(",") if c.strip()))
    # the workers started for the partitions draw the report's panels too; closed at the end
    with contextlib.ExitStack() as stack:
        try:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed} files"),
                          TimeElapsedColumn(), console=console, transient=True) as prog:
                bar = prog.add_task("reading", total=None)

                def tick(name: str) -> None:
                    prog.update(bar, advance=1, description=f"reading {name[:40]}")

                bundle = load_sources(paths, scale_map=mapping, family=family, bigbench_scale=bigbench_scale,
                                      metadata=meta, table_spec=spec, progress=tick, n_examples=sizes,
                                      defer_samples=True)
            rescored = None
            store = None
            session = None
            digests: dict[str, str] = {}
            if bundle.deferred is not None:
                parts = plan_partitions(bundle.deferred.jobs)
                session = stack.enter_context(EngineSession(
                    engine, workers=workers, scheduler=scheduler,
                    parallel=sum(p.size for p in parts) >= SERIAL_BYTES))
                options = AuditOptions(n_boot, seed, threshold, x, tuple(sorted((levels or {}).items())))
                store = PartitionStore(out, options)
                if not resume:
                    store.clear()
                with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("partitions"), TimeElapsedColumn(), console=console, transient=True) as prog:
                    bar = prog.add_task("re-scoring samples", total=len(parts))
                    rows = [0]

                    def done(r, resumed: bool) -> None:
                        rows[0] += r.rows_read
                        prog.update(bar, advance=1, description=f"{'resumed' if resumed else 're-scored'} "
                                    f"{r.key[0]}/{r.key[1]}"[:60] + f" ({rows[0]:,} rows)")

                    results = run_audit_partitions(parts, options, store=store, progress=done, session=session)
                digests = {o.path: o.sha256 for r in results for o in r.outcomes}
                bundle = complete_bundle(bundle, {o.path: o for r in results for o in r.outcomes},
                                         [i for r in results for i in r.across])
                rescored = Rescored.concat([r.rescored for r in results if r.rescored is not None])
            executor = None if session is None else session.executor
            pending: list = []  # the audit's figures, drawn by the workers while the report starts
            for issue in bundle.issues[:20]:
                console.print(str(issue), style="yellow", markup=False, highlight=False)
            if len(bundle.issues) > 20:
                console.print(f"... {len(bundle.issues) - 20} more in {out / 'issues.csv'}")
            with console.status("scoring curves"):
                table = run_audit(bundle, out, n_boot=n_boot, seed=seed, threshold=threshold, x_axis=x,
                                  chance=levels, rescored_parts=rescored, executor=executor, pending=pending)
            if store is not None:
                store.clear()  # the run completed: nothing to resume
        except Exception as exc:  # noqa: BLE001 - a user sees one line, never a traceback
            _fail(f"audit failed: {type(exc).__name__}: {exc}")
            return
        if len(bundle.unresolved):
            console.print(f"[yellow]{len(bundle.unresolved)} model(s) with unknown size held out: "
                          f"see {out / 'unresolved.csv'} (give --models or --scale-map)[/]")
        inputs = bundle.inputs
        console.print(f"{len(inputs)} files ({int((inputs['format'] != '').sum())} recognised, "
                      f"{int(inputs['rows_loaded'].sum())} rows loaded, "
                      f"{int(inputs['rows_reported'].sum())} reported); "
                      f"{len(table)} curves -> {out / 'audit.csv'}, verdicts.csv, models.csv, inputs.csv, figures, "
                      "summary.md", markup=False, highlight=False)
        _finish_run(out, command="audit", started=started, seed=seed,
                    inputs=[p for p in (*paths, models, scale_map) if p is not None], ctx=ctx, digests=digests,
                    executor=executor, pending=pending)
    if bundle.curves.empty and (bundle.records is None or bundle.records.empty) and rescored is None:
        console.print("[bold red]error:[/] nothing could be audited: see issues.csv and inputs.csv")
        raise typer.Exit(code=1)


@app.command()
def report(directory: Annotated[Path, typer.Argument(
        help="An output folder of reproduce, audit or score.")]) -> None:
    """Write DIRECTORY/report.html: one self-contained page (verdict table, panels, figures, issues,
    provenance) that opens offline in any browser."""
    from emergence_lens.report.html import ReportError, write_report

    try:
        with console.status("writing report.html"):
            path = write_report(directory)
    except (ReportError, OSError) as exc:
        _fail(str(exc))
        return
    console.print(f"wrote {path}")


@app.command()
def serve(
    model: Annotated[Path, typer.Option(help="Local Hugging Face-format model directory.")],
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve a local model on an OpenAI-compatible /v1/completions endpoint (greedy, logprobs, echo)."""
    _require("train", "'serve'")
    from emergence_lens.models.openai_server import make_server

    server = make_server(model, host, port)
    console.print(f"serving {model} on http://{host}:{server.server_address[1]}/v1 (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.shutdown()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
