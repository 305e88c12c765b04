"""Measure today's `predict` (the ingredient extrapolated through the metric's transform) on the
simulated families: held-out error, and how often its 95% interval contains the observation, for
K = 3..6 fitted models (issue 24's baseline).

    python scripts/forecast_coverage.py [--n-boot 400]

Families: the default one of `reproduce simulated` (per-token difficulty Gamma(4): the power law
is misspecified per task) and an equal-difficulty one (difficulty 1 for every token: the model is
exact).  8 sizes, target lengths 1-5, 2,000 examples per task.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from emergence_lens.experiments.simulated import LENGTHS, SCALES
from emergence_lens.predictability import predict_records
from emergence_lens.simulate import simulate_records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-boot", type=int, default=400)
    ap.add_argument("--examples", type=int, default=2000)
    a = ap.parse_args()
    print("family, K, metric: held-out points | MAE predicted | MAE naive | coverage of the 95% interval "
          "(observed in [low, high]) | 'consistent' rate | mean interval width")
    for name, het in (("default (Gamma(4) difficulty)", 4.0), ("equal difficulty", 1e9)):
        records = simulate_records(SCALES, LENGTHS, a.examples, heterogeneity=het, seed=1)
        for K in (3, 4, 5, 6):
            with tempfile.TemporaryDirectory() as tmp:
                res = predict_records(records, Path(tmp), fit_on=K, n_boot=a.n_boot, seed=0)
            p = res.predictions
            for metric, g in p.groupby("metric"):
                inside = (g["observed"] >= g["predicted_low"]) & (g["observed"] <= g["predicted_high"])
                cal = (g["observed"] >= g["calibrated_low"]) & (g["observed"] <= g["calibrated_high"])
                bcal = (g["observed"] >= g["baseline_calibrated_low"]) & (g["observed"] <= g["baseline_calibrated_high"])
                print(f"{name}, K={K}, {metric}: {len(g)} | {np.mean(np.abs(g['error'])):.4f} | "
                      f"{np.mean(np.abs(g['baseline_error'])):.4f} | {inside.mean():.0%} | "
                      f"{g['consistent'].mean():.0%} | {(g['predicted_high'] - g['predicted_low']).mean():.4f} || "
                      f"calibrated {cal.mean():.0%}, width {(g['calibrated_high'] - g['calibrated_low']).mean():.4f}; "
                      f"naive calibrated {bcal.mean():.0%}, width "
                      f"{(g['baseline_calibrated_high'] - g['baseline_calibrated_low']).mean():.4f}")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
