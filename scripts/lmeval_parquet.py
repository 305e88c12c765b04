"""lm-eval samples (JSON lines) as Parquet, one row per sample, the layout of the hub's "details"
datasets: each top-level field a column, typed by Arrow where it can be, else stored as its JSON
text (lm-eval's per-sample ``brier_score: [1, "[0.25 ...]"]`` is a mixed list).  Results files
are copied as they are.

    python scripts/lmeval_parquet.py tests/data/lmeval /tmp/parquet/lmeval
"""

from __future__ import annotations

import argparse
import json
import shutil
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    a = ap.parse_args()
    n = 0
    for f in sorted(p for p in a.src.rglob("*") if p.is_file()):
        out = a.dst / f.relative_to(a.src)
        out.parent.mkdir(parents=True, exist_ok=True)
        if f.suffix == ".jsonl" and f.name.startswith("samples_"):
            jsonl_to_parquet(f, out.with_suffix(".parquet"))
            n += 1
        else:
            shutil.copy(f, out)
    print(f"{a.dst}: {n} samples files as Parquet")


if __name__ == "__main__":
    main()
