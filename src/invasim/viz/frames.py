"""Movie frames of a run: one picture per snapshot, the same axes and colours in every one.

Contract:
    * :func:`plan_frames` reads once what all frames share and returns a :class:`FramePlan`, a
      small picklable record: the colour limits of the field over *all* snapshots, the colour
      classes present in *any* cell snapshot, the limits of a numeric cell column over all
      snapshots, the pixel size. :func:`render_frame` draws snapshot ``k`` of a plan into an
      ``[H, W, 3]`` uint8 array in any process: it reopens the run from its path and draws on
      the Agg canvas without pyplot, so it runs in spawned workers.
    * Every frame of a plan has the same pixel size (width and height even, as H.264 in
      yuv420p needs), the same axes, limits, colour bars and legend: a movie does not flicker.
    * Agent runs (runs with cell tables): the cells to scale (discs of their own radius; 3-D:
      the cross-sections of those cutting the central z plane) over the field in pale blues,
      coloured by ``color_by``: ``type`` (every cell by its type), ``state`` (live cells by
      type, apoptotic and necrotic apart: :func:`invasim.viz.cells.plot_cells`' colours),
      ``phase`` (live cells by cycle phase, dead ones by death state), ``clone`` (the
      :data:`N_CLONES` largest lineages each a colour, the others grey), ``mode`` (live cells
      by migration mode, the ``mode`` column of the ``rho_gtpase`` process: epithelial,
      mesenchymal, amoeboid, all three always in the legend; dead ones by death state; cells
      without a mode grey), or a numeric column of the cell table (a trait, ``generation``,
      ``volume``...) through one colour scale.
      Categorical colours are Okabe–Ito (colour-blind safe); type ``i`` is always
      :func:`~invasim.viz.cells.type_colour` ``(i)``, as in every other figure.
    * A matrix field (ECM, :func:`~invasim.viz.common.is_matrix`) under the cells is drawn in
      :data:`~invasim.viz.cells.MATRIX_CMAP` (white to pale tan) instead of the pale blues.
    * Basement membrane: when an agent run has one (:func:`~invasim.viz.common.bm_field`) and
      ``bm`` is on (the default), its intact voxels (at least half the intact density) are a
      dark band over the cells and the field, thinned ones a faint band, breaches gaps
      (:func:`~invasim.viz.cells.draw_bm`), with a legend entry; the default background is
      then the first field that is not the BM.
    * 3-D agent runs are cut by a plane through the middle of the domain (``section``):
      ``"xy"`` (normal z) or ``"xz"`` (normal y: it holds the BM's normal, as a histological
      section does); ``"auto"`` takes ``"xz"`` when the BM is drawn, else ``"xy"``. Cells are
      drawn as their cross-sections with that plane, the field as its slice there.
    * Continuum runs: the field as an image (2-D; 3-D: its central z slice) or a line (1-D).
    * The simulated time sits in a corner, in hours (runs up to 4 days) or days; 2-D pictures
      carry a scale bar in µm (mm from 1 mm up) and no tick labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import EllipseCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredText

from invasim.core.mesh import Mesh
from invasim.errors import ConfigError, RunDirError
from invasim.io.run import Run
from invasim.viz import cells as vc
from invasim.viz.common import (
    CMAPS,
    RC,
    SECTIONS,
    bm_field,
    bm_reference,
    frame_time_unit,
    is_matrix,
    length_unit,
    section_geometry,
    snapshots,
    value_label,
    value_range,
)

#: the categorical colour-by modes; any numeric column of the cell table is allowed too
CATEGORIES = ("type", "state", "phase", "clone", "mode")
#: cell-table columns that are not offered as numeric colourings
NOT_VALUES = ("id", "parent_id", "clone_id", "type", "phase", "dead", "x", "y", "z", "time_min",
              "mode")
#: the largest clones that get a colour of their own
N_CLONES = 6
#: colour of the clones beyond the :data:`N_CLONES` largest (and of anything unclassified)
OTHER_COLOUR = "#999999"
#: figure size, inches (pixels: times ``dpi``): maps (cells, 2-D fields) and 1-D line plots
MAP_SIZE_IN = (8.0, 6.0)
LINE_SIZE_IN = (8.0, 4.5)
#: edge colour of cells coloured by a numeric column (a translucent dark grey)
VALUE_EDGE = (0.15, 0.15, 0.15, 0.5)
_DEATHS = {1: ("apoptotic", vc.APOPTOTIC_COLOUR), 2: ("necrotic", vc.NECROTIC_COLOUR)}


@dataclass(frozen=True)
class FramePlan:
    """What every frame of a movie shares; picklable, so workers get it whole.

    Attributes:
        path: the run directory.
        kind: ``"cells"`` (agent run), ``"image"`` (2-D/3-D field) or ``"line"`` (1-D field).
        times: snapshot times, min; one frame each.
        mesh: ``(dim, n, voxel_um)`` of the run's mesh.
        field: the field drawn (``None``: no field, cells on white).
        field_label: its colour-bar or axis label, with unit.
        cmap: its colour map name (``"background"``: the pale blues under cells;
            ``"matrix"``: a matrix density under cells).
        vlim: its limits over all snapshots.
        color_by: the cell colouring (``None`` for continuum runs).
        classes: legend entries ``(label, colour)`` of a categorical colouring; the last one
            is the fallback colour, listed in the legend only if ``other_used``.
        lookups: per key family (``type``, ``phase``, ``clone``, ``mode``, ``dead``) the
            sorted keys and their class indices.
        other_used: whether the fallback class is drawn (clones beyond the largest, cells
            without a mode).
        value_lim: limits of a numeric colouring over all snapshots.
        time_unit: ``(name, minutes per unit)``.
        size_px: ``(width, height)``, both even.
        dpi: dots per inch.
        title: the line at the top of every frame.
        section: 3-D: the plane cut, ``"xy"`` or ``"xz"`` (2-D: ``"xy"``).
        bm_field: the basement-membrane field drawn over the cells (``None``: none).
        bm_ref: its intact density (the band marks voxels of at least half of it).
    """

    path: str
    kind: str
    times: tuple[float, ...]
    mesh: tuple[int, tuple[int, ...], float]
    field: str | None
    field_label: str
    cmap: str
    vlim: tuple[float, float]
    color_by: str | None
    classes: tuple[tuple[str, str], ...]
    lookups: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    other_used: bool
    value_lim: tuple[float, float] | None
    time_unit: tuple[str, float]
    size_px: tuple[int, int]
    dpi: int
    title: str
    section: str = "xy"
    bm_field: str | None = None
    bm_ref: float = 0.0

    @property
    def n_frames(self) -> int:
        """Number of frames, one per snapshot."""
        return len(self.times)


# -- planning ----------------------------------------------------------------------------------
def _first_schema(run: Run):
    """The Arrow schema of the run's first cell table (``None`` without one)."""
    import pyarrow.parquet as pq

    first = next(iter(sorted((run.path / "cells").glob("[0-9]*.parquet"))), None)
    if first is None:
        return None
    try:
        return pq.ParquetFile(first).schema_arrow
    except (OSError, ValueError) as exc:
        raise RunDirError(f"cannot read {first}: {exc}") from None


def value_columns(run: Run) -> list[str]:
    """Numeric columns of the run's first cell table that ``color_by`` may name."""
    import pyarrow as pa

    schema = _first_schema(run)
    if schema is None:
        return []
    return [f.name for f in schema if f.name not in NOT_VALUES
            and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))]


def colourings(run: Run) -> list[str]:
    """What ``color_by`` may name in ``run``: categories (``mode`` if it has one), columns."""
    schema = _first_schema(run)
    has_mode = schema is not None and "mode" in schema.names
    return [*(c for c in CATEGORIES if c != "mode" or has_mode), *value_columns(run)]


def _even(x: float) -> int:
    return max(2, 2 * int(round(x / 2.0)))


def _phase_labels(run: Run) -> list[str]:
    """Phase names by index, from the run's scenario (``"phase k"`` where unknown)."""
    try:
        types = run.config.model_params.cell_types.values()
        cycles = [ct.cycle.cycle_model().phases for ct in types]
    except Exception:  # a hand-made run, or a model without cycles: indices only
        return []
    out = []
    for k in range(max(len(c) for c in cycles)):
        names = list(dict.fromkeys(c[k] for c in cycles if k < len(c)))
        out.append(" · ".join(names))
    return out


def _classes(run: Run, color_by: str, n: int):
    """Legend entries, key lookups and whether the fallback is used, over all snapshots."""
    need = {"type": ("type",), "state": ("type", "dead"), "phase": ("phase", "dead"),
            "clone": ("clone_id",), "mode": ("mode", "dead")}[color_by]
    present: dict[str, set[int]] = {"type": set(), "phase": set(), "dead": set(), "mode": set()}
    has_mode = False
    clone_max: pd.Series = pd.Series(dtype=np.int64)
    for k in range(n):
        f = vc.read_cells(run, k, need)
        if f is None or not len(f):
            continue
        dead = f["dead"].to_numpy() if "dead" in f else np.zeros(len(f), np.int8)
        live = dead == 0 if color_by in ("state", "phase", "mode") else np.ones(len(f), bool)
        if color_by in ("type", "state"):
            t = f["type"].to_numpy() if "type" in f else np.zeros(len(f), np.int64)
            present["type"].update(int(v) for v in np.unique(t[live]))
        if color_by == "phase" and "phase" in f:
            present["phase"].update(int(v) for v in np.unique(f["phase"].to_numpy()[live]))
        if color_by == "mode" and "mode" in f:
            has_mode = True
            present["mode"].update(int(v) for v in np.unique(vc.mode_codes(f)[live]))
        if color_by in ("state", "phase", "mode"):
            present["dead"].update(int(v) for v in np.unique(dead[~live]) if v in _DEATHS)
        if color_by == "clone" and "clone_id" in f:
            counts = f["clone_id"].value_counts()
            clone_max = pd.concat([clone_max, counts]).groupby(level=0).max()
    entries: list[tuple[str, str]] = []
    lookups = []
    if color_by in ("type", "state"):
        names = vc.type_names(run.meta)
        keys = sorted(present["type"] | set(range(len(names or []))))
        lookups.append(("type", tuple(keys), tuple(range(len(keys)))))
        entries += [(vc.type_label(k, names), vc.type_colour(k)) for k in keys]
    if color_by == "phase":
        labels = _phase_labels(run)
        keys = sorted(present["phase"])
        lookups.append(("phase", tuple(keys), tuple(range(len(keys)))))
        entries += [(labels[k] if k < len(labels) else f"phase {k}", vc.type_colour(k))
                    for k in keys]
    if color_by == "clone":
        # the largest first, ties by id; colours by rank, so the biggest clone is orange
        ranked = clone_max.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        top = [int(c) for c in ranked.index[:N_CLONES]]
        keys = sorted(top)
        lookups.append(("clone", tuple(keys), tuple(top.index(c) for c in keys)))
        entries += [(f"clone {c}", vc.TYPE_COLOURS[i]) for i, c in enumerate(top)]
    if color_by == "mode":
        if not has_mode:
            raise ConfigError(f"--color-by mode needs the cell column 'mode', written by the "
                              f"rho_gtpase process; the cell tables of {run.path} have none")
        keys = list(range(len(vc.MODE_LABELS)))  # all three always: arms compare at a glance
        lookups.append(("mode", tuple(keys), tuple(keys)))
        entries += list(zip(vc.MODE_LABELS, vc.MODE_COLOURS, strict=True))
    if color_by in ("state", "phase", "mode"):
        keys = sorted(present["dead"])
        lookups.append(("dead", tuple(keys), tuple(range(len(entries), len(entries) + len(keys)))))
        entries += [_DEATHS[k] for k in keys]
    other_used = ((color_by == "clone" and len(clone_max) > N_CLONES)
                  or (color_by == "mode" and -1 in present["mode"]))
    fallback = {"clone": "other clones", "mode": "no mode"}.get(color_by, "other")
    entries.append((fallback, OTHER_COLOUR))
    return tuple(entries), tuple(lookups), other_used


def _field_limits(run: Run, field: str, n: int, section: str) -> tuple[float, float]:
    lo, hi = math.inf, -math.inf
    for k in range(n):
        a = snapshots(run, [field], [k], section)[field][0]
        a = a[np.isfinite(a)]
        if a.size:
            lo, hi = min(lo, float(a.min())), max(hi, float(a.max()))
    return value_range([np.array([lo, hi])]) if lo <= hi else (0.0, 1.0)


def _section(run: Run, section: str, bm: str | None) -> str:
    if section not in ("auto", *SECTIONS):
        raise ConfigError(f"unknown section {section!r}; choose from auto, "
                          f"{', '.join(SECTIONS)}")
    if run.mesh.dim < 3:
        if section == "xz":
            raise ConfigError(f"section 'xz' cuts 3-D runs; {run.path} is "
                              f"{run.mesh.dim}-D (its map is the x–y plane)")
        return "xy"
    return ("xz" if bm else "xy") if section == "auto" else section


def _value_limits(run: Run, column: str, n: int) -> tuple[float, float]:
    arrays = []
    for k in range(n):
        f = vc.read_cells(run, k, (column,))
        if f is not None and column in f:
            arrays.append(f[column].to_numpy(dtype=float))
    return value_range(arrays)


def plan_frames(run: Run, field: str | None = None, color_by: str | None = "type",
                dpi: int = 100, *, bm: bool = True, section: str = "auto") -> FramePlan:
    """Everything the frames of ``run`` share, read from all its snapshots.

    Args:
        run: an opened run.
        field: the field drawn (default: the run's first field; with a BM drawn, the first
            other field).
        color_by: agent runs: ``type``, ``state``, ``phase``, ``clone``, ``mode`` or a numeric
            column of the cell table; ``None`` means ``type``. Continuum runs: ``None`` or
            ``"type"``.
        dpi: pixels per inch of the frames (100: 800 × 600 pixel maps).
        bm: agent runs: draw the basement membrane over the cells when the run has one.
        section: 3-D agent runs: ``"auto"``, ``"xy"`` or ``"xz"`` (see the module contract).

    Raises:
        ConfigError: an unknown field, ``color_by`` or ``section``; a colouring of a continuum
            run; ``mode`` in a run without a ``mode`` column.
        RunDirError: no snapshots, or files that cannot be read.
    """
    times = tuple(float(t) for t in run.times)
    if not times:
        raise RunDirError(f"{run.path} has no snapshots yet")
    mesh = run.mesh
    names = run.field_names
    agent = vc.has_cells(run)
    bm_name = bm_field(run) if agent and bm else None
    if field is None:
        rest = [f for f in names if f != bm_name]
        field = rest[0] if rest else (names[0] if names else None)
    elif field not in names:
        raise ConfigError(f"unknown field {field!r}; this run has {', '.join(names) or 'none'}")
    if field is None and not agent:
        raise RunDirError(f"{run.path} recorded no fields to draw")
    if not agent:
        if color_by not in (None, "type"):
            raise ConfigError(f"--color-by applies to agent runs; {run.path} is a continuum run "
                              f"({run.meta.get('model', 'no cells')}) with no cells to colour")
        color_by = None
    else:
        color_by = color_by or "type"
        if color_by not in CATEGORIES and color_by not in value_columns(run):
            raise ConfigError(f"unknown --color-by {color_by!r}; choose from "
                              f"{', '.join(colourings(run))}")
    section = _section(run, section, bm_name) if agent else "xy"
    vlim, label = (0.0, 1.0), ""
    if field is not None:
        vlim = _field_limits(run, field, len(times), section)
        label = value_label(field, run.field_info[field].get("unit", ""), 28)
    classes, lookups, other_used, value_lim = (), (), False, None
    if color_by in CATEGORIES:
        classes, lookups, other_used = _classes(run, color_by, len(times))
    elif color_by is not None:
        value_lim = _value_limits(run, color_by, len(times))
    kind = "cells" if agent else ("line" if mesh.dim == 1 else "image")
    w_in, h_in = LINE_SIZE_IN if kind == "line" else MAP_SIZE_IN
    scen = run.meta.get("scenario_name", run.path.name)
    parts = [scen, field or ""]
    if color_by is not None:
        parts.append(f"cells by {color_by}")
    if mesh.dim == 3:
        _, _, axis, cut = section_geometry(mesh, section)
        parts.append(f"slice {axis} = {cut:g} µm" + (" (x–z)" if axis == "y" else ""))
    if agent:
        cmap = "matrix" if field is not None and is_matrix(run, field) else "background"
        if cmap == "matrix":  # a density: no matrix is white, whatever the run's lowest value
            vlim = (min(0.0, vlim[0]), vlim[1])
    else:
        cmap = CMAPS[names.index(field) % len(CMAPS)]
    return FramePlan(
        path=str(run.path), kind=kind, times=times, mesh=(mesh.dim, tuple(mesh.n), mesh.h),
        field=field, field_label=label, cmap=cmap, vlim=vlim, color_by=color_by,
        classes=classes, lookups=lookups, other_used=other_used, value_lim=value_lim,
        time_unit=frame_time_unit(times[-1] - times[0]),
        size_px=(_even(w_in * dpi), _even(h_in * dpi)),
        dpi=int(dpi), title="  ·  ".join(p for p in parts if p), section=section,
        bm_field=bm_name, bm_ref=bm_reference(run, bm_name) if bm_name else 0.0,
    )


# -- drawing -----------------------------------------------------------------------------------
def _lookup(plan: FramePlan, family: str, values: np.ndarray) -> np.ndarray:
    other = len(plan.classes) - 1
    table = {f: (np.asarray(k, np.int64), np.asarray(c, np.int64)) for f, k, c in plan.lookups}
    if family not in table or not len(table[family][0]):
        return np.full(len(values), other, np.int64)
    keys, cls = table[family]
    pos = np.clip(np.searchsorted(keys, values), 0, len(keys) - 1)
    return np.where(keys[pos] == values, cls[pos], other)


def classify(plan: FramePlan, frame: pd.DataFrame) -> np.ndarray:
    """Index into ``plan.classes`` of each row of a cell table (categorical colourings)."""
    n = len(frame)
    col = lambda c: frame[c].to_numpy(np.int64) if c in frame else np.zeros(n, np.int64)  # noqa: E731
    dead = col("dead")
    if plan.color_by == "clone":
        return _lookup(plan, "clone", col("clone_id"))
    if plan.color_by == "mode":
        idx = _lookup(plan, "mode", vc.mode_codes(frame))
    else:
        family = "phase" if plan.color_by == "phase" else "type"
        idx = _lookup(plan, family, col(family))
    if plan.color_by in ("state", "phase", "mode"):
        idx = np.where(dead != 0, _lookup(plan, "dead", dead), idx)
    return idx


def geometry(plan: FramePlan) -> tuple[float, float, str | None, float]:
    """``(width_um, height_um, cut_axis, cut_um)`` of the plan's map (see ``section``)."""
    dim, n, h = plan.mesh
    return section_geometry(Mesh(dim=dim, n=n, h=h), plan.section)


def draw_plan_cells(ax, plan: FramePlan, frame: pd.DataFrame, z0: float | None = None):
    """Draw a cell table into ``ax`` (µm) as ``plan`` colours it; returns the collection and n.

    3-D: the cells cut by the plan's section, at ``z0`` along its normal (default: the
    middle); drawn at ``(x, y)`` (``"xy"``) or ``(x, z)`` (``"xz"``).
    """
    _, _, axis, cut = geometry(plan)
    cells, radius = vc.slice_cells(frame, plan.mesh[0], cut if z0 is None else z0, axis or "z")
    n = len(cells)
    up = "z" if axis == "y" and "z" in cells else "y"
    xy = np.column_stack([cells["x"].to_numpy(float), cells[up].to_numpy(float)])
    d = 2.0 * radius
    coll = EllipseCollection(d, d, np.zeros(n), units="xy", offsets=xy,
                             offset_transform=ax.transData, zorder=2)
    if plan.value_lim is not None:
        col = plan.color_by
        coll.set_array(cells[col].to_numpy(float) if col in cells else np.full(n, np.nan))
        coll.set_cmap(vc.VALUE_CMAP)
        coll.set_norm(Normalize(*plan.value_lim))
        coll.set_edgecolor(VALUE_EDGE)  # the pale ends of the map stay outlined on the field
    else:
        table = np.array([to_rgba(c) for _, c in plan.classes])
        faces = table[classify(plan, cells)] if n else np.zeros((0, 4))
        coll.set_facecolor(faces)
        coll.set_edgecolor(vc.darker(faces))
    coll.set_linewidth(vc.edge_width(ax, float(np.median(d)) if n else 0.0))
    ax.add_collection(coll, autolim=False)
    return coll, n


def draw_plan_bm(ax, plan: FramePlan, run: Run, k: int):
    """The plan's basement membrane at snapshot ``k`` over the cells; the image or ``None``."""
    if plan.bm_field is None:
        return None
    arr = snapshots(run, [plan.bm_field], [k], plan.section)[plan.bm_field][0]
    w, h, _, _ = geometry(plan)
    return vc.draw_bm(ax, arr, (0.0, w, 0.0, h), plan.bm_ref)


def field_cmap(plan: FramePlan):
    """The colour map of the plan's field (the named ones resolved)."""
    return {"background": vc.BACKGROUND_CMAP, "matrix": vc.MATRIX_CMAP}.get(plan.cmap,
                                                                            plan.cmap)


def legend_entries(plan: FramePlan) -> list[Line2D]:
    """The legend of a categorical plan (fallback only where used), and the BM's entry."""
    shown = plan.classes if plan.other_used else plan.classes[:-1]
    out = [legend_handle(c, lab) for lab, c in shown] if plan.value_lim is None else []
    if plan.bm_field is not None and plan.bm_ref > 0:
        out.append(vc.bm_handle())
    return out


def scale_bar(ax, length_um: float) -> None:
    """A scale bar of a round length near a fifth of ``length_um`` (µm, mm from 1 mm)."""
    from matplotlib.font_manager import FontProperties
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    target = 0.2 * length_um
    step = 10.0 ** math.floor(math.log10(target))
    bar = max(m * step for m in (1, 2, 5) if m * step <= target)
    text = f"{bar / 1000:g} mm" if bar >= 1000 else f"{bar:g} µm"
    sb = AnchoredSizeBar(ax.transData, bar, text, "lower right", pad=0.4, borderpad=0.6,
                         sep=3, frameon=True, size_vertical=0.008 * length_um,
                         fontproperties=FontProperties(size=9))
    sb.patch.set(alpha=0.8, edgecolor="none")
    ax.add_artist(sb)


def corner_text(ax, text: str, loc: str) -> None:
    """``text`` in a pale box in corner ``loc`` (``"upper left"``...) of ``ax``."""
    box = AnchoredText(text, loc=loc, prop={"size": 10}, frameon=True, pad=0.3, borderpad=0.5)
    box.patch.set(alpha=0.8, edgecolor="none")
    ax.add_artist(box)


def _draw(fig: Figure, plan: FramePlan, k: int) -> None:
    dim, n, h = plan.mesh
    mesh = Mesh(dim=dim, n=n, h=h)
    run = Run(plan.path)
    t = plan.times[k]
    when = f"t = {t / plan.time_unit[1]:.4g} {plan.time_unit[0]}"
    arr = (snapshots(run, [plan.field], [k], plan.section)[plan.field][0] if plan.field
           else None)
    fig.text(0.015, 0.975, plan.title, ha="left", va="top", fontsize=11)
    if plan.kind == "line":
        ax = fig.add_axes((0.11, 0.13, 0.85, 0.76))
        lu, per = length_unit(mesh.extent[0])
        ax.plot(mesh.centers("x") / per, arr, color=mpl.colormaps["viridis"](0.35), lw=2)
        pad = 0.05 * (plan.vlim[1] - plan.vlim[0])
        ax.set_xlim(0.0, mesh.extent[0] / per)
        ax.set_ylim(plan.vlim[0] - pad, plan.vlim[1] + pad)
        ax.set_xlabel(f"x [{lu}]")
        ax.set_ylabel(plan.field_label)
        corner_text(ax, when, "upper right")
        return
    width, height, _, _ = geometry(plan)
    ax = fig.add_axes((0.02, 0.03, 0.64, 0.88))
    ax.set_xlim(0.0, width)
    ax.set_ylim(0.0, height)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if arr is not None:
        im = ax.imshow(arr, origin="lower", extent=(0.0, width, 0.0, height),
                       cmap=field_cmap(plan), vmin=plan.vlim[0], vmax=plan.vlim[1],
                       aspect="equal", interpolation="nearest", zorder=1)
        tall = plan.kind == "image"
        cax = fig.add_axes((0.70, 0.10 if tall else 0.08, 0.025, 0.78 if tall else 0.36))
        fig.colorbar(im, cax=cax, label=plan.field_label)
    if plan.kind == "cells":
        frame = vc.read_cells(run, k, (plan.color_by,) if plan.value_lim is not None else
                              ("phase", "clone_id", "mode"))
        if frame is None:
            when += "\nno cells recorded"
        else:
            coll, drawn = draw_plan_cells(ax, plan, frame)
            live = int((frame["dead"] == 0).sum()) if "dead" in frame else len(frame)
            when += f"\n{live:,} live cells" + (f", {drawn:,} in the slice" if dim == 3 else "")
        draw_plan_bm(ax, plan, run, k)
        if plan.value_lim is not None:
            cax = fig.add_axes((0.70, 0.54, 0.025, 0.36))
            fig.colorbar(mpl.cm.ScalarMappable(Normalize(*plan.value_lim), vc.VALUE_CMAP),
                         cax=cax, label=plan.color_by)
        handles = legend_entries(plan)
        if handles and plan.value_lim is None:
            fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.68, 0.92),
                       frameon=False, title=f"cells by {plan.color_by}")
        elif handles:  # the BM alone, between the two colour bars
            fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.68, 0.49),
                       frameon=False)
    corner_text(ax, when, "upper left")
    scale_bar(ax, width)


def legend_handle(colour: str, label: str) -> Line2D:
    """A legend entry: a disc of ``colour`` with a darker edge."""
    face = to_rgba(colour)
    edge = tuple(c * 0.55 for c in face[:3]) + (1.0,)
    return Line2D([], [], ls="", marker="o", ms=8, mfc=face, mec=edge, mew=0.6, label=label)


def render_frame(plan: FramePlan, k: int) -> np.ndarray:
    """Frame ``k`` of ``plan`` as an ``[H, W, 3]`` uint8 RGB array of ``plan.size_px``."""
    w, h = plan.size_px
    with mpl.rc_context({**RC, "font.size": 10}):
        fig = Figure(figsize=(w / plan.dpi, h / plan.dpi), dpi=plan.dpi, facecolor="white")
        canvas = FigureCanvasAgg(fig)
        _draw(fig, plan, k)
        canvas.draw()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    out = np.full((h, w, 3), 255, np.uint8)  # a rounding pixel more or less: pad or crop
    hh, ww = min(h, rgb.shape[0]), min(w, rgb.shape[1])
    out[:hh, :ww] = rgb[:hh, :ww]
    return out


def render_to_file(plan: FramePlan, k: int, path: str) -> str:
    """Render frame ``k`` into a PNG at ``path`` (fast compression); returns ``path``."""
    from PIL import Image

    Image.fromarray(render_frame(plan, k)).save(path, format="PNG", compress_level=1)
    return path


__all__ = [
    "CATEGORIES",
    "FramePlan",
    "classify",
    "colourings",
    "draw_plan_bm",
    "draw_plan_cells",
    "geometry",
    "legend_entries",
    "plan_frames",
    "render_frame",
    "value_columns",
]
