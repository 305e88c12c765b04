"""Curves: per-model metric values with bootstrap replicates, from a records table.

``records -> metrics -> curves``: every applicable registered metric is scored on every row, the
scores are averaged per (family, task, model), and a seeded bootstrap over examples gives each
point a percentile CI and each (family, task, metric) curve a matrix of replicate curves, from
which :mod:`emergence_lens.emergence` gets CIs for the emergence score.

A metric applies to a (family, task) when its input columns are non-null on every row there.
When they are present on only *some* rows the metric is skipped for that group and the reason is
recorded in :attr:`CurveSet.skipped` — no row is ever dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens.emergence.bootstrap import bootstrap_column_means, bootstrap_means, curve_seed, percentile_ci
from emergence_lens.emergence.resolution import clopper_pearson, resolution_limit
from emergence_lens.metrics import METRICS, get_metric
from emergence_lens.records import RECORD_SCHEMA, REQUIRED_COLUMNS

__all__ = ["CurveSet", "compute_curves", "curve_seed", "CURVE_COLUMNS"]

CURVE_COLUMNS = ["family", "task", "metric", "model", "scale_params", "scale_flops", "pretrain_loss", "n_examples",
                 "value", "ci_low", "ci_high", "n_correct", "cp_low", "cp_high", "resolution_limit",
                 "higher_is_better", "metric_kind", "paired"]

CurveKey = tuple[str, str, str]


@dataclass
class CurveSet:
    """Per-model curve values plus their bootstrap replicates.

    Attributes:
        table: one row per (family, task, metric, model), columns :data:`CURVE_COLUMNS`, models
            ordered by scale within each curve.
        replicates: ``(family, task, metric) -> (B, n_models)`` bootstrap replicate curves, in the
            same model order as ``table``.
        skipped: (family, task, metric, reason) for metrics that could not be scored on a group.
        scores: ``(family, task, metric) -> list of per-example score arrays`` (curve order).
    """

    table: pd.DataFrame
    replicates: dict[CurveKey, np.ndarray]
    skipped: pd.DataFrame
    n_boot: int
    confidence: float
    seed: int
    scores: dict[CurveKey, list[np.ndarray]] = field(default_factory=dict, repr=False)


def _applicability(group: pd.DataFrame, requires: tuple[str, ...]) -> str | None:
    """None if applicable, "" if entirely absent, else a reason string."""
    for col in requires:
        if col not in group.columns:
            return ""
    present = np.ones(len(group), dtype=bool)
    for col in requires:
        present &= group[col].notna().to_numpy()
    if present.all():
        return None
    if not present.any():
        return ""
    i = int(np.flatnonzero(~present)[0])
    return (f"inputs {list(requires)} present on {int(present.sum())} of {len(group)} rows; first "
            f"missing at model {group['model'].iat[i]!r}, example {group['example_id'].iat[i]!r}")


def compute_curves(records: pd.DataFrame, metrics: Iterable[str] | None = None, *,
                   metric_options: Mapping[str, Mapping[str, Any]] | None = None,
                   n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
                   keep_scores: bool = False) -> CurveSet:
    """Score records under every metric and aggregate per model.

    Args:
        records: a validated records DataFrame (see :func:`emergence_lens.records.read_records`).
        metrics: metric names (default: every registered metric with a record scorer and ``default``
            set; parametrised ones such as ``"reconstruction_at[c=0.01]"`` are built on request).
        metric_options: per-metric keyword options, e.g. ``{"token_edit_distance":
            {"tokenizer": "whitespace"}}``.
        n_boot: bootstrap resamples per curve (0 disables CIs).
        confidence: CI level.
        seed: master seed.
        keep_scores: keep per-example scores in :attr:`CurveSet.scores`.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in records.columns]
    if missing:
        raise KeyError(f"records lack required column(s) {missing}")
    absent = {c: None for c in RECORD_SCHEMA.names if c not in records.columns}
    if absent:  # optional columns may be left out by callers that build records by hand
        records = records.assign(**absent)
    names = list(metrics) if metrics is not None else [
        n for n, s in sorted(METRICS.items()) if s.record_scorer is not None and s.default]
    specs = [get_metric(n) for n in names]
    for s in specs:
        if s.record_scorer is None:
            raise ValueError(f"metric {s.name!r} works on arrays only, not on records")
    options = dict(metric_options or {})
    unknown = set(options) - set(names)
    if unknown:
        raise ValueError(f"options given for metrics not requested: {sorted(unknown)}")

    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    replicates: dict[CurveKey, np.ndarray] = {}
    kept: dict[CurveKey, list[np.ndarray]] = {}

    needed = dict.fromkeys(["model", "example_id", *(c for spec in specs for c in spec.requires)])
    used = [records.columns.get_loc(c) for c in needed if c in records.columns]
    groups = records.groupby(["family", "task"], sort=True).indices
    for (family, task), rows_at in sorted(groups.items()):
        keys = records.iloc[rows_at][["model", "example_id", "scale_params", "scale_flops", "pretrain_loss"]]
        models = (keys.groupby("model", sort=False)
                  .agg(scale_params=("scale_params", "first"), scale_flops=("scale_flops", "first"),
                       pretrain_loss=("pretrain_loss", "first"))
                  .sort_values(["scale_params"], kind="stable"))
        # Sort rows once: by model (in scale order) then example id, so paired arrays align; the
        # group is copied out of the records once, already in that order.
        model_codes, model_names = pd.factorize(keys["model"])  # one code per row without a per-row map
        m_code = pd.Index(models.index).get_indexer(model_names).astype(np.int64)[model_codes]
        id_code = pd.factorize(keys["example_id"], sort=True)[0]
        order = np.lexsort((id_code, m_code))
        # paired: every model has the same set of example ids (on the ids' codes, not Python strings)
        per_model = np.split(id_code[order], np.flatnonzero(np.diff(m_code[order])) + 1)
        distinct = [np.unique(ids) for ids in per_model]
        paired = len(models) > 1 and all(np.array_equal(distinct[0], d) for d in distinct[1:])
        # the group's rows in that order, only the columns the metrics read (``requires``: a scorer's
        # and its weights' inputs): the rest of the records is never copied
        group = records.iloc[rows_at[order], used]
        bounds = np.flatnonzero(np.diff(m_code[order])) + 1
        del keys
        for spec in specs:
            reason = _applicability(group, spec.requires)
            if reason is not None:
                if reason:
                    skipped.append({"family": family, "task": task, "metric": spec.name,
                                    "reason": reason})
                continue
            # scored model by model (a metric's scores are per row): its temporaries (a softmax over
            # every option, say) never span more than one model's rows
            per_model = [np.asarray(spec.score_records(group.iloc[a:b], **options.get(spec.name, {})), dtype=float)
                         for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(group)], strict=True)]
            key = (str(family), str(task), spec.name)
            if keep_scores:
                kept[key] = per_model
            weights = None if spec.weights is None else np.split(spec.weights(group), bounds)
            if weights is not None and all(np.all(w == w[0]) for w in weights if w.size):
                weights = None  # equal weights: the weighted mean is the plain mean
            if weights is None:
                values = np.array([s.mean() for s in per_model])
            else:
                values = np.array([np.sum(w * s) / np.sum(w) for w, s in zip(weights, per_model, strict=True)])
            n_ex = np.array([s.size for s in per_model])
            if n_boot > 0 and weights is not None:
                # a ratio estimator: resample examples with their weights, sum(w s) / sum(w) per replicate
                designs = [np.column_stack([w * s, w]) for w, s in zip(weights, per_model, strict=True)]
                reps = np.column_stack([r[:, 0] / r[:, 1] for r in bootstrap_column_means(
                    designs, n_boot, curve_seed(seed, key), paired=paired)])
                replicates[key] = reps
                lo, hi = percentile_ci(reps, confidence)
            elif n_boot > 0:
                reps = bootstrap_means(per_model, n_boot, curve_seed(seed, key), paired=paired)
                replicates[key] = reps
                lo, hi = percentile_ci(reps, confidence)
            else:
                lo = hi = np.full(values.size, np.nan)
            if spec.binary:
                k = np.array([int(round(s.sum())) for s in per_model])
                exact = np.array([np.all((s == 0) | (s == 1)) for s in per_model])
                cp_lo, cp_hi = clopper_pearson(np.where(exact, k, 0), n_ex, confidence)
                cp_lo = np.where(exact, cp_lo, np.nan)
                cp_hi = np.where(exact, cp_hi, np.nan)
                res = resolution_limit(n_ex, confidence)
            else:
                k = np.full(values.size, -1)
                cp_lo = cp_hi = res = np.full(values.size, np.nan)
            for j, (model, info) in enumerate(models.iterrows()):
                rows.append({
                    "family": family, "task": task, "metric": spec.name, "model": model,
                    "scale_params": info["scale_params"], "scale_flops": info["scale_flops"],
                    "pretrain_loss": info["pretrain_loss"], "n_examples": int(n_ex[j]), "value": values[j], "ci_low": lo[j], "ci_high": hi[j],
                    "n_correct": int(k[j]) if k[j] >= 0 else pd.NA, "cp_low": cp_lo[j],
                    "cp_high": cp_hi[j], "resolution_limit": res[j],
                    "higher_is_better": spec.higher_is_better, "metric_kind": spec.kind,
                    "paired": paired,
                })
    table = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    table["n_correct"] = table["n_correct"].astype("Int64")
    return CurveSet(table=table, replicates=replicates,
                    skipped=pd.DataFrame(skipped, columns=["family", "task", "metric", "reason"]),
                    n_boot=n_boot, confidence=confidence, seed=seed, scores=kept)
