"""Report: figures, tables and summaries."""

from emergence_lens.report.figures import (
    STYLE,
    metric_label,
    plot_curves,
    plot_length_grid,
    plot_resolution,
    plot_seed_spread,
    plot_theory,
    save_figure,
)
from emergence_lens.report.html import REPORT_FILE, ReportError, write_report
from emergence_lens.report.provenance import RUN_FILE, read_run_info, sha256_file, write_run_info
from emergence_lens.report.summary import markdown_table
from emergence_lens.report.verdict_figures import plot_verdicts

__all__ = ["STYLE", "metric_label", "plot_theory", "plot_curves", "plot_length_grid", "plot_resolution",
           "plot_seed_spread", "plot_verdicts", "save_figure", "markdown_table", "REPORT_FILE", "ReportError",
           "write_report", "RUN_FILE", "read_run_info", "sha256_file", "write_run_info"]
