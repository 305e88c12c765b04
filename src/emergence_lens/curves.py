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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from emergence_lens.emergence.bootstrap import bootstrap_column_means, bootstrap_means, curve_seed, percentile_ci
from emergence_lens.emergence.resolution import clopper_pearson, resolution_limit
from emergence_lens.example_scores import ModelScores, applicability, merge_examples, score_examples
from emergence_lens.metrics import METRICS, MetricSpec, get_metric

__all__ = ["CurveSet", "compute_curves", "curves_from_examples", "metric_specs", "curve_seed", "CURVE_COLUMNS"]

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
        examples: ``(family, task) -> list of`` :class:`~emergence_lens.example_scores.ModelScores`
            (curve order): ids, scores, transform ingredients and option counts of every model.
    """

    table: pd.DataFrame
    replicates: dict[CurveKey, np.ndarray]
    skipped: pd.DataFrame
    n_boot: int
    confidence: float
    seed: int
    scores: dict[CurveKey, list[np.ndarray]] = field(default_factory=dict, repr=False)
    #: ``(family, task) -> each model's examples`` (curve order): what the verdicts read of the rows.
    examples: dict[tuple[str, str], list[ModelScores]] = field(default_factory=dict, repr=False)


def metric_specs(metrics: Iterable[str] | None = None,
                 metric_options: Mapping[str, Mapping[str, Any]] | None = None) -> list[MetricSpec]:
    """The metrics to score: ``metrics`` by name (default: every registered metric with a record
    scorer and ``default`` set); refused when one works on arrays only or ``metric_options`` names
    one not asked for."""
    names = list(metrics) if metrics is not None else [
        n for n, s in sorted(METRICS.items()) if s.record_scorer is not None and s.default]
    specs = [get_metric(n) for n in names]
    for s in specs:
        if s.record_scorer is None:
            raise ValueError(f"metric {s.name!r} works on arrays only, not on records")
    unknown = set(metric_options or {}) - set(names)
    if unknown:
        raise ValueError(f"options given for metrics not requested: {sorted(unknown)}")
    return specs


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
    specs = metric_specs(metrics, metric_options)
    pieces = score_examples(records, specs, metric_options)
    return curves_from_examples(pieces, specs, n_boot=n_boot, confidence=confidence, seed=seed,
                                keep_scores=keep_scores)


def _same_sets(ids: Sequence[pa.Array]) -> bool:
    """Whether every array of ids has the same distinct ids in the same order (one set, for sorted ids)."""
    distinct = [pc.unique(a) for a in ids]
    return all(distinct[0].equals(d) for d in distinct[1:])


def curves_from_examples(pieces: Sequence[ModelScores], specs: Sequence[MetricSpec], *, n_boot: int = 1000,
                         confidence: float = 0.95, seed: int = 0, keep_scores: bool = False) -> CurveSet:
    """:func:`compute_curves` from the records' per-example scores (:func:`score_examples`; parts of
    one model's examples, one per file say, are merged first).  A metric applies to a (family, task)
    when every row there has its inputs (else it is skipped with the reason)."""
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    replicates: dict[CurveKey, np.ndarray] = {}
    kept: dict[CurveKey, list[np.ndarray]] = {}
    groups: dict[tuple[str, str], list[ModelScores]] = {}
    for m in merge_examples(pieces):
        groups.setdefault((m.family, m.task), []).append(m)
    examples: dict[tuple[str, str], list[ModelScores]] = {}
    for (family, task), found in sorted(groups.items()):
        # models in scale order (stable: first named first among equal sizes), examples in id order
        order = np.argsort(np.array([m.scale_params for m in found]), kind="stable")
        group = [found[i] for i in order]
        examples[(family, task)] = group
        models = pd.DataFrame({"scale_params": [m.scale_params for m in group],
                               "scale_flops": [m.scale_flops for m in group],
                               "pretrain_loss": [m.pretrain_loss for m in group]},
                              index=pd.Index([m.model for m in group], name="model"))
        # paired: every model has the same set of example ids (the same ids in the same order, most often)
        paired = len(group) > 1 and (all(group[0].example_ids.equals(m.example_ids) for m in group[1:])
                                     or _same_sets([m.example_ids for m in group]))
        for spec in specs:
            reason = applicability(group, spec.name, spec.requires)
            if reason is not None:
                if reason:
                    skipped.append({"family": family, "task": task, "metric": spec.name,
                                    "reason": reason})
                continue
            per_model = [m.scores[spec.name] for m in group]
            key = (str(family), str(task), spec.name)
            if keep_scores:
                kept[key] = per_model
            weights = None if spec.weights is None else [m.weights[spec.name] for m in group]
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
                    n_boot=n_boot, confidence=confidence, seed=seed, scores=kept, examples=examples)
