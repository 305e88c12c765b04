"""PassUntil: resolving tiny pass rates by sampling until K passes (Hu et al. 2023, "Predicting
Emergent Abilities with Infinite Resolution Evaluation"; the resolution argument of Schaeffer et al.
2023, Fig. 4, taken to its end).

A model whose greedy exact match is 0 out of n problems has a pass rate somewhere in
``[0, ~3/n]``; drawing completions at temperature ``T`` until ``K`` of them are right (or ``M``
are drawn) measures it.  For problem ``i`` with ``a_i`` attempts and ``s_i`` passes:

==========================================  ============================================
stopped at the K-th pass (``s_i = K >= 2``)  ``p_i = (K - 1) / (a_i - 1)`` (unbiased under
                                             inverse binomial sampling; Haldane 1945)
otherwise (cap reached, or ``K = 1``)        ``p_i = s_i / a_i``
==========================================  ============================================

(Both are the unbiased estimator of Girshick, Mosteller and Savage (1946) for this stopping rule.)
The task's pass rate is ``mean_i p_i``.  Its CI resamples problems (bootstrap) and, within each
replicate, draws ``p_i`` from ``Beta(K - 1, a_i - K)`` for each problem that stopped at the K-th pass
(mean: the unbiased estimate), from the Jeffreys posterior ``Beta(s_i + 1/2, a_i - s_i + 1/2)`` for
the other problems with a pass, and the rate of all problems *without* a pass from one Jeffreys
posterior ``Beta(1/2, A + 1/2)`` on their pooled attempts ``A``; so both the spread across problems
and the finite sampling of each one are in it, and the prior of the empty problems is counted once,
not once per problem (a per-problem prior would put the interval of a task with 4 passes in 50,000
draws an order of magnitude above its estimate).  A curve with no pass at all keeps a nonzero
upper bound, never a point at 0 read as "no ability".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PassRate", "pass_rate", "problem_pass_rates", "pass_rate_table", "PASS_RATE_COLUMNS"]


@dataclass(frozen=True)
class PassRate:
    """Estimated pass rate of one (model, task) with its CI, and what it was estimated from."""

    estimate: float
    low: float
    high: float
    n_problems: int
    attempts: int
    passes: int


def _validate(attempts: Sequence[int] | np.ndarray, passes: Sequence[int] | np.ndarray,
              k: int | None) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(attempts)
    s = np.asarray(passes)
    if a.shape != s.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"attempts and passes: need two 1-D arrays of the same non-zero length, got {a.shape} "
                         f"and {s.shape}")
    for name, v in (("attempts", a), ("passes", s)):
        if not np.issubdtype(v.dtype, np.integer) and not np.all(np.isfinite(v) & (v == np.round(v))):
            raise ValueError(f"{name} must be whole numbers")
    a = a.astype(np.int64)
    s = s.astype(np.int64)
    bad = (a < 1) | (s < 0) | (s > a)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"problem {i}: {s[i]} passes in {a[i]} attempts is impossible")
    if k is not None and (s > k).any():
        i = int(np.flatnonzero(s > k)[0])
        raise ValueError(f"problem {i}: {s[i]} passes but sampling stops at K={k}")
    return a, s


def problem_pass_rates(attempts: Sequence[int] | np.ndarray, passes: Sequence[int] | np.ndarray, *,
                       k: int | None = None) -> np.ndarray:
    """Per-problem pass-rate estimates (see the module docstring); ``k`` is the number of passes
    sampling stopped at (``None``: every problem drew a fixed number of samples)."""
    a, s = _validate(attempts, passes, k)
    est = s / a
    if k is not None and k >= 2:
        stopped = (s == k) & (a > 1)
        est = np.where(stopped, (k - 1) / np.maximum(a - 1, 1), est)
    return est


def pass_rate(attempts: Sequence[int] | np.ndarray, passes: Sequence[int] | np.ndarray, *, k: int | None = None,
              n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> PassRate:
    """The task-level pass rate ``mean_i p_i`` with a CI over problems and within-problem sampling."""
    a, s = _validate(attempts, passes, k)
    est = float(problem_pass_rates(a, s, k=k).mean())
    rng = np.random.default_rng(seed)
    n = a.size
    # Within-problem draws centred on each problem's estimate: inverse sampling stopped at the K-th pass
    # has the likelihood kernel p^K (1-p)^(a-K); Beta(K-1, a-K) has mean (K-1)/(a-1), the unbiased
    # estimate (Jeffreys' Beta(K+1/2, ...) would sit at K/a, biased up by K/(K-1)).
    stopped = (s == k) & (a >= k) if k is not None and k >= 2 else np.zeros(n, dtype=bool)
    # (a problem whose first K draws all passed, a_i = K, has Beta(K - 1, 0): the point mass at its
    # estimate 1; the bootstrap over problems carries its uncertainty, as it does for every problem)
    # Problems without a pass (capped, or drawn a fixed number of times) share ONE Jeffreys posterior on
    # their pooled attempts, Beta(1/2, A + 1/2): a prior per problem would add half a pass to each of
    # them, which for 100 problems with 4 passes in 50,000 draws is ~50 imagined passes against 4 seen.
    # Every other problem keeps its own posterior (its passes outweigh the prior).
    empty = ~stopped & (s == 0)
    alpha_ = np.where(stopped, s - 1.0, s + 0.5)
    beta_ = np.where(stopped, a - s, a - s + 0.5).astype(float)
    idx = rng.integers(0, n, size=(n_boot, n))
    certain = stopped & (a == s)
    use = ~empty & ~certain
    own = np.where(use[idx], rng.beta(np.where(use, alpha_, 1.0)[idx], np.where(use, beta_, 1.0)[idx]),
                   np.where(certain[idx], 1.0, 0.0))
    n_empty = empty[idx].sum(axis=1)
    a_empty = np.where(empty, a, 0)[idx].sum(axis=1)
    pooled = rng.beta(0.5, a_empty + 0.5)
    reps = (own.sum(axis=1) + n_empty * pooled) / n
    alpha = (1 - confidence) / 2
    low, high = np.quantile(reps, [alpha, 1 - alpha])
    if s.sum() == 0:
        low = 0.0  # no pass anywhere: the interval starts at 0 (Brown, Cai & DasGupta's Jeffreys rule)
    # a percentile interval can miss its own point estimate in tiny samples; never report that
    return PassRate(est, float(min(low, est)), float(max(high, est)), n, int(a.sum()), int(s.sum()))


PASS_RATE_COLUMNS = ["family", "task", "model", "scale_params", "k", "n_problems", "attempts", "passes",
                     "pass_rate", "pass_rate_low", "pass_rate_high", "greedy_exact_match", "greedy_correct",
                     "target_probability"]


def pass_rate_table(records: pd.DataFrame, *, n_boot: int = 2000, confidence: float = 0.95,
                    seed: int = 0) -> pd.DataFrame:
    """Per (family, task, model) with PassUntil counts: the pass rate with its CI next to the greedy
    exact match on the same problems (the Fig. 4 question: where greedy reads 0, what is the rate?).
    K is read from the extra ``pass_k`` column (sampling without it counts as fixed-budget).

    ``target_probability`` is ``mean_i exp(sum_j log p_ij)`` over the same problems, from the
    teacher-forced target log-probs: the per-token prediction of the pass rate of sampling at
    temperature 1 (a sample equals the target with probability ``prod_j p_ij``, less the chance it
    runs on past the answer); NaN where the records carry no log-probs."""
    if "attempts" not in records.columns or records["attempts"].isna().all():
        return pd.DataFrame(columns=PASS_RATE_COLUMNS)
    rec = records[records["attempts"].notna()]
    rows = []
    for (family, task, model), g in rec.groupby(["family", "task", "model"], sort=True):
        ks = g["pass_k"].dropna().unique() if "pass_k" in g.columns else []
        k = int(ks[0]) if len(ks) == 1 else None
        r = pass_rate(g["attempts"].to_numpy(dtype=np.int64), g["passes"].to_numpy(dtype=np.int64), k=k,
                      n_boot=n_boot, confidence=confidence, seed=seed)
        greedy = (g["prediction"].astype(str).str.strip() == g["target"].astype(str).str.strip()).to_numpy()
        target_p = np.nan
        if "target_token_logprobs" in g.columns and g["target_token_logprobs"].notna().all():
            from emergence_lens.metrics.likelihood import target_log_likelihood

            target_p = float(np.exp(target_log_likelihood(g["target_token_logprobs"])).mean())
        rows.append({"family": family, "task": task, "model": model, "scale_params": float(g["scale_params"].iat[0]),
                     "k": k, "n_problems": r.n_problems, "attempts": r.attempts, "passes": r.passes,
                     "pass_rate": r.estimate, "pass_rate_low": r.low, "pass_rate_high": r.high,
                     "greedy_exact_match": float(greedy.mean()), "greedy_correct": int(greedy.sum()),
                     "target_probability": target_p})
    return pd.DataFrame(rows, columns=PASS_RATE_COLUMNS).sort_values(["family", "task", "scale_params"],
                                                                      kind="stable", ignore_index=True)
