"""PassUntil estimator (Hu et al. 2023): tiny pass rates resolved by sampling until K passes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergence_lens.emergence import pass_rate, problem_pass_rates


def _sample_until(p: np.ndarray, k: int, cap: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inverse binomial sampling per problem: draws until k passes or cap draws."""
    failures = rng.negative_binomial(k, p)
    attempts = k + failures
    capped = attempts > cap
    passes = np.where(capped, rng.binomial(cap, p), k)
    # a capped problem's passes are those among its first `cap` draws: fewer than k by construction
    passes = np.where(capped, np.minimum(passes, k - 1), passes)
    return np.where(capped, cap, attempts), passes


def test_unbiased_under_inverse_sampling():
    rng = np.random.default_rng(0)
    p = np.full(200, 2e-3)
    ests = [problem_pass_rates(*_sample_until(p, 5, 10**9, rng), k=5).mean() for _ in range(200)]
    assert np.mean(ests) == pytest.approx(2e-3, rel=0.03)


def test_a_pass_rate_greedy_reads_as_zero_is_resolved_with_a_ci_that_covers_it():
    rng = np.random.default_rng(1)
    true = rng.uniform(1e-4, 5e-4, size=500)  # 500 problems: greedy/one-shot would see ~0 passes
    covered = 0
    for seed in range(40):
        a, s = _sample_until(true, 3, 200_000, np.random.default_rng(seed))
        r = pass_rate(a, s, k=3, n_boot=400, seed=seed)
        assert r.estimate > 0 and r.low > 0
        covered += r.low <= true.mean() <= r.high
    assert covered >= 34  # nominal 95%: >= 34 of 40 (binomial 1% tail)


def test_capped_problems_and_no_pass_keep_an_upper_bound():
    r = pass_rate([1000, 1000, 1000], [0, 0, 0], k=5, n_boot=500)
    assert r.estimate == 0 and r.low == 0 and 0 < r.high < 0.01


def test_bad_counts_are_named():
    with pytest.raises(ValueError, match="problem 1: 5 passes in 3 attempts"):
        problem_pass_rates([4, 3], [1, 5])
    with pytest.raises(ValueError, match="stops at K=2"):
        problem_pass_rates([4, 9], [1, 3], k=2)
    with pytest.raises(ValueError, match="same non-zero length"):
        pass_rate([], [])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 10_000)), min_size=1, max_size=30),
       st.integers(1, 10))
def test_estimates_are_probabilities(pairs, k):
    a = np.array([x for x, _ in pairs])
    s = np.minimum(np.array([y for _, y in pairs]), np.minimum(a, k))
    est = problem_pass_rates(a, s, k=k)
    assert np.all((est >= 0) & (est <= 1))
    r = pass_rate(a, s, k=k, n_boot=50)
    assert 0 <= r.low <= r.estimate <= r.high <= 1


def test_score_writes_pass_rates_beside_greedy_exact_match(tmp_path):
    from typer.testing import CliRunner

    from emergence_lens.cli import app
    from emergence_lens.records import write_records
    from tests.conftest import make_records

    df = make_records(n_models=4, n_examples=10)
    rng = np.random.default_rng(0)
    p = 10.0 ** -(4 - df["model"].str[1:].astype(int).to_numpy())  # 1e-4 ... 1e-1 by model
    df["attempts"], df["passes"] = _sample_until(p, 2, 100_000, rng)
    df["pass_k"] = 2
    rec = write_records(df, tmp_path / "r.parquet")
    res = CliRunner().invoke(app, ["score", str(rec), "--out", str(tmp_path / "o"), "--n-boot", "100"])
    assert res.exit_code == 0, res.output
    import pandas as pd

    t = pd.read_csv(tmp_path / "o" / "pass_rates.csv")
    assert len(t) == 4 and (t["k"] == 2).all()
    assert list(t["pass_rate"]) == sorted(t["pass_rate"])  # rises with scale, 1e-4 resolved
    assert t["pass_rate"].iloc[0] > 0 and t["pass_rate_high"].iloc[0] < 1e-2


def test_the_ci_covers_tiny_rates_where_most_problems_hit_the_cap():
    """The regime of the arithmetic experiment: K=2, 500 draws per problem, true rates ~1e-4, so most
    problems end capped with no pass.  The interval must cover the true mean at about the nominal rate
    and must not be pushed up by a prior counted once per problem."""
    rng = np.random.default_rng(7)
    true = rng.uniform(2e-5, 2e-4, size=100)
    covered, ratios = 0, []
    for seed in range(60):
        a, s = _sample_until(true, 2, 500, np.random.default_rng(100 + seed))
        r = pass_rate(a, s, k=2, n_boot=400, seed=seed)
        covered += r.low <= true.mean() <= r.high
        ratios.append(r.high / max(true.mean(), 1e-12))
    assert covered >= 52  # nominal 95% of 60 = 57; >= 52 is the binomial 1% tail
    assert np.median(ratios) < 4  # a per-problem Jeffreys prior put the upper bound ~13x above the truth


def test_the_ci_covers_easy_and_hard_problems_mixed():
    """Many problems pass on the first K draws (a_i = K), others hit the cap: the interval must still
    cover the true mean and hold its own estimate without clamping."""
    rng = np.random.default_rng(11)
    true = np.concatenate([rng.uniform(0.5, 0.95, size=30), rng.uniform(1e-4, 5e-3, size=70)])
    covered, inside = 0, 0
    for seed in range(60):
        a, s = _sample_until(true, 2, 500, np.random.default_rng(300 + seed))
        r = pass_rate(a, s, k=2, n_boot=400, seed=seed)
        covered += r.low <= true.mean() <= r.high
        inside += r.low < r.estimate < r.high
    assert covered >= 52 and inside >= 57
