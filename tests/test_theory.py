from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergence_lens import theory as T


@settings(max_examples=100, deadline=None)
@given(st.floats(1e3, 1e15), st.floats(1e5, 1e12), st.floats(-1.0, -0.01), st.integers(1, 12),
       st.integers(2, 10))
def test_closed_forms(n, c, alpha, L, K):
    ce = T.per_token_ce(n, c, alpha)
    assert ce == pytest.approx((n / c) ** alpha)
    p = T.p_token_correct(n, c, alpha)
    assert p == pytest.approx(np.exp(-ce))
    assert T.accuracy(p, L) == pytest.approx(p ** L)
    assert T.token_edit_distance(p, L) == pytest.approx(L * (1 - p))
    q = T.correct_choice_probability(p, L)
    b = T.brier_score(q, K)
    # the closed form equals the explicit sum over options
    explicit = (1 - q) ** 2 + (K - 1) * ((1 - q) / (K - 1)) ** 2
    assert b == pytest.approx(explicit)
    assert 0 <= b <= K / (K - 1) + 1e-12
    assert T.multiple_choice_grade(q, K) == (1.0 if q > 1 / K + 1e-9 else (0.0 if q < 1 / K - 1e-9 else 1 / K))


def test_monotone_in_scale():
    n = np.logspace(6, 14, 50)
    p = T.p_token_correct(n, 1e9, -0.3)
    assert np.all(np.diff(p) > 0)
    for L in (1, 3, 5):
        assert np.all(np.diff(T.accuracy(p, L)) > 0)
        assert np.all(np.diff(T.token_edit_distance(p, L)) < 0)


def test_predictions():
    assert T.accuracy_at_length(0.9, 3) == pytest.approx(0.729)
    assert T.edit_distance_at_length(0.1, 4) == pytest.approx(0.4)
    assert T.prob_all_wrong(0.01, 100) == pytest.approx(0.99 ** 100)
    with pytest.raises(ValueError):
        T.prob_all_wrong(1.5, 10)


def test_theory_table_shape_and_columns():
    model = T.ScalingModel(n_points=11)
    df = T.theory_table(model, lengths=[5, 1, 3, 3])
    assert list(df.columns) == T.THEORY_COLUMNS
    assert len(df) == 11 * 3
    assert sorted(df["target_length"].unique()) == [1, 3, 5]
    row = df.iloc[7]
    assert row["accuracy"] == pytest.approx(row["p_token_correct"] ** row["target_length"])
    assert row["token_edit_distance"] == pytest.approx(row["target_length"] * (1 - row["p_token_correct"]))


@pytest.mark.parametrize("kwargs", [{"c": 0}, {"alpha": 0.1}, {"n_choices": 1}, {"n_min": 10, "n_max": 1}])
def test_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        T.ScalingModel(**kwargs)


def test_bad_lengths():
    with pytest.raises(ValueError):
        T.accuracy(0.5, 0)
    with pytest.raises(ValueError):
        T.theory_table(lengths=[])
