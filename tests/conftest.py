from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_records(n_models: int = 4, n_examples: int = 5, task: str = "t") -> pd.DataFrame:
    """A tiny valid records table with every column filled."""
    rows = []
    for m in range(n_models):
        for i in range(n_examples):
            rows.append({
                "family": "fam", "model": f"m{m}", "scale_params": 10.0 ** (6 + m),
                "scale_flops": None, "task": task, "example_id": f"e{i}",
                "target": "12", "prediction": "12" if (i + m) % 2 == 0 else "13",
                "target_token_logprobs": [-0.1 * (n_models - m), -0.2],
                "choice_logprobs": [-1.0, -2.0 + m * 0.5, -3.0], "correct_choice": 0,
            })
    return pd.DataFrame(rows)


@pytest.fixture
def records_df() -> pd.DataFrame:
    return make_records()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory) -> Path:
    """``reproduce --quick`` once per session (CLI, report and browser tests share it)."""
    from typer.testing import CliRunner

    from emergence_lens.cli import app

    out = tmp_path_factory.mktemp("repro")
    res = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out
