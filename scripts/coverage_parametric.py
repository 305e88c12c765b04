"""Measure how often the parametric emergence-score CI of a results-only curve covers the truth.

For each shape (true per-size accuracy p_i), draw k_i ~ Binomial(n, p_i) at every size, report only
k_i / n (as a results file would), let :func:`emergence_lens.pipelines.audit.curve_scores` draw its
parametric CI, and count how often it contains the emergence score of the true curve p.  Also
counts how often a curve is called sharp and how often it is held to the noise floor.

    python scripts/coverage_parametric.py [--trials 400] [--n-boot 1000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from emergence_lens.emergence.aggregate import curve_scores
from emergence_lens.emergence import emergence_score

SIZES = np.logspace(8, 11.5, 8)


def shapes() -> dict[str, np.ndarray]:
    x = np.log10(SIZES)
    a = 1 / (1 + np.exp(-(x - 9.8) * 1.2))
    return {"smooth a (logistic)": 0.05 + 0.9 * a, "exact match a^5": a ** 5, "linear": np.linspace(0.1, 0.6, 8),
            "below 1% (0 .. 0.007)": np.array([0, 0, 0, 0, 0, 0, 0.002, 0.007])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"trials: {args.trials} per (shape, n); n_boot {args.n_boot}; nominal 95%")
    print(f"{'shape':24s} {'n':>6s} {'true score':>10s} {'coverage':>9s} {'median width':>12s} {'sharp':>6s} "
          f"{'no measurable':>13s}")
    for name, p in shapes().items():
        true = emergence_score(SIZES, p)
        for n in (100, 500, 2000):
            k = rng.binomial(n, np.broadcast_to(p, (args.trials, p.size)))
            rows = pd.DataFrame({"family": "f", "model": np.tile([f"m{i}" for i in range(8)], args.trials),
                                 "scale_params": np.tile(SIZES, args.trials),
                                 "task": np.repeat([f"t{t}" for t in range(args.trials)], 8), "shots": 0,
                                 "metric": "exact_match", "value": (k / n).ravel(), "n_examples": n,
                                 "source": "sim", "aggregate": False})
            rows["subtask"] = rows["task"]
            cs = curve_scores(rows, n_boot=args.n_boot, seed=1)
            ok = np.isfinite(cs["ci_low"])
            cover = ((cs["ci_low"] <= true) & (true <= cs["ci_high"]))[ok].mean() if ok.any() else float("nan")
            width = (cs["ci_high"] - cs["ci_low"])[ok].median() if ok.any() else float("nan")
            sharp = (cs["emergence_score"].abs() / 7 >= 2.0).mean()
            print(f"{name:24s} {n:6d} {true:10.3g} {cover:9.1%} {width:12.3g} {sharp:6.0%} "
                  f"{(~cs['measurable']).mean():13.0%}")


if __name__ == "__main__":
    main()
