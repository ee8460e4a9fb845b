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

import textwrap
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure

from invasim.errors import RunDirError
from invasim.io.atomic import write_atomic
from invasim.io.run import Run
from invasim.io.rundir import FIELDS_ZARR, METRICS_CSV, SUMMARY_PNG

#: the most fields drawn (the first ones in the model's order)
MAX_FIELDS = 4
#: the most snapshot times drawn as image columns (2-D, 3-D)
MAX_TIMES = 4
#: the most snapshot times drawn as lines (1-D)
MAX_LINES = 6
#: resolution of the written image, dots per inch
DPI = 150
#: perceptually uniform, colour-blind-safe colour maps, one per field row
CMAPS = ("viridis", "magma", "cividis", "plasma")

#: image formats write_summary offers (those needing no LaTeX or raw buffers)
_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")
#: formats whose files can carry a title
_TITLED = ("png", "pdf", "svg", "svgz", "ps", "eps")

_RC = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


# -- units -------------------------------------------------------------------------------------
def _length_unit(extent_um: float) -> tuple[str, float]:
    """Display unit for lengths and µm per unit: mm when the domain is longer than 5 mm."""
    return ("mm", 1000.0) if extent_um > 5000.0 else ("µm", 1.0)


def _time_unit(span_min: float) -> tuple[str, float]:
    """Display unit for times and minutes per unit, by the length of the run."""
    if span_min <= 180.0:
        return "min", 1.0
    if span_min <= 4 * 24 * 60.0:
        return "h", 60.0
    if span_min <= 3 * 365 * 1440.0:
        return "days", 1440.0
    return "years", 365.25 * 1440.0


def _fmt_time(t_min: float, unit: str, per: float) -> str:
    return f"t = {t_min / per:.3g} {unit}"


def _value_label(name: str, unit: str, width: int | None = None) -> str:
    """``name [unit]``; a dimensionless ``1 (what)`` unit reads ``name (what)``.

    ``width``: wrap onto lines of about that many characters (colour bars are short).
    """
    unit = (unit or "").strip()
    if unit in ("", "1"):
        label = f"{name} (dimensionless)"
    elif unit.startswith("1 (") and unit.endswith(")"):
        label = f"{name} {unit[2:]}"
    else:
        label = f"{name} [{unit}]"
    return textwrap.fill(label, width) if width else label


def _pretty(metric: str) -> str:
    return metric.removesuffix("_um").replace("_", " ")


# -- data --------------------------------------------------------------------------------------
def _pick(n: int, k: int) -> list[int]:
    """Up to ``k`` evenly spaced indices of ``range(n)``, first and last included."""
    if n <= k:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, k)})


def _snapshots(run: Run, names: list[str], picks: list[int]) -> dict[str, list[np.ndarray]]:
    """Snapshots ``picks`` of each field as 1-D or 2-D arrays (3-D: the central z slice).

    Read straight from the Zarr store, slice by slice: a 3-D volume is never loaded whole, and a
    run killed while appending a record (a field one snapshot longer than ``time``) still reads.
    """
    import zarr

    store = run.path / FIELDS_ZARR
    try:
        group = zarr.open_group(store, mode="r")
        kz = run.mesh.nz // 2
        out = {}
        for name in names:
            arr = group[name]
            out[name] = [
                np.asarray(arr[k, kz] if run.mesh.dim == 3 else arr[k], dtype=float)
                for k in picks
            ]
    except Exception as exc:  # zarr raises several types for a missing or broken store
        raise RunDirError(f"cannot read {store}: {exc}") from None
    return out


def _range(arrays: list[np.ndarray]) -> tuple[float, float]:
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return 0.0, 1.0
    lo = float(min(a.min() for a in finite))
    hi = float(max(a.max() for a in finite))
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        pad = 0.5 * max(abs(hi), 1.0)
        return lo - pad, hi + pad
    return lo, hi


# -- panels ------------------------------------------------------------------------------------
def _field_row_images(sf: SubFigure, run: Run, name: str, snaps: list[np.ndarray],
                      times: list[float], tunit: tuple[str, float], lunit: tuple[str, float],
                      cmap: str) -> None:
    mesh = run.mesh
    lu, lper = lunit
    ext = [0.0, mesh.extent[0] / lper, 0.0, mesh.extent[1] / lper]
    ratio = mesh.extent[1] / mesh.extent[0]
    aspect = "equal" if 0.25 <= ratio <= 4.0 else "auto"
    vmin, vmax = _range(snaps)
    axes = sf.subplots(1, len(snaps), squeeze=False, sharex=True, sharey=True)[0]
    im = None
    for j, (ax, arr, t) in enumerate(zip(axes, snaps, times, strict=True)):
        im = ax.imshow(arr, origin="lower", extent=ext, cmap=cmap, vmin=vmin, vmax=vmax,
                       aspect=aspect, interpolation="nearest")
        ax.set_title(_fmt_time(t, *tunit))
        ax.set_xlabel(f"x [{lu}]")
        if j == 0:
            ax.set_ylabel(f"y [{lu}]")
        for side in ("top", "right"):
            ax.spines[side].set_visible(True)
    info = run.field_info[name]
    sf.colorbar(im, ax=list(axes), label=_value_label(name, info.get("unit", ""), width=30),
                shrink=0.9, aspect=15, pad=0.02)


def _cells_row(run: Run, names: list[str], snaps: dict[str, list[np.ndarray]],
               picks: list[int]) -> dict | None:
    """The cell tables at snapshots ``picks`` and the background field, or ``None``."""
    from invasim.viz import cells as vc

    if not vc.has_cells(run):
        return None
    bg = vc.background_field(run)
    if bg is None:
        background = [None] * len(picks)
    elif bg in snaps:
        background = snaps[bg]
    else:
        background = _snapshots(run, [bg], picks)[bg]
    return {"frames": [vc.read_cells(run, k) for k in picks], "field": bg,
            "background": background}


def _cells_row_images(sf: SubFigure, run: Run, cells: dict, times: list[float],
                      tunit: tuple[str, float], lunit: tuple[str, float]) -> None:
    """Cells to scale over the background field at each time, its colour bar, a legend."""
    from invasim.viz import cells as vc

    mesh = run.mesh
    z0 = float(mesh.centers("z")[mesh.nz // 2]) if mesh.dim == 3 else 0.0
    backgrounds = cells["background"]
    shown = [b for b in backgrounds if b is not None]
    vmin, vmax = _range(shown) if shown else (0.0, 1.0)
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
        label = _value_label(name, run.field_info[name].get("unit", ""), width=30)
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
        ax.plot(x, arr, color=c, lw=1.6, label=_fmt_time(t, *tunit))
    info = run.field_info[name]
    desc = info.get("description", "")
    ax.set_title(f"{name}: {desc}" if desc else name, loc="left")
    ax.set_xlabel(f"x [{lu}]")
    ax.set_ylabel(_value_label(name, info.get("unit", "")))
    ax.set_xlim(0.0, mesh.extent[0] / lper)
    ax.grid(alpha=0.25, lw=0.5)


def _metric_groups(metrics, max_panels: int) -> list[list[str]]:
    """Metric columns per panel, at most ``max_panels`` panels.

    Every ``*_um`` length shares the first panel (``front_um`` first); each other metric has its
    own, in the table's order.
    """
    cols = [c for c in metrics.columns if c != "time_min"] if len(metrics) else []
    lengths = [c for c in cols if c.endswith("_um")]
    if "front_um" in lengths:
        lengths.remove("front_um")
        lengths.insert(0, "front_um")
    others = [c for c in cols if c not in lengths]
    panels = ([lengths] if lengths else []) + [[c] for c in others]
    return panels[:max_panels]


def _constants(metrics) -> dict[str, float]:
    """Metrics other than lengths that never changed over two or more rows: not worth a panel."""
    out = {}
    if len(metrics) < 2:
        return out
    for col in metrics.columns:
        if col == "time_min" or col.endswith("_um"):
            continue
        y = metrics[col].to_numpy(dtype=float)
        if np.isfinite(y).all() and np.ptp(y) <= 1e-9 * np.abs(y).max():
            out[col] = float(y[-1])
    return out


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _scale(y: np.ndarray) -> tuple[np.ndarray, str]:
    """Values and a label suffix such that the tick labels need no offset text."""
    finite = np.abs(y[np.isfinite(y)])
    top = float(finite.max()) if finite.size else 0.0
    if top == 0.0 or 1e-2 <= top < 1e4:
        return y, ""
    e = int(np.floor(np.log10(top)))
    return y / 10.0**e, f" (×10{str(e).translate(_SUPERSCRIPT)})"


def _metric_panel(ax, metrics, group: list[str], tunit: tuple[str, float],
                  lunit: tuple[str, float]) -> None:
    tu, tper = tunit
    lu, lper = lunit
    t = metrics["time_min"].to_numpy(dtype=float) / tper
    is_length = group[0].endswith("_um")
    for k, col in enumerate(group):
        y = metrics[col].to_numpy(dtype=float)
        suffix = ""
        if is_length:
            y = y / lper
        else:
            y, suffix = _scale(y)
        ax.plot(t, y, color=f"C{k}", lw=1.8, marker="o" if len(t) <= 30 else None, ms=3,
                label=_pretty(col))
    if is_length:
        what = "position / width" if len(group) > 1 else _pretty(group[0])
        ax.set_ylabel(f"{what} [{lu}]")
        ax.set_title("invasion front" if "front_um" in group else "lengths", loc="left")
        if len(group) > 1:
            ax.legend(frameon=False)
    else:
        ax.set_ylabel(_pretty(group[0]) + suffix)
        ax.set_title(_pretty(group[0]), loc="left")
    ax.set_xlabel(f"time [{tu}]")
    ax.grid(alpha=0.25, lw=0.5)
    if len(t):
        ax.set_xlim(t[0], t[-1] if t[-1] > t[0] else t[0] + 1.0)


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
            f"{_fmt_time(t_end, *tunit)} ({run.status})")
    if mesh.dim == 3:
        line += f"  ·  images: central slice z = {run.mesh.centers('z')[mesh.nz // 2]:g} µm"
    if n_shown < len(run.field_names):
        line += f"  ·  first {n_shown} of {len(run.field_names)} fields"
    if constants:
        listing = ", ".join(f"{_pretty(k)} = {v:.4g}" for k, v in constants.items())
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
    tunit = _time_unit(span)
    lunit = _length_unit(max(mesh.extent))
    picks = _pick(len(times_all), MAX_LINES if mesh.dim == 1 else MAX_TIMES)
    times = [float(times_all[k]) for k in picks]
    snaps = _snapshots(run, names, picks)
    cells = _cells_row(run, names, snaps, picks) if mesh.dim >= 2 else None

    constants = _constants(metrics)
    metrics = metrics.drop(columns=list(constants))
    with mpl.rc_context(_RC):
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
    groups = _metric_groups(metrics, max(ncols - 1, 2))
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
            _metric_panel(ax, metrics, group, tunit, lunit)
    return fig


def _figure_1d(run, names, snaps, times, tunit, lunit, metrics) -> Figure:
    """1-D: one line plot per field (a line per time), then the metric panels.

    One field is drawn across the width above a row of metric panels; several fill a grid of
    two columns with the metric panels after them. The time legend takes a free cell of the
    grid, or else a strip above the panels.
    """
    one = len(names) == 1
    groups = _metric_groups(metrics, 3 if one else 4)
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
            _metric_panel(body.add_subplot(gs[1, j]), metrics, group, tunit, lunit)
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
            _metric_panel(cells.pop(0), metrics, group, tunit, lunit)
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
    supported = [f for f in _FORMATS if f in FigureCanvasAgg.get_supported_filetypes()]
    if fmt not in supported:
        raise RunDirError(
            f"cannot write {path}: unknown image format {fmt!r}; use one of "
            f"{', '.join(supported)}"
        )
    fig = plot_summary(run)
    title = f"invasim summary of {run.meta.get('scenario_name', run.path.name)}"
    extra = {"metadata": {"Title": title}} if fmt in _TITLED else {}
    write_atomic(path, lambda f: fig.savefig(f, format=fmt, dpi=DPI, **extra))
    return path


__all__ = ["plot_summary", "write_summary"]
