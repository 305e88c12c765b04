"""Tables: tidy (one value per row) or wide (one row per model, one column per task x metric), and
metadata tables of model sizes.

**Tidy**: columns ``model, task, metric, value`` (optional ``family, scale_params, scale_flops,
n_examples, stderr, higher_is_better, subtask, shots``; ``n``, ``n_samples``, ``num_examples`` are
read as ``n_examples``, and ``se``, ``std_err``, ``standard_error``, ``sem`` as ``stderr``).

**Wide**, as leaderboards and papers' supplementary CSVs are laid out: a model column (``--model-col``
or the first text column), value columns (``--metric-cols`` or every numeric column that is not a
size or a condition), condition columns (``--by``: prompt format, shots, ... kept as separate
curves) and replicate columns (``seed``, ``run``, ``replicate``: rows that differ only there are
averaged, with a t-interval across replicates).  A value column named ``<task>_<shots>_<metric>``
(``arc_25_acc``, ``gsm8k_5shot_exact_match``) or ``<task>_<metric>`` / ``<task> (<metric>)`` splits
into task, shots and metric where the metric is a known one; otherwise the column is the task and
the metric is ``score``.  A task column (``--task-col``, or a column named ``task`` in a table that
is not tidy) gives each row's task instead, and each value column is then a metric named as the
column (a per-run CSV: ``--task-col filename --metric exact_match,edit_distance``).  Empty cells and sentinels (``-100``, ``-1`` where the column is otherwise
in [0, 1], ``N/A``, ``-``) are reported, not scored.  A column ``X_stderr`` beside a value column
``X`` is X's stderr, and a column ``n``/``n_examples`` gives the row's values their test-set size
(both are attributes of a value, not values).  For a wide table one input row is one cell
(model x value column).

**Metadata** (``--models META``): a model column and sizes with units in the header: ``Size (B)``,
``Params (M)``, ``Tokens (T)``, ``FLOPs (1E21)``, ``Parameters``; optional ``family``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.location import as_location, is_remote, open_binary
from emergence_lens.sources.scale import parse_scale

__all__ = ["read_table", "read_metadata", "is_metadata_table", "count_rows", "TABLE_REQUIRED", "WideSpec", "split_column", "unit_factor"]

TABLE_REQUIRED = ("model", "task", "metric", "value")
_NUMERIC = ("scale_params", "scale_flops", "value", "n_examples", "stderr", "shots")
#: Tidy tables: other names of the optional ``n_examples`` and ``stderr`` columns.
_N_NAMES = ("n_examples", "n", "n_samples", "num_examples", "n-samples", "examples")
_SE_NAMES = ("stderr", "se", "std_err", "standard_error", "value_stderr", "sem")
_MODEL_NAMES = ("model", "model_name", "model name", "name", "models", "checkpoint", "llm")
_REPLICATE_NAMES = ("seed", "run", "replicate", "trial", "repeat")
_SIZE_WORDS = ("size", "params", "parameters", "n_params", "num_params", "tokens", "flops", "compute",
               "scale", "scale_params", "scale_flops", "train_tokens", "n_examples")
_SENTINELS = {"-100", "-1", "n/a", "na", "-", "--", "none", "null", ""}
_UNIT = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "g": 1e9, "t": 1e12, "": 1.0}


@dataclass(frozen=True)
class WideSpec:
    """User choices for wide tables (each optional where the column can be recognised)."""

    model_col: str | None = None
    task_col: str | None = None
    metric_cols: tuple[str, ...] = ()
    by: tuple[str, ...] = ()


def unit_factor(header: str) -> float | None:
    """``Size (B)`` -> 1e9, ``FLOPs (1E21)`` -> 1e21, ``Tokens (T)`` -> 1e12, ``Params`` -> 1;
    ``None`` when the unit is not one we read."""
    m = re.search(r"[\(\[]\s*([^\)\]]*)\s*[\)\]]", header)
    unit = (m.group(1) if m else "").strip().lower().replace("×", "x")
    if unit in _UNIT:
        return _UNIT[unit]
    m2 = re.fullmatch(r"(?:x\s*)?(?:1e|10\^)\s*([+-]?\d+)", unit)
    if m2:
        return 10.0 ** int(m2.group(1))
    return None


def _known_metric(name: str) -> bool:
    from emergence_lens.metrics import METRICS
    from emergence_lens.metrics.reported import metric_properties

    return name in METRICS or metric_properties(name) is not None


def split_column(col: str) -> tuple[str, float | None, str]:
    """``arc_25_acc`` -> (``arc``, 25, ``acc``); ``gsm8k_5shot_exact_match`` -> (``gsm8k``, 5,
    ``exact_match``); ``mmlu (acc)`` -> (``mmlu``, None, ``acc``); ``hellaswag`` -> (``hellaswag``,
    None, ``score``)."""
    c = col.strip()
    m = re.fullmatch(r"(.+?)\s*[\(\[]\s*([A-Za-z_][\w\-]*)\s*[\)\]]", c)
    if m and _known_metric(m.group(2).lower()):
        return m.group(1).strip(), None, m.group(2).lower()
    parts = c.split("_")
    for i in range(1, len(parts)):
        metric = "_".join(parts[i:]).lower()
        if _known_metric(metric):
            head = parts[:i]
            shots = None
            if len(head) >= 2:
                sm = re.fullmatch(r"(\d+)[-_]?(?:shots?)?", head[-1].lower())
                if sm:
                    shots = float(sm.group(1))
                    head = head[:-1]
            return "_".join(head), shots, metric
    return c, None, "score"


def _read_frame(p: Path, encoding: str) -> pd.DataFrame:
    if is_remote(p):  # an object-store file: pandas reads the opened file
        with open_binary(p) as fh:
            return _read_frame_from(fh, p.suffix, encoding)
    return _read_frame_from(p, p.suffix, encoding)


def _read_frame_from(src: Any, suffix: str, encoding: str) -> pd.DataFrame:
    if suffix.lower() == ".parquet" or _head(src, 4) == b"PAR1":
        return pd.read_parquet(src)
    return pd.read_csv(src, sep=None, engine="python", encoding=encoding, dtype=str, keep_default_na=False)


def _head(src: Any, n: int) -> bytes:
    """The first ``n`` bytes of a path or an open binary file (left at its start)."""
    if isinstance(src, Path):
        with src.open("rb") as fh:
            return fh.read(n)
    head = src.read(n)
    src.seek(0)
    return head


def count_rows(path: str | Path, encoding: str = "utf-8") -> int:
    """Data rows of a CSV/TSV/Parquet table, read as :func:`read_table` reads it."""
    return len(_read_frame(as_location(path), encoding))


def _find(cols: Sequence[str], names: Sequence[str]) -> str | None:
    low = {c.lower().strip(): c for c in cols}
    for n in names:
        if n in low:
            return low[n]
    return None


def _number(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        f = float(v)
        return f if np.isfinite(f) else None
    s = str(v).strip().replace(",", "") if isinstance(v, str) else None
    if not s:
        return None
    pct = s.endswith("%")
    try:
        f = float(s.rstrip("%"))
    except ValueError:
        return None
    if not np.isfinite(f):
        return None
    return f / 100.0 if pct else f


def read_table(path: str | Path, issues: IssueLog, *, spec: WideSpec | None = None,
               encoding: str = "utf-8") -> tuple[list[dict[str, Any]], int]:
    """Curve rows of a tidy or wide table, and the number of input rows read (see the module
    docstring); every row not loaded is reported (file, row, column)."""
    p = as_location(path)
    spec = spec or WideSpec()
    try:
        df = _read_frame(p, encoding)
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported, not raised
        issues.add(p, None, None, f"unreadable table ({type(exc).__name__}: {str(exc)[:120]}); file skipped", "error")
        return [], 0
    df.columns = [str(c) for c in df.columns]
    rename = {}
    if spec.model_col:
        if spec.model_col not in df.columns:
            issues.add(p, None, spec.model_col, f"--model-col {spec.model_col!r} is not a column "
                       f"(columns: {', '.join(df.columns[:12])}); file skipped", "error")
            return [], 0
        rename[spec.model_col] = "model"
    if spec.task_col:
        if spec.task_col not in df.columns:
            issues.add(p, None, spec.task_col, f"--task-col {spec.task_col!r} is not a column; file skipped", "error")
            return [], 0
        rename[spec.task_col] = "task"
    df = df.rename(columns=rename)
    if all(c in df.columns for c in TABLE_REQUIRED):
        lower = {c.lower().strip(): c for c in df.columns}
        for canon, names in (("n_examples", _N_NAMES), ("stderr", _SE_NAMES)):
            found = next((lower[n] for n in names if n in lower), None)
            if found is not None and canon not in df.columns:
                df = df.rename(columns={found: canon})
        return _read_tidy(p, df, issues, spec.metric_cols)
    return _read_wide(p, df, issues, spec)


def _read_tidy(p: Path, df: pd.DataFrame, issues: IssueLog,
               metrics: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], int]:
    """Rows of a tidy table; with ``metrics`` (``--metric``) only those metrics, each other metric's
    rows reported as left out (one issue per metric, its row count)."""
    n_rows = len(df)
    if metrics and "metric" in df:
        names = df["metric"].astype(str)
        for name, n in names[~names.isin(metrics)].value_counts(sort=False).sort_index().items():
            issues.add(p, None, "metric", f"{int(n)} row(s) of metric {name!r} left out: not among --metric",
                       "info", rows=int(n))
        df = df[names.isin(metrics)]
    rows = []
    line_offset = 2 if p.suffix.lower() != ".parquet" else 0  # CSV: header is line 1
    for i, rec in zip(df.index, df.to_dict(orient="records"), strict=True):
        bad = None
        for col in _NUMERIC:
            if col not in rec:
                continue
            raw = rec.get(col)
            if col != "value" and (raw is None or (isinstance(raw, str) and not raw.strip())
                                   or (isinstance(raw, float) and np.isnan(raw))):
                rec[col] = None
                continue  # optional column left empty
            value = _number(raw)
            if value is None:
                try:
                    nonfinite = not np.isfinite(float(str(raw).strip()))
                except ValueError:
                    nonfinite = False
                bad = (col, f"{col} is NaN or infinite ({raw!r})" if nonfinite else f"{raw!r} is not a number")
                break
            rec[col] = value
        if bad is None and (not isinstance(rec.get("model"), str) or not str(rec.get("model")).strip()):
            bad = ("model", "no model name")
        if bad:
            issues.add(p, i + line_offset, bad[0], f"{bad[1]}; row skipped", rows=1)
            continue
        for key in ("family", "subtask"):
            if key in rec and (rec[key] is None or (isinstance(rec[key], str) and not rec[key].strip())
                               or (isinstance(rec[key], float) and np.isnan(rec[key]))):
                rec[key] = None
        if "higher_is_better" in rec and isinstance(rec["higher_is_better"], str):
            rec["higher_is_better"] = {"true": True, "false": False}.get(rec["higher_is_better"].strip().lower())
        rec["task"] = str(rec["task"])
        rec["metric"] = str(rec["metric"])
        rec["source"] = str(p)
        rows.append(rec)
    return rows, n_rows


def _read_wide(p: Path, df: pd.DataFrame, issues: IssueLog, spec: WideSpec) -> tuple[list[dict[str, Any]], int]:
    cols = list(df.columns)
    model_col = "model" if "model" in cols else _find(cols, _MODEL_NAMES)
    numeric = {c: df[c].map(_number) for c in cols}
    share_numeric = {c: float(numeric[c].notna().mean()) if len(df) else 0.0 for c in cols}
    if model_col is None:
        text_cols = [c for c in cols if share_numeric[c] < 0.5]
        model_col = text_cols[0] if text_cols else None
    if model_col is None:
        issues.add(p, None, None, "neither a tidy table (model, task, metric, value) nor a wide one (no model "
                   "column: give --model-col); file skipped", "error")
        return [], 0
    rep_cols = [c for c in cols if c.lower().strip() in _REPLICATE_NAMES and c != model_col]
    by = list(spec.by)
    # a task column (--task-col, or one named ``task``): each row's task, the value columns its metrics
    task_col = "task" if "task" in cols and "task" != model_col and "task" not in by else None
    for b in by:
        if b not in cols:
            issues.add(p, None, b, f"--by {b!r} is not a column; file skipped", "error")
            return [], 0
    if spec.metric_cols:
        missing = [c for c in spec.metric_cols if c not in cols]
        if missing:
            issues.add(p, None, missing[0], f"--metric: {missing} not among the table's columns; file skipped", "error")
            return [], 0
        value_cols = list(spec.metric_cols)
    else:
        skip = {model_col, *rep_cols, *by, task_col}
        value_cols = [c for c in cols if c not in skip and share_numeric[c] >= 0.5
                      and c.lower().split("(")[0].strip() not in _SIZE_WORDS]
        if not by:  # text columns other than the model are conditions (prompt format, ...)
            by = [c for c in cols if c not in skip and c not in value_cols and share_numeric[c] < 0.5]
    # ``n``/``n_examples`` gives every value of its row a test-set size; ``X_stderr`` is X's stderr
    n_col = next((c for c in cols if c.lower().strip() in _N_NAMES and c != model_col), None)
    value_cols = [c for c in value_cols if c not in (n_col, task_col)]
    se_of = {c.replace("_stderr", "", 1): c for c in value_cols if "_stderr" in c
             and c.replace("_stderr", "", 1) in value_cols}
    value_cols = [c for c in value_cols if c not in se_of.values()]
    if not value_cols:
        issues.add(p, None, None, "wide table without numeric value columns (give --metric-cols); file skipped",
                   "error")
        return [], 0
    line_offset = 2 if p.suffix.lower() != ".parquet" else 0
    cells: dict[tuple, list[float]] = {}
    extra: dict[tuple, dict[str, list[float]]] = {}
    n_read = 0
    order: list[tuple] = []
    # a -1 is a sentinel only in a column whose values otherwise lie in [0, 1]
    in_unit = {c: bool(len(v := numeric[c].dropna()) and ((v >= 0) & (v <= 1)).mean() > 0.5) for c in value_cols}
    for i in range(len(df)):
        model = str(df[model_col].iat[i]).strip()
        cond = tuple(str(df[b].iat[i]).strip() for b in by)
        row_task = "" if task_col is None or pd.isna(df[task_col].iat[i]) else str(df[task_col].iat[i]).strip()
        for c in value_cols:
            n_read += 1
            raw = df[c].iat[i]
            v = numeric[c].iat[i]
            if not model:
                issues.add(p, i + line_offset, model_col, "no model name; cell not scored", rows=1)
                continue
            if task_col is not None and not row_task:
                issues.add(p, i + line_offset, spec.task_col or task_col, "no task; cell not scored", rows=1)
                continue
            text = str(raw).strip().lower() if raw is not None else ""
            if v is None or pd.isna(v) or (v == -1 and in_unit[c]) or (v == -100):
                why = "empty cell" if not text else f"sentinel/non-numeric value {str(raw)[:20]!r}"
                issues.add(p, i + line_offset, c, f"{why}; not scored", rows=1)
                continue
            key = (model, row_task, cond, c)
            if key not in cells:
                cells[key] = []
                extra[key] = {"stderr": [], "n_examples": []}
                order.append(key)
            cells[key].append(float(v))
            for name, col in (("stderr", se_of.get(c)), ("n_examples", n_col)):
                if col is not None:
                    x = numeric[col].iat[i]
                    if x is not None and pd.notna(x) and x >= 0:
                        extra[key][name].append(float(x))

    rows = []
    for key in order:
        model, row_task, cond, c = key
        vals = np.array(cells[key])
        # with a task column, a value column is a metric by its whole name; else it names task and metric
        task, shots, metric = (row_task, None, c) if task_col is not None else split_column(c)
        if by:
            task = f"{task} [{', '.join(f'{b}={v}' for b, v in zip(by, cond, strict=True))}]"
        row = {"model": model, "task": task, "metric": metric, "value": float(vals.mean()), "shots": shots,
               "source": str(p), "replicates": len(vals), "_cells": len(vals)}
        if len(vals) == 1:  # a replicate group's mean has no single stderr or n
            for name, xs in extra[key].items():
                if len(xs) == 1:
                    row[name] = xs[0]

        if len(vals) > 1:
            half = float(special.stdtrit(len(vals) - 1, 0.975) * vals.std(ddof=1) / np.sqrt(len(vals)))
            row["replicate_low"], row["replicate_high"] = row["value"] - half, row["value"] + half
        rows.append(row)
    # every cell of a replicate group loads (averaged into one point)
    return rows, n_read


_PARAM_WORDS = ("size", "params", "parameters", "n_params", "num_params", "model size", "scale_params", "#params",
                "param_count", "n_parameters", "num_parameters", "parameter count", "model_size")
_TOKEN_WORDS = ("tokens", "train_tokens", "training tokens", "train tokens", "data", "n_tokens")
_FLOP_WORDS = ("flops", "compute", "training flops", "train flops", "scale_flops", "train_flops")


def _size_kind(col: str) -> str | None:
    word = re.split(r"[\(\[]", col)[0].strip().lower()
    return ("scale_params" if word in _PARAM_WORDS else "train_tokens" if word in _TOKEN_WORDS
            else "scale_flops" if word in _FLOP_WORDS else None)


def _model_column(cols: Sequence[str]) -> str | None:
    return _find(cols, _MODEL_NAMES) or next((c for c in cols if "model" in c.lower()), None)


def is_metadata_table(path: str | Path, encoding: str = "utf-8") -> bool:
    """A table of model sizes rather than results, recognised by content: not tidy (no ``task``,
    ``metric``, ``value``), a model column (``model``, ``model_dir_name``, ...), at least one size
    column (``n_params``, ``Params (B)``, ``Tokens (T)``, ``FLOPs``) and no other numeric column."""
    try:
        df = _read_frame(as_location(path), encoding)
    except Exception:  # noqa: BLE001 - not readable here: read_table reports it
        return False
    cols = [str(c) for c in df.columns]
    if all(c in cols for c in TABLE_REQUIRED) or not len(df):
        return False
    model_col = _model_column(cols)
    if model_col is None:
        return False
    sizes = [c for c in cols if c != model_col and _size_kind(c)]
    numeric = [c for c in cols if c != model_col and float(df[c].map(_number).notna().mean()) >= 0.5]
    return bool(sizes) and all(c in sizes for c in numeric)


def read_metadata(path: str | Path, encoding: str = "utf-8",
                  issues: IssueLog | None = None) -> dict[str, dict[str, Any]]:
    """``{model: {"scale_params": N, "train_tokens": D, "scale_flops": C, "family": f}}`` from a
    metadata table with units in its headers (module docstring).

    Raises:
        ValueError: no model column, or no size column whose unit can be read (named).
    """
    p = as_location(path)
    df = _read_frame(p, encoding)
    df.columns = [str(c) for c in df.columns]
    model_col = _model_column(list(df.columns)) or df.columns[0]
    found: dict[str, tuple[str, float]] = {}
    for c in df.columns:
        kind = _size_kind(c) if c != model_col else None
        if kind:
            f = unit_factor(c)
            if f is None:
                raise ValueError(f"{p}: cannot read the unit of column {c!r} (use e.g. 'Size (B)', 'Tokens (T)', "
                                 f"'FLOPs (1E21)')")
            found[kind] = (c, f)
    if "scale_params" not in found and "scale_flops" not in found:
        raise ValueError(f"{p}: no size column (e.g. 'Size (B)', 'Params (M)', 'FLOPs (1E21)') among "
                         f"{list(df.columns)}")
    fam_col = _find(list(df.columns), ("family", "model family"))
    out: dict[str, dict[str, Any]] = {}
    line_offset = 2 if p.suffix.lower() != ".parquet" else 0
    for i in range(len(df)):
        name = str(df[model_col].iat[i]).strip()
        if not name:
            if issues is not None:
                issues.add(p, i + line_offset, model_col, "no model name; row not used", rows=1)
            continue
        entry: dict[str, Any] = {}
        for kind, (c, f) in found.items():
            raw = df[c].iat[i]
            v = _number(raw)
            if v is None and isinstance(raw, str) and (sized := parse_scale(raw.strip())) is not None:
                v, f = sized, 1.0  # "7B" in a size column
            if v is not None and v > 0:
                entry[kind] = v * f
        if "scale_flops" not in entry and "scale_params" in entry and "train_tokens" in entry:
            entry["scale_flops"] = 6.0 * entry["scale_params"] * entry["train_tokens"]
        if fam_col and str(df[fam_col].iat[i]).strip():
            entry["family"] = str(df[fam_col].iat[i]).strip()
        if issues is not None and not any(k in entry for k in ("scale_params", "scale_flops")):
            issues.add(p, i + line_offset, found.get("scale_params", found.get("scale_flops", ("", 1)))[0],
                       f"model {name!r}: no size in this row; not used", rows=1)
            continue
        out[name] = entry
    return out
