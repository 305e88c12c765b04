"""Verdicts that test the paper's claim itself (Schaeffer et al. 2023; Wei et al. 2022).

For every curve (family, task, metric) ordered along the chosen x-axis, and for every sharp
metric against each smooth partner measured on the same outputs, five tests:

1. **Resolution** (:func:`~emergence_lens.emergence.resolution.measurable_ability`): a curve that
   never rises clearly above chance is ``no measurable ability`` — never ``sharp``, never an
   artifact.
2. **Sharpness** (:func:`~emergence_lens.emergence.compare.classify_sharpness`): emergence score /
   (n_scales - 1) against the threshold ``t`` with its bootstrap CI: ``sharp``, ``smooth``,
   ``uncertain``.
3. **Above chance** (:mod:`~emergence_lens.emergence.chance`): ``emerges_at`` and
   ``wei_emergent`` (near chance at >= 2 smaller scales, then above).
4. **Paired sharpness** (:mod:`~emergence_lens.emergence.paired`): ``paired_diff`` = sharpness of
   the metric minus its partner's on the same resampled examples, with CI.
5. **Explained by the metric** (:mod:`~emergence_lens.emergence.explain`): the sharp curve
   against the transform of its ingredient (``a**L`` of per-token / per-item accuracy; a normal
   fit of MC margins or log-MSE) inside a band that holds jointly over the scales: ``explained``
   or ``beyond``.

The curve shows **apparent emergence** when it is ``sharp``, or ``wei_emergent``, or sharper
than its partner (``paired_diff`` CI above 0).  Verdicts, first rule that applies:

======================  ========================================================================
verdict                 rule
======================  ========================================================================
``not scored``          no emergence score (fewer than 3 scales, a missing scale on the axis)
``no measurable         the curve never rises clearly above chance (rule 1)
ability``
``persists``            metric and partner both ``sharp``, or both Wei-emergent (near chance, then
                        above) with the metric no sharper: the smooth quantity itself jumps
``metric artifact``     apparent emergence, and the curve is ``explained`` by the transform of
                        the smooth ingredient on the same outputs (or, with no transform, the
                        metric is sharp, the partner smooth and the paired difference above 0)
``beyond the metric``   apparent emergence, but the curve departs from the prediction: a jump the
                        metric alone does not account for (where and by how much is given)
``no emergence``        no apparent emergence: ``smooth`` (or not sharper than the partner and
                        not Wei-emergent)
``inconclusive``        anything else: a CI straddles the threshold and no other test decides
======================  ========================================================================

A curve with no partner gets one row with its own tests (``partner`` empty); its verdict uses
the same rules without the partner's.  Parametric transforms (the margin / log-MSE normal fits)
are trusted to ``tolerance`` = 0.05: smaller departures are not counted against the metric
explanation, and a larger one makes the verdict ``inconclusive``, not ``beyond the metric``: a
misfitting shape model says nothing about the models.  Only the algebraic transforms (``a**L``)
can conclude ``beyond the metric``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np
import pandas as pd

from emergence_lens.emergence.bootstrap import curve_seed, design_blocks
from emergence_lens.emergence.chance import emerges_at, group_chance_levels, wei_emergent
from emergence_lens.emergence.compare import DEFAULT_THRESHOLD, classify_sharpness, format_ci
from emergence_lens.emergence.explain import Explanation, explain_curve
from emergence_lens.emergence.forecast import PREDICTION_COLUMNS
from emergence_lens.emergence.paired import PairedSharpness, paired_sharpness
from emergence_lens.emergence.resolution import measurable_ability
from emergence_lens.emergence.transforms import Transform, transform_from
from emergence_lens.emergence.xaxis import x_column, x_position
from emergence_lens.metrics import METRICS, MetricSpec

__all__ = ["VERDICT_COLUMNS", "PREDICTION_COLUMNS", "VerdictResult", "verdict_table", "VERDICTS",
           "PARAMETRIC_TOLERANCE", "CurveTests", "curve_tests", "decide", "verdict_tally"]

VERDICT_COLUMNS = ["family", "task", "metric", "partner", "x_axis", "n_scales", "metric_score", "metric_ci_low",
                   "metric_ci_high", "metric_state", "partner_score", "partner_state", "paired_diff",
                   "paired_diff_low", "paired_diff_high", "explained", "ingredient", "approximate",
                   "max_departure", "departs_at", "emerges_at", "wei_emergent", "chance", "verdict", "explanation"]
#: What a verdict row says where no partner was measured on the same outputs.
NO_PARTNER: dict[str, object] = {"partner": "", "partner_score": np.nan, "partner_state": "", "paired_diff": np.nan,
                                 "paired_diff_low": np.nan, "paired_diff_high": np.nan}


def verdict_frame(rows: Sequence[Mapping[str, object]] | Mapping[str, object]) -> pd.DataFrame:
    """The one builder of ``verdicts.csv``: rows (a list of dicts, or a dict of columns) as a table of
    :data:`VERDICT_COLUMNS` in order; a row that names no partner gets :data:`NO_PARTNER`.  Used for
    curves with records (:func:`verdict_table`) and for results-only curves
    (:func:`emergence_lens.emergence.aggregate.results_only`) alike.

    Raises:
        KeyError: a verdict column other than the partner's is missing.
    """
    frame = pd.DataFrame(rows)
    if frame.empty and not len(frame.columns):
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    for col, default in NO_PARTNER.items():
        if col not in frame:
            frame[col] = default
    missing = [c for c in VERDICT_COLUMNS if c not in frame]
    if missing:
        raise KeyError(f"verdict rows lack {missing}")
    return frame[VERDICT_COLUMNS]


def verdict_tally(verdicts: Sequence[object] | pd.Series) -> pd.Series:
    """How verdicts fall, most frequent first: each verdict's word without its qualifier
    (``inconclusive (brier_score smooth)`` counts as ``inconclusive``, ``not scored: ...`` as
    ``not scored``)."""
    words = pd.Series(verdicts, dtype=object).astype(str).str.split(" (", regex=False).str[0].str.split(":").str[0]
    return words.value_counts()


VERDICTS = ("not scored", "no measurable ability", "persists", "metric artifact", "beyond the metric",
            "no emergence", "inconclusive")
PARAMETRIC_TOLERANCE = 0.05


class CurveData(Protocol):
    """What the verdicts read of a :class:`emergence_lens.curves.CurveSet` (kept as a protocol so
    that statistics never import the curves layer above them)."""

    table: pd.DataFrame
    scores: dict[tuple[str, str, str], list[np.ndarray]]


@dataclass
class VerdictResult:
    verdicts: pd.DataFrame
    predictions: pd.DataFrame
    explanations: dict[tuple[str, str, str], Explanation] = field(default_factory=dict)


@dataclass(frozen=True)
class CurveTests:
    """Resolution and Wei's criterion for one curve (points in x order)."""

    measurable: bool
    reason: str
    emerges_at: float
    wei_emergent: bool


def curve_tests(scales: np.ndarray, values: np.ndarray, low: np.ndarray, high: np.ndarray, chance: float,
                n_min: int, *, confidence: float = 0.95, ordered: bool = True) -> CurveTests:
    """:func:`measurable_ability`, :func:`emerges_at` and :func:`wei_emergent` of one curve.

    ``low``/``high`` are per-point CI bounds (NaN where unknown: the chance tests then do not
    apply); ``ordered=False`` (scales missing or repeated) skips the tests that need an order.
    """
    lo = np.asarray(low, dtype=float)
    hi = np.asarray(high, dtype=float)
    if not np.isfinite(lo).all() or not np.isfinite(hi).all():
        chance = float("nan")
    ok, reason = measurable_ability(np.asarray(values, dtype=float), lo, chance, max(int(n_min), 1),
                                    confidence=confidence)
    em_at = emerges_at(np.asarray(scales, dtype=float), lo, chance) if ordered else float("nan")
    wei = wei_emergent(lo, hi, chance) if ordered else False
    return CurveTests(ok, reason, em_at, wei)


def _point_bounds(g: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per point: Clopper-Pearson bounds where the scores are 0/1, else the bootstrap CI."""
    lo = g["ci_low"].to_numpy(dtype=float)
    hi = g["ci_high"].to_numpy(dtype=float)
    if "cp_low" in g:
        cpl = g["cp_low"].to_numpy(dtype=float)
        cph = g["cp_high"].to_numpy(dtype=float)
        lo = np.where(np.isfinite(cpl), cpl, lo)
        hi = np.where(np.isfinite(cph), cph, hi)
    return lo, hi


def decide(state: str, pstate: str | None, wei: bool, paired: PairedSharpness | None,
             explained: bool | None, parametric: bool = False, partner_wei: bool = False) -> str:
    """The verdict word from the tests (the table in the module docstring)."""
    if state == "not scored" or pstate == "not scored":
        return "not scored"
    if state == "no measurable ability":
        return "no measurable ability"
    sharper = paired is not None and paired.diff_low > 0
    apparent = state == "sharp" or wei or sharper
    if (state == "sharp" and pstate == "sharp") or (wei and partner_wei and not sharper):
        return "persists"
    if apparent and explained is True and pstate != "sharp":
        return "metric artifact"
    if apparent and explained is False:
        # a shape model that misfits is no evidence about the models: only a^L can say "beyond"
        return "inconclusive" if parametric else "beyond the metric"
    if apparent and explained is None and state == "sharp" and pstate == "smooth" and (paired is None or sharper):
        return "metric artifact"
    if not apparent and (state == "smooth" or (paired is not None and paired.diff_high <= 0)):
        return "no emergence"
    return "inconclusive"


def _explain_text(metric: str, partner: str | None, verdict: str, state: str, measurable_reason: str,
                  ps: PairedSharpness | None, ex: Explanation | None, em_at: float, wei: bool, chance: float,
                  sharp_txt: str, pstate: str | None) -> str:
    parts = [f"{metric} is {state} (sharpness {sharp_txt})"]
    if measurable_reason:
        parts = [f"{metric}: {measurable_reason}"]
    if partner:
        parts.append(f"{partner} is {pstate}")
    if ps is not None and np.isfinite(ps.diff):
        parts.append(f"paired sharpness difference {format_ci(ps.diff, ps.diff_low, ps.diff_high)} ({ps.state})")
    if np.isfinite(chance) and not measurable_reason:
        parts.append(f"above chance {chance:.3g} from {em_at:.3g}" if np.isfinite(em_at)
                     else f"not above chance {chance:.3g} at the largest scale")
        if wei:
            parts.append("near chance at >= 2 smaller scales first (Wei-emergent)")
    if ex is not None and verdict != "no measurable ability":
        parts.append(ex.text())
    return f"{verdict}: " + "; ".join(parts)


def _band_rows(ex: Explanation, family: str, task: str, metric: str, models: Sequence[str]) -> list[dict]:
    """Rows of ``predictions.csv`` for the sharp metric predicted from its ingredient at every model
    (``method = transform``, ``fit_on = all``), with the joint band and whether the observation lies in it."""
    return [{"family": family, "task": task, "metric": metric, "method": "transform", "model": m, "scale": ex.x[j],
             "fit_on": "all", "observed": ex.observed[j], "observed_low": ex.observed_low[j],
             "observed_high": ex.observed_high[j], "predicted": ex.predicted[j], "predicted_low": ex.predicted_low[j],
             "predicted_high": ex.predicted_high[j], "calibrated_low": np.nan, "calibrated_high": np.nan,
             "error": ex.observed[j] - ex.predicted[j],
             "inside": bool(ex.predicted_low[j] - 1e-12 <= ex.observed[j] <= ex.predicted_high[j] + 1e-12)}
            for j, m in enumerate(models)]


def _explanation_cols(ex: Explanation | None) -> dict[str, object]:
    """The verdict columns that say whether the metric's transform of its ingredient explains the curve."""
    if ex is None:
        return {"explained": "", "ingredient": "", "approximate": False, "max_departure": np.nan, "departs_at": ""}
    return {"explained": "explained" if ex.explained else "beyond", "ingredient": ex.ingredient,
            "approximate": ex.approximate, "max_departure": ex.max_departure,
            "departs_at": ";".join(f"{s:.6g}" for s, _, _ in sorted(ex.departures))}


def verdict_table(curves: CurveData, emergence: pd.DataFrame, *, x_axis: str = "params",
                  chance: Mapping[str, float] | None = None, threshold: float = DEFAULT_THRESHOLD,
                  n_boot: int = 1000, confidence: float = 0.95, seed: int = 0, threads: int = 1) -> VerdictResult:
    """Verdicts for every curve and (sharp metric, partner) pair; predictions per model.

    Args:
        curves: :func:`~emergence_lens.curves.compute_curves` output with ``keep_scores=True``: its
            per-example scores, and what each model's examples give the transforms and the chance
            levels (``examples``), not the records, are what the verdicts read.
        emergence: :func:`~emergence_lens.emergence.emergence_table` of ``curves`` on ``x_axis``.
        x_axis: ``params``, ``flops`` or ``loss``.
        chance: per-task chance overrides.
        threads: threads the bootstraps of a (family, task) run on (the same result on any number).

    Returns:
        :class:`VerdictResult` with :data:`VERDICT_COLUMNS` and :data:`PREDICTION_COLUMNS` tables.
    """
    xcol = x_column(x_axis)
    table = curves.table
    metrics = sorted(table["metric"].unique())
    examples = curves.examples
    levels = group_chance_levels({key: _n_choices(models) for key, models in examples.items()}, metrics, chance)
    em_index = {(str(r.family), str(r.task), str(r.metric)): r for r in emergence.itertuples(index=False)}
    rows: list[dict] = []
    preds: list[dict] = []
    explanations: dict[tuple[str, str, str], Explanation] = {}

    for (family, task), group_curves in table.groupby(["family", "task"], sort=True):
        family, task = str(family), str(task)
        group_examples = {m.model: m for m in examples.get((family, task), [])}
        # model order along the axis (curve tables are in scale_params order)
        first_metric = group_curves[group_curves["metric"] == group_curves["metric"].iloc[0]]
        pos_all = x_position(first_metric[xcol].to_numpy(dtype=float), x_axis)
        order = np.argsort(pos_all, kind="stable")
        models = first_metric["model"].to_numpy()[order]
        axis_ok = bool(np.isfinite(pos_all).all()) and np.unique(pos_all).size == pos_all.size
        state_of: dict[str, str] = {}
        info: dict[str, dict] = {}
        paired_models: bool | None = None  # do the models share their examples? (per group, once)
        for metric, points in group_curves.groupby("metric", sort=True):
            metric = str(metric)
            points = points.set_index("model").loc[models].reset_index()
            score_row = em_index.get((family, task, metric))
            n_scales = int(score_row.n_scales) if score_row is not None else len(points)
            score = float(score_row.emergence_score) if score_row is not None else np.nan
            state = (classify_sharpness(score, score_row.ci_low, score_row.ci_high, n_scales, threshold)
                     if score_row is not None else "not scored")
            lvl = levels.get((family, task, metric), np.nan)
            lo, hi = _point_bounds(points)
            tests = curve_tests(points[xcol].to_numpy(dtype=float), points["value"].to_numpy(dtype=float), lo, hi,
                                lvl, int(points["n_examples"].min()), confidence=confidence, ordered=axis_ok)
            reason, em_at, wei = tests.reason, tests.emerges_at, tests.wei_emergent
            if state != "not scored" and not tests.measurable:
                state = "no measurable ability"
            state_of[metric] = state
            info[metric] = {"em": score_row, "score": score, "state": state, "reason": reason, "chance": lvl,
                            "emerges_at": em_at, "wei": wei, "n_scales": n_scales, "g": points}

        # the bootstraps of this group (each explanation, each paired difference) are planned, run
        # (on ``threads`` threads: each is seeded by its own key, so the order they run in changes
        # nothing), then the rows are written in the order of the metrics and their partners
        jobs: dict[tuple[str, ...], Callable[[], object]] = {}
        planned: list[tuple[str, dict, MetricSpec | None, list[str]]] = []
        for metric, curve in info.items():
            spec = METRICS.get(metric) or (METRICS.get(metric.split("[", 1)[0]) if "[" in metric else None)
            transform = None
            scored = curve["state"] != "not scored"
            if spec is not None and spec.sharp and group_examples and axis_ok and scored:
                transform = transform_from(metric, [group_examples[m].ingredients.get(metric, {}) for m in models])
            if transform is not None:
                own = [group_examples[m] for m in models]  # each model's examples, in id order
                if paired_models is None:  # the same examples for every model
                    paired_models = all(e.example_ids.equals(own[0].example_ids) for e in own[1:])
                key = (family, task, metric)
                xs = curve["g"][xcol].to_numpy(dtype=float)
                jobs[("explain", metric)] = partial(
                    _explain, xs, transform, metric, own, paired_models, n_boot=max(n_boot, 200),
                    confidence=confidence, seed=curve_seed(seed, ("explain", *key)), paired=paired_models,
                    tolerance=PARAMETRIC_TOLERANCE if transform.parametric else 0.0)
            partners = [p for p in (spec.partners if spec is not None and spec.sharp else ()) if p in info]
            planned.append((metric, curve, spec, partners))
            for partner in partners:
                pstate = info[partner]["state"]
                ka, kb = (family, task, metric), (family, task, partner)
                if (axis_ok and ka in curves.scores and kb in curves.scores and curve["n_scales"] >= 3
                        and "not scored" not in (curve["state"], pstate)):
                    # curve scores are in scale_params order: reorder to the axis order
                    sa = [curves.scores[ka][i] for i in order]
                    sb = [curves.scores[kb][i] for i in order]
                    pspec = METRICS.get(partner)
                    jobs[("paired", metric, partner)] = partial(
                        paired_sharpness, sa, sb, metric_higher_is_better=spec.higher_is_better,
                        partner_higher_is_better=pspec.higher_is_better if pspec else True,
                        metric_log_scale=spec.log_scale, partner_log_scale=bool(pspec and pspec.log_scale),
                        n_boot=max(n_boot, 200), confidence=confidence, seed=curve_seed(seed, ("paired", *ka, partner)),
                        paired_models=bool(group_curves["paired"].iloc[0]) if "paired" in group_curves else False)
        done = _run_jobs(jobs, threads)

        for metric, curve, spec, partners in planned:
            score_row = curve["em"]
            sharp_txt = format_ci(score_row.sharpness, score_row.ci_low / max(curve["n_scales"] - 1, 1),
                             score_row.ci_high / max(curve["n_scales"] - 1, 1)) if score_row is not None else "n/a"
            explanation: Explanation | None = done.get(("explain", metric))
            if explanation is not None:
                explanations[(family, task, metric)] = explanation
                preds += _band_rows(explanation, family, task, metric, models)
            explained = None if explanation is None else explanation.explained
            base = {"family": family, "task": task, "metric": metric, "x_axis": x_axis, "n_scales": curve["n_scales"],
                    "metric_score": curve["score"],
                    "metric_ci_low": score_row.ci_low if score_row is not None else np.nan,
                    "metric_ci_high": score_row.ci_high if score_row is not None else np.nan,
                    "metric_state": curve["state"], **_explanation_cols(explanation),
                    "emerges_at": curve["emerges_at"], "wei_emergent": curve["wei"], "chance": curve["chance"]}
            for partner in partners or [None]:
                paired = None
                pstate = None
                partner_cols = dict(NO_PARTNER)
                if partner is not None:
                    partner_info = info[partner]
                    pstate = partner_info["state"]
                    partner_cols.update(partner=partner, partner_score=partner_info["score"], partner_state=pstate)
                    paired = done.get(("paired", metric, partner))
                    if paired is not None:
                        partner_cols.update(paired_diff=paired.diff, paired_diff_low=paired.diff_low,
                                            paired_diff_high=paired.diff_high)
                verdict = decide(curve["state"], pstate, curve["wei"], paired, explained,
                                 explanation is not None and explanation.parametric,
                                 bool(partner is not None and info[partner]["wei"]))
                text = _explain_text(metric, partner, verdict, curve["state"], curve["reason"], paired, explanation,
                                     curve["emerges_at"], curve["wei"], curve["chance"], sharp_txt, pstate)
                if curve["state"] == "not scored":
                    status = score_row.status if score_row is not None else "no emergence score"
                    text = f"not scored: {status}"
                rows.append({**base, **partner_cols, "verdict": verdict, "explanation": text})
    verdicts = verdict_frame(rows)
    predictions = pd.DataFrame(preds, columns=PREDICTION_COLUMNS)
    return VerdictResult(verdicts, predictions, explanations)


def _explain(xs: np.ndarray, transform: Transform, metric: str, own: Sequence, joined: bool,
             **options: object) -> Explanation:
    """:func:`explain_curve` of one sharp metric's curve, its models' designs made here."""
    return explain_curve(xs, _designs(transform, metric, own, joined=joined), transform, **options)


def _run_jobs(jobs: Mapping[tuple[str, ...], Callable[[], object]], threads: int) -> dict:
    """Each job's result by its key, on ``threads`` threads when there are more than one (NumPy's
    kernels release the GIL) and more than one job."""
    if threads <= 1 or len(jobs) <= 1:
        return {key: job() for key, job in jobs.items()}
    with ThreadPoolExecutor(max_workers=min(threads, len(jobs))) as pool:
        return dict(zip(jobs, pool.map(lambda job: job(), jobs.values()), strict=True))


def _n_choices(models: Sequence) -> np.ndarray | None:
    """Every question's number of options in one (family, task), from each model's counts (sorted)."""
    values = np.concatenate([m.choices[0] for m in models]) if models else np.zeros(0, np.int64)
    counts = np.concatenate([m.choices[1] for m in models]) if models else np.zeros(0, np.int64)
    return np.repeat(values, counts)


def _designs(transform: Transform, metric: str, own: Sequence, *, joined: bool) -> list[np.ndarray]:
    """Each model's design matrix of ``metric``'s transform, from its examples' scores and ingredient;
    ``joined`` (the models share their examples): made one model at a time into the blocks of one
    array (:func:`~emergence_lens.emergence.bootstrap.design_blocks`)."""
    designs = (transform.design_from(e.observed(metric), e.ingredients[metric][transform.source]) for e in own)
    return design_blocks(designs, len(own)) if joined else list(designs)
