"""Validate, read and write records (Parquet, or JSON Lines for hand-made input)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from emergence_lens._io import atomic_path, iter_jsonl
from emergence_lens.codes import combine_codes, one_value
from emergence_lens.records.schema import KEY_COLUMNS, LIST_COLUMNS, RECORD_SCHEMA, REQUIRED_COLUMNS

__all__ = [
    "RecordsError",
    "validate_records",
    "read_records",
    "write_records",
    "records_from_rows",
]

#: Log-probabilities above this are rejected (allows float round-off above 0).
LOGPROB_TOLERANCE = 1e-6


class RecordsError(ValueError):
    """A records table failed validation.

    Attributes:
        source: file name (or ``"<memory>"``).
        row: 0-based row index in the file, or ``None`` when the problem is table-wide.
        column: offending column, or ``None``.
    """

    def __init__(self, message: str, *, source: str = "<memory>", row: int | None = None,
                 column: str | None = None) -> None:
        self.source = source
        self.row = row
        self.column = column
        self.message = message
        where = source
        if row is not None:
            where += f", row {row} (0-based)"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


def _first_true(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _cast_column(col: pa.ChunkedArray | pa.Array, field: pa.Field, source: str) -> pa.Array:
    """Cast one column to the schema type; on failure find and name the first bad row."""
    if isinstance(col, pa.ChunkedArray):  # one chunk is taken as it is (combining would copy it)
        arr = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    else:
        arr = col
    if arr.type.equals(field.type):
        return arr
    try:
        return arr.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        # Slow path only on failure: try each value to locate the culprit.
        for i in range(len(arr)):
            try:
                arr.slice(i, 1).cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                raise RecordsError(
                    f"value {arr[i].as_py()!r} cannot be read as {field.type}",
                    source=source, row=i, column=field.name,
                ) from exc
        raise RecordsError(f"column of type {arr.type} cannot be read as {field.type}",
                           source=source, column=field.name) from exc


def _check_optional_float(arr: pa.Array, name: str, source: str, *, positive: bool) -> None:
    """Non-null values must be finite and > 0 (``positive``) or >= 0."""
    values = arr.to_numpy(zero_copy_only=False).astype(float)
    present = ~arr.is_null().to_numpy(zero_copy_only=False)
    bad = present & (~np.isfinite(values) | ((values <= 0) if positive else (values < 0)))
    if bad.any():
        i = _first_true(bad)
        raise RecordsError(f"{name} must be finite and {'>' if positive else '>='} 0 when given, got {values[i]!r}",
                           source=source, row=i, column=name)


def _check_list_values(arr: pa.Array, name: str, source: str) -> None:
    """Log-probabilities: no NaN, no +inf, nothing above 0 (beyond round-off), no empty list."""
    if arr.null_count == len(arr):
        return
    lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
    lengths = np.where(np.isnan(lengths.astype(float)), -1, lengths).astype(int)
    if name == "choice_logprobs" and (lengths == 0).any():
        raise RecordsError("empty list of choices", source=source, row=_first_true(lengths == 0),
                           column=name)
    flat = pc.list_flatten(arr).to_numpy(zero_copy_only=False).astype(float)
    bad = np.isnan(flat) | (flat > LOGPROB_TOLERANCE)
    if bad.any():
        offsets = np.concatenate([[0], np.cumsum(np.maximum(lengths, 0))])
        pos = _first_true(bad)
        row = int(np.searchsorted(offsets, pos, side="right") - 1)
        raise RecordsError(
            f"log-probability {float(flat[pos])!r} is not a number <= 0", source=source, row=row,
            column=name,
        )


def _check_greedy_lengths(greedy: pa.Array, logprobs: pa.Array, source: str) -> None:
    """Per-token greedy flags, where given with log-probs, have one flag per target token."""
    if greedy.null_count == len(greedy):
        return
    g = pc.list_value_length(greedy).to_numpy(zero_copy_only=False).astype(float)
    lp = pc.list_value_length(logprobs).to_numpy(zero_copy_only=False).astype(float)
    both = ~np.isnan(g) & ~np.isnan(lp)
    bad = both & (g != lp)
    if bad.any():
        i = _first_true(bad)
        raise RecordsError(f"{int(g[i])} greedy flags for {int(lp[i])} target token log-probs",
                           source=source, row=i, column="target_token_greedy")
    if (~np.isnan(g) & (g == 0)).any():
        raise RecordsError("empty list of greedy flags", source=source, row=_first_true(~np.isnan(g) & (g == 0)),
                           column="target_token_greedy")


def _codes(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    """Integer codes of a column's distinct values (null gets one more code) and how many there are;
    a chunked column is encoded against one dictionary without being copied into one chunk.  A text
    column of one value on every row (a file's family, model and task) is code 0 throughout, as its
    dictionary would give, found in one vectorised comparison with its first value."""
    if one_value(col) is not None:
        return np.zeros(len(col), dtype=np.int64), 2
    enc = pc.dictionary_encode(col)
    chunks = enc.chunks if isinstance(enc, pa.ChunkedArray) else [enc]
    if not chunks:
        return np.zeros(0, dtype=np.int64), 1
    size = len(chunks[0].dictionary)
    parts = []
    for ch in chunks:
        idx = ch.indices
        codes = idx.to_numpy(zero_copy_only=False)
        if idx.null_count:
            codes = np.where(idx.is_null().to_numpy(zero_copy_only=False), size, codes)
        parts.append(codes.astype(np.int64, copy=False))
    return np.concatenate(parts), size + 1


def _combined_codes(table: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """One int64 per row identifying its tuple of values in ``columns`` (dictionary codes, combined)."""
    return combine_codes((_codes(table.column(name)) for name in columns), table.num_rows)


def validate_across(table: pa.Table, source: str = "<memory>",
                    describe: Callable[[int], str] | None = None) -> None:
    """The checks of :func:`validate_records` that span parts of a table whose parts were each
    validated on their own (e.g. one per file): ``(family, model, task, example_id)`` unique, one
    ``scale_params`` and ``pretrain_loss`` per (family, model).  Works on chunked columns without
    copying them.  ``describe(row)``: how a message names another row (e.g. its file and line,
    which do not depend on how the parts were put together); default ``row N``."""
    if table.num_rows:
        _check_unique_keys(table, source, describe)
        _check_one_value_per_model(table, source)


def _check_unique_keys(out: pa.Table, source: str, describe: Callable[[int], str] | None = None) -> None:
    """``(family, model, task, example_id)`` is unique; the error names the first duplicated row and
    its twin.  The rows are sorted (stably) by the codes of the first three, which have few values,
    then by ``example_id`` itself: a sort needs a few bytes a row, where coding every distinct id
    (a hash table of them) took ~170."""
    *few, many = KEY_COLUMNS
    low = _combined_codes(out, few)
    ids = out.column(many)
    order = pc.sort_indices(pa.table({"low": low, "id": ids}),
                            sort_keys=[("low", "ascending"), ("id", "ascending")]).to_numpy()
    a, b = order[:-1], order[1:]
    same = np.flatnonzero(low[a] == low[b])
    if len(same):
        equal = pc.equal(ids.take(pa.array(a[same])), ids.take(pa.array(b[same])))
        same = same[equal.fill_null(False).to_numpy(zero_copy_only=False)]
    if len(same):
        j = same[np.argmin(order[same])]
        first, twin = int(order[j]), int(order[j + 1])
        rec = {c: out.column(c)[first].as_py() for c in KEY_COLUMNS}
        also = describe(twin) if describe is not None else f"row {twin}"
        raise RecordsError(f"duplicate record {rec} (also at {also})", source=source, row=first,
                           column="example_id")


def _check_one_value_per_model(out: pa.Table, source: str) -> None:
    """One ``scale_params`` and one ``pretrain_loss`` per (family, model)."""
    uniq, first_row, group = np.unique(_combined_codes(out, ("family", "model")), return_index=True,
                                       return_inverse=True)
    for col in ("scale_params", "pretrain_loss"):
        values = out.column(col).to_numpy().astype(float, copy=False)
        first = values[first_row][group]
        bad = ~((first == values) | (np.isnan(first) & np.isnan(values)))
        if bad.any():
            i = _first_true(bad)
            raise RecordsError(
                f"model {out.column('model')[i].as_py()!r} has more than one {col} value "
                f"({values[i]!r} vs {first[i]!r})",
                source=source, row=i, column=col,
            )


def _check_pass_counts(attempts: pa.Array, passes: pa.Array, source: str) -> None:
    """PassUntil counts: given together, ``attempts >= 1`` and ``0 <= passes <= attempts``."""
    if attempts.null_count == len(attempts) and passes.null_count == len(passes):
        return
    has_a = ~attempts.is_null().to_numpy(zero_copy_only=False)
    has_p = ~passes.is_null().to_numpy(zero_copy_only=False)
    if (has_a != has_p).any():
        i = _first_true(has_a != has_p)
        raise RecordsError("attempts and passes must be given together", source=source, row=i,
                           column="passes" if has_a[i] else "attempts")
    a = np.where(has_a, attempts.fill_null(1).to_numpy(zero_copy_only=False), 1)
    p = np.where(has_p, passes.fill_null(0).to_numpy(zero_copy_only=False), 0)
    bad = (a < 1) | (p < 0) | (p > a)
    if bad.any():
        i = _first_true(bad)
        raise RecordsError(f"{p[i]} passes in {a[i]} attempts is impossible (need attempts >= 1, "
                           "0 <= passes <= attempts)", source=source, row=i, column="passes")


def validate_records(data: pa.Table | pd.DataFrame, source: str = "<memory>") -> pa.Table:
    """Check a records table against :data:`RECORD_SCHEMA` and return it cast to that schema.

    Checks, each failing with a :class:`RecordsError` naming source, row and column:

    * required columns present; values castable to the schema type;
    * no nulls in required columns; ``scale_params`` finite and > 0; ``scale_flops`` finite
      and > 0 where present;
    * log-probabilities are numbers <= 0 (``-inf`` allowed, NaN not); ``choice_logprobs`` lists
      are non-empty and ``correct_choice`` indexes into them (both present or both absent);
    * ``target_token_greedy`` has one flag per target token where log-probs are given too;
    * ``(family, model, task, example_id)`` unique; one ``scale_params`` (and ``pretrain_loss``)
      per (family, model).

    Missing nullable columns are added as nulls; extra columns are kept after the schema columns.
    No row is ever removed.
    """
    table = _frame_to_table(data, source) if isinstance(data, pd.DataFrame) else data
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise RecordsError(f"missing required column(s) {missing}; found {table.column_names}",
                           source=source, column=missing[0])
    n = table.num_rows
    arrays: list[pa.Array] = []
    for field in RECORD_SCHEMA:
        if field.name in table.column_names:
            arr = _cast_column(table.column(field.name), field, source)
        else:
            arr = pa.nulls(n, type=field.type)
        if not field.nullable and arr.null_count:
            row = _first_true(arr.is_null().to_numpy(zero_copy_only=False))
            raise RecordsError("required value is missing (null)", source=source, row=row,
                               column=field.name)
        arrays.append(arr)
    cols = dict(zip(RECORD_SCHEMA.names, arrays, strict=True))

    scale = cols["scale_params"].to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(scale) | (scale <= 0)
    if bad.any():
        i = _first_true(bad)
        raise RecordsError(f"scale_params must be finite and > 0, got {scale[i]!r}", source=source,
                           row=i, column="scale_params")
    _check_optional_float(cols["scale_flops"], "scale_flops", source, positive=True)
    _check_optional_float(cols["reconstruction_mse"], "reconstruction_mse", source, positive=False)
    _check_optional_float(cols["pretrain_loss"], "pretrain_loss", source, positive=True)
    _check_greedy_lengths(cols["target_token_greedy"], cols["target_token_logprobs"], source)

    for name in LIST_COLUMNS:
        _check_list_values(cols[name], name, source)

    _check_pass_counts(cols["attempts"], cols["passes"], source)

    has_choices = ~cols["choice_logprobs"].is_null().to_numpy(zero_copy_only=False)
    has_correct = ~cols["correct_choice"].is_null().to_numpy(zero_copy_only=False)
    mismatch = has_choices != has_correct
    if mismatch.any():
        i = _first_true(mismatch)
        which = "choice_logprobs" if has_choices[i] else "correct_choice"
        raise RecordsError("choice_logprobs and correct_choice must be given together",
                           source=source, row=i, column=which)
    if has_choices.any():
        n_choices = pc.list_value_length(cols["choice_logprobs"]).to_numpy(zero_copy_only=False)
        correct = cols["correct_choice"].to_numpy(zero_copy_only=False)
        n_choices = np.where(has_choices, n_choices, 1).astype(np.int64)
        correct = np.where(has_correct, correct, 0).astype(np.int64)
        bad = (correct < 0) | (correct >= n_choices)
        if bad.any():
            i = _first_true(bad)
            raise RecordsError(
                f"correct_choice {correct[i]} is out of range for {n_choices[i]} choices",
                source=source, row=i, column="correct_choice",
            )

    out = pa.Table.from_arrays(arrays, schema=RECORD_SCHEMA)
    for name in table.column_names:
        if name not in RECORD_SCHEMA.names:
            out = out.append_column(name, table.column(name))

    validate_across(out, source)
    return out


def _read_jsonl(path: Path) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for lineno, obj in iter_jsonl(path):
        if isinstance(obj, json.JSONDecodeError):
            raise RecordsError(f"line {lineno} is not valid JSON: {obj.msg}", source=str(path), row=len(rows))
        if not isinstance(obj, dict):
            raise RecordsError(f"line {lineno} is not a JSON object", source=str(path), row=len(rows))
        rows.append(obj)
    return _rows_to_table(rows, str(path))


_CONVERT_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError)


def _column_to_arrow(name: str, values: Any, source: str) -> pa.Array:
    """Convert one column; for a schema column, a value of the wrong type is named by row."""
    field = RECORD_SCHEMA.field(name) if name in RECORD_SCHEMA.names else None
    is_series = isinstance(values, pd.Series)
    try:
        if is_series:
            return pa.Array.from_pandas(values, type=field.type if field else None)
        return pa.array(values, type=field.type if field else None)
    except _CONVERT_ERRORS as exc:
        items = values.tolist() if is_series else list(values)
        if field is None:
            raise RecordsError(f"column cannot be converted ({exc})", source=source,
                               column=name) from exc
        for i, v in enumerate(items):
            if v is None or (isinstance(v, float) and np.isnan(v) and field.type != pa.float64()):
                continue
            try:
                pa.array([v], type=field.type)
            except _CONVERT_ERRORS as inner:
                raise RecordsError(f"value {v!r} cannot be read as {field.type}", source=source,
                                   row=i, column=name) from inner
        raise RecordsError(f"column cannot be read as {field.type} ({exc})", source=source,
                           column=name) from exc


def _frame_to_table(df: pd.DataFrame, source: str) -> pa.Table:
    df = df.reset_index(drop=True)
    return pa.table({str(c): _column_to_arrow(str(c), df[c], source) for c in df.columns})


def _rows_to_table(rows: list[Mapping[str, Any]], source: str) -> pa.Table:
    names: list[str] = list(RECORD_SCHEMA.names)
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    if not rows:
        return RECORD_SCHEMA.empty_table()
    return pa.table({n: _column_to_arrow(n, [row.get(n) for row in rows], source) for n in names})


def records_from_rows(rows: Iterable[Mapping[str, Any]], source: str = "<memory>") -> pd.DataFrame:
    """Build and validate a records DataFrame from dicts (one per example)."""
    return records_to_pandas(validate_records(_rows_to_table(list(rows), source), source))


def records_to_pandas(table: pa.Table) -> pd.DataFrame:
    """The records frame every analysis reads: list columns (log-probs, greedy flags) stay Arrow
    lists (``pd.ArrowDtype``), so millions of examples cost no Python object per cell and the metrics
    read them as flat arrays; ``correct_choice`` is a nullable integer.  The table's buffers are
    released as they are converted: do not use ``table`` afterwards."""
    def mapper(t: pa.DataType) -> Any:
        return pd.ArrowDtype(t) if pa.types.is_list(t) else None

    df = table.to_pandas(types_mapper=mapper, self_destruct=True)
    for name in ("correct_choice", "attempts", "passes"):
        if name in df.columns:
            df[name] = df[name].astype("Int64")
    return df


def read_records(path: str | os.PathLike[str], *, validate: bool = True) -> pd.DataFrame:
    """Read a records file (``.parquet`` or ``.jsonl``) and validate it.

    Raises:
        RecordsError: naming the file, row (0-based) and column of the first problem.
        FileNotFoundError: if ``path`` does not exist.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"records file not found: {p}")
    if p.suffix in {".jsonl", ".ndjson"}:
        table = _read_jsonl(p)
    else:
        try:
            table = pq.read_table(p)
        except (pa.ArrowInvalid, OSError) as exc:
            raise RecordsError(f"not a readable Parquet file ({exc})", source=str(p)) from exc
    if validate:
        table = validate_records(table, source=str(p))
    return records_to_pandas(table)


def write_records(data: pd.DataFrame | pa.Table, path: str | os.PathLike[str]) -> Path:
    """Validate ``data`` and write it to Parquet atomically (temp file + rename)."""
    table = validate_records(data, source=str(path))
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)
