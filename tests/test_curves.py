from __future__ import annotations

import numpy as np
import pytest

from emergence_lens.curves import compute_curves
from emergence_lens.simulate import simulate_records
from tests.conftest import make_records


def test_values_are_means_of_per_example_scores(records_df):
    cs = compute_curves(records_df, n_boot=50, keep_scores=True)
    em = cs.table[cs.table.metric == "exact_match"]
    assert list(em.model) == ["m0", "m1", "m2", "m3"]  # ordered by scale
    for r in em.itertuples():
        g = records_df[records_df.model == r.model]
        assert r.value == pytest.approx((g.target == g.prediction).mean())
        assert r.n_examples == len(g) and r.n_correct == int((g.target == g.prediction).sum())
        assert r.cp_low <= r.value <= r.cp_high
    assert em["paired"].all()
    assert set(cs.table.metric) == {"exact_match", "token_edit_distance", "target_log_likelihood",
                                    "target_token_probability", "multiple_choice_grade",
                                    "brier_score", "bigbench_brier_score", "correct_choice_probability"}
    for key, reps in cs.replicates.items():
        assert reps.shape == (50, 4), key


def test_partially_missing_inputs_are_skipped_with_reason_not_dropped(records_df):
    df = records_df.copy()
    df["choice_logprobs"] = df["choice_logprobs"].astype(object)
    rows = df.index[df.model == "m2"]
    for i in rows:
        df.at[i, "choice_logprobs"] = None
    df.loc[rows, "correct_choice"] = None
    cs = compute_curves(df, n_boot=0)
    assert "multiple_choice_grade" not in set(cs.table.metric)
    reasons = cs.skipped.set_index("metric")["reason"]
    assert "15 of 20 rows" in reasons["multiple_choice_grade"]
    assert "m2" in reasons["brier_score"]
    # wholly absent inputs are simply not applicable, not "skipped"
    df2 = records_df.drop(columns=["choice_logprobs", "correct_choice"])
    assert compute_curves(df2, n_boot=0).skipped.empty


def test_ci_for_a_curve_does_not_depend_on_other_metrics(records_df):
    a = compute_curves(records_df, ["exact_match"], n_boot=100, seed=3)
    b = compute_curves(records_df, ["token_edit_distance", "exact_match"], n_boot=100, seed=3)
    key = ("fam", "t", "exact_match")
    assert np.array_equal(a.replicates[key], b.replicates[key])


def test_unpaired_when_example_sets_differ():
    df = make_records(n_models=3, n_examples=4)
    df = df[~((df.model == "m1") & (df.example_id == "e0"))]
    cs = compute_curves(df, ["exact_match"], n_boot=10)
    assert not cs.table["paired"].any()
    assert cs.table.set_index("model").loc["m1", "n_examples"] == 3


def test_bad_requests(records_df):
    with pytest.raises(ValueError, match="arrays only"):
        compute_curves(records_df, ["reconstruction_at"])
    with pytest.raises(ValueError, match="not requested"):
        compute_curves(records_df, ["exact_match"], metric_options={"brier_score": {}})


def test_simulated_family_is_deterministic_and_valid():
    a = simulate_records([1e7, 1e9, 1e11], [1, 3], 20, seed=5)
    b = simulate_records([1e7, 1e9, 1e11], [1, 3], 20, seed=5)
    assert a.equals(b)
    assert len(a) == 3 * 2 * 20
    acc = compute_curves(a, ["target_token_probability"], n_boot=0).table
    big = acc.groupby("scale_params")["value"].mean()
    assert big.is_monotonic_increasing


def test_optional_columns_may_be_absent_required_ones_may_not(records_df):
    slim = records_df[["family", "model", "scale_params", "task", "example_id", "target", "prediction"]]
    cs = compute_curves(slim, n_boot=10)
    assert set(cs.table.metric) == {"exact_match", "token_edit_distance"}
    with pytest.raises(KeyError, match="scale_params"):
        compute_curves(slim.drop(columns=["scale_params"]), n_boot=0)
