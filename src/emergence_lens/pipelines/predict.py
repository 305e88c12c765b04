"""The pipeline behind ``emergence-lens predict``: inputs -> curves -> the backtest -> files.

:func:`predict` reads the command's inputs (records, an audit folder, tables of aggregates) into
curves; :func:`run_backtest` runs the one backtest (:mod:`emergence_lens.backtesting`, which ``score
--fit-on`` runs too) and writes into ``out``:

* ``predictions.csv`` — per held-out model and method: observed (CI), predicted, bootstrap band,
  calibrated interval, error (:data:`~emergence_lens.backtesting.PREDICTION_COLUMNS`);
* ``backtest.csv`` — per (family, task, metric, method, fit_on): ``n_heldout, mae,
  interval_score, coverage, mean_width`` (of the calibrated interval), whether the interval says
  anything (``informative``), the bootstrap band's coverage and width, the calibration used, and
  the scale where the method predicts the metric to cross half its range next to where it did;
* ``wins.csv`` — "which method wins": per (family, metric, fit_on) each method ranked by interval
  score (a whole-range interval never first), with error, coverage and width beside;
* ``figures/*.png`` — one per curve, every method's fan (and, where the ``finetune`` method fitted
  its emergence law, the law: ``*__emergence_law.png``); ``summary.md`` and ``report.html``, which
  open with a foresight line per curve (was its jump seen coming at this K, by which method?).

:func:`predict_sweep` repeats it for several ``K`` (``out/fit_on_K/``, ``out/sweep.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens._io import atomic_write_text, write_csv
from emergence_lens.backtesting import (
    WINS_COLUMNS,
    ForecastCurve,
    attach_finetuned,
    attach_pools,
    backtest_curves,
    curves_from_records,
    curves_from_table,
    foresight_table,
)
from emergence_lens.emergence import X_LABELS
from emergence_lens.emergence.bootstrap import percentile_ci
from emergence_lens.emergence.forecast import resolve_methods
from emergence_lens.naming import slug
from emergence_lens.report import markdown_table
from emergence_lens.report.forecast import plot_emergence_law, plot_forecast, write_forecast_report

__all__ = ["predict", "PredictError", "PredictRun", "records_in", "PredictResult", "run_backtest", "predict_records",
           "predict_table", "predict_sweep", "SWEEP_COLUMNS"]

SWEEP_COLUMNS = ["family", "metric", "method", "fit_on", "n_curves", "n_heldout", "interval_score", "mae", "coverage",
                 "mean_width", "band_coverage", "n_foreseen", "n_crossing"]


@dataclass
class PredictResult:
    predictions: pd.DataFrame
    summary: pd.DataFrame
    files: list[Path]
    wins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WINS_COLUMNS))


# -- backtest ---------------------------------------------------------------------------------


def run_backtest(curves: Sequence[ForecastCurve], out: str | Path, *, fit_on: int | None = None,
                 fit_below: float | None = None, methods: str | Iterable[str] | None = None, x_axis: str = "params",
                 confidence: float = 0.95, title: str = "forecast backtest", skipped: Sequence[dict] = (),
                 figures: bool = True) -> PredictResult:
    """Backtest every curve with every method (:func:`emergence_lens.backtesting.backtest_curves`)
    and write the files (module docstring)."""
    names = resolve_methods(methods)
    bt = backtest_curves(curves, fit_on=fit_on, fit_below=fit_below, methods=names, x_axis=x_axis,
                         confidence=confidence, skipped=skipped)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    preds, summ, wins = bt.predictions, bt.summary, bt.wins
    files = [write_csv(preds, out / "predictions.csv"), write_csv(summ, out / "backtest.csv"),
             write_csv(wins, out / "wins.csv")]
    figs: list[Path] = []
    if figures:
        for c, K in bt.fitted:
            p = preds[(preds["family"] == c.family) & (preds["task"] == c.task) & (preds["metric"] == c.metric)]
            if p.empty:
                continue
            d = c.data
            o_lo, o_hi = percentile_ci(d.replicates, confidence)
            obs = pd.DataFrame({"scale": d.x, "observed": d.observed, "observed_low": o_lo, "observed_high": o_hi})
            cut = (float(fit_below) if fit_below is not None else
                   float(np.sqrt(d.x[K - 1] * d.x[K])) if x_axis != "loss" else float((d.x[K - 1] + d.x[K]) / 2))
            name = slug(f"{c.family}__{c.task}__{c.metric}", limit=120)
            figs.append(plot_forecast(obs, p, out / "figures" / f"{name}.png",
                                      title=f"{c.family} / {c.task} / {c.metric}: fit on {K} models"
                                      + (f" below {fit_below:g}" if fit_below is not None else ""),
                                      xlabel=X_LABELS[x_axis], ylabel=c.metric, log_x=x_axis != "loss", cutoff=cut,
                                      level=d.bounds[0] + (d.bounds[1] - d.bounds[0]) / 2))
            law = summ[(summ["family"] == c.family) & (summ["task"] == c.task) & (summ["metric"] == c.metric)
                       & (summ["method"] == "finetune") & (summ["status"] == "ok")]
            if len(law):
                figs.append(plot_emergence_law(d, K, out / "figures" / f"{name}__emergence_law.png",
                                               title=f"{c.family} / {c.task} / {c.metric}: emergence law on "
                                               f"finetuned models, fit on {K}", ylabel=c.metric))
    files += figs
    ok = summ[summ["status"] == "ok"]
    how = (f"the {fit_on} smallest models of each family" if fit_on is not None else
           f"every model below {fit_below:g} ({x_axis}), across families")
    intro = (f"Fit on {how}; {ok[['family', 'task', 'metric']].drop_duplicates().shape[0]} curves, methods "
             f"{', '.join(names)}. Coverage is the share of held-out observations inside the calibrated "
             f"{confidence:.0%} interval (nominal {confidence:.0%}); crossing = the scale where the metric reaches "
             "half its range, predicted vs observed." if len(ok) else "Nothing could be backtested.")
    lines = foresight_table(summ)[["family", "task", "metric", "foresight"]] if fit_on is not None else None
    text = [f"# {title}\n", intro + "\n"]
    if lines is not None and len(lines):
        text += ["## Could the jump have been seen coming?\n", markdown_table(lines)]
    text += ["## Which method wins\n", markdown_table(wins) if len(wins) else "(none)\n",
             "\n## Every curve and method\n", markdown_table(summ.drop(columns=["x_axis"]))]
    files.append(atomic_write_text(out / "summary.md", "\n".join(text)))
    files.append(write_forecast_report(out, title=title, intro=intro, wins=wins, backtest=summ.drop(columns=["x_axis"]),
                                       figures=figs, foresight=lines))
    return PredictResult(preds, summ, files, wins)


# -- entry points -----------------------------------------------------------------------------


def predict_records(records: pd.DataFrame, out: str | Path, *, fit_on: int | None = 4, fit_below: float | None = None,
                    methods: str | Iterable[str] | None = None, metrics: Iterable[str] | None = None,
                    x_axis: str = "params", n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
                    title: str = "forecast backtest", extra_metrics: Mapping[str, Iterable[str]] | None = None,
                    pass_rates: pd.DataFrame | None = None, figures: bool = True) -> PredictResult:
    """Backtest the curves of ``records`` (:func:`curves_from_records`) with every method."""
    curves, skipped = curves_from_records(records, metrics=metrics, x_axis=x_axis, n_boot=n_boot, seed=seed,
                                          extra_metrics=extra_metrics, pass_rates=pass_rates)
    attach_pools(curves)
    return run_backtest(curves, out, fit_on=None if fit_below is not None else fit_on, fit_below=fit_below,
                        methods=methods, x_axis=x_axis, confidence=confidence, title=title, skipped=skipped,
                        figures=figures)


def predict_table(table: pd.DataFrame, out: str | Path, *, fit_on: int | None = 4, fit_below: float | None = None,
                  methods: str | Iterable[str] | None = None, metrics: Iterable[str] | None = None,
                  x_axis: str = "params", n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
                  title: str = "forecast backtest (aggregates)", figures: bool = True) -> PredictResult:
    """Backtest the curves of a table of aggregates (:func:`curves_from_table`) with every method."""
    curves, skipped = curves_from_table(table, metrics=metrics, x_axis=x_axis, n_boot=n_boot, seed=seed)
    attach_pools(curves)
    return run_backtest(curves, out, fit_on=None if fit_below is not None else fit_on, fit_below=fit_below,
                        methods=methods, x_axis=x_axis, confidence=confidence, title=title, skipped=skipped,
                        figures=figures)


def predict_sweep(curves: Sequence[ForecastCurve], out: str | Path, *, fit_ons: Iterable[int],
                  skipped: Sequence[dict] = (), **kwargs: object) -> PredictResult:
    """:func:`run_backtest` for each ``K`` in ``fit_ons`` (each into ``out/fit_on_K/``), then
    ``out/predictions.csv``, ``out/backtest.csv`` and ``out/wins.csv`` over every ``K`` and
    ``out/sweep.csv``: per (family, metric, method, K) the error, the coverage and width of the
    calibrated interval, and on how many curves the method foresaw the crossing of half the range
    (predicted within a factor 2 of where it happened; ``n_crossing``: curves that crossed beyond the
    fitted models) — how many models each method needs; ``out/foresight.csv``: per curve, the earliest
    K at which a method foresaw its crossing with an informative interval
    (:func:`~emergence_lens.backtesting.foresight_table`), in ``summary.md`` and ``report.html`` too."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ks = list(dict.fromkeys(int(k) for k in fit_ons))
    results = [run_backtest(curves, out / f"fit_on_{k}", fit_on=k, skipped=skipped, **kwargs)  # type: ignore[arg-type]
               for k in ks]
    preds = pd.concat([r.predictions for r in results], ignore_index=True)
    summ = pd.concat([r.summary for r in results], ignore_index=True)
    wins = pd.concat([r.wins for r in results], ignore_index=True)
    ok = summ[summ["status"] == "ok"].copy()
    rows = []
    for (family, metric, method, k), g in ok.groupby(["family", "metric", "method", "fit_on"], sort=True):
        w = g["n_heldout"].to_numpy(float)
        # curves whose metric crossed half its range beyond the fitted models: the jumps to foresee
        oc = g["observed_crossing"].astype(float)
        crossed = g[np.isfinite(oc) & (oc > g["cutoff"].astype(float))]
        ratio = crossed["predicted_crossing"].astype(float) / crossed["observed_crossing"].astype(float)
        rows.append({"family": family, "metric": metric, "method": method, "fit_on": int(k), "n_curves": len(g),
                     "n_heldout": int(w.sum()),
                     "interval_score": float(np.average(g["interval_score"], weights=w)),
                     "mae": float(np.average(g["mae"], weights=w)),
                     "coverage": float(np.average(g["coverage"], weights=w)),
                     "mean_width": float(np.average(g["mean_width"], weights=w)),
                     "band_coverage": float(np.average(g["band_coverage"], weights=w)),
                     "n_foreseen": int(((ratio >= 0.5) & (ratio <= 2)).sum()), "n_crossing": len(crossed)})
    sweep = pd.DataFrame(rows, columns=SWEEP_COLUMNS).sort_values(["family", "metric", "fit_on", "method"],
                                                                   kind="stable")
    foresight = foresight_table(summ)
    files = [f for r in results for f in r.files]
    files += [write_csv(preds, out / "predictions.csv"), write_csv(summ, out / "backtest.csv"),
              write_csv(wins, out / "wins.csv"), write_csv(sweep, out / "sweep.csv"),
              write_csv(foresight, out / "foresight.csv")]
    title = f"forecast sweep: fit on K = {', '.join(map(str, ks))} smallest models"
    intro = ("Per family, metric, method and K (held-out points weighted): error; share of held-out observations "
             "inside the calibrated interval and its mean width; share inside the bootstrap band alone; on how many "
             "curves that crossed half the metric's range the method put the crossing within a factor 2.")
    files.append(atomic_write_text(out / "summary.md", "\n".join([
        f"# {title}\n", intro + "\n", "## Could the jump have been seen coming?\n",
        "Per curve, the earliest K at which a method placed the crossing of half the metric's range within a "
        "factor 2 of where it happened, beyond the fitted models, with a calibrated interval narrower than half "
        "the range (`foresight.csv`):\n",
        markdown_table(foresight[["family", "task", "metric", "foresight"]]) if len(foresight) else "(none)\n",
        "\n## Every K\n", markdown_table(sweep), "\n## Which method wins\n", markdown_table(wins)])))
    files.append(write_forecast_report(out, title=title, intro=intro, wins=wins, backtest=sweep, figures=[],
                                       foresight=foresight[["family", "task", "metric", "foresight"]]))
    return PredictResult(preds, summ, files, wins)


class PredictError(ValueError):
    """Options or inputs that cannot be backtested (one line)."""


@dataclass
class PredictRun:
    """Attributes:
        result: the backtest (its ``wins`` is "which method wins"; empty when nothing could be
            backtested) and the files written.
        issues: the input problems of tables read (file, line, field), as ``issues.csv`` lists them.
        tables: whether inputs were read as ``audit`` reads them (tables, lm-eval, Inspect or BIG-bench
            files; ``issues.csv`` and ``inputs.csv`` written).
    """

    result: PredictResult
    issues: list[Any]
    tables: bool


def records_in(paths: Sequence[Path]) -> tuple[list[Path], dict[str, list[str]]]:
    """Records files under ``paths`` (files as given; folders: every ``records.parquet`` inside), and per
    family the sharp metrics a ``verdicts.csv`` beside them names."""
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


def predict(paths: Sequence[str | Path], out: str | Path, *, fit_on: Sequence[int] = (4,),
            fit_below: float | None = None, methods: str | Iterable[str] = "all", metric: Sequence[str] | None = None,
            x: str = "params", models: str | Path | None = None, family: str | None = None,
            scale_map: str | Path | None = None, n_examples: Mapping[str, int] | None = None, n_boot: int = 1000,
            confidence: float = 0.95, seed: int = 0, figures: bool = True,
            finetuned: str | Path | None = None) -> PredictRun:
    """Backtest forecasts of every curve under ``paths`` (records files or folders, an audit folder,
    or anything ``audit`` reads: tables, lm-eval / Inspect / BIG-bench files and folders, whose per-sample
    logs are re-scored per example) into ``out``; the options are the command's (``emergence-lens predict
    --help``): one ``fit_on`` value, several (a sweep: ``out/fit_on_K/`` per K), or ``fit_below``;
    ``finetuned``: a folder of ``emergence-lens finetune`` (or its ``finetune.csv``) for the ``finetune`` method.

    Raises:
        PredictError: bad options or unreadable inputs; :class:`emergence_lens.outputs.OutputConflict`:
            an output folder or file this run must not write.
    """
    from emergence_lens.outputs import OutputConflict, output_run
    from emergence_lens.records import RecordsError, read_records
    from emergence_lens.sources import load_scale_map, load_sources, read_metadata

    ks = list(fit_on)
    if not ks or min(ks) < 2:
        raise PredictError(f"--fit-on {','.join(map(str, ks))}: expected K or a list K1,K2,... of whole numbers >= 2")
    if fit_below is not None and len(ks) > 1:
        raise PredictError("--fit-below and a list of --fit-on exclude each other: give one")
    try:
        resolve_methods(methods)
    except KeyError as exc:
        raise PredictError(str(exc.args[0])) from None
    paths = [Path(p) for p in paths]
    out = Path(out)
    ft_file = None
    if finetuned is not None:
        ft_file = Path(finetuned) / "finetune.csv" if Path(finetuned).is_dir() else Path(finetuned)
        if not ft_file.is_file():
            raise PredictError(f"--finetuned {finetuned}: no finetune.csv there (the output of emergence-lens "
                               "finetune)")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise PredictError(f"not found: {', '.join(missing)}")
    audits = [p for p in paths if p.is_dir() and not any(p.rglob("records.parquet"))
              and (any(p.rglob("curves.csv")) or any(p.rglob("rescored_curves.csv")))]
    records = [p for p in paths if p not in audits and (p.suffix.lower() in (".parquet", ".jsonl") and p.is_file()
                                                         or p.is_dir() and any(p.rglob("records.parquet")))]
    # everything else is read as `audit` reads it: tables, lm-eval / Inspect / BIG-bench files and folders
    results = [p for p in paths if p not in audits and p not in records]
    issues: list[Any] = []
    table_only = [name for name, v in (("--models", models), ("--family", family), ("--scale-map", scale_map),
                                        ("--n-examples", n_examples)) if v]
    if table_only and not results:
        raise PredictError(f"{', '.join(table_only)}: for inputs read as audit reads them (tables, lm-eval or "
                           "Inspect folders); records and audit folders carry their models' family and size")
    with output_run(out, [*paths, models, scale_map, ft_file], "predict"):
        try:
            # an audit's results-only curves and its curves re-scored from samples (per-example n)
            frames = [pd.read_csv(c) for a in audits for c in sorted([*a.rglob("curves.csv"),
                                                                      *a.rglob("rescored_curves.csv")])]
            record_frames: list[pd.DataFrame] = []
            extra: dict[str, list[str]] = {}
            rates: list[pd.DataFrame] = []
            if records:
                files, extra = records_in(records)
                record_frames = [read_records(f) for f in files]
                rates = [pd.read_csv(f.parent / "pass_rates.csv") for f in files
                         if (f.parent / "pass_rates.csv").exists()]
            if results:
                bundle = load_sources(results, metadata=read_metadata(models) if models else None, family=family,
                                      scale_map=load_scale_map(scale_map) if scale_map else None,
                                      n_examples=n_examples)
                # as audit: every input file accounted for, every problem with its file, line, field
                out.mkdir(parents=True, exist_ok=True)
                write_csv(bundle.issues.frame(), out / "issues.csv")
                write_csv(bundle.inputs, out / "inputs.csv")
                issues = list(bundle.issues)
                frames.append(bundle.curves)
                if bundle.records is not None and len(bundle.records):
                    record_frames.append(bundle.records)  # per-sample logs, re-scored per example
            curves: list[ForecastCurve] = []
            skipped: list[dict] = []
            if record_frames:
                df = pd.concat(record_frames, ignore_index=True)
                curves, skipped = curves_from_records(df, metrics=metric, x_axis=x, n_boot=n_boot, seed=seed,
                                                      extra_metrics=None if metric else extra,
                                                      pass_rates=pd.concat(rates, ignore_index=True) if rates else None)
            frames = [f for f in frames if len(f)]
            if frames:
                agg, agg_skipped = curves_from_table(pd.concat(frames, ignore_index=True), metrics=metric, x_axis=x,
                                                     n_boot=n_boot, seed=seed)
                # a curve re-scored per example is the better copy of the same results-only curve
                per_example = {(c.family, c.task, c.metric) for c in curves}
                curves += [c for c in agg if (c.family, c.task, c.metric) not in per_example]
                skipped += [r for r in agg_skipped if (r["family"], r["task"], r["metric"]) not in per_example]
            if not curves and not skipped:
                raise FileNotFoundError(f"no records, curves or result files under {', '.join(map(str, paths))}")
            title = "forecast backtest" if record_frames else "forecast backtest (aggregates)"
            attach_pools(curves)
            if ft_file is not None:
                try:
                    # the file's text as it is ("n/a" is not read as a missing value): a bad cell is named as found
                    table = pd.read_csv(ft_file, keep_default_na=False)
                    attached = attach_finetuned(curves, table, seed=seed, confidence=confidence)
                except (KeyError, ValueError) as exc:
                    raise PredictError(f"--finetuned {ft_file}: {exc.args[0] if exc.args else exc}") from exc
                if not attached:
                    raise PredictError(f"--finetuned {finetuned}: none of its (family, task, metric, model) rows "
                                       "belongs to a curve of these inputs")
            kw = dict(methods=methods, x_axis=x, confidence=confidence, title=title, figures=figures)
            if fit_below is not None:
                res = run_backtest(curves, out, fit_below=fit_below, skipped=skipped, **kw)  # type: ignore[arg-type]
            elif len(ks) == 1:
                res = run_backtest(curves, out, fit_on=ks[0], skipped=skipped, **kw)  # type: ignore[arg-type]
            else:
                res = predict_sweep(curves, out, fit_ons=ks, skipped=skipped, **kw)
        except OutputConflict:
            raise
        except (RecordsError, FileNotFoundError, KeyError, ValueError, OSError, pd.errors.ParserError) as exc:
            raise PredictError(str(exc)) from exc
    return PredictRun(res, issues, bool(results))
