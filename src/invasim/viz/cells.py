"""Cells drawn to scale over a field: one snapshot of an agent run.

Contract:
    * :func:`plot_cells` returns a :class:`matplotlib.figure.Figure` (its own, on the Agg canvas,
      or the one holding ``ax``); :func:`draw_cells` draws one cell table into an axes and is
      what the summary figure (:mod:`invasim.viz.summary`) uses for its top row.
    * Cells are discs of their own radius in data units (one
      :class:`~matplotlib.collections.EllipseCollection`, no per-cell Python), so they are to
      scale at any zoom and 10⁵ cells draw in about a second. 2-D: every cell. 3-D: the cells
      whose sphere cuts the central z plane of the mesh (the plane of the field slice), each
      drawn as its cross-section, radius ``sqrt(r² − (z − z0)²)``.
    * Colours (``color_by="state"``): live cells by type, type ``i`` always
      :data:`TYPE_COLOURS` ``[i % 7]`` (Okabe–Ito, colour-blind safe), in every panel and run;
      apoptotic cells :data:`APOPTOTIC_COLOUR` (warm grey), necrotic :data:`NECROTIC_COLOUR`
      (dark brown) whatever their type. ``color_by="type"`` colours dead cells by type too; any
      numeric column of the table (``"generation"``, a trait, ...) colours by value.
    * Cell-type names come from the run's metadata when it lists them (:func:`type_names`),
      else read ``type 0``, ``type 1``, ...
    * The background is a field (oxygen when the run has one, else its first) in pale blues,
      darker where there is more of it, so the cell colours stay readable on it; a matrix
      field (ECM, :func:`~invasim.viz.common.is_matrix`) in :data:`MATRIX_CMAP`, white to a
      pale tan, the stain of collagen in a section.
    * ``color_by="mode"``: live cells by migration mode (the ``mode`` column of the
      ``rho_gtpase`` process), :data:`MODE_COLOURS` for :data:`MODE_LABELS`; dead cells as in
      ``state``; cells without a mode (NaN) grey.
    * The basement membrane (:func:`draw_bm`): its intact voxels (at least half the intact
      density) as a dark band over the cells and the background, voxels thinned to 10–50 % as
      a faint one; breaches are gaps. :func:`plot_cells` draws it whenever a 2-D run has one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import EllipseCollection
from matplotlib.colors import LinearSegmentedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D

from invasim.errors import RunDirError
from invasim.io.run import Run
from invasim.viz.common import (
    DPI,
    RC,
    bm_field,
    bm_reference,
    fmt_time,
    is_matrix,
    length_unit,
    snapshots,
    time_unit,
    value_label,
    value_range,
)

#: live-cell colour of type ``i``: ``TYPE_COLOURS[i % 7]`` (Okabe–Ito, ordered so the first
#: types contrast most with each other and with the blue background)
TYPE_COLOURS = ("#E69F00", "#009E73", "#CC79A7", "#D55E00", "#F0E442", "#56B4E9", "#0072B2")
#: apoptotic cells (warm grey) and necrotic cells (dark brown)
APOPTOTIC_COLOUR = "#A89F91"
NECROTIC_COLOUR = "#4A2F1B"
#: colour map of the background field: white to a mid blue (more oxygen, bluer)
BACKGROUND_CMAP = LinearSegmentedColormap.from_list(
    "invasim_background", mpl.colormaps["Blues"](np.linspace(0.02, 0.5, 256))
)
#: colour map of a matrix density under the cells: white (no matrix) to a pale tan; light
#: enough at its top that every cell colour, grey included, keeps its contrast
MATRIX_CMAP = LinearSegmentedColormap.from_list(
    "invasim_matrix", ["#FFFFFF", "#EDE3D4", "#D9C5A6", "#C2A57C"]
)
#: the migration modes by the code of the ``mode`` column (0, 1, 2), as
#: :data:`invasim.biology.rho_gtpase.MODE_NAMES`
MODE_LABELS = ("epithelial", "mesenchymal", "amoeboid")
#: their colours (Okabe–Ito blue, vermillion, bluish green)
MODE_COLOURS = ("#0072B2", "#D55E00", "#009E73")
#: the basement membrane's colour; voxels below :data:`BM_INTACT` of the intact density are
#: drawn faint down to :data:`BM_FAINT`, and not at all below it
BM_COLOUR = "#1A1A1A"
BM_INTACT = 0.5
BM_FAINT = 0.1
#: colour of cells without a category (a NaN mode)
NO_CLASS_COLOUR = "#999999"
#: colour map of a numeric ``color_by`` column
VALUE_CMAP = "plasma"
#: the columns of a cell table the drawing needs
_NEEDED = ("x", "y", "z", "radius", "type", "dead")


# -- metadata ----------------------------------------------------------------------------------
def _names_from(value: Any) -> list[str] | None:
    """Type names out of a list of names, a list of tables with a ``name``, or a name mapping."""
    if isinstance(value, Mapping):
        names = [str(k) for k in value]
    elif isinstance(value, Sequence) and not isinstance(value, str):
        names = []
        for item in value:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
                names.append(item["name"])
            else:
                return None
    else:
        return None
    return names or None


def type_names(meta: Mapping[str, Any]) -> list[str] | None:
    """Names of the cell types, by index, if the run's metadata lists them.

    Looked up in ``meta["cell_types"]``, then ``meta["scenario"]["params"]`` under
    ``cell_types``, ``types`` or ``cell_type_names``: a list of names, a list of tables with a
    ``name`` key, or a table keyed by name (in its order). ``None`` when none is found.
    """
    places = [meta]
    scenario = meta.get("scenario")
    if isinstance(scenario, Mapping):
        places += [scenario, scenario.get("params") or {}]
    for place in places:
        if not isinstance(place, Mapping):
            continue
        for key in ("cell_types", "types", "cell_type_names"):
            names = _names_from(place.get(key))
            if names:
                return names
    return None


def type_label(index: int, names: Sequence[str] | None) -> str:
    """Legend label of cell type ``index``."""
    if names is not None and 0 <= index < len(names):
        return names[index]
    return f"type {index}"


def type_colour(index: int) -> str:
    """Colour of live cells of type ``index`` (the same in every figure)."""
    return TYPE_COLOURS[int(index) % len(TYPE_COLOURS)]


def background_field(run: Run) -> str | None:
    """The field drawn under the cells: ``oxygen`` if recorded, else the first, else none."""
    names = run.field_names
    if "oxygen" in names:
        return "oxygen"
    return names[0] if names else None


# -- reading -----------------------------------------------------------------------------------
def has_cells(run: Run) -> bool:
    """Whether the run recorded cell tables (an agent model in 2-D or 3-D)."""
    folder = run.path / "cells"
    return run.mesh.dim >= 2 and folder.is_dir() and any(folder.glob("[0-9]*.parquet"))


def read_cells(run: Run, index: int, extra: Sequence[str] = ()) -> pd.DataFrame | None:
    """The columns the drawing needs of cell snapshot ``index``; ``None`` if it is missing."""
    import pyarrow.parquet as pq

    path = Path(run.path) / "cells" / f"{index:06d}.parquet"
    if not path.is_file():
        return None
    try:
        have = pq.ParquetFile(path).schema_arrow.names
        cols = [c for c in (*_NEEDED, *extra) if c in have]
        return pd.read_parquet(path, columns=list(dict.fromkeys(cols)))
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise RunDirError(f"cannot read {path}: {exc}") from None


# -- drawing -----------------------------------------------------------------------------------
def darker(rgba: np.ndarray, f: float = 0.55) -> np.ndarray:
    """Edge colours: ``[n, 4]`` RGBA colours with their RGB scaled by ``f``."""
    out = rgba.copy()
    out[:, :3] *= f
    return out


def mode_codes(frame: pd.DataFrame) -> np.ndarray:
    """``[n]`` int64 mode codes of a cell table's ``mode`` column; -1 where NaN or unknown."""
    m = frame["mode"].to_numpy(dtype=float) if "mode" in frame else np.full(len(frame), np.nan)
    ok = np.isfinite(m) & (m >= 0) & (m < len(MODE_LABELS))
    return np.where(ok, np.nan_to_num(m), -1).astype(np.int64)


def _state_colours(types: np.ndarray, dead: np.ndarray, by_state: bool,
                   modes: np.ndarray | None = None) -> np.ndarray:
    table = np.array([to_rgba(c) for c in TYPE_COLOURS])
    rgba = table[np.mod(types, len(TYPE_COLOURS))]
    if modes is not None:
        table = np.array([to_rgba(c) for c in (*MODE_COLOURS, NO_CLASS_COLOUR)])
        rgba = table[np.where(modes >= 0, modes, len(MODE_COLOURS))]
    if by_state:
        rgba[dead == 1] = to_rgba(APOPTOTIC_COLOUR)
        rgba[dead == 2] = to_rgba(NECROTIC_COLOUR)
    return rgba


def slice_cells(frame: pd.DataFrame, dim: int, z0: float,
                axis: str = "z") -> tuple[pd.DataFrame, np.ndarray]:
    """The cells drawn and their drawn radii: all (2-D), or those cutting ``axis = z0`` (3-D).

    3-D: ``axis`` is the axis normal to the section (``"z"``: the x–y plane at ``z = z0``,
    ``"y"``: the x–z plane at ``y = z0``); radii are the cross-sections'.
    """
    r = frame["radius"].to_numpy(dtype=float) if "radius" in frame else np.full(len(frame), 8.4)
    if dim < 3 or axis not in frame:
        return frame, r
    dz = frame[axis].to_numpy(dtype=float) - z0
    keep = np.abs(dz) < r
    return frame[keep], np.sqrt(r[keep] ** 2 - dz[keep] ** 2)


def draw_cells(
    ax,
    frame: pd.DataFrame,
    *,
    dim: int,
    z0: float = 0.0,
    per_um: float = 1.0,
    color_by: str = "state",
    norm=None,
) -> EllipseCollection:
    """Draw one cell table into ``ax`` as discs to scale; returns the collection.

    Args:
        ax: the axes, in lengths of ``per_um`` µm per unit (1: µm, 1000: mm).
        frame: a cell table (``x, y[, z], radius, type, dead``, ...).
        dim: 2 or 3; 3: only the cross-sections of the cells cutting ``z = z0``.
        color_by: ``"state"``, ``"type"``, ``"mode"`` (live cells by migration mode, dead ones
            by state) or a numeric column (then coloured through ``norm``).
        norm: a :class:`~matplotlib.colors.Normalize` for a numeric column (default: its range).
    """
    cells, radius = slice_cells(frame, dim, z0)
    n = len(cells)
    xy = np.column_stack([cells["x"].to_numpy(dtype=float), cells["y"].to_numpy(dtype=float)])
    types = cells["type"].to_numpy(dtype=np.int64) if "type" in cells else np.zeros(n, np.int64)
    dead = cells["dead"].to_numpy(dtype=np.int64) if "dead" in cells else np.zeros(n, np.int64)
    if color_by in ("state", "type", "mode"):
        modes = mode_codes(cells) if color_by == "mode" else None
        faces = _state_colours(types, dead, color_by != "type", modes)
        values = None
    elif color_by in cells:
        values = cells[color_by].to_numpy(dtype=float)
        faces = None
    else:
        raise ValueError(
            f"color_by must be 'state', 'type', 'mode' or a column of the cell table, got "
            f"{color_by!r}"
        )
    d = 2.0 * radius / per_um
    coll = EllipseCollection(
        d, d, np.zeros(n), units="xy", offsets=xy / per_um, offset_transform=ax.transData,
        zorder=2,
    )
    if values is not None:
        coll.set_array(values)
        coll.set_cmap(VALUE_CMAP)
        if norm is not None:
            coll.set_norm(norm)
        else:
            coll.set_clim(*value_range([values]))
        coll.set_edgecolor("face")
    else:
        coll.set_facecolor(faces)
        coll.set_edgecolor(darker(faces))
    coll.set_linewidth(edge_width(ax, float(np.median(d)) if n else 0.0))
    ax.add_collection(coll, autolim=False)
    return coll


def draw_bm(ax, arr: np.ndarray, extent, reference: float, zorder: float = 3.0,
            ) -> AxesImage | None:
    """Draw a basement-membrane slice ``arr`` (``[rows, cols]``, rows upwards) into ``ax``.

    Voxels of at least :data:`BM_INTACT` × ``reference`` are opaque :data:`BM_COLOUR`, those
    from :data:`BM_FAINT` × ``reference`` up a faint band (alpha 0.3), the rest transparent:
    an intact BM is a dark band, a thinned one fades, a breach is a gap. Drawn over the cells
    (``zorder`` 3), whose bodies reach into the BM's voxel. ``None`` if ``reference <= 0``.
    The image is labelled ``"basement membrane"``.
    """
    if not reference > 0:
        return None
    q = np.nan_to_num(np.asarray(arr, dtype=float)) / reference
    rgba = np.zeros((*q.shape, 4))
    rgba[..., :3] = to_rgba(BM_COLOUR)[:3]
    rgba[..., 3] = np.where(q >= BM_INTACT, 1.0, np.where(q >= BM_FAINT, 0.3, 0.0))
    return ax.imshow(rgba, origin="lower", extent=extent, aspect=ax.get_aspect(),
                     interpolation="nearest", zorder=zorder, label="basement membrane")


def bm_handle() -> Line2D:
    """The legend entry of the basement membrane: a short dark band."""
    return Line2D([], [], color=BM_COLOUR, lw=3.5, solid_capstyle="butt",
                  label="basement membrane")


def edge_width(ax, diameter: float) -> float:
    """Edge line width (points): thin, and none when the discs are only a few pixels wide."""
    fig = ax.get_figure(root=True)
    x0, x1 = ax.get_xlim()
    width_pt = ax.get_position().width * fig.get_figwidth() * 72.0
    d_pt = diameter / max(abs(x1 - x0), 1e-30) * width_pt
    return 0.0 if d_pt < 1.2 else float(min(0.5, 0.1 * d_pt))


def setup_axes(ax, run: Run, lunit: tuple[str, float], background: np.ndarray | None,
               vmin: float, vmax: float, cmap=BACKGROUND_CMAP):
    """Limits, aspect, labels and the background image of a cell panel; returns the image."""
    mesh = run.mesh
    lu, lper = lunit
    ext = [0.0, mesh.extent[0] / lper, 0.0, mesh.extent[1] / lper]
    ratio = mesh.extent[1] / mesh.extent[0]
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    ax.set_aspect("equal" if 0.25 <= ratio <= 4.0 else "auto")
    im = None
    if background is not None:
        im = ax.imshow(background, origin="lower", extent=ext, cmap=cmap, vmin=vmin,
                       vmax=vmax, aspect=ax.get_aspect(), interpolation="nearest", zorder=1)
    ax.set_xlabel(f"x [{lu}]")
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return im


def panel_title(frame: pd.DataFrame | None, t_min: float, tunit: tuple[str, float],
                n_drawn: int | None, dim: int) -> str:
    """``t = … · N live`` (3-D: and how many cells the slice cuts)."""
    head = fmt_time(t_min, *tunit)
    if frame is None:
        return f"{head} · no cells recorded"
    live = int((frame["dead"] == 0).sum()) if "dead" in frame else len(frame)
    text = f"{head} · {live:,} live"
    if dim == 3 and n_drawn is not None:
        text += f"\n{n_drawn:,} cells in the slice"
    return text


def legend_handles(frames: Sequence[pd.DataFrame | None], names: Sequence[str] | None,
                   color_by: str = "state") -> list[Line2D]:
    """One entry per cell type present (or named) and per death state present.

    ``color_by="mode"``: the three modes instead of the types, and ``no mode`` last if a live
    cell has none.
    """
    types: set[int] = set(range(len(names))) if names else set()
    states: set[int] = set()
    modes: set[int] = set(range(len(MODE_LABELS))) if color_by == "mode" else set()
    for f in frames:
        if f is None or not len(f):
            continue
        live = f["dead"].to_numpy() == 0 if "dead" in f else np.ones(len(f), bool)
        if "type" in f:
            t = f["type"].to_numpy()
            types.update(int(k) for k in np.unique(t[live] if color_by == "state" else t))
        else:
            types.add(0)
        if color_by == "mode":
            modes.update(int(k) for k in np.unique(mode_codes(f)[live]))
        if "dead" in f and color_by in ("state", "mode"):
            states.update(int(k) for k in np.unique(f["dead"].to_numpy()) if k in (1, 2))

    def handle(colour: str, label: str) -> Line2D:
        face = to_rgba(colour)
        edge = tuple(c * 0.55 for c in face[:3]) + (1.0,)
        return Line2D([], [], ls="", marker="o", ms=7, mfc=face, mec=edge, mew=0.6, label=label)

    if color_by == "mode":
        out = [handle(MODE_COLOURS[k], MODE_LABELS[k]) for k in sorted(modes) if k >= 0]
    else:
        out = [handle(type_colour(k), type_label(k, names)) for k in sorted(types)]
    if 1 in states:
        out.append(handle(APOPTOTIC_COLOUR, "apoptotic"))
    if 2 in states:
        out.append(handle(NECROTIC_COLOUR, "necrotic"))
    if -1 in modes:
        out.append(handle(NO_CLASS_COLOUR, "no mode"))
    return out


# -- the figure --------------------------------------------------------------------------------
def plot_cells(run: Run, time_min: float | None = None, ax=None, color_by: str = "state",
               field: str | None = "auto", bm: bool = True) -> Figure:
    """The cells of one snapshot, to scale, over a field.

    Args:
        run: an opened agent run (:func:`invasim.load_run`) with cell snapshots.
        time_min: the snapshot time (default: the last snapshot).
        ax: draw into this axes instead of a new figure (no colour bar or legend is added to
            its figure then; build them from :func:`legend_handles` if wanted).
        color_by: ``"state"`` (live by type, apoptotic and necrotic apart), ``"type"``,
            ``"mode"`` (live by migration mode), or a numeric column of the cell table such as
            ``"generation"`` or a trait.
        field: the background field; ``"auto"``: oxygen, else the first field; ``None``: none.
            A matrix field is drawn in :data:`MATRIX_CMAP`.
        bm: draw the basement membrane (:func:`draw_bm`) when the run has one (2-D runs;
            in 3-D this figure's x–y plane lies along the BM: use
            :func:`invasim.viz.plot.plot_snapshot`, which cuts an x–z section).

    Returns:
        The figure drawn on (a new one on the Agg canvas, not registered with pyplot).

    Raises:
        RunDirError: the run has no cell snapshots or its files cannot be read.
        ValueError: an unknown ``color_by`` or ``field``; ``"mode"`` without a ``mode`` column.
    """
    mesh = run.mesh
    if mesh.dim < 2:
        raise RunDirError(f"{run.path}: cells are drawn in 2-D and 3-D runs only")
    times = run.times
    if not has_cells(run) or len(times) == 0:
        raise RunDirError(f"{run.path} has no cell snapshots")
    k = len(times) - 1 if time_min is None else run.time_index(time_min)
    categorical = color_by in ("state", "type", "mode")
    extra = () if color_by in ("state", "type") else (color_by,)
    frame = read_cells(run, k, extra)
    if frame is None:
        raise RunDirError(f"{run.path} has no cell snapshot at t = {times[k]:g} min")
    if color_by == "mode" and "mode" not in frame:
        raise ValueError(f"color_by 'mode' needs the cell column 'mode', written by the "
                         f"rho_gtpase process; the cell tables of {run.path} have none")
    name = background_field(run) if field == "auto" else field
    if name is not None and name not in run.field_names:
        raise ValueError(f"unknown field {name!r}; this run has {', '.join(run.field_names)}")
    bg = snapshots(run, [name], [k])[name][0] if name is not None else None
    # 3-D: the x-y plane here lies along a BM normal to z; plot_snapshot cuts x-z sections
    bm_name = bm_field(run) if bm and mesh.dim == 2 else None
    bm_arr = snapshots(run, [bm_name], [k])[bm_name][0] if bm_name else None
    lunit = length_unit(max(mesh.extent))
    tunit = time_unit(float(times[-1]))
    z0 = float(mesh.centers("z")[mesh.nz // 2]) if mesh.dim == 3 else 0.0
    names = type_names(run.meta)

    with mpl.rc_context(RC):
        own = ax is None
        if own:
            ratio = float(np.clip(mesh.extent[1] / mesh.extent[0], 0.25, 4.0))
            fig = Figure(figsize=(7.2, min(5.0 * ratio, 8.0) + 0.9), dpi=DPI,
                         layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure(root=True)
        vmin, vmax = value_range([bg]) if bg is not None else (0.0, 1.0)
        cmap = MATRIX_CMAP if name is not None and is_matrix(run, name) else BACKGROUND_CMAP
        im = setup_axes(ax, run, lunit, bg, vmin, vmax, cmap)
        ax.set_ylabel(f"y [{lunit[0]}]")
        coll = draw_cells(ax, frame, dim=mesh.dim, z0=z0, per_um=lunit[1], color_by=color_by)
        band = None
        if bm_arr is not None:
            ext = (0.0, mesh.extent[0] / lunit[1], 0.0, mesh.extent[1] / lunit[1])
            band = draw_bm(ax, bm_arr, ext, bm_reference(run, bm_name))
        ax.set_title(panel_title(frame, float(times[k]), tunit, len(coll.get_offsets()),
                                 mesh.dim))
        if own:
            if not categorical:
                fig.colorbar(coll, ax=ax, label=color_by, shrink=0.8, pad=0.02)
            if im is not None:
                info = run.field_info[name]
                fig.colorbar(im, ax=ax, label=value_label(name, info.get("unit", ""), 30),
                             shrink=0.8, pad=0.02)
            handles = legend_handles([frame], names, color_by) if categorical else []
            if band is not None:
                handles.append(bm_handle())
            if handles:
                fig.legend(handles=handles, loc="outside right upper", frameon=False,
                           title="cells")
            scen = run.meta.get("scenario_name", run.path.name)
            where = f"  ·  slice z = {z0:g} µm" if mesh.dim == 3 else ""
            fig.suptitle(f"{scen}  ·  cells{where}", x=0.01, ha="left", fontsize=10)
    if own:
        FigureCanvasAgg(fig)
    return fig


__all__ = [
    "APOPTOTIC_COLOUR",
    "BM_COLOUR",
    "MATRIX_CMAP",
    "MODE_COLOURS",
    "MODE_LABELS",
    "NECROTIC_COLOUR",
    "TYPE_COLOURS",
    "draw_bm",
    "draw_cells",
    "legend_handles",
    "plot_cells",
    "type_names",
]
