"""Report: figures, tables and summaries."""

from emergence_lens.report.figures import plot_curves, plot_resolution, plot_theory, save_figure
from emergence_lens.report.summary import markdown_table

__all__ = ["plot_theory", "plot_curves", "plot_resolution", "save_figure", "markdown_table"]
