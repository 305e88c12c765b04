"""Does apparent emergence survive a change of metric?  (Schaeffer et al. 2023, Sec. 3-4)

For every (family, task) and every *sharp* metric (nonlinear and discontinuous, e.g. exact match,
multiple-choice grade) with a scored *smooth* partner (linear or continuous, e.g. token edit
distance, Brier score) on the same outputs, classify each curve by its **sharpness**
``s = emergence_score / (n_scales - 1)`` — 1 for a curve that moves in equal steps, large for one
concentrated jump — against a threshold ``t`` (default 2):

* ``sharp``:     ``|s| >= t`` with the whole bootstrap CI beyond ``t`` (or the point estimate when
  there is no CI);
* ``smooth``:    ``|s| < t`` with the whole CI below ``t``;
* ``uncertain``: the CI straddles ``t``.

Verdicts:

==================  ==========================================================================
verdict             meaning
==================  ==========================================================================
``metric artifact``  sharp under the sharp metric, smooth under its partner: the jump is made
                    by the metric (the paper's claim)
``persists``        sharp under both: not explained by the choice of metric
``no emergence``    smooth under the sharp metric
``partner sharper`` smooth under the sharp metric but sharp under the partner (unusual; look)
``inconclusive``    a CI straddles the threshold: more examples or more scales needed
``not scored``      a score is missing (e.g. fewer than 3 scales); the reason is given
==================  ==========================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emergence_lens.metrics import METRICS

__all__ = ["compare_metrics", "classify_sharpness", "format_ci", "COMPARE_COLUMNS", "DEFAULT_THRESHOLD"]

DEFAULT_THRESHOLD = 2.0

COMPARE_COLUMNS = ["family", "task", "metric", "partner", "n_scales", "metric_score",
                   "metric_ci_low", "metric_ci_high", "metric_sharpness", "metric_state",
                   "partner_score", "partner_ci_low", "partner_ci_high", "partner_sharpness",
                   "partner_state", "verdict", "explanation"]


def classify_sharpness(score: float, ci_low: float, ci_high: float, n_scales: int,
                       threshold: float = DEFAULT_THRESHOLD) -> str:
    """``"sharp"``, ``"smooth"``, ``"uncertain"`` or ``"not scored"`` (see module docstring)."""
    if not np.isfinite(score) or n_scales < 3:
        return "not scored"
    scale = n_scales - 1
    s = abs(score) / scale
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "sharp" if s >= threshold else "smooth"
    lo, hi = ci_low / scale, ci_high / scale
    # |s| over the interval: smallest and largest magnitude the CI allows.
    mag_lo = 0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))
    mag_hi = max(abs(lo), abs(hi))
    if mag_lo >= threshold:
        return "sharp"
    if mag_hi < threshold:
        return "smooth"
    return "uncertain"


def format_ci(score: float, lo: float = np.nan, hi: float = np.nan) -> str:
    """``score [lo, hi]`` to 3 significant digits; ``score`` alone without a CI; ``n/a`` when missing."""
    if not np.isfinite(score):
        return "n/a"
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{score:.3g} [{lo:.3g}, {hi:.3g}]"
    return f"{score:.3g}"


def compare_metrics(emergence: pd.DataFrame, *, threshold: float = DEFAULT_THRESHOLD,
                    pairs: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """Contrast each sharp metric with its smooth partners, per (family, task).

    Args:
        emergence: output of :func:`emergence_lens.emergence.emergence_table`.
        threshold: sharpness threshold ``t``.
        pairs: ``{sharp_metric: (partner, ...)}``; default: the registry's partners.

    Returns:
        :data:`COMPARE_COLUMNS`, one row per (family, task, sharp metric, scored partner).
    """
    if threshold <= 0:
        raise ValueError("threshold must be > 0")
    if pairs is None:
        pairs = {name: spec.partners for name, spec in METRICS.items() if spec.sharp and spec.partners}
    rows = []
    for (family, task), g in emergence.groupby(["family", "task"], sort=True):
        by_metric = {r.metric: r for r in g.itertuples(index=False)}
        for metric, partners in pairs.items():
            if metric not in by_metric:
                continue
            a = by_metric[metric]
            for partner in partners:
                if partner not in by_metric:
                    continue
                b = by_metric[partner]
                sa = classify_sharpness(a.emergence_score, a.ci_low, a.ci_high, a.n_scales, threshold)
                sb = classify_sharpness(b.emergence_score, b.ci_low, b.ci_high, b.n_scales, threshold)
                ta = format_ci(a.emergence_score, a.ci_low, a.ci_high)
                tb = format_ci(b.emergence_score, b.ci_low, b.ci_high)
                if "not scored" in (sa, sb):
                    why = a.status if sa == "not scored" else b.status
                    verdict, text = "not scored", f"cannot compare: {why}"
                elif sa == "sharp" and sb == "smooth":
                    verdict = "metric artifact"
                    text = (f"{metric} jumps (emergence score {ta}) but {partner} on the same "
                            f"outputs changes smoothly ({tb}): the jump is made by the metric")
                elif sa == "sharp" and sb == "sharp":
                    verdict = "persists"
                    text = (f"{metric} ({ta}) and {partner} ({tb}) both change sharply: "
                            f"not explained by the choice of metric")
                elif sa == "smooth" and sb == "sharp":
                    verdict = "partner sharper"
                    text = f"{metric} is smooth ({ta}) but {partner} is sharp ({tb})"
                elif sa == "smooth":
                    verdict = "no emergence"
                    text = f"{metric} ({ta}) and {partner} ({tb}) both change smoothly"
                else:
                    verdict = "inconclusive"
                    text = (f"a CI straddles the sharpness threshold {threshold:g} x (n_scales-1): "
                            f"{metric} {ta} is {sa}, {partner} {tb} is {sb}; more test examples "
                            f"or more model sizes would settle it")
                n = int(a.n_scales)
                rows.append({
                    "family": family, "task": task, "metric": metric, "partner": partner,
                    "n_scales": n, "metric_score": a.emergence_score, "metric_ci_low": a.ci_low,
                    "metric_ci_high": a.ci_high, "metric_sharpness": a.sharpness, "metric_state": sa,
                    "partner_score": b.emergence_score, "partner_ci_low": b.ci_low,
                    "partner_ci_high": b.ci_high, "partner_sharpness": b.sharpness,
                    "partner_state": sb, "verdict": verdict, "explanation": text,
                })
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)
