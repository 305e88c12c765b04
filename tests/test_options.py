"""Every option of ``audit`` changes the result as documented, or the run is refused (exit 2, one
line): each is run on an input where it matters, beside the same run without it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app

DATA = Path(__file__).parent / "data"


def _audit(tmp_path: Path, name: str, *args: str, code: int = 0) -> Path:
    out = tmp_path / name
    res = CliRunner().invoke(app, ["audit", *args, "--out", str(out)])
    assert res.exit_code == code, res.output
    return out


def _curves(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "curves.csv", keep_default_na=False)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A tidy table whose model names carry no size (``alpha``, ``beta``, ...)."""
    rows = [{"model": m, "task": "t", "metric": "acc", "value": v, "n_examples": 400}
            for m, v in zip(["alpha", "beta", "gamma", "delta"], [0.26, 0.27, 0.3, 0.7], strict=True)]
    path = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_scale_map_gives_sizes_names_do_not_carry(tmp_path, table):
    plain = _audit(tmp_path, "plain", str(table), code=1)  # nothing could be audited: no sizes
    assert not (plain / "curves.csv").exists() and len(pd.read_csv(plain / "unresolved.csv")) == 4
    smap = tmp_path / "sizes.csv"
    smap.write_text("model,scale_params\nalpha,1e8\nbeta,4e8\ngamma,1.6e9\ndelta,6.4e9\n")
    mapped = _audit(tmp_path, "mapped", str(table), "--scale-map", str(smap))
    assert sorted(_curves(mapped).scale_params) == [1e8, 4e8, 1.6e9, 6.4e9]


def test_family_names_every_model_s_family(tmp_path, table):
    smap = tmp_path / "sizes.csv"
    smap.write_text("model,scale_params\nalpha,1e8\nbeta,4e8\ngamma,1.6e9\ndelta,6.4e9\n")
    out = _audit(tmp_path, "fam", str(table), "--scale-map", str(smap), "--family", "greek")
    assert set(_curves(out).family) == {"greek"}
    assert set(pd.read_csv(out / "models.csv").family_source) == {"--family"}


def test_bigbench_scale_chooses_which_parameter_count_is_the_scale(tmp_path):
    folder = DATA / "sources" / "bigbench"
    non = _curves(_audit(tmp_path, "non", str(folder)))
    total = _curves(_audit(tmp_path, "total", str(folder), "--bigbench-scale", "total_params"))
    assert 1.25e8 in set(non.scale_params) and 1.5e8 in set(total.scale_params)
    res = CliRunner().invoke(app, ["audit", str(folder), "--out", str(tmp_path / "bad"), "--bigbench-scale", "x"])
    assert res.exit_code != 0


def test_threshold_decides_what_counts_as_sharp(tmp_path, table):
    smap = tmp_path / "sizes.csv"
    smap.write_text("model,scale_params\nalpha,1e8\nbeta,4e8\ngamma,1.6e9\ndelta,6.4e9\n")
    low = pd.read_csv(_audit(tmp_path, "low", str(table), "--scale-map", str(smap), "--threshold", "0.5") / "audit.csv")
    high = pd.read_csv(_audit(tmp_path, "high", str(table), "--scale-map", str(smap), "--threshold", "50")
                       / "audit.csv")
    assert low.metric_state.iloc[0] != high.metric_state.iloc[0]


def test_model_col_and_metric_cols_choose_the_columns_of_a_wide_table(tmp_path):
    path = tmp_path / "wide.csv"
    pd.DataFrame({"name": ["m-100m", "m-400m", "m-1.6b"], "arc_acc": [0.3, 0.4, 0.6],
                  "hellaswag_acc": [0.3, 0.35, 0.5]}).to_csv(path, index=False)
    both = _curves(_audit(tmp_path, "both", str(path), "--model-col", "name"))
    assert set(both.task) == {"arc", "hellaswag"} and set(both.model) == {"m-100m", "m-400m", "m-1.6b"}
    one = _curves(_audit(tmp_path, "one", str(path), "--model-col", "name", "--metric-cols", "arc_acc"))
    assert set(one.task) == {"arc"}
    res = CliRunner().invoke(app, ["audit", str(path), "--out", str(tmp_path / "x"), "--model-col", "nope"])
    issues = pd.read_csv(tmp_path / "x" / "issues.csv")
    assert res.exit_code == 1 and issues.message.str.contains("--model-col 'nope' is not a column").any()
    # --metric is the same option (--metric-cols its old spelling)
    new = _curves(_audit(tmp_path, "new", str(path), "--model-col", "name", "--metric", "arc_acc"))
    assert new.equals(one)


# -- one option name per idea across audit, score and predict ---------------------------------------

LMEVAL = DATA / "lmeval"


def test_audit_x_axis_and_its_old_spelling_agree_and_a_disagreement_is_refused(tmp_path):
    new = pd.read_csv(_audit(tmp_path, "new", str(LMEVAL), "--family", "ladder", "--n-boot", "50",
                             "--no-figures", "--x-axis", "params") / "audit.csv")
    old = pd.read_csv(_audit(tmp_path, "old", str(LMEVAL), "--family", "ladder", "--n-boot", "50",
                             "--no-figures", "--x", "params") / "audit.csv")
    pd.testing.assert_frame_equal(new, old)
    res = CliRunner().invoke(app, ["audit", str(LMEVAL), "--out", str(tmp_path / "x"), "--x-axis", "flops",
                                   "--x", "loss"])
    assert res.exit_code == 2 and "disagree" in res.output


def test_audit_confidence_and_metric_change_the_result_and_the_console_gives_the_answer(tmp_path):
    res = CliRunner().invoke(app, ["audit", str(LMEVAL), "--family", "ladder", "--n-boot", "200", "--no-figures",
                                   "--out", str(tmp_path / "95")])
    assert res.exit_code == 0, res.output
    assert "verdicts of" in res.output and "sharpest" in res.output and "report.html" in res.output
    assert res.output.index("verdicts of") < res.output.index("curves ->")  # the answer before the file list
    base = pd.read_csv(tmp_path / "95" / "audit.csv")
    narrow = pd.read_csv(_audit(tmp_path, "80", str(LMEVAL), "--family", "ladder", "--n-boot", "200",
                                "--no-figures", "--confidence", "0.8") / "audit.csv")
    key = ["task", "metric", "source"]
    a, b = base.set_index(key).sort_index(), narrow.set_index(key).sort_index()
    assert a.index.equals(b.index) and (a.emergence_score == b.emergence_score).all()
    ok = a.ci_low.notna()
    assert ((b.ci_high - b.ci_low)[ok] <= (a.ci_high - a.ci_low)[ok] + 1e-12).all()
    assert ((b.ci_high - b.ci_low)[ok] < (a.ci_high - a.ci_low)[ok]).any()
    only = pd.read_csv(_audit(tmp_path, "em", str(LMEVAL), "--family", "ladder", "--n-boot", "50", "--no-figures",
                              "--metric", "exact_match") / "audit.csv")
    assert set(only.metric) == {"exact_match"} and set(only.source) == set(base.source)
    bad = CliRunner().invoke(app, ["audit", str(LMEVAL), "--out", str(tmp_path / "bad"), "--metric", "bogus"])
    assert bad.exit_code == 2 and "bogus" in bad.output and "exact_match" in bad.output
    assert not (tmp_path / "95" / "fig5_scores_by_metric.png").exists()  # --no-figures


def test_score_and_predict_take_the_same_options_and_score_runs_predicts_backtest(tmp_path):
    from emergence_lens.backtesting import BACKTEST_COLUMNS, PREDICTION_COLUMNS, WINS_COLUMNS
    from emergence_lens.records import write_records
    from emergence_lens.simulate import simulate_records

    import numpy as np

    recs = tmp_path / "r.parquet"
    write_records(simulate_records(np.logspace(7, 10.5, 7), (1, 4), 200, seed=2), recs)
    common = ["--n-boot", "100", "--x-axis", "params", "--confidence", "0.9", "--metric", "exact_match"]
    res = CliRunner().invoke(app, ["score", str(recs), "--out", str(tmp_path / "s"), *common,
                                   "--fit-on", "3,4", "--methods", "transform,naive", "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "verdicts of" in res.output and not list((tmp_path / "s").glob("*.png"))
    p = pd.read_csv(tmp_path / "s" / "predictions.csv", dtype={"fit_on": str})
    assert list(p.columns) == PREDICTION_COLUMNS and set(p.fit_on.astype(str)) == {"all", "3", "4"}
    assert set(p.method) == {"transform", "naive"} and set(p.metric) == {"exact_match"}
    assert set(p[p.fit_on.astype(str) == "all"].method) == {"transform"}  # the verdicts' band
    assert list(pd.read_csv(tmp_path / "s" / "backtest.csv").columns) == BACKTEST_COLUMNS
    assert list(pd.read_csv(tmp_path / "s" / "wins.csv").columns) == WINS_COLUMNS
    # predict runs the same backtest: the same rows for the same K, methods and seed
    res = CliRunner().invoke(app, ["predict", str(recs), "--out", str(tmp_path / "p"), *common, "--fit-on", "4",
                                   "--methods", "transform,naive", "--no-figures"])
    assert res.exit_code == 0, res.output
    q = pd.read_csv(tmp_path / "p" / "predictions.csv", dtype={"fit_on": str})
    pd.testing.assert_frame_equal(q, p[p.fit_on == "4"].reset_index(drop=True))
    # options that only tables of aggregates take are refused for records, never ignored
    res = CliRunner().invoke(app, ["predict", str(recs), "--out", str(tmp_path / "f"), "--family", "x"])
    assert res.exit_code == 2 and "--family" in res.output


def test_a_whole_range_interval_never_ranks_first():
    """Ranked by interval score, a method whose interval spans the metric's whole range would win over
    a sharp miss; it says nothing, so it ranks after every method that says something."""
    from emergence_lens.backtesting import BACKTEST_COLUMNS, interval_score, wins_table

    y = 0.9
    rows = []
    for method, lo, hi in (("wide", 0.0, 1.0), ("sharp", 0.5, 0.7), ("close", 0.8, 0.95)):
        rows.append({"family": "f", "task": "t", "metric": "exact_match", "method": method, "fit_on": "4",
                     "n_heldout": 1, "mae": abs(y - (lo + hi) / 2), "coverage": float(lo <= y <= hi),
                     "mean_width": hi - lo, "informative": hi - lo < 0.99, "status": "ok",
                     "interval_score": float(interval_score([y], [lo], [hi], 0.95)[0])})
    summary = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    wins = wins_table(summary).set_index("method")
    assert wins.loc["wide", "interval_score"] < wins.loc["sharp", "interval_score"]  # the score alone prefers it
    assert wins.loc["close", "rank"] == 1 and wins.loc["sharp", "rank"] == 2 and wins.loc["wide", "rank"] == 3
    assert wins.loc["wide", "n_uninformative"] == 1
    # the interval score itself: width, plus 2/alpha times the miss
    assert interval_score([0.9], [0.5], [0.7], 0.95)[0] == pytest.approx(0.2 + 40 * 0.2)
