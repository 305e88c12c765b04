from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergence_lens.emergence import (
    EmergenceScoreError,
    classify_sharpness,
    compare_metrics,
    emergence_score,
    emergence_scores,
    emergence_table,
    linearity,
)
from emergence_lens.emergence.score import REL_FLOOR


def test_line_scores_n_minus_1():
    x = np.logspace(6, 12, 7)
    assert emergence_score(x, np.arange(7.0)) == pytest.approx(6.0)
    assert emergence_score(x, -np.arange(7.0)) == pytest.approx(-6.0)
    assert linearity(x, np.arange(7.0)) == pytest.approx(np.sqrt(6))


def test_step_hits_documented_cap():
    x = np.arange(8.0)
    y = np.r_[np.zeros(6), 1.0, 1.0]
    assert emergence_score(x, y) == pytest.approx(1 / REL_FLOOR)
    assert emergence_score(x, y, min_step=0.1) == pytest.approx(10.0)
    assert linearity(x, y) == pytest.approx(1.0)


def test_power_law_by_hand():
    x = np.array([1, 2, 4, 8, 16.0])
    y = x ** 2  # steps 3, 12, 48, 192 -> median of squares = (144 + 2304)/2
    expected = (256 - 1) / np.sqrt((12 ** 2 + 48 ** 2) / 2)
    assert emergence_score(x, y) == pytest.approx(expected)
    # a steeper power law over the same x is more "emergent"
    assert emergence_score(x, x ** 4) > emergence_score(x, x ** 2) > emergence_score(x, x)


def test_sorting_and_sign():
    x = [3.0, 1.0, 2.0, 4.0]
    y = [0.3, 0.1, 0.2, 0.9]
    assert emergence_score(x, y) == pytest.approx(emergence_score(sorted(x), [0.1, 0.2, 0.3, 0.9]))
    assert emergence_score([1, 2, 3, 4], [0.9, 0.3, 0.2, 0.1]) < 0


def test_degenerate_inputs():
    with pytest.raises(EmergenceScoreError, match="at least 3"):
        emergence_score([1, 2], [0, 1])
    assert emergence_score([1, 2, 3], [0.5, 0.5, 0.5]) == 0.0
    assert linearity([1, 2, 3], [0.5, 0.5, 0.5]) == 0.0
    with pytest.raises(EmergenceScoreError, match="non-finite"):
        emergence_score([1, 2, 3, 4], [0, np.nan, 1, 2])
    with pytest.warns(RuntimeWarning, match="omitting 1"):
        assert emergence_score([1, 2, 3, 4], [0, np.nan, 1, 2], nan_policy="omit") == pytest.approx(2.0)
    with pytest.raises(EmergenceScoreError, match="duplicate"):
        emergence_score([1, 1, 2, 3], [0, 1, 2, 3])
    assert emergence_score([1, 1, 2, 3], [0, 2, 2, 3], duplicates="mean") == pytest.approx(2.0)
    with pytest.raises(EmergenceScoreError, match="differ"):
        emergence_score([1, 2, 3], [1, 2])
    with pytest.raises(EmergenceScoreError):
        emergence_score([1, 2, np.inf], [1, 2, 3])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=30))
def test_never_inf_or_nan_and_bounded(y):
    x = np.arange(len(y), dtype=float)
    s = emergence_score(x, y)
    assert np.isfinite(s)
    assert abs(s) <= 1 / REL_FLOOR + 1e-6
    assert emergence_scores(np.asarray([y]))[0] == pytest.approx(s)


def _table(rows):
    return pd.DataFrame(rows)


def test_emergence_table_orients_and_reports_status():
    rows = []
    for m, val in enumerate([0.0, 0.0, 0.0, 0.0, 1.0]):
        rows.append({"family": "f", "task": "t", "metric": "exact_match", "value": val,
                     "scale_params": 10.0 ** m, "higher_is_better": True, "metric_kind": "k"})
        rows.append({"family": "f", "task": "t", "metric": "token_edit_distance",
                     "value": 5 - m, "scale_params": 10.0 ** m, "higher_is_better": False,
                     "metric_kind": "k"})
    rows.append({"family": "f", "task": "u", "metric": "exact_match", "value": 0.5,
                 "scale_params": 1.0, "higher_is_better": True, "metric_kind": "k"})
    em = emergence_table(_table(rows))
    ted = em[(em.task == "t") & (em.metric == "token_edit_distance")].iloc[0]
    assert ted.emergence_score == pytest.approx(4.0)  # improving -> positive after orientation
    assert ted.sharpness == pytest.approx(1.0)
    acc = em[(em.task == "t") & (em.metric == "exact_match")].iloc[0]
    assert acc.emergence_score == pytest.approx(1 / REL_FLOOR)
    bad = em[em.task == "u"].iloc[0]
    assert np.isnan(bad.emergence_score) and "at least 3" in bad.status
    cmp_ = compare_metrics(em)
    row = cmp_[(cmp_.task == "t") & (cmp_.partner == "token_edit_distance")].iloc[0]
    assert row.verdict == "metric artifact"
    assert "token_edit_distance" in row.explanation


def test_log_scale_metric_is_scored_on_log10():
    # MSE halving at every size: smooth on log axes (equal steps), "sharp" on the raw scale
    values = 0.1 * 0.5 ** np.arange(8)
    rows = [{"family": "f", "task": "t", "metric": m, "value": v, "scale_params": 2.0 ** i,
             "higher_is_better": False, "metric_kind": "k"}
            for m in ("mse", "token_edit_distance") for i, v in enumerate(values)]
    em = emergence_table(_table(rows)).set_index("metric")
    assert em.loc["mse", "emergence_score"] == pytest.approx(7.0)  # log10 steps are equal
    assert em.loc["mse", "sharpness"] == pytest.approx(1.0)
    assert em.loc["token_edit_distance", "sharpness"] > 2  # same numbers, raw scale
    rows[0]["value"] = 0.0
    bad = emergence_table(_table(rows)).set_index("metric")
    assert np.isnan(bad.loc["mse", "emergence_score"]) and bad.loc["mse", "status"] != "ok"


@pytest.mark.parametrize("score,lo,hi,n,expected", [
    (40.0, 30.0, 60.0, 5, "sharp"),
    (4.0, 3.5, 4.5, 5, "smooth"),
    (8.0, 5.0, 12.0, 5, "uncertain"),
    (-40.0, -60.0, -30.0, 5, "sharp"),
    (9.0, np.nan, np.nan, 5, "sharp"),
    (np.nan, np.nan, np.nan, 2, "not scored"),
])
def test_classify_sharpness(score, lo, hi, n, expected):
    assert classify_sharpness(score, lo, hi, n) == expected


def test_compare_verdicts():
    def row(task, metric, score, lo, hi):
        return {"family": "f", "task": task, "metric": metric, "metric_kind": "", "higher_is_better": True,
                "n_scales": 5, "scale_min": 1, "scale_max": 5, "emergence_score": score, "ci_low": lo,
                "ci_high": hi, "sharpness": score / 4, "linearity": np.nan, "status": "ok"}
    em = pd.DataFrame([
        row("a", "exact_match", 40, 30, 50), row("a", "token_edit_distance", 4, 3, 5),
        row("b", "exact_match", 40, 30, 50), row("b", "token_edit_distance", 40, 30, 50),
        row("c", "exact_match", 4, 3, 5), row("c", "token_edit_distance", 4, 3, 5),
        row("d", "exact_match", 10, 4, 20), row("d", "token_edit_distance", 4, 3, 5),
        row("e", "exact_match", 4, 3, 5), row("e", "token_edit_distance", 40, 30, 50),
    ])
    got = compare_metrics(em).set_index("task")["verdict"].to_dict()
    assert got == {"a": "metric artifact", "b": "persists", "c": "no emergence",
                   "d": "inconclusive", "e": "partner sharper"}
    with pytest.raises(ValueError):
        compare_metrics(em, threshold=0)


