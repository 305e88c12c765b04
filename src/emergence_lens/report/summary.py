"""Markdown tables for summaries (no extra dependency: a small pipe-table writer)."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["markdown_table"]


def _cell(v: object, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, digits: int = 3) -> str:
    """Render ``df`` as a GitHub pipe table (floats to ``digits`` significant digits)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, digits) for v in row) + " |")
    return "\n".join(lines) + "\n"
