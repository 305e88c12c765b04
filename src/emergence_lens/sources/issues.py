"""Problems found while reading sources: each names file, line (or row) and key; loading goes on."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["SourceIssue", "IssueLog"]


@dataclass(frozen=True)
class SourceIssue:
    """``rows``: how many input rows this problem kept out of the analysis (0 for a note), so that
    for every file rows loaded + rows reported = rows read (``inputs.csv``)."""

    file: str
    line: int | None
    key: str | None
    message: str
    severity: str = "warning"  # "warning": item skipped or value ignored; "error": whole file unreadable
    rows: int = 0

    def __str__(self) -> str:
        where = self.file + (f", line {self.line}" if self.line is not None else "")
        where += f", key {self.key!r}" if self.key else ""
        return f"{self.severity}: {where}: {self.message}"


class IssueLog(list):
    """A list of :class:`SourceIssue` with helpers."""

    def add(self, file: object, line: int | None, key: str | None, message: str, severity: str = "warning",
            rows: int = 0) -> None:
        self.append(SourceIssue(str(file), line, key, message, severity, int(rows)))

    def rows_reported(self, file: object) -> int:
        """Input rows of ``file`` that issues account for."""
        f = str(file)
        return sum(i.rows for i in self if i.file == f)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(i) for i in self], columns=["file", "line", "key", "message", "severity", "rows"])
