"""Figures of runs: ``plot_*`` returns a :class:`matplotlib.figure.Figure`, ``write_*`` a file.

Figures are drawn on the Agg canvas without pyplot, so they work on machines without a display
and leave a notebook's backend alone.
"""

from invasim.viz.cells import plot_cells
from invasim.viz.summary import plot_summary, write_summary

__all__ = ["plot_cells", "plot_summary", "write_summary"]
