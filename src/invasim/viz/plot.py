"""The publication figure of one snapshot: the run at time T beside its metrics over time.

Contract:
    * :func:`plot_snapshot` returns a :class:`~matplotlib.figure.Figure` (Agg canvas, no pyplot);
      :func:`write_plot` writes it whole (default ``RUN_DIR/figure-t<T>min.png``, 300 dpi, the
      resolution recorded in the file) and returns the path.
    * The map panel is a movie frame's picture (:mod:`invasim.viz.frames`, from the same
      :class:`~invasim.viz.frames.FramePlan`): agent runs show the cells to scale as discs (3-D:
      the cross-sections of the cells cut by the plane through the middle, ``section``) over a
      field in pale blues (a matrix density: white to tan), coloured by ``type``, ``state``,
      ``phase``, ``clone``, ``mode`` (migration mode) or a numeric column, and the basement
      membrane, when the run has one, as a dark band over them with breaches as gaps
      (``bm=False``: not drawn); 3-D runs with a BM are cut through the middle of y (an x–z
      section, as in histology), others through the middle of z. Continuum runs show
      the field as an image (2-D; 3-D: the central z slice) or a line (1-D). The colour limits
      are the field's over *all* snapshots and the colour of each cell type is
      :func:`~invasim.viz.cells.type_colour`, so a figure, the movie and the summary of a run
      agree. A legend or a colour bar for the cells, a colour bar for the field, a scale bar in
      µm (mm from 1 mm), and the simulated time in hours (runs up to 4 days) or days.
    * Beside it (``metrics=True``) up to :data:`MAX_PANELS` metric panels over time, lengths
      together (:func:`invasim.viz.panels.metric_groups`), with a dashed line and a ring on every
      curve at T.
    * Errors are :class:`~invasim.errors.InvasimError` of one line: an unknown field or
      colouring (listing the allowed ones), a time that is not a snapshot (naming the range).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from invasim.errors import RunDirError
from invasim.io.atomic import write_atomic
from invasim.io.run import Run
from invasim.viz import cells as vc
from invasim.viz import frames as vf
from invasim.viz.common import (
    IMAGE_FORMATS,
    RC,
    TITLED_FORMATS,
    frame_time_unit,
    intervention_bands,
    length_unit,
    snapshots,
)
from invasim.viz.panels import constant_metrics, metric_groups, metric_panel

#: resolution of written figures, dots per inch (publication quality)
DPI = 300
#: the most metric panels beside the map
MAX_PANELS = 3
#: figure size, inches (a two-column figure: 180 mm wide)
WIDTH_IN = 7.2
HEIGHT_IN = 4.1


def snapshot_index(run: Run, time_min: float | None) -> int:
    """Index of the snapshot at ``time_min`` (default: the last); one-line error if none."""
    times = run.times
    if len(times) == 0:
        raise RunDirError(f"{run.path} has no snapshots yet")
    return len(times) - 1 if time_min is None else run.time_index(float(time_min))


def plan(run: Run, color_by: str | None = None, field: str | None = None,
         dpi: int = DPI, *, bm: bool = True, section: str = "auto") -> vf.FramePlan:
    """The :class:`~invasim.viz.frames.FramePlan` the figures of ``run`` share (checks names)."""
    return vf.plan_frames(run, field, color_by, dpi, bm=bm, section=section)


# -- panels ------------------------------------------------------------------------------------
def _when(plan_: vf.FramePlan, t_min: float) -> str:
    unit, per = plan_.time_unit
    return f"t = {t_min / per:.4g} {unit}"


def _map_panel(sf, ax, run: Run, p: vf.FramePlan, k: int) -> None:
    """The cells or the field at snapshot ``k`` with legend, colour bars and scale bar."""
    mesh = run.mesh
    arr = snapshots(run, [p.field], [k], p.section)[p.field][0] if p.field else None
    when = _when(p, p.times[k])
    if p.kind == "line":
        lu, per = length_unit(mesh.extent[0])
        ax.plot(mesh.centers("x") / per, arr, color=mpl.colormaps["viridis"](0.35), lw=1.6)
        pad = 0.05 * (p.vlim[1] - p.vlim[0])
        ax.set_xlim(0.0, mesh.extent[0] / per)
        ax.set_ylim(p.vlim[0] - pad, p.vlim[1] + pad)
        ax.set_xlabel(f"x [{lu}]")
        ax.set_ylabel(p.field_label)
        ax.grid(alpha=0.25, lw=0.5)
        vf.corner_text(ax, when, "upper right")
        return
    width, height, _, _ = vf.geometry(p)
    ax.set_xlim(0.0, width)
    ax.set_ylim(0.0, height)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    if arr is not None:
        im = ax.imshow(arr, origin="lower", extent=(0.0, width, 0.0, height),
                       cmap=vf.field_cmap(p), vmin=p.vlim[0], vmax=p.vlim[1], aspect="equal",
                       interpolation="nearest", zorder=1)
        sf.colorbar(im, ax=ax, label=p.field_label, shrink=0.85, pad=0.02, aspect=25)
    if p.kind == "cells":
        extra = (p.color_by,) if p.value_lim is not None else ("phase", "clone_id", "mode")
        frame = vc.read_cells(run, k, extra)
        if frame is None:
            when += "\nno cells recorded"
        else:
            _, drawn = vf.draw_plan_cells(ax, p, frame)
            live = int((frame["dead"] == 0).sum()) if "dead" in frame else len(frame)
            when += f"\n{live:,} live cells" + (f", {drawn:,} in the slice" if mesh.dim == 3
                                                 else "")
        vf.draw_plan_bm(ax, p, run, k)
        if p.value_lim is not None:
            sm = mpl.cm.ScalarMappable(Normalize(*p.value_lim), vc.VALUE_CMAP)
            sf.colorbar(sm, ax=ax, location="bottom", label=p.color_by, shrink=0.7, pad=0.03,
                        aspect=30)
        handles = vf.legend_entries(p)
        if handles:
            title = f"cells by {p.color_by}" if p.value_lim is None else None
            ncols = len(handles) if len(handles) <= 4 else 3 if len(handles) <= 9 else 4
            sf.legend(handles=handles, loc="outside lower center", ncols=ncols,
                      frameon=False, title=title, handletextpad=0.2, columnspacing=1.0)
    vf.corner_text(ax, when, "upper left")
    vf.scale_bar(ax, width)


def _mark(ax, t: float) -> None:
    """A dashed line at ``t`` and a ring on each curve of ``ax`` where it crosses it."""
    for line in list(ax.get_lines()):
        x = np.asarray(line.get_xdata(), float)
        y = np.asarray(line.get_ydata(), float)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() == 0 or not (x[ok].min() - 1e-9 <= t <= x[ok].max() + 1e-9):
            continue
        yt = float(np.interp(t, x[ok], y[ok]))
        ax.plot([t], [yt], ls="", marker="o", ms=5, mfc="white", mec=line.get_color(), mew=1.2,
                zorder=5)
    ax.axvline(t, color="0.35", ls="--", lw=0.8, zorder=0)


def _metric_column(sf, run: Run, p: vf.FramePlan, t_min: float) -> bool:
    """The metric panels with T marked; ``False`` when the run has no metrics to draw."""
    try:
        metrics = run.metrics
    except RunDirError:
        return False
    if len(metrics) == 0:
        return False
    constants = constant_metrics(metrics)
    metrics = metrics.drop(columns=list(constants))
    groups = metric_groups(metrics, MAX_PANELS)
    if not groups:
        return False
    lunit = length_unit(max(run.mesh.extent))
    axes = sf.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    for j, (ax, group) in enumerate(zip(axes, groups, strict=True)):
        metric_panel(ax, metrics, group, p.time_unit, lunit, intervention_bands(run))
        _mark(ax, t_min / p.time_unit[1])
        if j < len(groups) - 1:
            ax.set_xlabel("")
    return True


# -- the figure --------------------------------------------------------------------------------
def plot_snapshot(run: Run, time_min: float | None = None, color_by: str | None = None,
                  field: str | None = None, *, metrics: bool = True, dpi: int = DPI,
                  frame_plan: vf.FramePlan | None = None, bm: bool = True,
                  section: str = "auto") -> Figure:
    """One snapshot of a run, to scale, beside the metric curves with that time marked.

    Args:
        run: an opened run (:func:`invasim.load_run`), finished, running or killed.
        time_min: the snapshot time, min (default: the last snapshot).
        color_by: agent runs: ``type`` (default), ``state``, ``phase``, ``clone``, ``mode``
            (epithelial, mesenchymal, amoeboid: the ``rho_gtpase`` process's column) or a
            numeric column of the cell table (a trait, ``generation``, ``volume``...).
            Continuum runs: ``None``.
        field: the field drawn (default: the run's first field; with a BM drawn, the first
            other one). A matrix field (``ecm``) is drawn white to tan.
        metrics: draw the metric panels beside the map.
        dpi: the figure's resolution (its size is fixed in inches).
        frame_plan: a plan from :func:`plan` to reuse across several figures (then
            ``color_by``, ``field``, ``bm`` and ``section`` are the plan's).
        bm: agent runs: draw the basement membrane (when the run has one) over the cells.
        section: 3-D agent runs: the plane through the middle that is drawn: ``"xy"``,
            ``"xz"``, or ``"auto"`` (``"xz"`` when a BM is drawn, else ``"xy"``).

    Returns:
        The figure, on the Agg canvas, not registered with pyplot. Its map axes is labelled
        ``"map"`` (``fig.axes``, ``Axes.get_label()``).

    Raises:
        ConfigError: an unknown field, ``color_by`` or ``section``, a colouring of a continuum
            run, ``mode`` in a run without a ``mode`` column.
        RunDirError: a time that is not a snapshot, no snapshots, unreadable files.
    """
    k = snapshot_index(run, time_min)
    p = frame_plan if frame_plan is not None else plan(run, color_by, field, dpi, bm=bm,
                                                         section=section)
    t = p.times[k]
    line = p.kind == "line"
    with mpl.rc_context(RC):
        height = 3.2 if line and not metrics else HEIGHT_IN
        fig = Figure(figsize=(WIDTH_IN if metrics else WIDTH_IN * 0.62, height), dpi=dpi,
                     layout="constrained", facecolor="white")
        if metrics:
            left, right = fig.subfigures(1, 2, width_ratios=[1.45 if not line else 1.2, 1.0])
        else:
            left, right = fig, None
        ax = left.add_subplot(label="map")
        _map_panel(left, ax, run, p, k)
        if right is not None and not _metric_column(right, run, p, t):
            ax2 = right.add_subplot()
            ax2.set_axis_off()
            ax2.text(0.5, 0.5, "no metrics recorded yet", ha="center", va="center")
        fig.suptitle(p.title, x=0.01, ha="left", fontsize=10)
    FigureCanvasAgg(fig)
    return fig


def plot_metrics(run: Run, dpi: int = 100, ncols: int = 3) -> Figure | None:
    """Every metric over time, lengths on one panel, ``ncols`` panels a row; ``None`` if none.

    Metrics that never change are named in the title instead of drawn (as in the summary).
    """
    try:
        metrics = run.metrics
    except RunDirError:
        return None
    if len(metrics) == 0:
        return None
    constants = constant_metrics(metrics)
    groups = metric_groups(metrics.drop(columns=list(constants)), 64)
    if not groups:
        return None
    span = float(metrics["time_min"].max() - metrics["time_min"].min())
    tunit = frame_time_unit(span)
    lunit = length_unit(max(run.mesh.extent))
    ncols = max(1, min(ncols, len(groups)))
    nrows = -(-len(groups) // ncols)
    with mpl.rc_context(RC):
        fig = Figure(figsize=(WIDTH_IN * ncols / 3 + 0.6, 2.3 * nrows + 0.4), dpi=dpi,
                     layout="constrained", facecolor="white")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, group in zip(axes, groups, strict=False):
            metric_panel(ax, metrics, group, tunit, lunit, intervention_bands(run))
        for ax in axes[len(groups):]:
            ax.set_axis_off()
        if constants:
            listing = ", ".join(f"{k} = {v:.4g}" for k, v in constants.items())
            fig.suptitle(f"constant over the run: {listing}", x=0.01, ha="left", fontsize=9)
    FigureCanvasAgg(fig)
    return fig


def default_name(time_min: float, color_by: str | None = None, field: str | None = None) -> str:
    """``figure-t<T>min[-<color_by>][-<field>].png``: figures of other choices do not collide."""
    parts = ["figure", f"t{time_min:g}min", color_by, field]
    return "-".join(str(s) for s in parts if s) + ".png"


def write_plot(run: Run, out: Path | str | None = None, time_min: float | None = None,
               color_by: str | None = None, field: str | None = None, dpi: int = DPI, *,
               bm: bool = True, section: str = "auto") -> Path:
    """Draw :func:`plot_snapshot` and write it whole; returns the path written.

    Args:
        run: an opened run.
        out: the image file (default ``RUN_DIR/`` :func:`default_name`); its suffix picks the
            format (``.png``, ``.pdf``, ``.svg``, ...; PNG when there is none).
        time_min, color_by, field, bm, section: as :func:`plot_snapshot`.
        dpi: dots per inch, 30 to 1200 (default 300; PNG and TIFF record it).

    Raises:
        ConfigError: an unknown field or colouring.
        RunDirError: a bad time, format or dpi, or a file that cannot be written.
    """
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 30 <= dpi <= 1200:
        raise RunDirError(f"--dpi must be a whole number from 30 to 1200, got {dpi!r}")
    k = snapshot_index(run, time_min)
    t = float(run.times[k])
    path = Path(out) if out is not None else run.path / default_name(t, color_by, field)
    fmt = path.suffix.lower().lstrip(".") or "png"
    supported = [f for f in IMAGE_FORMATS if f in FigureCanvasAgg.get_supported_filetypes()]
    if fmt not in supported:
        raise RunDirError(f"cannot write {path}: unknown image format {fmt!r}; use one of "
                          f"{', '.join(supported)}")
    fig = plot_snapshot(run, t, color_by, field, dpi=dpi, bm=bm, section=section)
    title = f"invasim figure of {run.meta.get('scenario_name', run.path.name)} at t = {t:g} min"
    extra = {"metadata": {"Title": title}} if fmt in TITLED_FORMATS else {}
    write_atomic(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi, **extra))
    return path


__all__ = [
    "DPI",
    "default_name",
    "plan",
    "plot_metrics",
    "plot_snapshot",
    "snapshot_index",
    "write_plot",
]
