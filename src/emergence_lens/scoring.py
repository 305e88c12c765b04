"""The scoring core: records -> curves -> emergence scores -> verdicts, in one call.

Every command and experiment that scores per-example records goes through :func:`score_records`:
``score`` (:mod:`emergence_lens.pipelines.score`), the re-scored part of ``audit``
(:mod:`emergence_lens.pipelines.audit`) and the arithmetic experiment's ladders (paper Fig. 3).
It writes nothing; the pipelines write what they need of it.  :func:`rescore` shapes its result
into the audit's rows (the partitioned engines call it per (family, task)).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens.backtesting import Backtested, attach_pools, backtest_curves, curves_from_records
from emergence_lens.curves import CurveSet, curves_from_examples, metric_specs
from emergence_lens.emergence import DEFAULT_THRESHOLD, VerdictResult, emergence_table, verdict_table, x_column
from emergence_lens.emergence.aggregate import KEYS, RESCORED_SOURCE
from emergence_lens.example_scores import ModelScores, score_examples
from emergence_lens.metrics import METRICS, MetricSpec
from emergence_lens.workers import release_memory

__all__ = ["Scored", "score_records", "score_examples_of", "Rescored", "rescore", "rescore_examples"]


@dataclass
class Scored:
    """Attributes:
        curves: per-model values with bootstrap replicates and per-example scores (:class:`CurveSet`).
        emergence: one row per curve (:func:`emergence_lens.emergence.emergence_table`).
        verdicts: verdict rows and the band rows of the predictions (:class:`VerdictResult`).
        backtest: with ``fit_on``, the backtest of every sharp metric
            (:func:`emergence_lens.backtesting.backtest_curves`, the one ``predict`` runs).
    """

    curves: CurveSet
    emergence: pd.DataFrame
    verdicts: VerdictResult
    backtest: Backtested | None = None

    @property
    def predictions(self) -> pd.DataFrame:
        """``predictions.csv``: the verdicts' band at every model (``fit_on = all``), then the backtest's rows."""
        if self.backtest is None or self.backtest.predictions.empty:
            return self.verdicts.predictions
        return pd.concat([self.verdicts.predictions, self.backtest.predictions], ignore_index=True)


def score_records(records: pd.DataFrame, metrics: Iterable[str] | None = None, *,
                  metric_options: Mapping[str, Mapping[str, Any]] | None = None, n_boot: int = 1000,
                  confidence: float = 0.95, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
                  x_axis: str = "params", chance: Mapping[str, float] | None = None,
                  fit_on: int | Sequence[int] | None = None,
                  methods: str | Iterable[str] | None = None) -> Scored:
    """Score ``records`` under ``metrics`` (default: every applicable registered metric), then the
    emergence score of every curve and the verdict of every (sharp metric, partner) pair.

    Args:
        x_axis: ``params``, ``flops`` or ``loss``.
        chance: per-task chance levels (default: 1/K for multiple choice, 0 for generation).
        fit_on: also backtest each sharp metric from its ``fit_on`` smallest models (or each ``K`` of a
            list) with ``methods`` (default: every registered forecast method).
    """
    specs = metric_specs(metrics, metric_options)
    scored = score_examples_of(score_examples(records, specs, metric_options), specs, n_boot=n_boot,
                               confidence=confidence, seed=seed, threshold=threshold, x_axis=x_axis, chance=chance)
    curves = scored.curves
    if fit_on is not None:
        table = curves.table
        keys = {(str(f), str(t), str(m)) for f, t, m in zip(table["family"], table["task"], table["metric"],
                                                             strict=True) if m in METRICS and METRICS[m].sharp}
        forecast, skipped = curves_from_records(records, metrics=sorted({k[2] for k in keys}), x_axis=x_axis,
                                                n_boot=n_boot, seed=seed)
        # a sharp metric is backtested where it has a curve, not on tasks it does not apply to
        forecast = [c for c in forecast if (c.family, c.task, c.metric) in keys]
        skipped = [s for s in skipped if (s["family"], s["task"], s["metric"]) in keys]
        attach_pools(forecast)
        runs = [backtest_curves(forecast, fit_on=k, methods=methods, x_axis=x_axis, confidence=confidence,
                                skipped=skipped) for k in ([fit_on] if isinstance(fit_on, int) else fit_on)]
        scored.backtest = runs[0] if len(runs) == 1 else Backtested.concat(runs)
    return scored


def score_examples_of(pieces: Sequence[ModelScores], specs: Sequence[MetricSpec], *, n_boot: int = 1000,
                      confidence: float = 0.95, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
                      x_axis: str = "params", chance: Mapping[str, float] | None = None, threads: int = 1) -> Scored:
    """:func:`score_records` (without a backtest) from the records' per-example scores
    (:func:`~emergence_lens.example_scores.score_examples`, one part per file say): what the
    partitioned audit scores, each file's rows freed once they are scored."""
    curves = curves_from_examples(pieces, specs, n_boot=n_boot, confidence=confidence, seed=seed, keep_scores=True)
    release_memory()  # the bootstrap's temporaries, back to the system: the verdicts' would come on top of them
    em = emergence_table(curves.table, curves.replicates, confidence=confidence, x=x_column(x_axis))
    vr = verdict_table(curves, em, x_axis=x_axis, chance=chance, threshold=threshold, n_boot=n_boot,
                       confidence=confidence, seed=seed, threads=threads)
    return Scored(curves, em, vr)


@dataclass
class Rescored:
    """What the per-example records of some (family, task) groups give the audit: their rows of
    ``audit.csv`` and ``verdicts.csv``, the re-scored curves and the predictions.  The records are
    grouped by (family, task) and every curve is seeded by its own key, so the parts of disjoint
    groups, concatenated in (family, task) order, equal the part of their union
    (:meth:`concat`; the partitioned engines rely on it)."""

    audit_rows: pd.DataFrame
    verdicts: pd.DataFrame
    curves: pd.DataFrame
    predictions: pd.DataFrame

    @staticmethod
    def concat(parts: Sequence[Rescored]) -> Rescored | None:
        if not parts:
            return None
        return Rescored(*(_concat([getattr(p, f) for p in parts])
                          for f in ("audit_rows", "verdicts", "curves", "predictions")))


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate with the dtypes one frame of all the rows would have had: empty parts add nothing,
    and a column that is all-missing in some parts (object there) stays numeric where the others are."""
    full = [f for f in frames if len(f)] or list(frames[:1])
    out = pd.concat(full, ignore_index=True) if len(full) > 1 else full[0].reset_index(drop=True)
    for col in out.columns:
        if out[col].dtype != object:
            continue
        kinds = {f[col].dtype for f in full if f[col].notna().any()}
        if kinds and all(pd.api.types.is_numeric_dtype(k) and not pd.api.types.is_bool_dtype(k) for k in kinds):
            out[col] = pd.to_numeric(out[col])
    return out


def rescore(records: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
            x_axis: str = "params", chance: Mapping[str, float] | None = None, confidence: float = 0.95,
            metrics: Iterable[str] | None = None) -> Rescored:
    """Curves, emergence scores and full verdicts of per-example ``records`` (the audit's
    re-scored part)."""
    specs = metric_specs(metrics)
    return rescore_examples(score_examples(records, specs), specs, n_boot=n_boot, seed=seed, threshold=threshold,
                            x_axis=x_axis, chance=chance, confidence=confidence)


def rescore_examples(pieces: Sequence[ModelScores], specs: Sequence[MetricSpec], *, n_boot: int = 1000,
                     seed: int = 0, threshold: float = DEFAULT_THRESHOLD, x_axis: str = "params",
                     chance: Mapping[str, float] | None = None, confidence: float = 0.95,
                     threads: int = 1) -> Rescored:
    """:func:`rescore` from the records' per-example scores (one part per file: the partitioned
    audit keeps these, not the rows); ``threads``: as :func:`~emergence_lens.emergence.verdict_table`'s."""
    scored = score_examples_of(pieces, specs, n_boot=n_boot, confidence=confidence, seed=seed, threshold=threshold,
                               x_axis=x_axis, chance=chance, threads=threads)
    rc, em, vr = scored.curves, scored.emergence, scored.verdicts
    v = vr.verdicts
    first = v.drop_duplicates(["family", "task", "metric"], keep="first").set_index(["family", "task", "metric"])
    em = em.assign(subtask=em["task"], shots=np.nan, source=RESCORED_SOURCE, aggregate=False,
                   ci_method="per-example bootstrap", resolution=np.nan, noise_floor=np.nan)
    key = pd.MultiIndex.from_frame(em[["family", "task", "metric"]])
    for col in ("metric_state", "chance", "emerges_at", "wei_emergent", "verdict"):
        em[col] = first[col].reindex(key).to_numpy()
    rows = em[KEYS + ["source", "aggregate", "n_scales", "scale_min", "scale_max", "emergence_score", "ci_low",
                      "ci_high", "ci_method", "resolution", "noise_floor", "status", "metric_state", "chance",
                      "emerges_at", "wei_emergent", "verdict"]]
    return Rescored(rows, v.assign(approximate=False), rc.table, vr.predictions)
