"""The summary figure of a run: its fields at a few times and its front over time.

Contract:
    * :func:`plot_summary` returns a :class:`matplotlib.figure.Figure`; :func:`write_summary`
      writes it to a file (default ``RUN_DIR/summary.png``) whole or not at all and returns the
      path. Both take a :class:`~invasim.io.run.Run` and read only ``run.meta`` (never
      ``run.config``), ``run.times``, the fields, the cell tables and ``run.metrics``, so they
      draw any model's run, finished, running or killed.
    * Layout: for an agent run (one with ``cells/`` tables, 2-D or 3-D), first a row of the
      cells to scale over the oxygen field (:mod:`invasim.viz.cells`: live cells by type,
      apoptotic and necrotic apart, a legend; 3-D: the cross-sections of the cells cut by the
      central z slice) at the times of the field rows. Then one row per field (the first
      :data:`MAX_FIELDS`) at up to :data:`MAX_TIMES` evenly spaced snapshot times, first and
      last included; then a row of metric panels (every ``*_um`` metric, ``front_um`` first, on
      one length axis; the other metrics one panel each).
      2-D fields are images with one colour scale per field across the times shown, 3-D fields
      their central z slice, 1-D fields line plots with one line per time.
    * Units: lengths in µm, or mm when the domain is longer than 5 mm; times in min, h, days or
      years by the length of the run; each field's colour bar or axis names its unit. Metrics
      that never change (a conserved mass) are listed in the title instead of drawn.
    * The figure is built on :class:`~matplotlib.figure.Figure` with the Agg canvas; pyplot and
      the user's backend are never touched, so it works headless and inside notebooks.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure

from invasim.errors import RunDirError
from invasim.io.atomic import write_atomic
from invasim.io.run import Run
from invasim.io.rundir import METRICS_CSV, SUMMARY_PNG
from invasim.viz import cells as vc
from invasim.viz.common import (
    CMAPS,
    DPI,
    IMAGE_FORMATS,
    RC,
    TITLED_FORMATS,
    fmt_time,
    intervention_bands,
    length_unit,
    pick,
    pretty,
    snapshots,
    time_unit,
    value_label,
    value_range,
)
from invasim.viz.panels import constant_metrics, metric_groups, metric_panel

#: the most fields drawn (the first ones in the model's order)
MAX_FIELDS = 4
#: the most snapshot times drawn as image columns (2-D, 3-D)
MAX_TIMES = 4
#: the most snapshot times drawn as lines (1-D)
MAX_LINES = 6


# -- panels ------------------------------------------------------------------------------------
def _field_row_images(sf: SubFigure, run: Run, name: str, snaps: list[np.ndarray],
                      times: list[float], tunit: tuple[str, float], lunit: tuple[str, float],
                      cmap: str) -> None:
    mesh = run.mesh
    lu, lper = lunit
    ext = [0.0, mesh.extent[0] / lper, 0.0, mesh.extent[1] / lper]
    ratio = mesh.extent[1] / mesh.extent[0]
    aspect = "equal" if 0.25 <= ratio <= 4.0 else "auto"
    vmin, vmax = value_range(snaps)
    axes = sf.subplots(1, len(snaps), squeeze=False, sharex=True, sharey=True)[0]
    im = None
    for j, (ax, arr, t) in enumerate(zip(axes, snaps, times, strict=True)):
        im = ax.imshow(arr, origin="lower", extent=ext, cmap=cmap, vmin=vmin, vmax=vmax,
                       aspect=aspect, interpolation="nearest")
        ax.set_title(fmt_time(t, *tunit))
        ax.set_xlabel(f"x [{lu}]")
        if j == 0:
            ax.set_ylabel(f"y [{lu}]")
        for side in ("top", "right"):
            ax.spines[side].set_visible(True)
    info = run.field_info[name]
    sf.colorbar(im, ax=list(axes), label=value_label(name, info.get("unit", ""), width=30),
                shrink=0.9, aspect=15, pad=0.02)


def _cells_row(run: Run, names: list[str], snaps: dict[str, list[np.ndarray]],
               picks: list[int]) -> dict | None:
    """The cell tables at snapshots ``picks`` and the background field, or ``None``."""
    if not vc.has_cells(run):
        return None
    bg = vc.background_field(run)
    if bg is None:
        background = [None] * len(picks)
    elif bg in snaps:
        background = snaps[bg]
    else:
        background = snapshots(run, [bg], picks)[bg]
    return {"frames": [vc.read_cells(run, k) for k in picks], "field": bg,
            "background": background}


def _cells_row_images(sf: SubFigure, run: Run, cells: dict, times: list[float],
                      tunit: tuple[str, float], lunit: tuple[str, float]) -> None:
    """Cells to scale over the background field at each time, its colour bar, a legend."""
    mesh = run.mesh
    z0 = float(mesh.centers("z")[mesh.nz // 2]) if mesh.dim == 3 else 0.0
    backgrounds = cells["background"]
    shown = [b for b in backgrounds if b is not None]
    vmin, vmax = value_range(shown) if shown else (0.0, 1.0)
    axes = sf.subplots(1, len(times), squeeze=False, sharex=True, sharey=True)[0]
    im = None
    for j, (ax, frame, bg, t) in enumerate(zip(axes, cells["frames"], backgrounds, times,
                                               strict=True)):
        im = vc.setup_axes(ax, run, lunit, bg, vmin, vmax) or im
        if j == 0:
            ax.set_ylabel(f"y [{lunit[0]}]")
        n_drawn = None
        if frame is not None:
            coll = vc.draw_cells(ax, frame, dim=mesh.dim, z0=z0, per_um=lunit[1])
            n_drawn = len(coll.get_offsets())
        ax.set_title(vc.panel_title(frame, t, tunit, n_drawn, mesh.dim))
    name = cells["field"]
    if im is not None:
        label = value_label(name, run.field_info[name].get("unit", ""), width=30)
        sf.colorbar(im, ax=list(axes), label=label, shrink=0.9, aspect=15, pad=0.02)
    title = "cells" + (f" over {name}" if name else "")
    if mesh.dim == 3:
        title += " (those cut by the central slice, drawn as their cross-sections)"
    sf.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    handles = vc.legend_handles(cells["frames"], vc.type_names(run.meta))
    if handles:
        sf.legend(handles=handles, loc="outside upper right", ncols=len(handles),
                  frameon=False, handletextpad=0.2, columnspacing=1.0)


def _field_panel_lines(ax, run: Run, name: str, snaps: list[np.ndarray], times: list[float],
                       tunit: tuple[str, float], lunit: tuple[str, float]) -> None:
    mesh = run.mesh
    lu, lper = lunit
    x = mesh.centers("x") / lper
    colours = mpl.colormaps["viridis"](np.linspace(0.0, 0.85, max(len(snaps), 2)))
    for arr, t, c in zip(snaps, times, colours, strict=False):
        ax.plot(x, arr, color=c, lw=1.6, label=fmt_time(t, *tunit))
    info = run.field_info[name]
    desc = info.get("description", "")
    ax.set_title(f"{name}: {desc}" if desc else name, loc="left")
    ax.set_xlabel(f"x [{lu}]")
    ax.set_ylabel(value_label(name, info.get("unit", "")))
    ax.set_xlim(0.0, mesh.extent[0] / lper)
    ax.grid(alpha=0.25, lw=0.5)


def _header(run: Run, n_shown: int, tunit: tuple[str, float], lunit: tuple[str, float],
            constants: dict[str, float]) -> str:
    meta = run.meta
    mesh = run.mesh
    lu, lper = lunit
    title = (f"{meta.get('scenario_name', run.path.name)}  ·  model {meta.get('model', '?')}"
             f"  ·  seed {meta.get('seed', '?')}")
    dims = " × ".join(f"{e / lper:g}" for e in mesh.extent)
    t_end = float(meta.get("time_min", 0.0))
    line = (f"{mesh.dim}-D, {dims} {lu}, voxel {mesh.h:g} µm  ·  "
            f"{fmt_time(t_end, *tunit)} ({run.status})")
    if mesh.dim == 3:
        line += f"  ·  images: central slice z = {run.mesh.centers('z')[mesh.nz // 2]:g} µm"
    if n_shown < len(run.field_names):
        line += f"  ·  first {n_shown} of {len(run.field_names)} fields"
    if constants:
        listing = ", ".join(f"{pretty(k)} = {v:.4g}" for k, v in constants.items())
        line += f"\nconstant over the run: {listing}"
    return f"{title}\n{line}"


# -- the figure --------------------------------------------------------------------------------
def plot_summary(run: Run) -> Figure:
    """The run at a glance: fields at a few times, and the front and other metrics over time.

    Args:
        run: an opened run directory (:func:`invasim.load_run`).

    Returns:
        A figure drawn on the Agg canvas, not registered with pyplot (display it in a notebook
        by evaluating it, or save it with ``fig.savefig``).

    Raises:
        RunDirError: the run has no snapshots, or its files cannot be read.
    """
    times_all = run.times
    if len(times_all) == 0:
        raise RunDirError(f"{run.path} has no snapshots yet; nothing to plot")
    try:
        metrics = run.metrics
    except RunDirError:
        if (run.path / METRICS_CSV).exists():
            raise
        metrics = pd.DataFrame({"time_min": []})  # killed before its first metrics row
    mesh = run.mesh
    names = run.field_names[:MAX_FIELDS]
    span = float(max(times_all[-1], metrics["time_min"].max() if len(metrics) else 0.0))
    tunit = time_unit(span)
    lunit = length_unit(max(mesh.extent))
    picks = pick(len(times_all), MAX_LINES if mesh.dim == 1 else MAX_TIMES)
    times = [float(times_all[k]) for k in picks]
    snaps = snapshots(run, names, picks)
    cells = _cells_row(run, names, snaps, picks) if mesh.dim >= 2 else None

    constants = constant_metrics(metrics)
    metrics = metrics.drop(columns=list(constants))
    with mpl.rc_context(RC):
        if mesh.dim == 1:
            fig = _figure_1d(run, names, snaps, times, tunit, lunit, metrics)
        else:
            fig = _figure_images(run, names, snaps, times, tunit, lunit, metrics, cells)
        fig.suptitle(_header(run, len(names), tunit, lunit, constants), x=0.01, ha="left",
                     fontsize=11, linespacing=1.5)
    FigureCanvasAgg(fig)
    return fig


def _figure_images(run, names, snaps, times, tunit, lunit, metrics, cells=None) -> Figure:
    """2-D and 3-D: the cells (agent runs), one row of images per field, then the metrics."""
    mesh = run.mesh
    ncols = len(times)
    panel_w = 2.5
    ratio = float(np.clip(mesh.extent[1] / mesh.extent[0], 0.25, 4.0))
    panel_h = min(panel_w * ratio, 3.6)
    groups = metric_groups(metrics, max(ncols - 1, 2))
    top = int(cells is not None)
    heights = [panel_h + 1.0] * top + [panel_h + 0.75] * len(names)
    heights += [2.6] if groups else []
    width = max(ncols * panel_w + 1.3, 8.0)
    fig = Figure(figsize=(width, sum(heights) + 0.8), dpi=DPI, layout="constrained")
    subs = fig.subfigures(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
    if top:
        _cells_row_images(subs[0], run, cells, times, tunit, lunit)
    for r, name in enumerate(names):
        sf = subs[r + top]
        desc = run.field_info[name].get("description", "")
        sf.suptitle(f"{name}: {desc}" if desc else name, x=0.01, ha="left", fontsize=10,
                    fontweight="bold")
        _field_row_images(sf, run, name, snaps[name], times, tunit, lunit,
                          CMAPS[r % len(CMAPS)])
    if groups:
        axes = subs[-1].subplots(1, len(groups), squeeze=False)[0]
        for ax, group in zip(axes, groups, strict=True):
            metric_panel(ax, metrics, group, tunit, lunit, intervention_bands(run))
    return fig


def _figure_1d(run, names, snaps, times, tunit, lunit, metrics) -> Figure:
    """1-D: one line plot per field (a line per time), then the metric panels.

    One field is drawn across the width above a row of metric panels; several fill a grid of
    two columns with the metric panels after them. The time legend takes a free cell of the
    grid, or else a strip above the panels.
    """
    one = len(names) == 1
    groups = metric_groups(metrics, 3 if one else 4)
    n_cells = len(names) + len(groups)
    legend_cell = not one and n_cells % 2 == 1
    if one:
        heights = [3.2] + ([2.6] if groups else [])
    else:
        heights = [2.75] * ((n_cells + legend_cell) // 2)
    strip_h = 0.0 if legend_cell else 0.35
    fig = Figure(figsize=(11.0, sum(heights) + strip_h + 0.8), dpi=DPI, layout="constrained")
    if legend_cell:
        body, strip = fig, None
    else:
        strip, body = fig.subfigures(2, 1, height_ratios=[strip_h, sum(heights)])
    if one:
        gs = body.add_gridspec(len(heights), max(len(groups), 1), height_ratios=heights)
        first = body.add_subplot(gs[0, :])
        _field_panel_lines(first, run, names[0], snaps[names[0]], times, tunit, lunit)
        for j, group in enumerate(groups):
            metric_panel(body.add_subplot(gs[1, j]), metrics, group, tunit, lunit,
                         intervention_bands(run))
    else:
        cells = list(body.subplots(len(heights), 2, squeeze=False).ravel())
        first = cells[0]
        for name in names:
            _field_panel_lines(cells.pop(0), run, name, snaps[name], times, tunit, lunit)
        if legend_cell:
            handles, labels = first.get_legend_handles_labels()
            ax = cells.pop(0)
            ax.set_axis_off()
            ax.legend(handles, labels, frameon=False, loc="center", title="snapshot",
                      ncols=2 if len(labels) > 3 else 1)
        for group in groups:
            metric_panel(cells.pop(0), metrics, group, tunit, lunit, intervention_bands(run))
    if strip is not None:
        handles, labels = first.get_legend_handles_labels()
        strip.legend(handles, labels, loc="center", ncols=len(labels), frameon=False)
    return fig


# -- writing -----------------------------------------------------------------------------------
def write_summary(run: Run, out: Path | str | None = None) -> Path:
    """Draw :func:`plot_summary` and write it whole to ``out``.

    Args:
        run: an opened run directory.
        out: the image file (default ``run.path / "summary.png"``); its suffix picks the format
            (``.png``, ``.pdf``, ``.svg``, ...; PNG when there is none).

    Returns:
        The path written.

    Raises:
        RunDirError: the file cannot be written (one line naming it and why), the format is
            unknown, or the run cannot be read.
    """
    path = Path(out) if out is not None else run.path / SUMMARY_PNG
    fmt = path.suffix.lower().lstrip(".") or "png"
    supported = [f for f in IMAGE_FORMATS if f in FigureCanvasAgg.get_supported_filetypes()]
    if fmt not in supported:
        raise RunDirError(
            f"cannot write {path}: unknown image format {fmt!r}; use one of "
            f"{', '.join(supported)}"
        )
    fig = plot_summary(run)
    title = f"invasim summary of {run.meta.get('scenario_name', run.path.name)}"
    extra = {"metadata": {"Title": title}} if fmt in TITLED_FORMATS else {}
    write_atomic(path, lambda f: fig.savefig(f, format=fmt, dpi=DPI, **extra))
    return path


__all__ = ["plot_summary", "write_summary"]
