"""``emergence-lens report``: a folder -> :func:`emergence_lens.pipelines.report.report` -> console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergence_lens.cli.common import console, fail, say


def report(directory: Annotated[Path, typer.Argument(
        help="An output folder of reproduce, audit or score.", metavar="DIR")]) -> None:
    """Write DIR/report.html: one self-contained page (verdict table, panels, figures, issues,
    provenance) that opens offline in any browser."""
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.pipelines.report import report as run_report
    from emergence_lens.report.html import ReportError

    try:
        with console.status("writing report.html"):
            path = run_report(directory)
    except (ReportError, OutputConflict, OSError) as exc:
        fail(str(exc))
    say(f"wrote {path}")
