"""The pipeline behind ``emergence-lens audit`` (paper Figs. 5-6): an emergence score and a verdict
for every curve of any result files.

:func:`audit` reads the inputs (:func:`emergence_lens.sources.load_sources`), re-scores per-sample
logs per (family, task) partition on an engine (:mod:`emergence_lens.engine`), scores results-only
curves (:mod:`emergence_lens.emergence.aggregate`), and writes the tables, figures
(:mod:`emergence_lens.report.audit_figures`), summary, provenance and report into its own output
folder (:mod:`emergence_lens.outputs`).  :func:`write_audit` writes the tables of a loaded bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens._io import atomic_write_text, write_csv
from emergence_lens.emergence import DEFAULT_THRESHOLD, VERDICT_COLUMNS
from emergence_lens.emergence.verdict import verdict_tally
from emergence_lens.emergence.aggregate import AUDIT_COLUMNS, RESCORED_SOURCE, results_only
from emergence_lens.naming import code_span
from emergence_lens.report import markdown_table
from emergence_lens.report.audit_figures import draw_audit_figures, is_high
from emergence_lens.scoring import Rescored, rescore
from emergence_lens.sources import SourceBundle
from emergence_lens.metrics import METRICS
from emergence_lens.metrics.reported import metric_kind
from emergence_lens.sources.sample_size import BINOMIAL_METRICS

__all__ = ["audit", "AuditError", "AuditRun", "write_audit", "verdict_counts", "AUDIT_COLUMNS", "RESCORED_SOURCE"]


def write_audit(bundle: SourceBundle, out: str | Path, *, n_boot: int = 1000, seed: int = 0,
          threshold: float = DEFAULT_THRESHOLD, high: float | None = None, x_axis: str = "params",
          chance: Mapping[str, float] | None = None, confidence: float = 0.95,
          metrics: Sequence[str] | None = None, rescored_parts: Rescored | None = None,
          figures: bool = True, executor: Executor | None = None,
          pending: list[Future[None]] | None = None) -> pd.DataFrame:
    """Write ``audit.csv``, ``verdicts.csv``, ``fig5_scores_by_metric.png``, ``fig6_mcg_vs_brier.png``
    (when a family has both), ``issues.csv``, ``unresolved.csv`` and ``summary.md`` into ``out``.

    Curves re-scored from per-sample logs get the full verdicts
    (:func:`~emergence_lens.emergence.verdict_table`: paired sharpness, explained by the metric);
    results-only curves get those their aggregates allow (sharpness, resolution, Wei's criterion,
    the partner's state), marked ``source`` accordingly.  ``high``: emergence score counted as
    "high" in the Figure 5 summary (default: the sharpness threshold times (n_scales - 1)).
    ``metrics``: the registered metrics to re-score records under (``None``: every one that
    applies; empty: none).  ``rescored_parts``: the re-scored part already computed (by partitions,
    :mod:`emergence_lens.engine`); default: :func:`rescore` of ``bundle.records``.  ``executor``:
    worker processes to draw the figures on (the same files either way); ``pending``: a list that
    gets the figures' futures instead of waiting for them (the caller waits, e.g. the report, which
    builds its page meanwhile).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    rescored = None
    verdict_rows = []
    if len(bundle.curves):
        cs, rows = results_only(bundle.curves, x_axis=x_axis, chance=chance, n_boot=n_boot, seed=seed,
                                threshold=threshold, confidence=confidence)
        parts.append(cs)
        verdict_rows.append(rows)
    if rescored_parts is None and bundle.records is not None and len(bundle.records) and metrics != ():
        rescored_parts = rescore(bundle.records, n_boot=n_boot, seed=seed, threshold=threshold, x_axis=x_axis,
                                 chance=chance, confidence=confidence, metrics=metrics)
    if rescored_parts is not None:
        parts.append(rescored_parts.audit_rows)
        verdict_rows.append(rescored_parts.verdicts)
        rescored = rescored_parts.curves
        write_csv(rescored, out / "rescored_curves.csv")
        write_csv(rescored_parts.predictions, out / "predictions.csv")
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=AUDIT_COLUMNS + ["status"])
    for col in ("emergence_score", "ci_low", "ci_high", "n_scales", "scale_min", "scale_max", "chance", "emerges_at",
                "resolution", "noise_floor"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    table["wei_emergent"] = table["wei_emergent"].astype(object).where(table["wei_emergent"].notna(), False).astype(bool)
    table["metric_kind"] = table["metric"].map(metric_kind)
    table["aggregate"] = table["aggregate"].fillna(False).astype(bool) if "aggregate" in table else False
    if len(table):
        table.loc[table["status"] != "ok", "verdict"] = "not scored: " + table["status"]
    result = table[AUDIT_COLUMNS].sort_values(["family", "task", "subtask", "metric"], kind="stable")
    write_csv(result, out / "audit.csv")
    verdicts = (pd.concat(verdict_rows, ignore_index=True)[VERDICT_COLUMNS] if verdict_rows
                else pd.DataFrame(columns=VERDICT_COLUMNS))
    write_csv(verdicts, out / "verdicts.csv")
    write_csv(bundle.issues.frame(), out / "issues.csv")
    write_csv(bundle.unresolved, out / "unresolved.csv")
    write_csv(bundle.inputs, out / "inputs.csv")
    write_csv(bundle.models, out / "models.csv")
    if len(bundle.curves):
        write_csv(bundle.curves, out / "curves.csv")
    if figures:
        draw_audit_figures(result, bundle.curves, rescored, out, threshold, executor, pending)
    _summary(result, bundle, out, threshold)
    return result


def _rescored_metrics(metrics: Sequence[str]) -> tuple[str, ...] | None:
    """``--metric`` as the registered metrics records are re-scored under (``None``: not given, all)."""
    if not metrics:
        return None
    return tuple(m for m in metrics if m in METRICS or m.split("[", 1)[0] in METRICS)


def _only_metrics(bundle: SourceBundle, metrics: Sequence[str]) -> SourceBundle:
    """The bundle whose results-only curves are those of ``metrics``: tables were read with them
    (wide: the value columns; tidy: the rows, the rest reported); every other source's curves of
    other metrics stay loaded (``inputs.csv``) and are not audited.  A name that is neither among the
    inputs' metrics nor registered (so re-scorable) nor a table's is refused, naming the ones found."""
    curves = bundle.curves
    tables = set(bundle.inputs.loc[bundle.inputs["format"] == "table", "file"].astype(str))
    from_table = curves["source"].astype(str).isin(tables)
    found = set(curves.loc[~from_table, "metric"].astype(str))
    unknown = [m for m in metrics if m not in found and m not in (_rescored_metrics(metrics) or ()) and not tables]
    if unknown:
        raise AuditError(f"--metric {', '.join(unknown)}: not a metric of the inputs (they report "
                         f"{', '.join(sorted(found)) or 'none'}) nor a registered one (emergence-lens metrics)")
    keep = from_table | curves["metric"].astype(str).isin(metrics)
    return dataclasses.replace(bundle, curves=curves[keep].reset_index(drop=True))


def verdict_counts(t: pd.DataFrame) -> str:
    """How the verdicts of an audit table fall, most frequent first (``no emergence: 9, ...``): each
    verdict's word without its qualifier (``inconclusive (brier_score smooth)`` is ``inconclusive``)."""
    return ", ".join(f"{k}: {int(c)}" for k, c in verdict_tally(t["verdict"]).items())


def _resolution_line(t: pd.DataFrame) -> str:
    counts = verdict_counts(t)
    return (f"Resolution and Wei's criterion: {int((t['metric_state'] == 'no measurable ability').sum())} curves "
            f"show no measurable ability (never clearly above chance, so never called sharp); "
            f"{int(t['wei_emergent'].fillna(False).astype(bool).sum())} are Wei-emergent (near chance at >= 2 "
            f"smaller scales, then above); {int(t['emerges_at'].notna().sum())} have an `emerges_at`. "
            f"Verdicts: {counts}.\n\n" + _uncertainty_line(t))


def _uncertainty_line(t: pd.DataFrame) -> str:
    agg = t[t["source"].astype(str) != RESCORED_SOURCE]
    if agg.empty:
        return ""
    method = agg["ci_method"].fillna("").astype(str)
    floor = pd.to_numeric(agg["noise_floor"], errors="coerce")
    res = pd.to_numeric(agg["resolution"], errors="coerce")
    return (f"Results-only curves: {int((method != '').sum())} of {len(agg)} have an emergence-score CI from a "
            f"parametric bootstrap ({int(method.str.contains('binomial').sum())} binomial from n, "
            f"{int(method.str.contains('stderr').sum())} normal from a stderr); of the {int(floor.notna().sum())} "
            f"accuracy curves held to the noise floor max(0.01, 2 x resolution), "
            f"{int((floor.notna() & res.isna()).sum())} have resolution unknown (no n or stderr: the 0.01 floor "
            f"alone; give `--n-examples TASK=N`).\n")


def _summary(t: pd.DataFrame, bundle: SourceBundle, out: Path, threshold: float) -> None:
    scored = t[np.isfinite(t["emergence_score"]) & ~t["aggregate"].astype(bool)]
    high = scored[is_high(scored, threshold)]
    by_metric = scored.groupby("metric").agg(curves=("emergence_score", "size"),
                                             median_score=("emergence_score", "median"),
                                             high=("emergence_score", lambda s: int(is_high(scored.loc[s.index],
                                                                                             threshold).sum())))
    # accuracy-like metrics (a mean of 0/1 per example): the ones the paper says manufacture the jumps
    share = (high["metric"].str.split("[").str[0].isin(BINOMIAL_METRICS).mean() if len(high) else float("nan"))
    text = ["# audit\n", f"{len(bundle.files)} source files; {len(t)} curves "
            f"({len(scored)} scored); {t['family'].nunique()} famil(ies); {t['metric'].nunique()} metrics.\n",
            f"High emergence (sharpness >= {threshold:g}): {len(high)} curves from "
            f"{high['metric'].nunique()} of {scored['metric'].nunique()} metrics; share from accuracy-like metrics "
            f"(multiple-choice grade, exact match, accuracy, ...): {share:.0%}.\n" if len(scored)
            else "No curve could be scored.\n",
            _resolution_line(t),
            "Families: " + "; ".join(f"{code_span(fam)} ({', '.join(sorted(set(g['family_source'])))}, {len(g)} models)"
                                     for fam, g in bundle.models.groupby("family")) + ". Sizes: "
            + ", ".join(f"{k.split(':')[0]} {int(v)}" for k, v in bundle.models["size_source"].value_counts().items())
            + " (`models.csv`).\n" if len(bundle.models) else "",
            "## By metric\n", markdown_table(by_metric.reset_index()),
            "## Curves\n", markdown_table(t.drop(columns=["source"]).head(200))]
    if len(bundle.unresolved):
        text += ["## Models with unresolved scale (held out)\n", markdown_table(bundle.unresolved)]
    if len(bundle.issues):
        text += [f"## Input problems ({len(bundle.issues)})\n", markdown_table(bundle.issues.frame().head(100))]
    atomic_write_text(out / "summary.md", "\n".join(text))


class AuditError(ValueError):
    """Options that cannot be used (one line; nothing was written)."""


@dataclass
class AuditRun:
    """Attributes:
        bundle: what was read (curves, issues, accounting of every input, models).
        table: ``audit.csv``, one row per curve.
        report: the line about ``report.html`` (written, or why not).
        audited: whether anything could be audited (else only issues and accounting were written).
    """

    bundle: SourceBundle
    table: pd.DataFrame
    report: str
    audited: bool


def audit(paths: Sequence[str | Path], out: str | Path, *, models: str | Path | None = None,
          scale_map: str | Path | None = None, family: str | None = None, model_col: str | None = None,
          task_col: str | None = None, metric: Sequence[str] = (), by: Sequence[str] = (),
          bigbench_scale: str = "non_embedding_params", n_boot: int = 1000, threshold: float = DEFAULT_THRESHOLD,
          seed: int = 0, x: str = "params", chance: Mapping[str, float] | None = None,
          n_examples: Mapping[str, int] | None = None, confidence: float = 0.95, figures: bool = True,
          engine: str = "local", scheduler: str | None = None,
          workers: int | None = None, resume: bool = True, command_line: str = "",
          on_file: Callable[[str], None] | None = None, on_plan: Callable[[int], None] | None = None,
          on_partition: Callable[[Any, bool], None] | None = None) -> AuditRun:
    """Audit every file under ``paths`` into ``out`` (the options are the command's: see
    ``emergence-lens audit --help``).  Per-sample logs are re-scored per (family, task) partition on
    ``engine``; a killed run resumes from ``out/.partitions``.  ``metric``: only these (the value
    columns of wide tables, a filter on every other source's metric names).  ``on_file(name)``,
    ``on_plan(n)`` and ``on_partition(result, resumed)`` report progress.

    Raises:
        AuditError: options that cannot be used; :class:`emergence_lens.outputs.OutputConflict`: an
            output folder or file this run must not write.
    """
    import contextlib
    import time

    from emergence_lens.emergence import x_column
    from emergence_lens.engine import (
        ENGINES,
        AuditOptions,
        EngineSession,
        PartitionStore,
        plan_partitions,
        run_audit_partitions,
    )
    from emergence_lens.outputs import output_run
    from emergence_lens.pipelines.run import finish_run
    from emergence_lens.sources import WideSpec, load_scale_map, load_sources, read_metadata
    from emergence_lens.sources.load import complete_bundle
    from emergence_lens.workers import SERIAL_BYTES

    started = time.time()
    if not 0 < confidence < 1:
        raise AuditError(f"--confidence {confidence!r}: give a level between 0 and 1, e.g. 0.95")
    metrics = tuple(dict.fromkeys(metric))
    if engine not in ENGINES:
        raise AuditError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if scheduler is not None and engine != "dask":
        raise AuditError("--scheduler is for --engine dask")
    try:
        x_column(x)
        mapping = load_scale_map(scale_map) if scale_map else None
        meta = read_metadata(models) if models else None
    except (ValueError, OSError) as exc:
        raise AuditError(str(exc)) from exc
    spec = WideSpec(model_col=model_col, task_col=task_col, metric_cols=metrics, by=tuple(by))
    out = Path(out)
    inputs = [p for p in (*paths, models, scale_map) if p is not None]
    with output_run(out, inputs, "audit"), contextlib.ExitStack() as stack:
        bundle = load_sources(paths, scale_map=mapping, family=family, bigbench_scale=bigbench_scale, metadata=meta,
                              table_spec=spec, progress=on_file, n_examples=n_examples, defer_samples=True)
        if metrics:
            bundle = _only_metrics(bundle, metrics)
        rescored, store, session, digests = None, None, None, {}
        if bundle.deferred is not None:
            parts = plan_partitions(bundle.deferred.jobs)
            if on_plan:
                on_plan(len(parts))
            # the workers started for the partitions draw the audit's figures too; closed at the end
            session = stack.enter_context(EngineSession(engine, workers=workers, scheduler=scheduler,
                                                        parallel=sum(p.size for p in parts) >= SERIAL_BYTES))
            options = AuditOptions(n_boot, seed, threshold, x, tuple(sorted((chance or {}).items())), confidence,
                                   _rescored_metrics(metrics))
            store = PartitionStore(out, options)
            if not resume:
                store.clear()
            results = run_audit_partitions(parts, options, store=store, progress=on_partition, session=session)
            digests = {o.path: o.sha256 for r in results for o in r.outcomes}
            bundle = complete_bundle(bundle, {o.path: o for r in results for o in r.outcomes},
                                     [i for r in results for i in r.across])
            rescored = Rescored.concat([r.rescored for r in results if r.rescored is not None])
        executor = None if session is None else session.executor
        pending: list[Future[None]] = []  # the audit's figures, drawn by the workers while the report starts
        table = write_audit(bundle, out, n_boot=n_boot, seed=seed, threshold=threshold, x_axis=x, chance=chance,
                            confidence=confidence, metrics=_rescored_metrics(metrics), rescored_parts=rescored,
                            figures=figures, executor=executor, pending=pending)
        if store is not None:
            store.clear()  # the run completed: nothing to resume
        report = finish_run(out, command="audit", started=started, seed=seed, inputs=inputs,
                            command_line=command_line, digests=digests, pending=pending)
    audited = not (bundle.curves.empty and (bundle.records is None or bundle.records.empty) and rescored is None)
    return AuditRun(bundle, table, report, audited)
