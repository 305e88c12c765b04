"""Forecast package (emergence/forecast) and the `predict` pipeline (issue 24)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.emergence.forecast import (
    PREDICTORS,
    CurveData,
    Series,
    calibrated_interval,
    calibration_quantile,
    conformal_quantile,
    half_range_crossing,
    horizon_factor,
    metric_moved,
    predict_passuntil,
    resolve_methods,
    two_step_predict,
)
from emergence_lens.emergence.transforms import LINKS
from emergence_lens.backtesting import BACKTEST_COLUMNS, PREDICTION_COLUMNS, WINS_COLUMNS
from emergence_lens.pipelines.predict import predict_records, predict_table
from emergence_lens.records import write_records
from emergence_lens.simulate import simulate_records

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "examples" / "pythia_paper_baselines.csv"
runner = CliRunner()


def test_registry_has_one_predictor_per_method_and_resolves_names():
    assert list(PREDICTORS) == ["transform", "per-example", "two-step", "passuntil", "naive", "observational", "loss",
                                "loss-law", "finetune"]
    for name, spec in PREDICTORS.items():
        assert spec.func.__module__.endswith(name.replace("-", "_")), spec.func.__module__  # one file each
    assert resolve_methods("all") == list(PREDICTORS) == resolve_methods(None)
    help_text = " ".join(runner.invoke(app, ["predict", "--help"], terminal_width=200).output.split())
    assert all(name in help_text for name in PREDICTORS), help_text  # the help names every method
    assert resolve_methods("naive, two-step,naive") == ["naive", "two-step"]
    with pytest.raises(KeyError, match="unknown forecast method 'magic'"):
        resolve_methods("naive,magic")


def test_calibration_rules_and_the_logit_interval():
    s = np.arange(1, 20, dtype=float)  # 19 scores: the 95% quantile is the 19th smallest
    assert conformal_quantile(s, 0.95) == 19.0
    assert conformal_quantile(s[:18], 0.95) == float("inf")
    assert calibration_quantile(s, 0.95) == (19.0, "conformal (n=19)")
    q, rule = calibration_quantile(np.array([1.0, -1.0, 1.0, -1.0]), 0.95)
    assert rule == "normal (n=4)" and q == pytest.approx(3.182446 * np.sqrt(4 / 3) * np.sqrt(1.25), rel=1e-5)
    assert calibration_quantile(np.array([0.5, 0.2]))[0] == float("inf")
    lo, hi = calibrated_interval(np.array([0.5, 0.97]), np.array([0.45, 0.9]), np.array([0.55, 0.99]), 3.0)
    assert (lo <= [0.45, 0.9]).all() and (hi >= [0.55, 0.99]).all() and hi[1] <= 1.0
    wide = calibrated_interval(np.array([0.5]), np.array([0.45]), np.array([0.55]), 3.0, horizon=2.0)
    assert wide[1][0] - wide[0][0] > hi[0] - lo[0]  # the horizon widens it
    assert calibrated_interval(np.array([0.5]), np.array([0.4]), np.array([0.6]), float("inf")) == (0.0, 1.0)
    assert horizon_factor(np.array([0.0, 1.0, 2.0]), np.array([2.0, 3.0, 6.0])) == pytest.approx([1.0, 1.5, 3.0])


def test_the_calibrator_s_constants_are_one_object_and_each_changes_the_interval():
    from emergence_lens.backtesting import backtest_curves, curves_from_records
    from emergence_lens.emergence.forecast import DEFAULT_CALIBRATION, Calibration

    p, lo, hi = np.array([0.5, 0.999]), np.array([0.49, 0.998]), np.array([0.51, 0.9995])
    base = calibrated_interval(p, lo, hi, 2.0)
    assert np.array_equal(base, calibrated_interval(p, lo, hi, 2.0, calibration=DEFAULT_CALIBRATION))
    wide = calibrated_interval(p, lo, hi, 2.0, calibration=Calibration(floor=DEFAULT_CALIBRATION.floor * 3))
    assert wide[1][0] - wide[0][0] > base[1][0] - base[0][0]  # a narrow band is widened to the floor
    clipped = calibrated_interval(p, lo, hi, 2.0, calibration=Calibration(clip=0.01))
    assert not np.array_equal(clipped[0], base[0])  # near 1 the clip decides how far a miss counts
    for bad in ({"floor": 0.0}, {"clip": 0.5}, {"clip": -1e-3}):
        with pytest.raises(ValueError):
            Calibration(**bad)
    curves, skipped = curves_from_records(simulate_records(np.logspace(7, 10.5, 7), (3,), 300, seed=1),
                                          metrics=["exact_match"], n_boot=50, seed=0)
    a = backtest_curves(curves, fit_on=4, methods="naive", skipped=skipped).predictions
    b = backtest_curves(curves, fit_on=4, methods="naive", skipped=skipped,
                        calibration=Calibration(floor=2.0)).predictions
    assert (a[["predicted", "predicted_low", "predicted_high"]].to_numpy()
            == b[["predicted", "predicted_low", "predicted_high"]].to_numpy()).all()
    assert not np.array_equal(a["calibrated_low"].to_numpy(), b["calibrated_low"].to_numpy())


def test_loss_predictors_read_the_metric_off_the_pretraining_loss():
    """Du et al. 2024: the metric a function of pretraining loss.  With the larger models' measured
    loss (``loss``) a sigmoid in -log(loss) is recovered wherever the loss goes; ``loss-law`` forecasts
    the loss from its power law, and is right when the loss follows one."""
    from emergence_lens.emergence.forecast import fit_loss_law, get_predictor

    t = np.linspace(7, 10.5, 8)
    loss = 3.0 * 10 ** (-0.25 * (t - 7))          # a power law in the scale
    metric = 1 / (1 + np.exp(-(2.0 * -np.log(loss) - 1.0)))
    reps = np.clip(metric[None, :] + 0.002 * np.random.default_rng(0).standard_normal((100, 8)), 0, 1)
    d = CurveData(t, metric, reps, loss=loss)
    new = np.arange(5, 8)
    f = get_predictor("loss").func(d, 5, t[new], new)
    assert "sigmoid" in f.fit and "measured" in f.fit
    assert np.allclose(f.point, metric[new], atol=0.02)
    g = get_predictor("loss-law").func(d, 5, t[new], new)
    assert np.allclose(g.point, metric[new], atol=0.02) and "forecast" in g.fit
    b0, b1 = fit_loss_law(d, 5)
    assert b1 == pytest.approx(-0.25 * np.log(10), rel=1e-6)
    # a jump in the loss the law does not know: only the measured loss sees it
    jumped = loss.copy()
    jumped[5:] /= 3
    metric2 = 1 / (1 + np.exp(-(2.0 * -np.log(jumped) - 1.0)))
    d2 = CurveData(t, metric2, np.clip(metric2[None, :] + 0 * reps, 0, 1), loss=jumped)
    assert np.allclose(get_predictor("loss").func(d2, 5, t[new], new).point, metric2[new], atol=0.02)
    assert np.abs(get_predictor("loss-law").func(d2, 5, t[new], new).point - metric2[new]).max() > 0.1
    # without losses, or without the predicted model's, each says why
    assert get_predictor("loss").func(CurveData(t, metric, reps), 5, t[new], new).startswith("no pretraining loss")
    partial = loss.copy()
    partial[6] = np.nan
    assert "no measured pretraining loss" in get_predictor("loss").func(CurveData(t, metric, reps, loss=partial), 5,
                                                                        t[new], new)
    assert get_predictor("loss-law").func(CurveData(t, metric, reps, loss=partial), 5, t[new], new).fit
    with pytest.raises(ValueError, match="pretraining losses"):
        CurveData(t, metric, reps, loss=loss[:3])


def test_records_carry_each_model_s_pretraining_loss_to_the_loss_predictors():
    from emergence_lens.backtesting import backtest_curves, curves_from_records

    recs = simulate_records(np.logspace(7, 10.5, 7), (2,), 300, seed=3)
    curves, skipped = curves_from_records(recs, metrics=["exact_match"], n_boot=50, seed=0)
    want = recs.groupby("model")["pretrain_loss"].first()
    assert np.allclose(curves[0].data.loss, want.loc[curves[0].models].to_numpy())
    bt = backtest_curves(curves, fit_on=4, methods="loss,loss-law", skipped=skipped)
    assert set(bt.summary["status"]) == {"ok"} and len(bt.predictions) == 2 * 3
    no_loss = recs.assign(pretrain_loss=np.nan)
    curves, skipped = curves_from_records(no_loss, metrics=["exact_match"], n_boot=50, seed=0)
    assert curves[0].data.loss is None
    status = backtest_curves(curves, fit_on=4, methods="loss", skipped=skipped).summary["status"]
    assert status.str.startswith("no pretraining loss").all()


def _curve(values: np.ndarray, reps_sd: float = 0.01, n_boot: int = 200) -> CurveData:
    t = np.arange(len(values), dtype=float)
    rng = np.random.default_rng(0)
    return CurveData(t, values, np.clip(values[None, :] + reps_sd * rng.standard_normal((n_boot, len(values))), 0, 1))


def test_metric_moved_separates_a_floor_from_a_rise():
    assert not metric_moved(_curve(np.array([0.0, 0.001, 0.0, 0.002, 0.5, 1.0]), reps_sd=0.003), 4)
    assert metric_moved(_curve(np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])), 4)


def test_two_step_recovers_a_sigmoid_link_and_learns_nothing_from_a_floor():
    t = np.linspace(7, 10.5, 8)
    proxy = 0.3 + 0.08 * (t - 7)
    logit_p = np.log(proxy / (1 - proxy))
    metric = 1 / (1 + np.exp(-(-1.0 + 3.0 * logit_p)))
    pred = two_step_predict(t, proxy[None], metric[None], 5, t[5:], [LINKS["linear"]], unit_proxy=True)[0]
    assert pred == pytest.approx(metric[5:], rel=1e-6)
    flat = two_step_predict(t, proxy[None], np.zeros((1, 8)), 5, t[5:], [LINKS["linear"]], unit_proxy=True)[0]
    assert flat == pytest.approx(np.full(3, 1e-3))


def test_half_range_crossing_interpolates_in_t():
    assert half_range_crossing(np.array([0.0, 1.0, 2.0]), np.array([0.1, 0.3, 0.7]), 0.5) == pytest.approx(1.5)
    assert np.isnan(half_range_crossing(np.array([0.0, 1.0]), np.array([0.1, 0.2]), 0.5))
    assert half_range_crossing(np.array([0.0, 1.0]), np.array([0.6, 0.9]), 0.5) == 0.0


def test_passuntil_extrapolates_resolved_pass_rates():
    t = np.linspace(8, 11, 7)
    p = np.exp(-np.exp(2.0 - 0.9 * (t - 8)))  # log(-log p) linear in t: Hu et al.'s law
    d = CurveData(t, np.where(p < 0.01, 0.0, p), np.tile(np.where(p < 0.01, 0.0, p), (50, 1)))
    assert isinstance(predict_passuntil(d, 4, t[4:], np.arange(4, 7)), str)  # no pass rates: says so
    d.pass_rate = Series(p, np.tile(p, (50, 1)), (LINKS["power law"], LINKS["log-linear"]), True, "pass rate")
    f = predict_passuntil(d, 4, t[4:], np.arange(4, 7))
    assert f.point == pytest.approx(p[4:], rel=1e-6) and "power law" in f.fit


def _capability_table(n_families: int = 3, seed: int = 0) -> pd.DataFrame:
    """Models of several families; each task's score a sigmoid of one latent capability that grows with log
    FLOPs at a family-specific rate (what observational scaling assumes)."""
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_families):
        for k, flops in enumerate(np.logspace(20, 23, 6) * (1 + 0.3 * f)):
            cap = (np.log10(flops) - 21.5) * (0.8 + 0.2 * f) + 0.1 * rng.standard_normal()
            for j in range(6):
                v = 1 / (1 + np.exp(-(1.5 * cap - 0.5 * j)))
                rows.append({"family": f"fam{f}", "model": f"fam{f}-{k}", "scale_params": flops / 1e12,
                             "scale_flops": flops, "task": f"task{j}", "metric": "acc", "value": v,
                             "n_examples": 2000})
    return pd.DataFrame(rows)


def test_observational_uses_other_tasks_of_models_below_the_cut_off(tmp_path):
    table = _capability_table()
    res = predict_table(table, tmp_path, fit_below=3e22, x_axis="flops", methods="observational,naive", n_boot=100,
                        figures=False)
    ok = res.summary[res.summary.status == "ok"]
    assert set(ok.family) == {"fam0", "fam1", "fam2"}
    obs = ok[ok.method == "observational"]
    assert len(obs) == 18 and obs.mae.mean() < 0.05, obs[["family", "task", "mae"]]
    # a held-out model's own score is never a training target: changing it does not move its prediction
    t2 = table.copy()
    t2.loc[(t2.model == "fam0-5") & (t2.task == "task0"), "value"] = 0.01
    res2 = predict_table(t2, tmp_path / "b", fit_below=3e22, x_axis="flops", methods="observational", n_boot=100,
                         figures=False)
    key = ["family", "task", "model"]
    a = res.predictions[res.predictions.method == "observational"].set_index(key)["predicted"]
    b = res2.predictions.set_index(key)["predicted"]
    assert a.loc[("fam0", "task0", "fam0-5")] == pytest.approx(b.loc[("fam0", "task0", "fam0-5")])


def test_predict_records_writes_every_method_with_calibrated_intervals(tmp_path):
    recs = simulate_records(np.logspace(7, 10.5, 8), (1, 3, 5), 400, seed=1)
    res = predict_records(recs, tmp_path, fit_on=5, metrics=["exact_match"], n_boot=100)
    for name in ("predictions.csv", "backtest.csv", "wins.csv", "summary.md", "report.html"):
        assert (tmp_path / name).exists(), name
    assert len(list((tmp_path / "figures").glob("*.png"))) == 3
    p = pd.read_csv(tmp_path / "predictions.csv")
    assert list(p.columns) == PREDICTION_COLUMNS
    assert list(pd.read_csv(tmp_path / "backtest.csv").columns) == BACKTEST_COLUMNS
    assert list(res.wins.columns) == WINS_COLUMNS
    assert (p.calibrated_low <= p.predicted_low + 1e-12).all() and (p.calibrated_high >= p.predicted_high - 1e-12).all()
    s = res.summary.set_index(["task", "method"])
    assert s.loc[("digits-L1", "passuntil"), "status"].startswith("no PassUntil")
    ok = res.summary[res.summary.status == "ok"]
    assert set(ok.method) == {"transform", "per-example", "two-step", "naive", "observational", "loss", "loss-law"}
    tr = ok[ok.method == "transform"]
    assert (tr.n_calibration == 3 * (3 + 2 + 1)).all()  # origins 2..4 within the 5 fitted models, 3 tasks
    assert tr.mae.mean() < ok[ok.method == "naive"].mae.mean()
    assert (res.wins.groupby(["metric", "fit_on"])["rank"].min() == 1).all()
    assert "Which method wins" in (tmp_path / "summary.md").read_text()
    # same seed, same bytes
    predict_records(recs, tmp_path / "again", fit_on=5, metrics=["exact_match"], n_boot=100, figures=False)
    assert (tmp_path / "again" / "predictions.csv").read_bytes() == (tmp_path / "predictions.csv").read_bytes()


def test_per_example_forecast_keeps_each_example_s_difficulty():
    """Examples that differ in difficulty (a lognormal factor per example): exact match is the mean of
    each example's product, not the product of the means.  The per-example forecast recovers the
    family's exponent and predicts the larger models far better than the mean transform and the
    naive extrapolation, at a narrower calibrated interval that still covers them."""
    from emergence_lens.backtesting import backtest_curves, curves_from_records
    from emergence_lens.theory import DEFAULT_MODEL

    recs = simulate_records(np.logspace(7, 10.5, 8), (3, 5), 1000, example_sigma=0.8, seed=4)
    curves, skipped = curves_from_records(recs, metrics=["exact_match"], n_boot=200, seed=0)
    bt = backtest_curves(curves, fit_on=4, methods="per-example,transform,naive", skipped=skipped)
    s = bt.summary[bt.summary.status == "ok"].set_index(["task", "method"])
    slope = DEFAULT_MODEL.alpha * np.log(10)  # log CE per decade of parameters
    for task in ("digits-L3", "digits-L5"):
        pe = s.loc[(task, "per-example")]
        fitted = float(re.search(r"changes (-?[0-9.]+) per unit", pe.fit).group(1))
        assert abs(fitted - slope) < 0.03, pe.fit
        assert pe.mae < 0.25 * s.loc[(task, "transform"), "mae"] and pe.mae < 0.25 * s.loc[(task, "naive"), "mae"]
        assert pe.coverage == 1.0 and pe.mean_width < s.loc[(task, "naive"), "mean_width"]
    # without per-token log-probabilities it says why, and the other methods go on
    curves, skipped = curves_from_records(recs.drop(columns=["target_token_logprobs"]), metrics=["exact_match"],
                                          n_boot=50, seed=0)
    bt = backtest_curves(curves, fit_on=4, methods="per-example,naive", skipped=skipped)
    status = bt.summary.set_index(["task", "method"])["status"]
    assert status[("digits-L3", "per-example")].startswith("no per-example log-probabilities")
    assert status[("digits-L3", "naive")] == "ok"


def test_predict_cli_sweep_methods_and_errors(tmp_path):
    rec = write_records(simulate_records(np.logspace(7, 10.5, 8), (2, 4), 200, seed=2), tmp_path / "r.parquet")
    r = runner.invoke(app, ["predict", str(rec), "--fit-on", "3,5", "--metric", "exact_match", "--n-boot", "50",
                            "--methods", "transform,naive", "--no-figures", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    sweep = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert sorted(set(sweep.fit_on)) == [3, 5] and set(sweep.method) == {"transform", "naive"}
    assert (sweep.n_curves == 2).all() and sorted(set(sweep.n_heldout)) == [6, 10]
    assert (tmp_path / "out" / "fit_on_3" / "report.html").exists()
    for args, msg in ((["--fit-on", "1,x"], "--fit-on"), (["--methods", "magic"], "unknown forecast method"),
                      (["--fit-on", "3,4", "--fit-below", "1e9"], "exclude each other")):
        r = runner.invoke(app, ["predict", str(rec), *args, "--out", str(tmp_path / "bad")])
        assert r.exit_code == 2 and msg in r.output, r.output
    r = runner.invoke(app, ["predict", str(tmp_path / "nothing"), "--out", str(tmp_path / "z")])
    assert r.exit_code == 2 and "not found" in r.output


def test_table_with_an_ingredient_curve_gets_the_transform(tmp_path):
    from emergence_lens.curves import compute_curves

    recs = simulate_records(np.logspace(7, 10.5, 8), (1, 3, 5), 1500, seed=3, heterogeneity=1e6)
    table = compute_curves(recs, ["exact_match", "per_token_accuracy"], n_boot=50, seed=0).table
    res = predict_table(table, tmp_path, fit_on=4, methods="transform,two-step,naive", n_boot=100, figures=False)
    ok = res.summary[res.summary.status == "ok"].set_index(["task", "method"])
    assert {"digits-L1", "digits-L3", "digits-L5"} == set(ok.index.get_level_values(0))
    for task in ("digits-L3", "digits-L5"):
        assert ok.loc[(task, "transform"), "mae"] < ok.loc[(task, "naive"), "mae"]
        assert "L = " in ok.loc[(task, "transform"), "fit"] or "a:" in ok.loc[(task, "transform"), "fit"]


def test_fit_below_on_a_published_table_across_families(tmp_path):
    """The Pythia paper's OPT and BLOOM baselines (lm-eval zero-shot, 8 tasks): fit on every model under
    1e22 FLOPs of both families, predict OPT-30B, OPT-66B and BLOOM-7B1."""
    r = runner.invoke(app, ["predict", str(PUBLISHED), "--x", "flops", "--fit-below", "1e22", "--n-boot", "200",
                            "--out", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    p = pd.read_csv(tmp_path / "p" / "predictions.csv")
    assert set(p.model) == {"opt-30b", "opt-66b", "bloom-7b1"}
    b = pd.read_csv(tmp_path / "p" / "backtest.csv")
    ok = b[b.status == "ok"]
    assert set(ok.family) == {"opt", "bloom"} and {"naive", "observational"} <= set(ok.method)
    assert len(ok[ok.method == "observational"]) == 16  # 8 tasks x 2 families
    assert (ok.fit_on == "below 1e+22").all() and (ok.cutoff == 1e22).all()
    html = (tmp_path / "p" / "report.html").read_text()
    assert "Which method wins" in html and "<script" not in html


def test_report_escapes_names_from_the_data(tmp_path):
    table = _capability_table(n_families=1)
    table["task"] = table["task"].str.replace("task1", "<script>alert(1)</script>")
    predict_table(table, tmp_path, fit_on=3, x_axis="flops", methods="naive", n_boot=20, figures=False)
    html = (tmp_path / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_predict_reads_an_audit_folder_with_results_only_and_rescored_curves(tmp_path):
    r = runner.invoke(app, ["predict", str(ROOT / "docs" / "audit"), "--fit-on", "4", "--n-boot", "50", "--no-figures",
                            "--methods", "naive", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    ok = pd.read_csv(tmp_path / "backtest.csv").query("status == 'ok'")
    assert {"acc", "multiple_choice_grade"} <= set(ok.metric)  # from curves.csv and from rescored_curves.csv


def test_predict_on_a_mutated_table_accounts_for_every_row_and_fails_when_nothing_is_left(tmp_path):
    """A published table edited as users edit them: a value emptied, a model whose size nothing
    knows.  predict writes issues.csv and inputs.csv (file, line, field) as audit does; asked for
    more fitted models than the families have, nothing can be backtested: exit 1, files still written."""
    lines = PUBLISHED.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("piqa_0_acc")] = ""
    lines[3] = ",".join(row)
    lines.append("mystery-model," + ",".join(lines[1].split(",")[1:]))
    table = tmp_path / "edited.csv"
    table.write_text("\n".join(lines) + "\n")
    r = runner.invoke(app, ["predict", str(table), "--x", "flops", "--fit-below", "1e22", "--n-boot", "50",
                            "--no-figures", "--methods", "naive", "--out", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    issues = pd.read_csv(tmp_path / "p" / "issues.csv")
    inputs = pd.read_csv(tmp_path / "p" / "inputs.csv")
    assert (issues.file.astype(str).str.endswith("edited.csv")).all() and len(issues) >= 2
    assert any("mystery-model" in str(m) for m in issues.message)
    assert issues.line.notna().any() and len(inputs) == 1
    r = runner.invoke(app, ["predict", str(table), "--x", "flops", "--fit-on", "12", "--n-boot", "50", "--no-figures",
                            "--methods", "naive", "--out", str(tmp_path / "q")])
    assert r.exit_code == 1 and "nothing could be backtested" in r.output
    assert (tmp_path / "q" / "issues.csv").exists() and (tmp_path / "q" / "summary.md").exists()


def test_foresight_line_per_curve():
    """The earliest K at which a method put the crossing within a factor 2 with an interval narrower
    than half the range; otherwise why not (never crossed, crossed within the fitted models, not seen)."""
    from emergence_lens.backtesting import BACKTEST_COLUMNS, foresight_table

    def row(task, method, k, cutoff, pred, obs, width, score=1.0):
        return {"family": "f", "task": task, "metric": "exact_match", "method": method, "x_axis": "params",
                "fit_on": str(k), "cutoff": cutoff, "predicted_crossing": pred, "observed_crossing": obs,
                "mean_width": width, "interval_score": score, "status": "ok"}

    s = pd.DataFrame([
        row("seen", "naive", 3, 1e3, 1e6, 1e5, 0.3),            # a factor 10 off: not seen
        row("seen", "per-example", 4, 1e4, 1.5e5, 1e5, 0.2),    # within a factor 2, narrow: seen at K = 4
        row("seen", "transform", 4, 1e4, 0.9e5, 1e5, 0.6),      # within a factor 2 but wide: not
        row("seen", "transform", 5, 1e5 / 2, 1e5, 1e5, 0.1),
        row("wide", "naive", 4, 1e4, 1e5, 1e5, 0.9),
        row("early", "naive", 4, 1e6, 1e5, 1e5, 0.1),
        row("flat", "naive", 4, 1e4, np.nan, np.nan, 0.1),
    ], columns=BACKTEST_COLUMNS)
    f = foresight_table(s).set_index("task")
    assert f.loc["seen", "foreseen_at"] == 4 and f.loc["seen", "method"] == "per-example"
    assert f.loc["seen", "foresight"].startswith("foreseen from K = 4 by per-example")
    assert f.loc["wide", "foresight"].startswith("not foreseen at K = 4")
    assert f.loc["early", "foresight"].startswith("crosses half its range within the fitted models")
    assert f.loc["flat", "foresight"].startswith("never crosses half its range")
