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
