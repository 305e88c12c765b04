"""The test suite's handle on ``scripts/lmeval_parquet.py`` (lm-eval samples as hub-style Parquet)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "lmeval_parquet", Path(__file__).resolve().parents[1] / "scripts" / "lmeval_parquet.py")
assert _spec is not None and _spec.loader is not None
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)

rows_to_parquet = _mod.rows_to_parquet
jsonl_to_parquet = _mod.jsonl_to_parquet
