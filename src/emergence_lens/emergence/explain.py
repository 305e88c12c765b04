"""Is the sharp curve explained by its metric?  Observed vs predicted, with a joint band.

For a sharp metric with a :class:`~emergence_lens.emergence.transforms.Transform`, at every scale
``s`` the prediction ``P_s`` is the transform of the ingredient measured on the same examples as
the observed value ``O_s``.  One bootstrap over examples (the same resampled examples for ``O``
and ``P``; jointly across models when they share a test set) gives replicates ``d*_s = O*_s -
P*_s`` of the difference ``d_s = O_s - P_s`` and its standard error ``se_s``.  The band holds
**jointly over all scales** (a studentised max-|t| band, as in simultaneous confidence bands for
regression curves)::

    se_s = max(sd(d*_s), sqrt(P_s (1 - P_s) / n_s))
    c    = quantile_conf( max_s |d*_s - d_s| / se_s )
    half = max(c * se_s, 1 / n_s, tolerance)            (below one example's worth: unresolved)

The floor ``sqrt(P(1-P)/n)`` is the binomial error of an observed 0/1 rate whose expectation is
the prediction: the bootstrap sees no variance when 0 of ``n`` examples succeed, and the paired
difference of two quantities from the same examples can be far narrower than what a test set of
``n`` can resolve; with the floor the test is conservative there (it calls ``beyond`` less).
    band = P_s +- half

and the curve is ``explained`` when ``|d_s| <= half`` at every scale, otherwise ``beyond``, with
the scales where it departs and by how much (``|d_s| - half``).  With 95% confidence and ``M``
scales, a family whose sharp metric really is the transform of its ingredient is called
``beyond`` in about 5% of test sets, not in ``1 - 0.95**M``.  ``tolerance`` (0 for the algebraic
transforms ``a**L``) widens the band for parametric ones (a normal fit of margins), whose shape is
an approximation.

For results-only sources (one value and CI per model, no examples) :func:`explain_aggregate`
does the same from the aggregates with a Bonferroni band and flags the result ``approximate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from emergence_lens.emergence.bootstrap import bootstrap_column_means, percentile_ci
from emergence_lens.emergence.transforms import Transform

__all__ = ["Explanation", "explain_curve", "explain_aggregate", "joint_critical_value"]


@dataclass
class Explanation:
    """The observed curve against its prediction, per scale (arrays in scale order).

    Attributes:
        explained: inside the joint band at every scale.
        departures: ``(scale, observed - predicted, excess beyond the band)`` where it departs.
        max_departure: ``observed - predicted`` at the scale where the excess is largest (signed);
            0 when explained.
        critical: the joint critical value ``c``.
        approximate: computed from aggregates, not from examples.
    """

    metric: str
    ingredient: str
    x: np.ndarray
    observed: np.ndarray
    observed_low: np.ndarray
    observed_high: np.ndarray
    predicted: np.ndarray
    predicted_low: np.ndarray
    predicted_high: np.ndarray
    theta: np.ndarray
    explained: bool
    departures: list[tuple[float, float, float]] = field(default_factory=list)
    max_departure: float = 0.0
    critical: float = float("nan")
    approximate: bool = False
    parametric: bool = False

    def text(self, scale_name: str = "N") -> str:
        """One sentence: explained, or where and by how much it departs."""
        how = (" (aggregate values only: approximate)" if self.approximate else "")
        if self.explained:
            return (f"inside the joint {'' if np.isnan(self.critical) else f'(c={self.critical:.2f}) '}band "
                    f"predicted from {self.ingredient} at all {self.x.size} scales{how}")
        parts = [f"{scale_name}={s:.3g}: {d:+.3g} ({e:.3g} beyond the band)" for s, d, e in self.departures[:4]]
        more = f" and {len(self.departures) - 4} more" if len(self.departures) > 4 else ""
        return (f"departs from the prediction from {self.ingredient} at {len(self.departures)} of {self.x.size} "
                f"scales: {'; '.join(parts)}{more}{how}")


def joint_critical_value(dev: np.ndarray, se: np.ndarray, confidence: float) -> float:
    """``quantile_conf(max_s |dev_bs| / se_s)`` over replicates ``b``; scales with ``se = 0`` are
    left out of the max (their deviation is 0 in every replicate)."""
    dev = np.asarray(dev, dtype=float)
    se = np.asarray(se, dtype=float)
    use = se > 0
    if not use.any():
        return 0.0
    t = np.abs(dev[:, use]) / se[use][None, :]
    return float(np.quantile(t.max(axis=1), confidence))


def _departures(x: np.ndarray, d: np.ndarray, half: np.ndarray) -> tuple[bool, list[tuple[float, float, float]], float]:
    excess = np.abs(d) - half
    out = excess > 1e-12
    deps = [(float(x[i]), float(d[i]), float(excess[i])) for i in np.flatnonzero(out)]
    deps.sort(key=lambda t: -t[2])
    worst = float(d[int(np.argmax(excess))]) if out.any() else 0.0
    return (not out.any()), deps, worst


def explain_curve(x: Sequence[float] | np.ndarray, designs: Sequence[np.ndarray], transform: Transform, *,
                  n_boot: int = 1000, confidence: float = 0.95, seed: int | np.random.Generator = 0,
                  paired: bool = False, tolerance: float = 0.0) -> Explanation:
    """Test a sharp metric's curve against the prediction from its ingredient.

    Args:
        x: scale of each model, in curve order (ascending capability).
        designs: each model's design matrix (:meth:`Transform.design`), in the same order.
        transform: the metric's transform.
        n_boot: bootstrap resamples (>= 100 recommended for a 95% joint band).
        paired: the models share their test examples (rows aligned).
        tolerance: smallest half-width of the band (absolute); use it for parametric transforms,
            whose shape model is an approximation (departures below it are not evidence).
    """
    xs = np.asarray(x, dtype=float)
    if xs.size != len(designs):
        raise ValueError(f"{xs.size} scales but {len(designs)} designs")
    full = np.vstack([np.asarray(d, dtype=float).mean(axis=0) for d in designs])
    obs = full[:, 0]
    pred = transform.predict(full)
    theta = transform.theta(full)
    reps = bootstrap_column_means(designs, n_boot, seed, paired=paired)
    obs_b = np.column_stack([r[:, 0] for r in reps])
    pred_b = np.column_stack([transform.predict(r) for r in reps])
    d = obs - pred
    dev = (obs_b - pred_b) - d[None, :]
    se = dev.std(axis=0, ddof=1) if n_boot > 1 else np.zeros_like(d)
    n = np.array([np.asarray(dd).shape[0] for dd in designs], dtype=float)
    # never narrower than the binomial error of the observed rate under the prediction: the bootstrap
    # sees no variance at 0 of n (or n of n) successes, and the paired difference can be tiny
    p_clip = np.clip(pred, 0.0, 1.0)
    se = np.maximum(se, np.sqrt(p_clip * (1.0 - p_clip) / n))
    c = joint_critical_value(dev, se, confidence)
    half = np.maximum(np.maximum(c * se, 1.0 / n), tolerance)
    ok, deps, worst = _departures(xs, d, half)
    o_lo, o_hi = percentile_ci(obs_b, confidence)
    return Explanation(transform.metric, transform.ingredient, xs, obs, o_lo, o_hi, pred,
                       np.clip(pred - half, 0.0, 1.0), np.clip(pred + half, 0.0, 1.0), theta,
                       ok, deps, worst, c, approximate=False, parametric=transform.parametric)


def explain_aggregate(x: Sequence[float] | np.ndarray, observed: Sequence[float] | np.ndarray,
                      observed_se: Sequence[float] | np.ndarray, ingredient: Sequence[float] | np.ndarray,
                      ingredient_se: Sequence[float] | np.ndarray, length: float, *, metric: str,
                      ingredient_name: str, confidence: float = 0.95,
                      n: Sequence[float] | np.ndarray | None = None) -> Explanation:
    """The aggregate version of :func:`explain_curve` for ``power`` transforms (``a**L``), when
    only per-model values and standard errors exist (results files, tables).

    The prediction's error is propagated by the delta method (``dP/da = L a**(L-1)``), the band is
    Bonferroni-joint over the scales (``z = Phi^-1(1 - alpha / (2M))``) and the result is flagged
    ``approximate``: the two metrics' errors are treated as independent, which they are not on
    shared examples.  With ``n`` (examples per point) the band gets the floors of
    :func:`explain_curve` (binomial error under the prediction, one example's worth).
    """
    xs = np.asarray(x, dtype=float)
    o = np.asarray(observed, dtype=float)
    a = np.clip(np.asarray(ingredient, dtype=float), 0.0, 1.0)
    so = np.asarray(observed_se, dtype=float)
    sa = np.asarray(ingredient_se, dtype=float)
    if not (xs.shape == o.shape == a.shape == so.shape == sa.shape):
        raise ValueError("x, observed, ingredient and their standard errors need one shape")
    if length < 1:
        raise ValueError("length must be >= 1")
    pred = a ** length
    se = np.sqrt(so ** 2 + (length * a ** (length - 1) * sa) ** 2)
    z = float(special.ndtri(1 - (1 - confidence) / (2 * xs.size)))
    if n is not None:  # as in explain_curve: the binomial error under the prediction, one example's worth
        nn = np.asarray(n, dtype=float)
        se = np.maximum(se, np.sqrt(np.clip(pred, 0, 1) * (1 - np.clip(pred, 0, 1)) / nn))
        half = np.maximum(z * se, 1.0 / nn)
    else:
        half = z * se
    d = o - pred
    ok, deps, worst = _departures(xs, d, half)
    zo = float(special.ndtri(1 - (1 - confidence) / 2))
    return Explanation(metric, ingredient_name, xs, o, o - zo * so, o + zo * so, pred,
                       np.clip(pred - half, 0, 1), np.clip(pred + half, 0, 1), a[:, None], ok, deps, worst, z,
                       approximate=True)
