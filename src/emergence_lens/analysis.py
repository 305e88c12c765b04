"""records -> curves -> emergence -> verdicts -> files: the pipeline behind ``emergence-lens score``.

Writes into ``out``:

* ``curves.csv``      one row per (family, task, metric, model): value, bootstrap CI, n, and for
  0/1 metrics the Clopper-Pearson interval and resolution limit;
* ``emergence.csv``   one row per curve: emergence score (oriented: higher is better) with CI,
  sharpness, linearity, status;
* ``comparison.csv``  one row per (family, task, sharp metric, partner): states and verdict;
* ``skipped.csv``     metrics that could not be scored on a group, and why;
* ``curves_<family>.png``  every metric side by side, one line per task;
* ``summary.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from emergence_lens._io import atomic_write_text
from emergence_lens.curves import CurveSet, compute_curves
from emergence_lens.emergence import DEFAULT_THRESHOLD, compare_metrics, emergence_table
from emergence_lens.report import markdown_table, plot_curves

__all__ = ["Analysis", "analyze", "write_csv"]


@dataclass
class Analysis:
    curves: CurveSet
    emergence: pd.DataFrame
    comparison: pd.DataFrame
    files: list[Path]
    summary_md: str


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write a CSV atomically with a fixed float format (same data, same bytes)."""
    return atomic_write_text(path, df.to_csv(index=False, float_format="%.10g", lineterminator="\n"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "family"


def analyze(records: pd.DataFrame, out: str | Path, *, metrics: Iterable[str] | None = None,
            metric_options: Mapping[str, Mapping[str, Any]] | None = None, n_boot: int = 1000,
            confidence: float = 0.95, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
            title: str = "emergence-lens analysis", figure_prefix: str = "curves", figures: bool = True) -> Analysis:
    """Run the whole pipeline on ``records`` and write the files listed in the module docstring
    (``figures=False``: no per-family figure, for callers that draw their own)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    curves = compute_curves(records, metrics, metric_options=metric_options, n_boot=n_boot,
                            confidence=confidence, seed=seed)
    em = emergence_table(curves.table, curves.replicates, confidence=confidence)
    cmp_ = compare_metrics(em, threshold=threshold)
    files = [write_csv(curves.table, out / "curves.csv"), write_csv(em, out / "emergence.csv"),
             write_csv(cmp_, out / "comparison.csv"), write_csv(curves.skipped, out / "skipped.csv")]
    for family, g in curves.table.groupby("family", sort=True) if figures else ():
        notes = {(r.metric, str(r.task)): f"ES {r.emergence_score:.3g}"
                 for r in em[em["family"] == family].itertuples() if pd.notna(r.emergence_score)}
        files.append(plot_curves(g, out / f"{figure_prefix}_{_slug(str(family))}.png",
                                 annotations=notes,
                                 title=f"{family}: every metric on the same outputs "
                                       f"(bars: {confidence:.0%} bootstrap CI; ES = emergence score)"))
    n_rec = len(records)
    lines = [f"# {title}\n",
             f"{n_rec} records; {records['family'].nunique()} famil(ies); "
             f"{records['task'].nunique()} task(s); {records['model'].nunique()} model(s). "
             f"Bootstrap: {n_boot} resamples, seed {seed}, {confidence:.0%} percentile CIs. "
             f"Sharpness threshold {threshold:g} (sharpness = emergence score / (n_scales - 1)).\n",
             "## Verdicts\n",
             markdown_table(cmp_[["family", "task", "metric", "partner", "verdict", "explanation"]])
             if len(cmp_) else "No sharp metric with a scored partner.\n",
             "## Emergence scores (oriented so that higher is better)\n",
             markdown_table(em[["family", "task", "metric", "metric_kind", "n_scales",
                                "emergence_score", "ci_low", "ci_high", "sharpness", "status"]]),
             ]
    if len(curves.skipped):
        lines += ["## Metrics not scored\n", markdown_table(curves.skipped)]
    summary = "\n".join(lines)
    files.append(atomic_write_text(out / "summary.md", summary))
    return Analysis(curves, em, cmp_, files, summary)
