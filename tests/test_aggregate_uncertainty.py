"""Results-only curves: n from the source or a stderr, parametric CIs, and the noise floor (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emergence_lens.emergence.aggregate import curve_scores
from emergence_lens.emergence.parametric import curve_score_ci, parametric_replicates
from emergence_lens.sources import fill_sample_sizes, load_sources, parse_n_examples

SIZES = [1e8, 3e8, 1e9, 3e9, 1e10, 3e10, 1e11, 3e11]


def _curve(values, metric="exact_str_match", task="ipa_transliterate", **cols) -> pd.DataFrame:
    df = pd.DataFrame({"family": "opt", "model": [f"m{i}" for i in range(len(values))], "scale_params": SIZES[:len(values)],
                       "task": task, "subtask": task, "shots": 0, "metric": metric, "value": values,
                       "source": "table.csv", "aggregate": False})
    for k, v in cols.items():
        df[k] = v
    return df


def test_n_comes_from_the_user_then_the_source_then_a_binomial_stderr():
    df = pd.DataFrame({"task": ["a", "a", "a", "b", "c"], "subtask": ["a", "a", "a", "b", "c"], "shots": 0,
                       "metric": ["acc", "acc", "acc", "ppl", "acc"], "value": [0.25, 0.0, 0.5, 12.0, 0.4],
                       "stderr": [0.01, 0.0, 0.0125, 0.5, 0.02], "n_examples": [np.nan, np.nan, np.nan, np.nan, 300]})
    out = fill_sample_sizes(df, {"c": 77})
    # 0.25 * 0.75 / 0.01**2 = 1875; 0.5 * 0.5 / 0.0125**2 = 1600; the 0 borrows the task's median n
    assert out["n_examples"].tolist()[:3] == [1875, 1738, 1600]
    assert out["n_source"].tolist() == ["stderr", "stderr (same task)", "stderr", "", "user"]
    assert np.isnan(out["n_examples"].iat[3])  # perplexity's stderr is not binomial: kept as a stderr only
    assert out["n_examples"].iat[4] == 77


@pytest.mark.parametrize("bad", ["arc", "arc=0", "arc=2.5", "=5", "arc=x"])
def test_n_examples_option_rejects_bad_items_by_name(bad):
    with pytest.raises(ValueError, match="--n-examples"):
        parse_n_examples([bad])


def test_a_curve_that_never_leaves_the_noise_floor_is_never_sharp_even_without_n():
    # the published OPT curve of issue 23: every value below 1%, no n, no stderr
    cs = curve_scores(_curve([0, 0, 0, 0, 0, 0, 0.002, 0.007]))
    row = cs.iloc[0]
    assert row["emergence_score"] > 100  # the score alone would call it a step
    assert not row["measurable"]
    assert "resolution unknown" in row["measurable_reason"]
    assert np.isnan(row["resolution"]) and row["noise_floor"] == 0.01


def test_the_floor_is_twice_the_resolution_when_n_is_known():
    # 0.012 is above 0.01, but 2 x the resolution limit of 200 examples is ~0.037
    cs = curve_scores(_curve([0, 0, 0, 0, 0, 0.004, 0.008, 0.012], n_examples=200))
    row = cs.iloc[0]
    assert not row["measurable"]
    assert row["noise_floor"] == pytest.approx(2 * (1 - 0.025 ** (1 / 200)))
    assert "200 examples" in row["measurable_reason"]
    # the same values on 20,000 examples clear the floor
    assert curve_scores(_curve([0, 0, 0, 0, 0, 0.004, 0.008, 0.012], n_examples=20000)).iloc[0]["measurable"]


def test_multiple_choice_accuracy_with_unknown_chance_is_held_to_the_floor_from_zero():
    cs = curve_scores(_curve([0.0, 0.001, 0.0, 0.002, 0.001, 0.0, 0.003, 0.004], metric="acc"))
    assert not cs.iloc[0]["measurable"] and "chance unknown" in cs.iloc[0]["measurable_reason"]
    assert curve_scores(_curve([0.25, 0.26, 0.25, 0.27, 0.3, 0.4, 0.6, 0.8], metric="acc")).iloc[0]["measurable"]


def test_aggregate_curves_with_n_or_stderr_get_a_ci_and_the_others_do_not():
    vals = [0.0, 0.01, 0.02, 0.05, 0.2, 0.6, 0.9, 0.95]
    with_n = curve_scores(_curve(vals, n_examples=500), n_boot=400).iloc[0]
    assert with_n["ci_method"] == "parametric: binomial n"
    assert with_n["ci_low"] <= with_n["emergence_score"] <= with_n["ci_high"]
    se = curve_scores(_curve([30.0, 20, 15, 11, 9, 7, 6, 5.5], metric="ppl", stderr=0.3), n_boot=400).iloc[0]
    assert se["ci_method"] == "parametric: stderr (normal)" and np.isfinite(se["ci_low"])
    bare = curve_scores(_curve(vals)).iloc[0]
    assert bare["ci_method"] == "" and np.isnan(bare["ci_low"])
    # one point without n: the curve has no parametric CI (never a CI over part of a curve)
    part = _curve(vals, n_examples=[500.0] * 7 + [np.nan])
    assert np.isnan(curve_scores(part).iloc[0]["ci_low"])


def test_parametric_ci_is_seeded_and_chunking_does_not_change_it(monkeypatch):
    import emergence_lens.emergence.aggregate as audit_mod

    curves = pd.concat([_curve(np.clip(np.linspace(0, 1, 8) ** k, 0, 1), task=f"t{k}", n_examples=400)
                        for k in (1, 2, 3)], ignore_index=True)
    a = curve_scores(curves, n_boot=200, seed=3)
    b = curve_scores(curves, n_boot=200, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a["ci_low"].equals(curve_scores(curves, n_boot=200, seed=4)["ci_low"])
    monkeypatch.setattr(audit_mod, "_CHUNK_VALUES", 1)  # one curve per chunk
    c = curve_scores(curves, n_boot=200, seed=3)
    assert np.isfinite(c["ci_low"]).all()


def test_parametric_replicates_draw_binomial_counts_and_normal_noise():
    rng = np.random.default_rng(0)
    r = parametric_replicates(np.array([0.3, 5.0, 0.5]), np.array([10, np.nan, np.nan]), np.array([np.nan, 0.5, np.nan]),
                              np.array([True, False, True]), 20000, rng)
    assert np.allclose(r[:, 0] * 10, np.round(r[:, 0] * 10))  # k/n
    assert r[:, 0].mean() == pytest.approx(0.3, abs=0.01) and r[:, 1].std() == pytest.approx(0.5, rel=0.05)
    assert np.isnan(r[:, 2]).all()
    lo, hi = curve_score_ci(np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan], [4.0, 1.0]]))  # 1 of 4 finite
    assert np.isfinite(lo[0]) and np.isnan(lo[1])


def test_old_lmeval_results_get_n_from_stderr_and_a_ci_end_to_end(tmp_path: Path):
    # the layout of published lm-eval 0.3 results (acc with acc_stderr, no n-samples)
    for name, size, acc, se in [("pythia-70m", "70m", 0.0, 0.0), ("pythia-160m", "160m", 0.001, 0.0007),
                                ("pythia-410m", "410m", 0.002, 0.001), ("pythia-1b", "1b", 0.003, 0.0012),
                                ("pythia-1.4b", "1.4b", 0.005, 0.0016)]:
        d = tmp_path / name
        d.mkdir()
        (d / "results.json").write_text(json.dumps({
            "results": {"arithmetic_5ds": {"acc": acc, "acc_stderr": se}},
            "config": {"model": "hf-causal", "model_args": f"pretrained=EleutherAI/{name}", "num_fewshot": 0}}))
    bundle = load_sources([tmp_path])
    c = bundle.curves
    assert set(c["n_source"]) == {"stderr", "stderr (same task)"}
    assert (c["n_examples"] > 1000).all()
    cs = curve_scores(c, n_boot=200)
    row = cs.iloc[0]
    assert not row["measurable"] and "examples" in row["measurable_reason"]
    assert row["ci_method"] == "parametric: binomial n"


def test_tables_carry_n_and_stderr_under_their_usual_names(tmp_path: Path):
    # tidy: `n` and `se` columns
    pd.DataFrame({"model": ["opt-125m", "opt-1.3b", "opt-13b"] * 2, "task": ["a"] * 3 + ["b"] * 3,
                  "metric": ["acc"] * 3 + ["ppl"] * 3, "value": [0.3, 0.4, 0.6, 30.0, 20.0, 12.0],
                  "n": [500, 500, 500, None, None, None], "se": [None, None, None, 0.4, 0.3, 0.2]}
                 ).to_csv(tmp_path / "tidy.csv", index=False)
    # wide: X and X_stderr columns, a row-wise n
    pd.DataFrame({"model": ["pythia-160m", "pythia-1.4b", "pythia-12b"], "arc_acc": [0.25, 0.3, 0.5],
                  "arc_acc_stderr": [0.0125, 0.013, 0.014], "n": [1200, 1200, 1200]}
                 ).to_csv(tmp_path / "wide.csv", index=False)
    b = load_sources([tmp_path])
    c = b.curves.set_index(["model", "metric"])
    assert c.loc[("opt-125m", "acc"), "n_examples"] == 500 and c.loc[("opt-125m", "acc"), "n_source"] == "reported"
    assert c.loc[("opt-125m", "ppl"), "stderr"] == 0.4
    assert c.loc[("pythia-160m", "acc"), "stderr"] == 0.0125 and c.loc[("pythia-160m", "acc"), "n_examples"] == 1200
    assert set(b.curves["metric"]) == {"acc", "ppl"}  # the stderr and n columns are not curves
    inputs = b.inputs.set_index(b.inputs["file"].map(lambda f: Path(f).name))
    assert inputs.loc["wide.csv", "rows_read"] == 3 and inputs.loc["wide.csv", "rows_loaded"] == 3


def test_n_examples_option_gives_an_aggregate_curve_its_resolution_and_ci(tmp_path: Path):
    from typer.testing import CliRunner

    from emergence_lens.cli import app

    pd.DataFrame({"model": ["opt-125m", "opt-350m", "opt-1.3b", "opt-6.7b"], "task": "arith",
                  "metric": "exact_match", "value": [0.0, 0.002, 0.004, 0.008]}).to_csv(tmp_path / "t.csv",
                                                                                     index=False)
    runner = CliRunner()
    r = runner.invoke(app, ["audit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    a = pd.read_csv(tmp_path / "a" / "audit.csv").iloc[0]
    assert a["metric_state"] == "no measurable ability" and np.isnan(a["resolution"])
    assert "resolution unknown" in (tmp_path / "a" / "verdicts.csv").read_text()
    r = runner.invoke(app, ["audit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "b"), "--n-examples",
                            "arith=5000"])
    assert r.exit_code == 0, r.output
    b = pd.read_csv(tmp_path / "b" / "audit.csv").iloc[0]
    assert b["ci_method"] == "parametric: binomial n" and b["resolution"] == pytest.approx(7.4e-4, rel=0.01)
    assert b["metric_state"] == "no measurable ability"  # 0.008 < 0.01 with any n
    r = runner.invoke(app, ["audit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "c"), "--n-examples", "x"])
    assert r.exit_code == 2 and "--n-examples" in r.output


def test_genuine_lmeval_results_alone_give_every_curve_a_ci(tmp_path: Path):
    """lm-eval 0.4.13 results files without their samples: acc/exact_match from n-samples
    (binomial), brier_score (stderr "N/A") from the Bhatia-Davis bound on [0, 2] with n."""
    import shutil

    src = Path(__file__).parent / "data" / "lmeval"
    for f in src.rglob("results_*.json"):
        (tmp_path / f.parent.name).mkdir()
        shutil.copy(f, tmp_path / f.parent.name / f.name)
    cs = curve_scores(load_sources([tmp_path]).curves, n_boot=300)
    by = cs.set_index("metric")
    assert by.loc["acc", "ci_method"] == "parametric: binomial n"
    assert by.loc["brier_score", "ci_method"] == "parametric: stderr bound from n (conservative)"
    assert np.isfinite(cs["ci_low"]).all() and (cs["ci_low"] <= cs["emergence_score"]).all()


def test_a_wide_table_of_bare_task_columns_below_one_percent_is_never_sharp(tmp_path: Path):
    # the layout of a published table: one row per model, one column per task, values as fractions
    sizes = ["125m", "350m", "1.3b", "2.7b", "6.7b", "13b", "30b", "66b"]
    pd.DataFrame({"model": [f"opt-{s}" for s in sizes],
                  "ipa_transliterate": [0, 0, 0, 0, 0, 0, 0.002, 0.007],
                  "modular_arithmetic": [0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.6]}).to_csv(tmp_path / "t.csv",
                                                                                           index=False)
    cs = curve_scores(load_sources([tmp_path]).curves).set_index("task")
    assert (cs["metric"] == "score").all()
    assert not cs.loc["ipa_transliterate", "measurable"] and cs.loc["modular_arithmetic", "measurable"]


def test_bounded_scores_below_a_point_of_their_own_scale_show_no_measurable_ability():
    """BLEU 0.0032-0.0038 (every value under 0.01, on 0-100 or 0-1 alike): no measurable ability; BLEU
    on 0-1 rising to 0.45 and chrF on 0-100 rising to 60 are measured (floors 0.01 and 1 point)."""
    rows = []
    for task, metric, vals in [("flat", "bleu", [0.0032, 0.0033, 0.0035, 0.0038]), ("unit", "bleu", [0.1, 0.15, 0.3, 0.45]),
                               ("pct", "chrf", [10, 20, 35, 60]), ("pct_low", "chrf", [0.2, 0.4, 0.5, 0.9]),
                               ("rouge_pct_flat", "rouge2", [0.3, 0.6, 1.5, 0.9])]:
        rows.append(_curve(vals, metric=metric, task=task))
    t = curve_scores(pd.concat(rows, ignore_index=True)).set_index("task")
    assert not t.loc["flat", "measurable"] and "0.01 on its 0-1 scale" in t.loc["flat", "measurable_reason"]
    assert t.loc["unit", "measurable"] and t.loc["unit", "noise_floor"] == 0.01
    assert t.loc["pct", "measurable"] and t.loc["pct", "noise_floor"] == 1.0
    assert t.loc["pct_low", "measurable"]  # read on 0-1 (no value past 1): 0.9 is measured
    assert t.loc["rouge_pct_flat", "measurable"]  # 1.5 on 0-100 passes the 1-point floor
