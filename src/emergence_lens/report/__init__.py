"""Report: figures, tables and summaries.

The figures' names are re-exported on first use (:pep:`562`): a process that writes only tables and
the HTML report — the audit's own, while its workers draw the figures — never imports matplotlib."""

from typing import Any

from emergence_lens.report.html import REPORT_FILE, ReportError, write_report
from emergence_lens.report.provenance import RUN_FILE, read_run_info, sha256_file, write_run_info
from emergence_lens.report.summary import markdown_table

__all__ = ["STYLE", "metric_label", "plot_theory", "plot_curves", "plot_length_grid", "plot_resolution",
           "plot_seed_spread", "plot_verdicts", "save_figure", "markdown_table", "REPORT_FILE", "ReportError",
           "write_report", "RUN_FILE", "read_run_info", "sha256_file", "write_run_info"]

_FIGURES = ("STYLE", "metric_label", "plot_curves", "plot_length_grid", "plot_resolution", "plot_seed_spread",
            "plot_theory", "save_figure")


def __getattr__(name: str) -> Any:
    if name in _FIGURES:
        from emergence_lens.report import figures

        return getattr(figures, name)
    if name == "plot_verdicts":
        from emergence_lens.report.verdict_figures import plot_verdicts

        return plot_verdicts
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
