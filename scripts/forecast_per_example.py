"""Measure the ``per-example`` forecast against ``transform``, ``two-step`` and ``naive`` on simulated
families whose examples differ in difficulty (per-token cross-entropy ``(N/c)^alpha`` times a
lognormal per-example factor of spread ``sigma``, and Gamma(4) per-token noise).

Settings: sigma in {0.3, 0.6, 1.0} x exponent alpha in {-0.3, -0.45} x {6, 8, 10} models over
1e7..3.2e10 parameters; target lengths 2-5, 1,000 examples per task; each setting drawn ``--draws``
times (simulation seeds 500, 501, ...); fit on the smaller half of the models (K = models // 2),
predict the rest; exact match.  Per setting and method: held-out points, mean absolute error,
coverage of the calibrated 95% interval and its mean width, and the error's ratio to naive's.

    python scripts/forecast_per_example.py [--draws 8] [--n-boot 200] [--out FILE.csv]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from emergence_lens._io import write_csv
from emergence_lens.backtesting import backtest_curves, curves_from_records
from emergence_lens.simulate import simulate_records
from emergence_lens.theory import ScalingModel

METHODS = ("per-example", "transform", "two-step", "naive")
SIGMAS = (0.3, 0.6, 1.0)
ALPHAS = (-0.3, -0.45)
MODEL_COUNTS = (6, 8, 10)
LENGTHS = (2, 3, 4, 5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=8)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    a = ap.parse_args()
    started = time.time()
    frames = []
    for sigma, alpha, m in itertools.product(SIGMAS, ALPHAS, MODEL_COUNTS):
        scales = np.logspace(7, 10.5, m)
        for draw in range(a.draws):
            records = simulate_records(scales, LENGTHS, a.examples, model=ScalingModel(alpha=alpha),
                                       example_sigma=sigma, seed=500 + draw)
            curves, skipped = curves_from_records(records, metrics=["exact_match"], n_boot=a.n_boot, seed=draw)
            bt = backtest_curves(curves, fit_on=m // 2, methods=METHODS, skipped=skipped)
            frames.append(bt.predictions.assign(sigma=sigma, alpha=alpha, models=m, draw=draw))
    p = pd.concat(frames, ignore_index=True)
    p["abs_error"] = p["error"].abs()
    p["width"] = p["calibrated_high"] - p["calibrated_low"]
    table = (p.groupby(["sigma", "alpha", "models", "method"], sort=True)
             .agg(n_heldout=("abs_error", "size"), mae=("abs_error", "mean"), coverage=("inside", "mean"),
                  mean_width=("width", "mean")).reset_index())
    naive = table[table["method"] == "naive"].set_index(["sigma", "alpha", "models"])["mae"]
    table["mae_over_naive"] = table["mae"] / naive.reindex(
        pd.MultiIndex.from_frame(table[["sigma", "alpha", "models"]])).to_numpy()
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    overall = (p.groupby("method").agg(n_heldout=("abs_error", "size"), mae=("abs_error", "mean"),
                                        coverage=("inside", "mean"), mean_width=("width", "mean")))
    print("\nall settings pooled:\n" + overall.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"\n{len(frames)} families, {time.time() - started:.0f} s")
    if a.out is not None:
        write_csv(table, a.out)


if __name__ == "__main__":
    main()
