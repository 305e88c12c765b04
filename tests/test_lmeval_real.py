"""Genuine lm-evaluation-harness 0.4.13 outputs (``--model hf`` on the 8 ladder checkpoints, local
task YAMLs; made by scripts/lmeval_ladder.py) read and re-scored."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.curves import compute_curves
from emergence_lens.sources import load_sources
from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.lmeval import read_lmeval_samples

LMEVAL = Path(__file__).parent / "data" / "lmeval"


def test_real_results_load_with_scale_from_file():
    b = load_sources([LMEVAL], family="ladder")
    assert not b.issues and b.unresolved.empty
    assert b.curves.model.nunique() == 8
    assert set(b.curves.scale_source) == {"file"}
    assert set(b.curves.metric) == {"exact_match", "acc", "brier_score"}
    assert set(b.curves.n_examples) == {100.0}
    assert b.records is not None and len(b.records) == 8 * 200


def test_rescored_samples_reproduce_lmeval_aggregates_exactly():
    b = load_sources([LMEVAL], family="ladder")
    rc = compute_curves(b.records, n_boot=0).table
    for ours, theirs in [("multiple_choice_grade", "acc"), ("brier_score", "brier_score"),
                         ("exact_match", "exact_match")]:
        a = rc[rc.metric == ours].set_index("model")["value"].sort_index()
        c = b.curves[b.curves.metric == theirs].set_index("model")["value"].sort_index()
        assert list(a.index) == list(c.index)
        assert a.to_numpy() == pytest.approx(c.to_numpy(), abs=1e-12), ours


def test_stringified_pairs_are_parsed_not_trusted(tmp_path):
    src = next(LMEVAL.glob("ladder-08/samples_ladder_addition_mc_*.jsonl"))
    first = json.loads(src.read_text().splitlines()[0])
    assert isinstance(first["filtered_resps"][0][0], str)  # lm-eval writes numbers as strings
    rows = read_lmeval_samples(src, {"model": "m"}, IssueLog())
    assert rows[0]["choice_logprobs"] == [float(p[0]) for p in first["filtered_resps"]]
    assert rows[0]["correct_choice"] == int(first["target"])


def test_audit_on_real_lmeval_folder(tmp_path):
    res = CliRunner().invoke(app, ["audit", str(LMEVAL), "--family", "ladder", "--out", str(tmp_path),
                                   "--n-boot", "200"])
    assert res.exit_code == 0, res.output
    audit = pd.read_csv(tmp_path / "audit.csv")
    assert (audit.n_scales == 8).all()
    rescored = audit[audit.source == "per-sample logs (re-scored)"]
    assert rescored.ci_low.notna().all() and set(rescored.metric) >= {"multiple_choice_grade", "brier_score",
                                                                        "exact_match", "token_edit_distance"}
    for f in ["fig5_scores_by_metric.png", "fig6_mcg_vs_brier.png", "summary.md", "issues.csv"]:
        assert (tmp_path / f).exists()
