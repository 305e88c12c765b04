"""Choose the calibrator's constants out of sample: leave-one-family-out cross-validation of the two
tuned constants of :mod:`emergence_lens.emergence.forecast.calibrate` (``Calibration``): the floor
of a forecast band's half-width on the logit scale, and the clip of values to ``[c, 1 - c]`` of the
metric's range before the logit.

Six simulated families, each its own data-generating process (per-token difficulty, per-example
difficulty, exponent, number of models), each drawn ``--draws`` times.  For every (floor, clip) of the
grid, every registered forecast method is backtested from K = 3, 4, 5 fitted models on the sharp
metrics (exact match, multiple-choice grade; both on [0, 1]).  Then, for each family F in turn, the
constants are chosen on the *other five*: those with the lowest mean interval score over the
held-out points of every method but ``loss`` and ``loss-law`` (:data:`NOT_CHOOSING`) (Gneiting &
Raftery 2007, a proper score: width plus 2/alpha times each miss; families weighted equally), and
F's coverage, width and interval score are reported at them — so every coverage in the table is
measured on a family that did not choose its constants.  Last, the constants chosen on all six (the
ones to ship, ``DEFAULT_CALIBRATION``).

    python scripts/calibration_lofo.py [--draws 3] [--n-boot 200] [--examples 1000] [--out FILE.csv]

(``--out`` also writes ``FILE_by_method.csv``: the held-out families at their constants, by metric
and method.)
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emergence_lens._io import write_csv
from emergence_lens.backtesting import attach_pools, backtest_curves, curves_from_records, interval_score
from emergence_lens.emergence.forecast import DEFAULT_CALIBRATION, Calibration
from emergence_lens.simulate import simulate_records
from emergence_lens.theory import ScalingModel

#: Methods left out of the choice (reported all the same): on these families the simulated pretraining
#: loss is the per-token cross-entropy, an exact power law in the scale, so ``loss`` and ``loss-law``
#: give ``naive``'s forecasts to the last digit, and counting them would weigh ``naive`` three times.
NOT_CHOOSING = ("loss", "loss-law")
FLOORS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)
CLIPS = (1e-4, 1e-3, 1e-2)
GRID = tuple(Calibration(floor, clip) for floor in FLOORS for clip in CLIPS)
FITS = (3, 4, 5)
METRICS = ("exact_match", "multiple_choice_grade")
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Family:
    name: str
    models: int
    alpha: float = -0.3
    heterogeneity: float = 4.0
    example_sigma: float = 0.0
    lengths: tuple[int, ...] = (1, 2, 3, 4, 5)


FAMILIES = (
    Family("per-token Gamma(4), 8 models", 8),
    Family("equal difficulty, 8 models", 8, heterogeneity=1e9),
    Family("per-token Gamma(1.5), alpha -0.45, 7 models", 7, alpha=-0.45, heterogeneity=1.5),
    Family("per-example sigma 0.3, 6 models", 6, example_sigma=0.3, lengths=(2, 3, 4, 5)),
    Family("per-example sigma 0.6, alpha -0.45, 8 models", 8, alpha=-0.45, example_sigma=0.6, lengths=(2, 3, 4, 5)),
    Family("per-example sigma 1.0, 10 models", 10, example_sigma=1.0, lengths=(2, 3, 4, 5)),
)


def one_draw(job: tuple[int, int, int, int]) -> pd.DataFrame:
    """Every (constants, K, method) backtest of one draw of one family: its prediction rows."""
    f_index, draw, n_boot, examples = job
    fam = FAMILIES[f_index]
    scales = np.logspace(7, 10.5, fam.models)
    records = simulate_records(scales, fam.lengths, examples, model=ScalingModel(alpha=fam.alpha),
                               heterogeneity=fam.heterogeneity, example_sigma=fam.example_sigma, seed=900 + draw)
    curves, skipped = curves_from_records(records, metrics=list(METRICS), n_boot=n_boot, seed=draw)
    attach_pools(curves)  # the other tasks' scores, for ``observational``
    frames = []
    for c in GRID:
        for k in FITS:
            p = backtest_curves(curves, fit_on=k, skipped=skipped, confidence=CONFIDENCE, calibration=c).predictions
            frames.append(p.assign(family=fam.name, draw=draw, floor=c.floor, clip=c.clip, k=k))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    a = ap.parse_args()
    started = time.time()
    jobs = [(i, d, a.n_boot, a.examples) for i in range(len(FAMILIES)) for d in range(a.draws)]
    with ProcessPoolExecutor(a.workers) as pool:
        p = pd.concat(list(pool.map(one_draw, jobs)), ignore_index=True)
    p["score"] = interval_score(p["observed"], p["calibrated_low"], p["calibrated_high"], CONFIDENCE)
    p["width"] = p["calibrated_high"] - p["calibrated_low"]
    p["constants"] = [f"floor {f:g}, clip {c:g}" for f, c in zip(p["floor"], p["clip"], strict=True)]
    per = (p[~p["method"].isin(NOT_CHOOSING)].groupby(["family", "floor", "clip", "constants"], sort=False)
           .agg(n_heldout=("score", "size"), interval_score=("score", "mean"), coverage=("inside", "mean"),
                mean_width=("width", "mean"))
           .reset_index())
    names = [f.name for f in FAMILIES]
    score = per.pivot(index="family", columns="constants", values="interval_score").loc[names]
    grid_names = [f"floor {c.floor:g}, clip {c.clip:g}" for c in GRID]
    score = score[grid_names]
    shipped = f"floor {DEFAULT_CALIBRATION.floor:g}, clip {DEFAULT_CALIBRATION.clip:g}"
    rows = []
    for fam in FAMILIES:
        others = score.drop(index=fam.name).mean(axis=0)
        chosen = str(others.idxmin())
        at = per[(per["family"] == fam.name) & (per["constants"] == chosen)].iloc[0]
        ref = per[(per["family"] == fam.name) & (per["constants"] == shipped)].iloc[0]
        rows.append({"held_out_family": fam.name, "chosen_on": "the other five families", "floor": at["floor"],
                     "clip": at["clip"], "n_heldout": int(at["n_heldout"]), "coverage": at["coverage"],
                     "mean_width": at["mean_width"], "interval_score": at["interval_score"],
                     "coverage_at_shipped": ref["coverage"], "mean_width_at_shipped": ref["mean_width"],
                     "interval_score_at_shipped": ref["interval_score"]})
    table = pd.DataFrame(rows)
    # each held-out family at the constants chosen without it, by metric and method
    chosen = {r["held_out_family"]: (r["floor"], r["clip"]) for r in rows}
    held = p[[chosen[f] == (fl, cl) for f, fl, cl in zip(p["family"], p["floor"], p["clip"], strict=True)]]
    by_method = (held.groupby(["metric", "method"], sort=True)
                 .agg(n_heldout=("score", "size"), coverage=("inside", "mean"), mean_width=("width", "mean"),
                      interval_score=("score", "mean"), mae=("error", lambda e: float(np.mean(np.abs(e)))))
                 .reset_index())
    per_family = (held.groupby(["family", "metric", "method"], sort=False)["inside"].mean()
                  .groupby(["metric", "method"]).agg(["min", "max"]))
    by_method["coverage_range_over_families"] = [f"{per_family.loc[(m, k), 'min']:.2f}-"
                                                 f"{per_family.loc[(m, k), 'max']:.2f}"
                                                 for m, k in zip(by_method["metric"], by_method["method"], strict=True)]
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    print("mean interval score per family and constants (lower is better; families as rows):")
    print(score.T.to_string(float_format=lambda v: f"{v:.3f}"))
    print("\ncoverage per family and constants (nominal 0.95):")
    cov = per.pivot(index="family", columns="constants", values="coverage").loc[names][grid_names]
    print(cov.T.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"\nleave-one-family-out (each row: the constants chosen without that family, measured on it; "
          f"'at_shipped': the shipped {shipped}):")
    print(table.assign(clip=table["clip"].map(lambda v: f"{v:g}"))
          .to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nthe six held-out families pooled, each at the constants chosen without it, by metric and method:")
    print(by_method.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    overall = str(score.mean(axis=0).idxmin())
    w = table["n_heldout"]
    print(f"\nchosen on all six families: {overall} (shipped: {shipped}); over the six held-out families: "
          f"coverage {np.average(table['coverage'], weights=w):.3f}, mean width "
          f"{np.average(table['mean_width'], weights=w):.3f}, interval score "
          f"{np.average(table['interval_score'], weights=w):.3f} (at the shipped constants: coverage "
          f"{np.average(table['coverage_at_shipped'], weights=w):.3f}, mean width "
          f"{np.average(table['mean_width_at_shipped'], weights=w):.3f})")
    print(f"{len(jobs)} draws, {time.time() - started:.0f} s")
    if a.out is not None:
        write_csv(table, a.out)
        write_csv(by_method, a.out.with_name(a.out.stem + "_by_method.csv"))


if __name__ == "__main__":
    main()
