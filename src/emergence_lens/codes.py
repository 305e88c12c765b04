"""One int64 key per row from several columns' integer codes (no Python object per row).

Used wherever rows must be grouped or compared by a tuple of values: the records' cross-file checks
(dictionary codes of the key columns) and the bootstrap's distinct rows where two rows' hashes collide (codes of each
score column).  :func:`one_value` finds the column every row of which holds one value (a file's family,
model and task): one group, no codes needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["combine_codes", "one_value"]


def one_value(column: Any) -> str | None:
    """The value every row of an Arrow text column (array or chunked) holds, compared with the first
    row in one vectorised pass (no Python string per row); ``None`` when the rows differ, when one is
    null, when there is no row, or for a column of another type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if (not len(column) or column.null_count
            or not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type))):
        return None
    first = column[0]
    return first.as_py() if pc.all(pc.equal(column, first)).as_py() else None


def combine_codes(columns: Iterable[tuple[np.ndarray, int]], n_rows: int) -> np.ndarray:
    """Combine ``(codes, n_distinct)`` per column in mixed radix: ``key = (...(c0 * n1 + c1) * n2 ...)``.
    Keys compare like the rows' tuples of codes (lexicographically); before the product could overflow
    int64 the key so far is replaced by its order-preserving dense ranks."""
    key = np.zeros(n_rows, dtype=np.int64)
    size = 1
    for codes, n in columns:
        if size * n >= 2**62:
            _, key = np.unique(key, return_inverse=True)
            key = key.ravel().astype(np.int64)
            size = int(key.max()) + 1 if len(key) else 1
        key = key * n + np.asarray(codes, dtype=np.int64).ravel()
        size *= n
    return key
