"""Audit throughput: emergence scores for 100,000 curves (aim: <= 5 s).

A tidy table of 100,000 (family, task, metric) curves x 8 scales (800,000 rows) through
:func:`emergence_lens.pipelines.audit.curve_scores` (vectorised by curve length), against the obvious
alternative: a pandas groupby with a per-curve Python call (timed on 2,000 curves, extrapolated).

Run: python benchmarks/bench_audit.py [--curves 100000] [--scales 8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from emergence_lens.emergence.aggregate import curve_scores
from emergence_lens.emergence import emergence_score


def make_table(n_curves: int, n_scales: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = np.repeat(np.arange(n_curves), n_scales)
    s = np.tile(10.0 ** np.arange(6, 6 + n_scales), n_curves)
    return pd.DataFrame({"family": "f" + (c % 7).astype(str), "task": "t" + c.astype(str),
                         "subtask": "t" + c.astype(str), "shots": 0.0,
                         "metric": np.where(c % 2 == 0, "acc", "brier_score"), "scale_params": s,
                         "value": rng.random(c.size), "source": "bench", "higher_is_better": None})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--curves", type=int, default=100_000)
    ap.add_argument("--scales", type=int, default=8)
    a = ap.parse_args()
    df = make_table(a.curves, a.scales)
    t0 = time.perf_counter()
    res = curve_scores(df)
    fast = time.perf_counter() - t0
    assert len(res) == a.curves and res.emergence_score.notna().all()
    m = 2000
    sub = df[df.task.isin([f"t{i}" for i in range(m)])]
    t0 = time.perf_counter()
    loop = sub.groupby(["family", "task", "subtask", "shots", "metric"]).apply(
        lambda g: emergence_score(g.scale_params, g.value), include_groups=False)
    slow = (time.perf_counter() - t0) * a.curves / m
    check = res.set_index("task").loc[[f"t{i}" for i in range(0, m, 2)], "emergence_score"]
    ref = loop.reset_index().set_index("task").loc[[f"t{i}" for i in range(0, m, 2)], 0]
    assert np.allclose(check.to_numpy(), ref.to_numpy())
    print(f"{a.curves:,} curves x {a.scales} scales ({len(df):,} rows)")
    print(f"curve_scores (vectorised): {fast:.2f} s")
    print(f"per-curve groupby loop (extrapolated from {m:,}): {slow:.1f} s")
    print(f"ratio: {slow / fast:.0f}x")


if __name__ == "__main__":
    main()
