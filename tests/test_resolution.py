from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from emergence_lens.emergence import (
    clopper_pearson,
    detection_probability,
    min_detectable_accuracy,
    resolution_limit,
)


@pytest.mark.parametrize("k,n", [(0, 10), (1, 10), (5, 10), (10, 10), (0, 2000), (37, 2000)])
def test_matches_scipy_exact_interval(k, n):
    lo, hi = clopper_pearson(k, n)
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert lo == pytest.approx(ref.low, abs=1e-10)
    assert hi == pytest.approx(ref.high, abs=1e-10)


def test_known_values_and_vectorised():
    lo, hi = clopper_pearson([0, 10], [10, 10])
    assert lo[0] == 0 and hi[1] == 1
    assert hi[0] == pytest.approx(1 - 0.025 ** (1 / 10))  # 0.3085
    assert hi[0] == pytest.approx(0.30849, abs=1e-5)


def test_resolution_limit_is_upper_bound_at_zero():
    for n in (10, 100, 2000):
        assert resolution_limit(n) == pytest.approx(clopper_pearson(0, n)[1])
    assert resolution_limit(1000) == pytest.approx(3.69 / 1000, rel=0.01)
    assert np.all(np.diff(resolution_limit(np.array([10, 100, 1000]))) < 0)


def test_detection():
    assert detection_probability(0.01, 100) == pytest.approx(1 - 0.99 ** 100)
    a = min_detectable_accuracy(100, power=0.9)
    assert detection_probability(a, 100) == pytest.approx(0.9)


@pytest.mark.parametrize("k,n", [(-1, 10), (11, 10), (1, 0), (0.5, 10)])
def test_bad_counts(k, n):
    with pytest.raises(ValueError):
        clopper_pearson(k, n)


def test_bad_confidence():
    with pytest.raises(ValueError):
        clopper_pearson(1, 10, confidence=1.0)
