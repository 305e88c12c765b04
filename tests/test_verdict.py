"""Verdicts that test the paper's claim (issue: explained by the metric, above chance, resolution,
paired sharpness, backtest, x-axis) — with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emergence_lens.backtesting import backtest_curves, curves_from_records
from emergence_lens.curves import compute_curves
from emergence_lens.emergence import (
    PREDICTION_COLUMNS,
    VERDICT_COLUMNS,
    bootstrap_column_means,
    chance_level,
    chance_levels,
    emergence_table,
    emerges_at,
    explain_aggregate,
    explain_curve,
    measurable_ability,
    paired_sharpness,
    transform_for,
    verdict_table,
    wei_emergent,
)
from emergence_lens.emergence.transforms import Transform
from emergence_lens.records import RecordsError, validate_records
from emergence_lens.simulate import simulate_records
from emergence_lens.theory import DEFAULT_MODEL, accuracy, p_token_correct

SCALES = tuple(float(v) for v in np.logspace(7, 10.5, 8))


def _designs(records: pd.DataFrame, metric: str) -> tuple[Transform, np.ndarray, list[np.ndarray]]:
    tr = transform_for(metric, records)
    assert tr is not None
    scale = records.groupby("model")["scale_params"].first().sort_values()
    designs = [tr.design(records[records["model"] == m].sort_values("example_id")) for m in scale.index]
    return tr, scale.to_numpy(), designs


def _verdicts(records: pd.DataFrame, *, n_boot: int = 400, metrics=None, **kw):
    cs = compute_curves(records, metrics, n_boot=n_boot, seed=0, keep_scores=True)
    em = emergence_table(cs.table, cs.replicates, x=kw.pop("xcol", "scale_params"))
    return verdict_table(cs, em, n_boot=n_boot, seed=0, **kw)


# -- closed-form theory: the transform is exact ---------------------------------------------------

@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_transform_reproduces_the_closed_form_accuracy(L):
    n = np.logspace(7, 12, 11)
    p = p_token_correct(n, DEFAULT_MODEL.c, DEFAULT_MODEL.alpha)
    tr = Transform("exact_match", "power", "per-token accuracy", None, lengths=(L,))
    means = np.column_stack([np.zeros_like(p), np.ones_like(p)] + [p] * L)  # score, share of L, a at each position
    np.testing.assert_allclose(tr.predict(means), accuracy(p, L), rtol=1e-12)


def test_ragged_lengths_are_mixed_per_example():
    # half the examples have L=1, half L=3 (positions 0.9, 0.7, 0.5): the mean of a and the product
    tr = Transform("exact_match", "power", "a", None, lengths=(1, 3))
    assert tr.slots == ((1, 0), (3, 0), (3, 1), (3, 2))
    means = np.array([[0.0, 0.5, 0.5, 0.5 * 0.8, 0.5 * 0.9, 0.5 * 0.7, 0.5 * 0.5]])
    assert tr.predict(means)[0] == pytest.approx(0.5 * 0.8 + 0.5 * 0.9 * 0.7 * 0.5)
    pooled = Transform("exact_match", "power", "a", None, lengths=(1, 3), pooled=True)
    means = np.array([[0.0, 0.5, 0.5, 0.5 * 0.8, 0.5 * 2.1]])  # 2.1 successes of 3 tokens: a = 0.7
    assert pooled.predict(means)[0] == pytest.approx(0.5 * 0.8 + 0.5 * 0.7 ** 3)


# -- the simulated family: explained at every L, and predictable from the small models -----------

@pytest.fixture(scope="module")
def paper_family() -> pd.DataFrame:
    """The paper's model exactly: every token equally hard (p = exp(-CE(N))), 8 sizes, L = 1..5."""
    return simulate_records(SCALES, (1, 2, 3, 4, 5), 1500, seed=3, heterogeneity=1e6)


def test_simulated_family_is_explained_at_every_length(paper_family):
    res = _verdicts(paper_family, metrics=["exact_match", "per_token_accuracy", "token_edit_distance"])
    v = res.verdicts
    em = v[(v["metric"] == "exact_match") & (v["partner"] == "per_token_accuracy")]
    assert len(em) == 5
    assert (em["explained"] == "explained").all(), em[["task", "explanation"]].to_string()
    # the long targets look emergent under exact match and are called what they are
    long = em.set_index("task").loc[["digits-L4", "digits-L5"]]
    assert set(long["verdict"]) == {"metric artifact"}
    assert long["wei_emergent"].all()
    assert set(VERDICT_COLUMNS) <= set(v.columns)
    assert set(PREDICTION_COLUMNS) <= set(res.predictions.columns)


def test_backtest_from_four_smallest_predicts_the_four_largest_but_the_naive_baseline_does_not(paper_family):
    """Three simulated test sets x five lengths x four held-out models = 60 predictions, through the
    one backtest (the one ``predict`` and ``score --fit-on`` run)."""
    families = [paper_family] + [simulate_records(SCALES, (1, 2, 3, 4, 5), 1000, seed=s, heterogeneity=1e6)
                                 for s in (10, 11)]
    preds, summaries = [], []
    for k, fam in enumerate(families):
        curves, _ = curves_from_records(fam.assign(family=f"set{k}"), metrics=["exact_match"], n_boot=400, seed=1)
        bt = backtest_curves(curves, fit_on=4, methods="transform,naive")
        preds.append(bt.predictions)
        summaries.append(bt.summary)
    p, s = pd.concat(preds), pd.concat(summaries)
    tr, naive = p[p.method == "transform"], p[p.method == "naive"]
    assert len(tr) == len(naive) == 60
    fits = set("; ".join(s[s.method == "transform"].fit).split("; "))
    assert fits <= {f"a[{j}]: power law (per-token CE = C x^alpha)" for j in range(1, 6)} | \
        {f"a[{j}]: linear in log-scale" for j in range(1, 6)}, fits
    # the prediction from per-token accuracy: (nearly) every held-out point inside its calibrated interval
    assert tr.inside.mean() >= 0.9, tr.inside.mean()
    # the naive extrapolation of exact match itself misses the long targets' rise: its bootstrap band
    # holds almost none of them, and its error is four times the transform's
    long = naive[naive.task.str[-1].astype(int) >= 3]
    assert ((long.observed >= long.predicted_low) & (long.observed <= long.predicted_high)).mean() <= 0.2
    assert tr.error.abs().mean() < 0.25 * naive.error.abs().mean()


# -- a genuine jump beyond the transform ----------------------------------------------------------

def _clustered_family(n: int = 600, L: int = 5, seed: int = 0) -> pd.DataFrame:
    """Per-token accuracy rises smoothly, but in the three largest models the errors concentrate
    in a minority of examples, so exact match jumps far above a**L: an ability the metric's
    transform does not account for."""
    rng = np.random.default_rng(seed)
    a_by_model = np.linspace(0.35, 0.75, 8)
    rows = []
    for j, a in enumerate(a_by_model):
        if j < 5:
            right = rng.random((n, L)) < a
        else:  # all-or-nothing: an example is wholly right with probability a
            right = np.repeat(rng.random((n, 1)) < a, L, axis=1)
        for i in range(n):
            target = "12345"
            pred = "".join(c if r else "0" for c, r in zip(target, right[i], strict=True))
            rows.append({"family": "f", "model": f"m{j}", "scale_params": 10.0 ** (6 + j / 2), "task": "t",
                         "example_id": f"{i:04d}", "target": target, "prediction": pred,
                         "target_token_greedy": list(right[i]),
                         "target_token_logprobs": list(np.where(right[i], np.log(0.9), np.log(0.05)))})
    return validate_records(pd.DataFrame(rows)).to_pandas()


def test_a_jump_beyond_the_transform_is_called_beyond():
    recs = _clustered_family()
    v = _verdicts(recs, metrics=["exact_match", "per_token_accuracy"]).verdicts
    row = v[(v["metric"] == "exact_match") & (v["partner"] == "per_token_accuracy")].iloc[0]
    assert row["explained"] == "beyond"
    assert row["verdict"] == "beyond the metric"
    assert row["max_departure"] > 0.3  # exact match far above a**L
    assert "departs from the prediction" in row["explanation"]
    departs = [float(s) for s in row["departs_at"].split(";")]
    assert min(departs) >= 10.0 ** (6 + 5 / 2) - 1  # only the clustered (largest) models depart


# -- resolution: no measurable ability -------------------------------------------------------------

def _near_zero_family(n: int = 500) -> pd.DataFrame:
    counts = [0, 0, 0, 0, 0, 0, 1, 3]  # 0 ... 0.002, 0.006 of 500
    rows = []
    for j, k in enumerate(counts):
        for i in range(n):
            ok = i < k
            rows.append({"family": "f", "model": f"m{j}", "scale_params": 10.0 ** (6 + j), "task": "t",
                         "example_id": str(i), "target": "42", "prediction": "42" if ok else "7",
                         "target_token_greedy": [ok, ok], "target_token_logprobs": [-0.1 if ok else -3.0] * 2})
    return validate_records(pd.DataFrame(rows)).to_pandas()


def test_all_near_zero_curve_has_no_measurable_ability_never_sharp():
    recs = _near_zero_family()
    res = _verdicts(recs, metrics=["exact_match", "per_token_accuracy"])
    v = res.verdicts
    row = v[(v["metric"] == "exact_match") & (v["partner"] == "per_token_accuracy")].iloc[0]
    assert row["metric_score"] >= 100  # the breakthroughness score alone calls it a huge jump
    assert row["metric_state"] == "no measurable ability"
    assert row["verdict"] == "no measurable ability"
    assert "minimal detectable effect" in row["explanation"]


def test_measurable_ability_rules():
    lo = np.array([0.0, 0.0, 0.05, 0.3])
    assert measurable_ability(np.array([0, 0.01, 0.1, 0.4]), lo, 0.0, 500) == (True, "")
    ok, why = measurable_ability(np.array([0, 0, 0.002, 0.007]), np.array([0, 0, 0, 0.001]), 0.0, 500)
    assert not ok and "minimal detectable effect" in why
    ok, why = measurable_ability(np.array([0.2, 0.3, 0.28]), np.array([0.1, 0.2, 0.2]), 0.25, 1000)
    assert not ok and "lower bound" in why  # rises 5 points above chance, but never resolved above it
    assert measurable_ability(np.array([1.0, 2.0]), np.array([0.5, 1.5]), float("nan"), 10) == (True, "")


# -- Wei's criterion ------------------------------------------------------------------------------

def test_chance_levels_for_ragged_multiple_choice_and_generation():
    assert chance_level("multiple_choice_grade", [2, 4, 4]) == pytest.approx((0.5 + 0.25 + 0.25) / 3)
    assert chance_level("exact_match") == 0.0
    assert np.isnan(chance_level("token_edit_distance"))
    assert chance_level("exact_match", override=0.1) == 0.1
    recs = pd.DataFrame({"family": "f", "task": ["a", "a", "b"], "choice_logprobs": [[-1, -2], [-1, -2, -3, -4], None]})
    levels = chance_levels(recs, ["multiple_choice_grade", "exact_match"], {"b:exact_match": 0.2})
    assert levels[("f", "a", "multiple_choice_grade")] == pytest.approx(0.375)
    assert levels[("f", "b", "exact_match")] == 0.2


def test_emerges_at_and_wei_emergent():
    x = np.array([1, 2, 3, 4, 5.0])
    lo = np.array([0.0, 0.0, 0.0, 0.1, 0.3])
    hi = np.array([0.01, 0.02, 0.05, 0.2, 0.4])
    assert emerges_at(x, lo, 0.0) == 4.0
    assert wei_emergent(lo, hi, 0.0)
    # above chance from the start: it "emerges" at the smallest scale and is not Wei-emergent
    assert emerges_at(x, lo + 0.05, 0.0) == 1.0 and not wei_emergent(lo + 0.05, hi + 0.05, 0.0)
    # dips back to chance at the largest scale: no emergence point
    assert np.isnan(emerges_at(x, np.array([0, 0.1, 0.2, 0.3, 0.0]), 0.0))
    assert not wei_emergent(lo, hi, float("nan"))


# -- paired sharpness -------------------------------------------------------------------------------

def test_paired_sharpness_uses_the_same_resamples():
    rng = np.random.default_rng(0)
    scores = [rng.random(200) < p for p in (0.1, 0.2, 0.3, 0.9)]
    ps = paired_sharpness(scores, scores, n_boot=300, seed=1)
    # a metric against itself: every replicate difference is exactly 0 (not two independent CIs)
    assert np.all(ps.replicates == 0) and ps.diff == 0 and ps.state == "not different"
    smooth = [np.full(200, p) for p in (0.1, 0.2, 0.3, 0.4)]
    ps = paired_sharpness(scores, smooth, n_boot=300, seed=1)
    assert ps.diff_low > 0 and ps.state == "sharper"
    with pytest.raises(ValueError, match="3 models"):
        paired_sharpness(scores[:2], scores[:2])


def test_bootstrap_column_means_pairs_columns():
    d = np.column_stack([np.arange(10.0), np.arange(10.0) * 2])
    reps = bootstrap_column_means([d, d], 50, seed=0, paired=True)
    assert np.allclose(reps[0][:, 1], 2 * reps[0][:, 0]) and np.allclose(reps[0], reps[1])


# -- the joint band holds jointly -------------------------------------------------------------------

def test_joint_band_covers_a_true_transform_jointly():
    """Families whose exact match really is a**L: 'explained' in >= ~90% of simulated test sets
    (joint 95% band over 8 scales; a pointwise 95% band would cover all 8 only ~66% of the time)."""
    L, n = 3, 300
    a_true = np.linspace(0.3, 0.9, 8)
    hits = 0
    n_sets = 60
    rng = np.random.default_rng(7)
    tr = Transform("exact_match", "power", "a", None, lengths=(L,))
    for _ in range(n_sets):
        designs = []
        for a in a_true:
            right = rng.random((n, L)) < a
            obs = right.all(axis=1).astype(float)
            designs.append(np.column_stack([obs, np.ones(n), right.astype(float)]))
        ex = explain_curve(np.logspace(6, 9, 8), designs, tr, n_boot=300, seed=rng.integers(1 << 30))
        hits += ex.explained
    assert hits / n_sets >= 0.85, hits


def test_explain_aggregate_is_flagged_approximate():
    a = np.linspace(0.3, 0.9, 6)
    ex = explain_aggregate(np.logspace(6, 9, 6), a ** 4, np.full(6, 0.01), a, np.full(6, 0.005), 4,
                           metric="exact_match", ingredient_name="per-token accuracy")
    assert ex.explained and ex.approximate
    ex = explain_aggregate(np.logspace(6, 9, 6), a ** 4 + np.r_[0, 0, 0, 0, 0, 0.3], np.full(6, 0.01), a,
                           np.full(6, 0.005), 4, metric="exact_match", ingredient_name="a")
    assert not ex.explained and ex.departures[0][0] == pytest.approx(1e9)


# -- x-axis -----------------------------------------------------------------------------------------

def test_loss_axis_orders_by_decreasing_loss(paper_family):
    small = paper_family[paper_family["task"] == "digits-L5"]
    # reverse the parameter order: the loss axis must follow the loss, not the parameter count
    flipped = small.assign(scale_params=1e18 / small["scale_params"])
    res = _verdicts(flipped, metrics=["exact_match", "per_token_accuracy"], x_axis="loss", xcol="pretrain_loss")
    row = res.verdicts[(res.verdicts["metric"] == "exact_match")].iloc[0]
    assert row["x_axis"] == "loss" and row["metric_score"] > 0  # improves as the loss falls
    assert row["explained"] == "explained"
    params = _verdicts(flipped, metrics=["exact_match", "per_token_accuracy"]).verdicts
    assert params[params["metric"] == "exact_match"]["metric_score"].iloc[0] < 0  # on params it "declines"


def test_greedy_flags_are_validated():
    df = pd.DataFrame([{"family": "f", "model": "m", "scale_params": 1.0, "task": "t", "example_id": "0",
                        "target_token_logprobs": [-0.1, -0.2], "target_token_greedy": [True]}])
    with pytest.raises(RecordsError, match="1 greedy flags for 2") as exc:
        validate_records(df)
    assert exc.value.column == "target_token_greedy" and exc.value.row == 0


def test_pretrain_loss_must_be_one_value_per_model():
    base = {"family": "f", "model": "m", "scale_params": 1.0, "task": "t"}
    ok = pd.DataFrame([{**base, "example_id": "0", "pretrain_loss": 2.0}, {**base, "example_id": "1", "pretrain_loss": 2.0}])
    validate_records(ok)
    for second in (3.0, None):
        bad = ok.copy()
        bad.loc[1, "pretrain_loss"] = second
        with pytest.raises(RecordsError, match="more than one pretrain_loss"):
            validate_records(bad)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_verdicts_on_threads_equal_the_serial_ones(seed):
    """The bootstraps of a (family, task) run on threads (the finish of a partition read in runs) give
    the very verdicts, predictions and explanations of one thread: each is seeded by its own key and
    the rows are written in one order.  Two tasks, sharp metrics with partners, models that share
    their examples and (seed 2) models that do not."""
    recs = simulate_records(SCALES[:6], (1, 3), 60, seed=seed, example_sigma=0.5 * seed)
    if seed == 2:  # each model answers its own subset of the examples: not paired
        recs = recs[np.random.default_rng(7).random(len(recs)) > 0.2]
    serial = _verdicts(recs, n_boot=200)
    for threads in (2, 5):
        got = _verdicts(recs, n_boot=200, threads=threads)
        pd.testing.assert_frame_equal(got.verdicts, serial.verdicts, check_exact=True)
        pd.testing.assert_frame_equal(got.predictions, serial.predictions, check_exact=True)
        assert list(got.explanations) == list(serial.explanations)
        for key, ex in serial.explanations.items():
            np.testing.assert_array_equal(got.explanations[key].predicted_low, ex.predicted_low)
    assert serial.verdicts["paired_diff"].notna().sum() >= 8 and len(serial.explanations) >= 4
