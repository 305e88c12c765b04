"""Records: the tidy per-example table every analysis starts from.

See :mod:`emergence_lens.records.schema` for the columns.
"""

from emergence_lens.records.io import (
    RecordsError,
    read_records,
    records_from_rows,
    records_to_pandas,
    validate_across,
    validate_records,
    write_records,
)
from emergence_lens.records.schema import KEY_COLUMNS, RECORD_SCHEMA, REQUIRED_COLUMNS

__all__ = [
    "RECORD_SCHEMA",
    "REQUIRED_COLUMNS",
    "KEY_COLUMNS",
    "RecordsError",
    "validate_across",
    "validate_records",
    "read_records",
    "write_records",
    "records_from_rows",
    "records_to_pandas",
]
