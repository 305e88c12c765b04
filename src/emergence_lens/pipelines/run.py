"""What every command that writes an output folder does last: provenance (``run.json``) and the
HTML report (``report.html``), within the run's manifest (:mod:`emergence_lens.outputs`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

__all__ = ["finish_run"]


def finish_run(out: Path, *, command: str, started: float, seed: int | None, inputs: Iterable[Any] = (),
               command_line: str = "", digests: Mapping[str, str] | None = None,
               pending: Sequence[Future[Any]] = ()) -> str:
    """Record provenance (``OUT/run.json``) and write the report (``OUT/report.html``); returns the
    line to show: ``wrote OUT/report.html``, or why there is no report (the CSVs stand either way).

    Args:
        digests: input SHA-256s already computed where the files were read.
        pending: figures still being drawn by worker processes (waited for before the report
            reads them).
    """
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.report.html import ReportError, write_report
    from emergence_lens.report.provenance import write_run_info

    try:
        write_run_info(out, command=command, seed=seed, inputs=[p for p in inputs if p is not None], started=started,
                       finished=time.time(), extra={"command_line": command_line}, digests=digests)
        path = write_report(out, pending=pending)
    except OutputConflict:
        raise
    except (ReportError, OSError) as exc:
        return f"no report: {exc}"
    except Exception as exc:  # noqa: BLE001 - a figure whose worker failed: the CSVs stand
        return f"no report: a figure could not be drawn ({type(exc).__name__}: {exc})"
    return f"wrote {path}"
