"""Measure every forecast method of `predict` on simulated families: held-out error, and how
often its calibrated 95% interval (and its bootstrap band alone) contains the observation, with
the interval's mean width, for K = 3..6 fitted models (issue 24's coverage goal).

    python scripts/forecast_coverage.py [--seeds 8] [--n-boot 200] [--out FILE.csv]

Two kinds of family: the default one of `reproduce simulated` (per-token difficulty Gamma(4): the
power law is misspecified per task) and an equal-difficulty one (difficulty 1 for every token: the
model is exact); 8 sizes, target lengths 1-5, 2,000 examples per task.  Each kind is drawn
``--seeds`` times (simulation seeds 100, 101, ...), so a coverage is measured on ``seeds x 5``
curves, not on one family's five.  Columns: held-out points, mean absolute error, coverage of the
calibrated interval (nominal 95%), its mean width, the lowest coverage over the seeds, coverage of
the bootstrap band alone.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from emergence_lens._io import write_csv
from emergence_lens.experiments.simulated import LENGTHS, SCALES
from emergence_lens.backtesting import attach_pools, curves_from_records
from emergence_lens.pipelines.predict import predict_sweep
from emergence_lens.simulate import simulate_records

KINDS = (("default (Gamma(4) difficulty)", 4.0), ("equal difficulty", 1e9))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    a = ap.parse_args()
    frames = []
    for s in range(a.seeds):
        for name, het in KINDS:
            records = simulate_records(SCALES, LENGTHS, a.examples, heterogeneity=het, seed=100 + s)
            curves, skipped = curves_from_records(records, n_boot=a.n_boot, seed=s)
            attach_pools(curves)
            with tempfile.TemporaryDirectory() as tmp:
                predict_sweep(curves, Path(tmp), fit_ons=[3, 4, 5, 6], skipped=skipped, figures=False)
                frames.append(pd.read_csv(Path(tmp) / "sweep.csv").assign(family=name, seed=s))
    t = pd.concat(frames, ignore_index=True)
    rows = []
    for (family, metric, method, k), g in t.groupby(["family", "metric", "method", "fit_on"], sort=False):
        w = g["n_heldout"].to_numpy(float)
        rows.append({"family": family, "metric": metric, "method": method, "fit_on": k, "n_heldout": int(w.sum()),
                     "mae": np.average(g["mae"], weights=w), "coverage": np.average(g["coverage"], weights=w),
                     "mean_width": np.average(g["mean_width"], weights=w), "min_coverage": g["coverage"].min(),
                     "band_coverage": np.average(g["band_coverage"], weights=w)})
    table = pd.DataFrame(rows).sort_values(["family", "metric", "fit_on", "mae"], kind="stable")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nbest method's error / naive's (same family, metric, K):")
    for (family, metric, k), g in table.groupby(["family", "metric", "fit_on"], sort=False):
        best = g.iloc[0]
        naive = g[g["method"] == "naive"]["mae"]
        if len(naive):
            print(f"  {family}, {metric}, K={k}: {best['method']} {best['mae']:.3f} vs naive {float(naive.iloc[0]):.3f}"
                  f" = {best['mae'] / float(naive.iloc[0]):.2f}")
    if a.out is not None:
        write_csv(table, a.out)


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
