"""Multiple-choice curves against BIG-bench's own metric functions (``task_metrics.py`` from the
``bigbench`` 0.0.1 sdist, in ``../shared/reference``): the functions are run verbatim, only the
module's imports that the text metrics need (datasets, t5, sklearn) are left out."""

from __future__ import annotations

import ast
import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emergence_lens.curves import compute_curves

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "bigbench" / "task_metrics.py"
NEEDED = {"measure_multiple_choice_grade", "_probability_from_sample",
          "measure_calibration_multiple_choice_brier_score", "argmax"}


@pytest.fixture(scope="module")
def bigbench():
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is not here (the reference ships beside the checkout)")
    with warnings.catch_warnings():  # an invalid escape in a regex of a text metric we do not load
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = ast.parse(REFERENCE.read_text())
    tree.body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in NEEDED]
    assert {n.name for n in tree.body} == NEEDED
    namespace = {"np": np, "hashlib": hashlib, "warnings": warnings}
    exec(compile(tree, str(REFERENCE), "exec"), namespace)  # noqa: S102 - BIG-bench's own code, unmodified
    return namespace


def _records(seed: int) -> pd.DataFrame:
    """Three models, 200 examples with 2-6 options each (ragged), log-likelihoods that sharpen with scale."""
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 7, size=200)
    correct = [int(rng.integers(0, n)) for n in k]
    rows = []
    for m, (name, scale) in enumerate([("s", 1e7), ("m", 1e8), ("l", 1e9)]):
        for i, (n, c) in enumerate(zip(k, correct, strict=True)):
            lp = rng.normal(-5, 1.5, size=n)
            lp[c] += 1.5 * m * rng.random()
            rows.append({"family": "f", "model": name, "scale_params": scale, "task": "t", "example_id": str(i),
                         "choice_logprobs": list(np.minimum(lp, 0.0)), "correct_choice": c})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiple_choice_grade_and_bigbench_brier_equal_bigbench_on_ragged_options(bigbench, seed):
    records = _records(seed)
    curves = compute_curves(records, ["multiple_choice_grade", "bigbench_brier_score", "brier_score"],
                            n_boot=200).table.set_index(["metric", "model"])
    for model, g in records.groupby("model"):
        samples = [{"log_prob": list(lp), "choice": [f"o{j}" for j in range(len(lp))],
                    "target_scores": {f"o{j}": int(j == c) for j in range(len(lp))}}
                   for lp, c in zip(g.choice_logprobs, g.correct_choice, strict=True)]
        mcg = bigbench["measure_multiple_choice_grade"](samples)
        brier = bigbench["measure_calibration_multiple_choice_brier_score"](samples)
        assert curves.loc[("multiple_choice_grade", model), "value"] == pytest.approx(mcg, abs=1e-9)
        got = curves.loc[("bigbench_brier_score", model)]
        assert got["value"] == pytest.approx(brier, abs=1e-9)
        assert got["ci_low"] <= got["value"] <= got["ci_high"] and got["n_examples"] == len(g)
        # the per-example mean (what the curve was before it carried weights) is not BIG-bench's number
        per_example = np.mean([sum((p - (j == c)) ** 2 for j, p in enumerate(np.exp(lp - lp.max())
                                                                            / np.exp(lp - lp.max()).sum())) / len(lp)
                               for lp, c in zip(map(np.asarray, g.choice_logprobs), g.correct_choice, strict=True)])
        assert abs(per_example - brier) > 1e-4


def test_weighted_curve_with_equal_weights_is_the_plain_mean_and_its_bootstrap_unchanged():
    """Four options everywhere (as the shipped ladder's tasks): the weighted path is not taken, so
    values and CIs are those of the plain mean, to the bit."""
    records = _records(5)
    records["choice_logprobs"] = [lp[:2] + [-9.0, -9.5] if len(lp) < 4 else lp[:4] for lp in records.choice_logprobs]
    records["correct_choice"] = records.correct_choice.clip(upper=1)
    from emergence_lens.emergence.bootstrap import bootstrap_means, curve_seed, percentile_ci
    from emergence_lens.metrics.multiple_choice import bigbench_brier_score

    got = compute_curves(records, ["bigbench_brier_score"], n_boot=100, seed=3).table
    per_model = [bigbench_brier_score(g.choice_logprobs.tolist(), g.correct_choice.to_numpy())
                 for g in (grp.sort_values("example_id") for _, grp in records.groupby("model", sort=False))]
    reps = bootstrap_means(per_model, 100, curve_seed(3, ("f", "t", "bigbench_brier_score")), paired=True)
    lo, _hi = percentile_ci(reps, 0.95)
    assert got.value.tolist() == [s.mean() for s in per_model] and got.ci_low.tolist() == list(lo)
