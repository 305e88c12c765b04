"""Why the multiple-choice grade is forecast badly on the simulated families: is it the normal shape
assumed for the margin, or its extrapolation?

The ``transform`` method predicts the grade as ``Phi(mu / sigma)``, ``mu`` and ``sigma`` the mean and
spread of each example's margin (log-likelihood of the correct option minus the best wrong one),
each extrapolated in ``t = log10 N`` from the fitted models (``mu`` on a line, ``sigma`` on a line or
a log-line).  For each family and task this measures, per model:

* **the shape alone**: ``Phi(mu / sigma)`` from that model's own margins (nothing extrapolated) against
  its observed grade — the largest miss over the models;
* **the extrapolation**: the ``transform`` backtest from the K = 4 smallest models (mean absolute
  error over the 4 held-out models), and ``mu``'s successive steps per half decade of ``N`` (a line in
  ``log N`` needs them constant).

Families as in ``scripts/forecast_coverage.py`` (8 sizes, lengths 1-5, 2,000 examples).

    python scripts/mc_margin.py [--seed 100]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from scipy import special

from emergence_lens.backtesting import backtest_curves, curves_from_records
from emergence_lens.emergence.transforms import transform_for
from emergence_lens.experiments.simulated import LENGTHS, SCALES
from emergence_lens.simulate import simulate_records

KINDS = (("default (Gamma(4) difficulty)", 4.0), ("equal difficulty", 1e9))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--examples", type=int, default=2000)
    a = ap.parse_args()
    rows = []
    for name, het in KINDS:
        records = simulate_records(SCALES, LENGTHS, a.examples, heterogeneity=het, seed=a.seed)
        curves, skipped = curves_from_records(records, metrics=["multiple_choice_grade"], n_boot=200, seed=0)
        bt = backtest_curves(curves, fit_on=4, methods="transform", skipped=skipped).summary.set_index("task")
        for task, g in records.groupby("task", sort=True):
            t = transform_for("multiple_choice_grade", g)
            per = []
            for _, gm in g.groupby("model", sort=False):
                d = t.design(gm)
                u = d[:, 1]
                sd = u.std()
                shape = special.ndtr(u.mean() / sd) if sd > 0 else float(u.mean() > 0)
                per.append((gm["scale_params"].iloc[0], d[:, 0].mean(), shape, u.mean()))
            per.sort()
            scale, grade, shape, mu = (np.array(v) for v in zip(*per, strict=True))
            steps = np.diff(mu)
            rows.append({"family": name, "task": task, "grade_range": f"{grade.min():.3f}-{grade.max():.3f}",
                         "shape_max_miss": float(np.max(np.abs(shape - grade))),
                         "transform_mae_K4": float(bt.loc[task, "mae"]) if task in bt.index else np.nan,
                         "mu_first_step": float(steps[0]), "mu_last_step": float(steps[-1]),
                         "mu_step_ratio": float(steps[-1] / steps[0])})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
