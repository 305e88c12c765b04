"""Generic tidy tables (CSV or Parquet): ``model, family, scale_params, task, metric, value``
(optional ``scale_flops, n_examples, higher_is_better, subtask, shots``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens.sources.issues import IssueLog

__all__ = ["read_table", "TABLE_REQUIRED"]

TABLE_REQUIRED = ("model", "task", "metric", "value")
_NUMERIC = ("scale_params", "scale_flops", "value", "n_examples", "shots")


def read_table(path: str | Path, issues: IssueLog) -> list[dict[str, Any]]:
    """Rows of a table; a row with a non-numeric or NaN value is reported (file, row, column) and
    skipped, the rest load.  ``family`` and ``scale_params`` may be absent (then inferred)."""
    p = Path(path)
    try:
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported, not raised
        issues.add(p, None, None, f"unreadable table ({exc}); file skipped", "error")
        return []
    missing = [c for c in TABLE_REQUIRED if c not in df.columns]
    if missing:
        issues.add(p, None, missing[0], f"missing column(s) {missing}; file skipped", "error")
        return []
    rows = []
    line_offset = 2 if p.suffix != ".parquet" else 0  # CSV: header is line 1
    for i, rec in enumerate(df.to_dict(orient="records")):
        bad = None
        for col in _NUMERIC:
            value = rec.get(col)
            if col != "value" and (value is None or (isinstance(value, float) and np.isnan(value))):
                continue  # optional column left empty
            try:
                value = float(value)
            except (TypeError, ValueError):
                bad = (col, f"{value!r} is not a number")
                break
            if col == "value" and not np.isfinite(value):
                bad = (col, "value is NaN or infinite")
                break
            rec[col] = value
        if bad:
            issues.add(p, i + line_offset, bad[0], f"{bad[1]}; row skipped")
            continue
        rec["source"] = str(p)
        rows.append(rec)
    return rows
