"""The pipeline behind ``emergence-lens score``: records -> curves -> emergence -> verdicts -> files.

:func:`score` reads records files and writes an output folder of its own; :func:`analyze` scores a
records table into a folder (the experiments call it).

Writes into ``out``:

* ``curves.csv``      one row per (family, task, metric, model): value, bootstrap CI, n, and for
  0/1 metrics the Clopper-Pearson interval and resolution limit;
* ``emergence.csv``   one row per curve: emergence score (oriented: higher is better) with CI,
  sharpness, linearity, status;
* ``verdicts.csv``    one row per (family, task, sharp metric, partner) and per curve without a
  partner: resolution, sharpness, paired sharpness, explained-by-the-metric, Wei's criterion and
  the verdict (:mod:`emergence_lens.emergence.verdict`);
* ``predictions.csv`` per model: each sharp metric observed vs predicted from its ingredient
  (``fit_on = all``) and, with ``fit_on=K``, the backtest from the K smallest models with every
  forecast method — the one ``predict`` runs, in its schema
  (:data:`~emergence_lens.backtesting.PREDICTION_COLUMNS`); ``backtest.csv`` and ``wins.csv`` beside it;
* ``verdicts_<family>.png``  observed, predicted band and backtest per sharp metric;
* ``pass_rates.csv``  where the records hold PassUntil counts: the pass rate with its CI per
                      (family, task, model) beside greedy exact match (Hu et al. 2023);
* ``skipped.csv``     metrics that could not be scored on a group, and why;
* ``curves_<family>.png``  every metric side by side, one line per task;
* ``summary.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from emergence_lens._io import atomic_write_text, write_csv
from emergence_lens.curves import CurveSet
from emergence_lens.emergence import (
    DEFAULT_THRESHOLD,
    X_LABELS,
    VerdictResult,
    pass_rate_table,
)
from emergence_lens.backtesting import Backtested
from emergence_lens.naming import slug
from emergence_lens.report import markdown_table, plot_curves, plot_verdicts
from emergence_lens.scoring import score_records

__all__ = ["Analysis", "analyze", "score", "ScoreError", "ScoreRun", "verdict_counts"]


@dataclass
class Analysis:
    curves: CurveSet
    emergence: pd.DataFrame
    verdicts: VerdictResult
    files: list[Path]
    summary_md: str
    predictions: pd.DataFrame
    backtest: Backtested | None = None

    @property
    def verdict_table(self) -> pd.DataFrame:
        return self.verdicts.verdicts

    @property
    def curve_verdicts(self) -> pd.DataFrame:
        """One row per curve: its emergence score with CI and its verdict (against its first partner)."""
        first = self.verdicts.verdicts.drop_duplicates(["family", "task", "metric"], keep="first")
        em = self.emergence[["family", "task", "metric", "n_scales", "emergence_score", "ci_low", "ci_high"]]
        return em.merge(first[["family", "task", "metric", "verdict"]], on=["family", "task", "metric"], how="left")


def verdict_counts(verdicts: pd.DataFrame) -> str:
    """One line: how many curves, how many jump under their metric, how many the partner explains."""
    sharp_rows = verdicts[verdicts["partner"] != ""]
    per_curve = sharp_rows.groupby(["family", "task", "metric"], sort=False)["verdict"].first() if len(sharp_rows) \
        else pd.Series(dtype=object)
    n_curves = verdicts.groupby(["family", "task", "metric"]).ngroups
    counts = per_curve.value_counts()
    parts = ", ".join(f"{v}: {int(c)}" for v, c in counts.items())
    return (f"{n_curves} curves; {len(per_curve)} sharp-metric curves with a smooth partner "
            f"(first partner's verdict: {parts or 'none'}).")


def analyze(records: pd.DataFrame, out: str | Path, *, metrics: Iterable[str] | None = None,
            metric_options: Mapping[str, Mapping[str, Any]] | None = None, n_boot: int = 1000,
            confidence: float = 0.95, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
            title: str = "emergence-lens analysis", figure_prefix: str = "curves", figures: bool = True,
            x_axis: str = "params", chance: Mapping[str, float] | None = None,
            fit_on: int | Sequence[int] | None = None, methods: str | Sequence[str] | None = None,
            verdict_figures: bool = True) -> Analysis:
    """Run the whole pipeline on ``records`` and write the files listed in the module docstring
    (``figures=False``: no per-family curves figure, for callers that draw their own;
    ``verdict_figures=False``: no verdict figures either).

    ``x_axis``: ``params``, ``flops`` or ``loss``; ``chance``: per-task chance overrides;
    ``fit_on``: backtest every sharp metric from its ``fit_on`` smallest models (each ``K`` of a
    list) with ``methods`` (default: all), as ``predict`` does.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scored = score_records(records, metrics, metric_options=metric_options, n_boot=n_boot, confidence=confidence,
                           seed=seed, threshold=threshold, x_axis=x_axis, chance=chance, fit_on=fit_on,
                           methods=methods)
    curves, em, vr = scored.curves, scored.emergence, scored.verdicts
    files = [write_csv(curves.table, out / "curves.csv"), write_csv(em, out / "emergence.csv"),
             write_csv(vr.verdicts, out / "verdicts.csv"), write_csv(scored.predictions, out / "predictions.csv"),
             write_csv(curves.skipped, out / "skipped.csv")]
    if scored.backtest is not None:
        files += [write_csv(scored.backtest.summary, out / "backtest.csv"),
                  write_csv(scored.backtest.wins, out / "wins.csv")]
    passes = pass_rate_table(records, confidence=confidence, seed=seed)
    if len(passes):  # PassUntil counts in the records: resolved pass rates next to greedy exact match
        files.append(write_csv(passes, out / "pass_rates.csv"))
    for family, g in curves.table.groupby("family", sort=True) if figures else ():
        notes = {(r.metric, str(r.task)): f"ES {r.emergence_score:.3g}"
                 for r in em[em["family"] == family].itertuples() if pd.notna(r.emergence_score)}
        files.append(plot_curves(g, out / f"{figure_prefix}_{slug(str(family))}.png",
                                 annotations=notes,
                                 title=f"{family}: every metric on the same outputs "
                                       f"(bars: {confidence:.0%} bootstrap CI; ES = emergence score)"))
    for family, p in scored.predictions.groupby("family", sort=True) if verdict_figures else ():
        f = plot_verdicts(p, vr.verdicts[vr.verdicts["family"] == family],
                          out / f"verdicts_{slug(str(family))}.png", xlabel=X_LABELS[x_axis],
                          log_x=x_axis != "loss",
                          title=f"{family}: sharp metrics vs the prediction from their smooth ingredient")
        if f is not None:
            files.append(f)
    n_rec = len(records)
    v = vr.verdicts
    lines = [f"# {title}\n",
             f"{n_rec} records; {records['family'].nunique()} famil(ies); "
             f"{records['task'].nunique()} task(s); {records['model'].nunique()} model(s). "
             f"Bootstrap: {n_boot} resamples, seed {seed}, {confidence:.0%} percentile CIs. "
             f"x-axis: {x_axis}. Sharpness threshold {threshold:g} (sharpness = emergence score / "
             f"(n_scales - 1)).\n",
             verdict_counts(v) + "\n",
             "## Verdicts\n",
             markdown_table(v[["family", "task", "metric", "partner", "metric_state", "explained", "wei_emergent",
                               "verdict", "explanation"]]) if len(v) else "No curve.\n",
             "## Emergence scores (oriented so that higher is better)\n",
             markdown_table(em[["family", "task", "metric", "metric_kind", "n_scales",
                                "emergence_score", "ci_low", "ci_high", "sharpness", "status"]]),
             ]
    if len(curves.skipped):
        lines += ["## Metrics not scored\n", markdown_table(curves.skipped)]
    summary = "\n".join(lines)
    files.append(atomic_write_text(out / "summary.md", summary))
    return Analysis(curves, em, vr, files, summary, scored.predictions, scored.backtest)


class ScoreError(ValueError):
    """Options or records that cannot be scored (one line; nothing was written)."""


@dataclass
class ScoreRun:
    """Attributes:
        analysis: the scored curves, emergence scores, verdicts and the files written.
        report: the line about ``report.html`` (written, or why not).
    """

    analysis: Analysis
    report: str


def score(records: Sequence[str | Path], out: str | Path, *, metric: Sequence[str] | None = None,
          tokenizer: str = "characters", n_boot: int = 1000, confidence: float = 0.95,
          threshold: float = DEFAULT_THRESHOLD, seed: int = 0, x: str = "params",
          chance: Mapping[str, float] | None = None, fit_on: int | Sequence[int] | None = None,
          methods: str | Sequence[str] | None = None, figures: bool = True, command_line: str = "") -> ScoreRun:
    """Score records files under every metric pair into ``out`` (the options are the command's: see
    ``emergence-lens score --help``).

    Raises:
        ScoreError: bad options or records; :class:`emergence_lens.outputs.OutputConflict`: an output
            folder or file this run must not write.
    """
    import time

    from emergence_lens.outputs import OutputConflict, output_run
    from emergence_lens.pipelines.run import finish_run
    from emergence_lens.records import RecordsError, read_records, validate_records

    started = time.time()
    if tokenizer not in ("characters", "whitespace"):
        raise ScoreError("--tokenizer must be 'characters' or 'whitespace' (use the Python API for a callable)")
    with output_run(out, records, "score"):
        try:
            frames = [read_records(f) for f in records]
            df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            if len(frames) > 1:
                validate_records(df, source=" + ".join(map(str, records)))
            opts = {}
            if metric is None or "token_edit_distance" in metric:
                opts["token_edit_distance"] = {"tokenizer": tokenizer}
            res = analyze(df, out, metrics=metric, metric_options=opts, n_boot=n_boot, confidence=confidence,
                          seed=seed, threshold=threshold, x_axis=x, chance=chance, fit_on=fit_on, methods=methods,
                          figures=figures, verdict_figures=figures)
        except OutputConflict:
            raise
        except (RecordsError, FileNotFoundError, KeyError, ValueError) as exc:
            raise ScoreError(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)) from exc
        report = finish_run(Path(out), command="score", started=started, seed=seed, inputs=list(records),
                            command_line=command_line)
    return ScoreRun(res, report)
