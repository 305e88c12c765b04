"""Markdown tables for summaries (no extra dependency: a small pipe-table writer)."""

from __future__ import annotations

import math
import re

import pandas as pd

from emergence_lens.naming import code_span

__all__ = ["markdown_table", "NAME_COLUMNS"]


def _cell(v: object, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return re.sub(r"[\r\n\u2028\u2029]+", " ", str(v)).replace("|", "\\|")


#: Columns that hold names from the user's data: shown as code spans (literal, one line).
NAME_COLUMNS = frozenset({"family", "model", "task", "subtask", "metric", "partner", "file", "source", "key"})


def markdown_table(df: pd.DataFrame, digits: int = 3) -> str:
    """Render ``df`` as a GitHub pipe table (floats to ``digits`` significant digits).  Cells of the
    name columns (:data:`NAME_COLUMNS`) are code spans: a name from the data shows literally (no
    heading, link or emphasis can start in it), on one line."""
    cols = [str(c) for c in df.columns]
    names = [c in NAME_COLUMNS for c in cols]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(code_span(v) if is_name and _cell(v, digits) else _cell(v, digits)
                                       for v, is_name in zip(row, names, strict=True)) + " |")
    return "\n".join(lines) + "\n"
