"""The pipeline behind ``emergence-lens report``: (re)write ``DIR/report.html`` for an output folder of
``reproduce``, ``audit`` or ``score``, as one more file of that folder's run (its manifest keeps
every earlier file, and the page shows only that run's figures)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["report"]


def report(directory: str | os.PathLike[str]) -> Path:
    """Write ``directory/report.html`` and return its path.

    Raises:
        emergence_lens.report.html.ReportError: nothing to report in ``directory``;
        emergence_lens.outputs.OutputConflict: a ``report.html`` there that emergence-lens did not write.
    """
    from emergence_lens.outputs import output_run
    from emergence_lens.report.html import write_report

    with output_run(directory, (), "report", partial=True):
        return write_report(directory)
