from __future__ import annotations

import numpy as np
import pytest

from emergence_lens.emergence import (
    bootstrap_emergence,
    bootstrap_means,
    emergence_score,
    percentile_ci,
)
from emergence_lens.emergence.bootstrap import _resample_matrix


def test_seeded_and_shaped():
    s = [np.r_[np.ones(30), np.zeros(70)], np.linspace(0, 1, 50)]
    a = bootstrap_means(s, 200, seed=7)
    b = bootstrap_means(s, 200, seed=7)
    assert a.shape == (200, 2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, bootstrap_means(s, 200, seed=8))


def test_multinomial_path_matches_index_resampling_distribution():
    rng = np.random.default_rng(0)
    scores = (rng.random(400) < 0.3).astype(float)  # 2 distinct values -> multinomial path
    fast = _resample_matrix(scores[:, None], 20000, np.random.default_rng(1))[:, 0]
    idx = np.random.default_rng(2).integers(0, 400, size=(20000, 400))
    slow = scores[idx].mean(axis=1)
    assert fast.mean() == pytest.approx(slow.mean(), abs=2e-3)
    assert fast.std() == pytest.approx(slow.std(), rel=0.05)
    assert fast.std() == pytest.approx(np.sqrt(0.3 * 0.7 / 400), rel=0.1)


def test_paired_keeps_correlation():
    rng = np.random.default_rng(3)
    base = rng.normal(size=300)
    s = [base, base + 0.01 * rng.normal(size=300)]
    paired = bootstrap_means(s, 2000, seed=0, paired=True)
    indep = bootstrap_means(s, 2000, seed=0, paired=False)
    assert np.corrcoef(paired.T)[0, 1] > 0.99
    assert abs(np.corrcoef(indep.T)[0, 1]) < 0.1
    with pytest.raises(ValueError, match="equal example counts"):
        bootstrap_means([base, base[:10]], 10, paired=True)


def test_rejects_nan_and_empty():
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_means([np.array([1.0, np.nan])], 10)
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_means([np.array([])], 10)
    with pytest.raises(ValueError):
        bootstrap_means([np.ones(3)], 0)


@pytest.mark.parametrize("kind", ["binary", "continuous"])
def test_percentile_ci_covers_truth_at_nominal_rate(kind):
    """Simulate many test sets from a known distribution; the 95% CI of the mean should
    contain the true mean about 95% of the time."""
    rng = np.random.default_rng(2024)
    trials, n, truth = 400, 200, 0.3
    hits = 0
    for _ in range(trials):
        if kind == "binary":
            s = (rng.random(n) < truth).astype(float)
        else:
            s = rng.normal(truth, 1.0, size=n)
        lo, hi = percentile_ci(bootstrap_means([s], 1000, seed=rng))
        hits += bool(lo[0] <= truth <= hi[0])
    coverage = hits / trials
    assert 0.91 <= coverage <= 0.985, coverage


def test_emergence_ci_covers_true_score():
    """A smooth family with binary scores: the CI of the emergence score covers the score of the
    true curve at roughly the nominal rate."""
    rng = np.random.default_rng(11)
    x = np.logspace(7, 10, 7)
    p = np.array([0.1, 0.18, 0.3, 0.42, 0.5, 0.62, 0.7])
    truth = emergence_score(x, p)
    hits = 0
    trials = 150
    for _ in range(trials):
        scores = [(rng.random(3000) < pi).astype(float) for pi in p]
        res = bootstrap_emergence(x, scores, n_boot=500, seed=rng)
        hits += bool(res.ci_low <= truth <= res.ci_high)
    assert 0.85 <= hits / trials <= 1.0, hits / trials


def test_bootstrap_emergence_orientation_and_errors():
    x = [1, 10, 100, 1000]
    ted = [np.full(50, 4.0), np.full(50, 3.0), np.full(50, 2.0), np.full(50, 1.0)]
    res = bootstrap_emergence(x, ted, n_boot=100, higher_is_better=False)
    assert res.score == pytest.approx(3.0)
    assert res.ci_low == pytest.approx(3.0) and res.ci_high == pytest.approx(3.0)
    assert res.curve_replicates.shape == (100, 4)
    with pytest.raises(ValueError, match="at least 3"):
        bootstrap_emergence([1, 2], ted[:2])


def test_designs_that_are_blocks_of_one_array_resample_as_separate_arrays():
    """The paired bootstrap uses an array whose consecutive column blocks the designs are (no stacked
    copy): the same replicates as from separate arrays; anything else is stacked as before."""
    from emergence_lens.emergence.bootstrap import _blocks_of, bootstrap_column_means

    rng = np.random.default_rng(3)
    separate = [rng.normal(size=(500, 3)) for _ in range(4)]
    joint = np.hstack(separate)
    views = [joint[:, i * 3:(i + 1) * 3] for i in range(4)]
    assert _blocks_of(views) is joint
    assert _blocks_of(separate) is None and _blocks_of(views[::-1]) is None and _blocks_of(views[:3]) is None
    for a, b in zip(bootstrap_column_means(views, 200, 5, paired=True),
                    bootstrap_column_means(separate, 200, 5, paired=True), strict=True):
        np.testing.assert_array_equal(a, b)
    # design_blocks fills such an array one design at a time (as the verdicts and paired sharpness do)
    from emergence_lens.emergence.bootstrap import design_blocks

    made = design_blocks(iter(separate), 4)
    assert _blocks_of(made) is not None and all(np.array_equal(a, b) for a, b in zip(made, separate, strict=True))
    for a, b in zip(bootstrap_column_means(made, 200, 5, paired=True),
                    bootstrap_column_means(separate, 200, 5, paired=True), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="same examples"):
        design_blocks([separate[0], separate[1][:-1]], 2)


def test_distinct_rows_and_the_first_quarter_test_equal_numpy_s_unique_rows(monkeypatch):
    """The counts path's distinct rows (hashes given codes by a hash table, not sorts) equal
    ``np.unique(axis=0)`` — the rows, their order, each row's first occurrence (``-0.0`` and ``0.0``
    are one value, the first seen kept) and the inverse — with hashes that tell every row apart and
    with hashes that collide (then exact per-column codes decide); ``None`` exactly when there are
    more than ``n/8`` distinct rows; and a column found to have many distinct values in its first
    quarter has them in the whole."""
    from emergence_lens.emergence import bootstrap
    from emergence_lens.emergence.bootstrap import _many_distinct, _unique_rows

    rng = np.random.default_rng(1)
    checked = 0
    for trial in range(400):
        n, m = int(rng.integers(1, 2000)), int(rng.integers(1, 6))
        values = rng.integers(-2, int(rng.integers(-1, 3)), (n, m)).astype(float)  # negative values too
        if trial % 3 == 0:
            values[rng.random((n, m)) < 0.1] = -0.0
        if trial % 5 == 0:  # one continuous column
            values[:, int(rng.integers(0, m))] = rng.random(n)
        if trial % 7 == 0:  # few distinct rows of many columns
            values = values[rng.integers(0, 4, n) % n][:, rng.integers(0, m, 40)]
            m = values.shape[1]
        many = [np.unique(values[:, j]).size * 8 > n for j in range(m)]
        for j in range(m):
            assert not _many_distinct(values[:, j]) or many[j]
        rows, first, inverse = np.unique(values, axis=0, return_index=True, return_inverse=True)
        with monkeypatch.context() as patch:
            if trial % 2:  # every row one hash: the exact codes decide
                patch.setattr(bootstrap, "_hash_weights", lambda m: np.zeros(m, np.uint64))
            got = _unique_rows(values)
        assert (got is None) == (len(rows) * 8 > n)
        if got is None:
            continue
        assert np.array_equal(got[0], rows) and np.array_equal(got[1], inverse.ravel())
        assert np.array_equal(np.signbit(got[0]), np.signbit(values[first]))
        checked += 1
    assert checked > 100
