"""Every loader on files in the exact schemas, including hand-written malformed ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.emergence.aggregate import curve_scores
from emergence_lens.cli import app
from emergence_lens.sources import infer_family, load_scale_map, load_sources, parse_scale

DATA = Path(__file__).parent / "data" / "sources"


@pytest.mark.parametrize("name,scale,family", [
    ("EleutherAI/pythia-70m", 70e6, "pythia"), ("EleutherAI/pythia-1.4b-deduped", 1.4e9, "pythia-deduped"),
    ("pythia-12B", 12e9, "pythia"), ("Qwen2.5-7B-Instruct", 7e9, "Qwen2.5-Instruct"),
    ("meta-llama/Llama-2-13b-hf", 13e9, "Llama-2-hf"), ("org/model-v1.1-350M", 350e6, "model-v1.1"),
    ("gpt2-xl", None, "gpt2-xl"), ("Mixtral-8x7B", None, "Mixtral-8x7B"), ("bloom-560m@step1000", 560e6, "bloom"),
])
def test_scale_and_family_from_names(name, scale, family):
    assert parse_scale(name) == scale
    assert infer_family(name) == family


def test_old_lmeval_format_scale_from_name():
    b = load_sources([DATA / "old_lmeval"])
    assert not b.issues and b.unresolved.empty
    acc = b.curves[b.curves.metric == "acc"].sort_values("scale_params")
    assert list(acc.scale_params) == [70e6, 410e6, 1.4e9, 12e9]
    assert set(acc.scale_source) == {"name (revision @step143000 dropped)"} and set(acc.family) == {"pythia"}
    assert acc.model.iloc[0] == "EleutherAI/pythia-70m@step143000"
    assert set(b.curves.metric) == {"acc", "ppl"} and (acc.shots == 0).all()


def test_bigbench_scores_and_mcg_vs_brier_verdict(tmp_path):
    b = load_sources([DATA / "bigbench"])
    assert not b.issues
    c = b.curves
    assert set(c.family) == {"BIG-G T=0"} and set(c.task) == {"arithmetic"}
    assert set(c.subtask) == {"arithmetic:2_digit_multiplication"} and set(c.shots) == {2.0}
    assert sorted(c[c.metric == "exact_str_match"].scale_params) == [2e6, 1.6e7, 1.25e8, 1e9]
    res = CliRunner().invoke(app, ["audit", str(DATA / "bigbench"), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    audit = pd.read_csv(tmp_path / "audit.csv")
    mcg = audit[audit.metric == "multiple_choice_grade"].iloc[0]
    # by hand: steps 0.01, 0.01, 0.38 -> (0.6 - 0.2) / 0.01 = 40
    assert mcg.emergence_score == pytest.approx(40.0)
    assert mcg.verdict.startswith("metric artifact")
    brier = audit[audit.metric == "calibration_multiple_choice_brier_score"].iloc[0]
    assert brier.emergence_score == pytest.approx(0.10 / 0.03)  # oriented: lower Brier is better
    assert (tmp_path / "fig5_scores_by_metric.png").exists() and (tmp_path / "fig6_mcg_vs_brier.png").exists()


def test_generic_table_reports_bad_rows_and_loads_the_rest():
    b = load_sources([DATA / "table.csv"])
    assert len(b.curves) == 4
    msgs = {(i.line, i.key): i.message for i in b.issues}
    assert (6, "value") in msgs and "not a number" in msgs[(6, "value")]
    assert (7, "value") in msgs and "NaN" in msgs[(7, "value")]


def test_malformed_inputs_are_reported_with_file_line_key():
    b = load_sources([DATA / "bad"])
    text = [str(i) for i in b.issues]
    assert any("results_truncated.json" in t and "truncated JSON at line 1" in t for t in text)
    assert any("results_nokeys.json" in t and "not a recognised format" in t for t in text)
    assert any("key 'results.arc.acc,none'" in t for t in text)
    assert any("key 'results.arc.acc_norm,none'" in t and "0.4x" in t for t in text)
    assert any("samples_arc" in t and "line 2" in t and "not valid JSON" in t for t in text)
    assert any("samples_arc" in t and "line 3" in t and "'filtered_resps'" in t for t in text)
    assert any("samples_arc" in t and "line 4" in t and "gold option" in t for t in text)
    assert any("scores_X_tiny.json" in t and "'model.non_embedding_params'" in t for t in text)
    assert any("score_dict.exact_str_match" in t for t in text)
    assert any("scores[1].score_dict" in t for t in text)
    # models without a resolvable scale are listed, not dropped silently
    assert set(b.unresolved.model) >= {"mystery-model", "tiny"}


def test_scale_map_resolves_unknown_models(tmp_path):
    m = tmp_path / "map.csv"
    m.write_text("model,scale_params,family\nmystery-model,3e9,mystery\ntiny,1e6,X\n")
    b = load_sources([DATA / "bad"], scale_map=load_scale_map(m))
    assert b.unresolved.empty
    assert set(b.curves[b.curves.model == "mystery-model"].family) == {"mystery"}
    assert b.records is not None and len(b.records) == 2  # lines 1 and 5 of the samples file
    bad = tmp_path / "bad.csv"
    bad.write_text("model,scale_params\nx,huge\n")
    with pytest.raises(ValueError, match="row 0"):
        load_scale_map(bad)


def test_audit_cli_on_everything_lists_problems(tmp_path):
    res = CliRunner().invoke(app, ["audit", str(DATA), "--out", str(tmp_path), "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    audit = pd.read_csv(tmp_path / "audit.csv")
    assert list(audit.columns[:5]) == ["family", "task", "subtask", "shots", "metric"]
    for col in ["metric_kind", "n_scales", "scale_min", "scale_max", "emergence_score", "ci_low", "ci_high", "verdict"]:
        assert col in audit.columns
    assert set(pd.read_csv(tmp_path / "unresolved.csv").model) >= {"mystery-model", "tiny"}
    assert len(pd.read_csv(tmp_path / "issues.csv")) >= 8
    assert "unknown size held out" in res.output


def test_curve_scores_vectorised_matches_scalar():
    rng = np.random.default_rng(0)
    rows = []
    for c in range(50):
        n = int(rng.integers(2, 9))
        for s in range(n):
            rows.append({"family": f"f{c % 3}", "task": f"t{c}", "subtask": f"t{c}", "shots": 0.0,
                         "metric": "acc", "scale_params": 10.0 ** s, "value": rng.random(), "source": "x",
                         "higher_is_better": True})
    df = pd.DataFrame(rows)
    got = curve_scores(df).set_index("task")
    from emergence_lens.emergence import emergence_score

    for task, g in df.groupby("task"):
        if len(g) < 3:
            assert np.isnan(got.loc[task, "emergence_score"]) and got.loc[task, "status"] != "ok"
        else:
            assert got.loc[task, "emergence_score"] == pytest.approx(emergence_score(g.scale_params, g.value))
