"""lm-eval samples (JSON lines) as Parquet, one row per sample, columns as the hub's "details"
datasets hold them: each top-level field a column, typed by Arrow where it can be, else stored as
its JSON text (lm-eval's per-sample ``brier_score: [1, "[0.25 ...]"]`` is a mixed list)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def rows_to_parquet(rows: list[dict], dest: Path) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    cols = {}
    for k in keys:
        vals = [r.get(k) for r in rows]
        try:
            cols[k] = pa.array(vals)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            cols[k] = pa.array([None if v is None else json.dumps(v) for v in vals])
    pq.write_table(pa.table(cols), dest)


def jsonl_to_parquet(src: Path, dest: Path) -> Path:
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows_to_parquet(rows, dest)
    return dest
