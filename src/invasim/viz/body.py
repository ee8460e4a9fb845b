"""The body figure of a run with the body process: the tissue window beside the patient.

Contract:
    * :func:`plot_body` ``(run) -> Figure`` and :func:`write_body` ``(run, out=None) -> Path``
      (default ``RUN_DIR/body.png``, written whole); :func:`has_body` says whether a run has
      the tables it needs (``body_burden``, ``body_outcome``; the ``body`` process), and
      :func:`write_body_if_any` writes it only then (what the runner calls after the summary).
    * Left: the tissue at the last snapshot (cells to scale by type and state,
      :func:`invasim.viz.cells.draw_cells`), the vessels of the scenario (blood red, lymph
      green, to their radius) and every intravasation event so far (a ring at the leader's
      position, its size by the cluster's cells).
    * Right, top: a schematic body at four times (diagnosis: the first record where the
      primary reaches the diagnosis size ``diagnosis_cells``; then evenly to the end, death
      last), each organ a shape at its place (brain, lungs, heart, breast with the primary,
      axillary lymph node, liver, gut, kidneys, bone as the femurs, muscle as the limbs, skin
      as the outline; adipose and other as swatches) coloured by log10 of its burden in cells
      on one scale (pale: none). Right, bottom: the burden of each organ over time (log),
      the primary dashed, the imaging threshold and the time of death marked.
    * Title: the time and cause of death (or "alive at ..."); caption: the calibrated
      shedding with its 95 % interval and the events behind it, and Butler & Gullino 1975's
      m = 3.2 for comparison.
    * Reads only the run directory (tables, the scenario's ``vessels`` table for the
      segments); Agg canvas, no pyplot.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Ellipse, FancyBboxPatch, Rectangle

from invasim.errors import RunDirError
from invasim.io.atomic import write_atomic
from invasim.io.run import Run
from invasim.viz import cells as vc
from invasim.viz.common import DPI, RC

BODY_PNG = "body.png"
BURDEN, OUTCOME, EVENTS = "body_burden", "body_outcome", "intravasation_events"
CMAP = "YlOrRd"
EMPTY = "#f3f0ea"
VESSEL_COLOURS = {1: "#c0392b", 2: "#27ae60"}
#: the colour scale of the burden, cells
VMIN, VMAX = 1.0, 1e12
BUTLER_GULLINO_M = 3.2

# organ -> list of (shape, centre x, centre y, width, height); body units: 10 wide, 20 tall
SHAPES: dict[str, list[tuple[str, float, float, float, float]]] = {
    "brain": [("ellipse", 5.0, 18.35, 2.1, 1.5)],
    "lungs": [("ellipse", 4.05, 13.7, 1.55, 2.7), ("ellipse", 5.95, 13.7, 1.55, 2.7)],
    "heart": [("ellipse", 5.35, 12.85, 1.05, 1.15)],
    "breast": [("ellipse", 6.55, 12.2, 1.0, 0.9)],
    "lymph_node": [("circle", 7.45, 13.9, 0.36, 0.36)],
    "liver": [("ellipse", 4.1, 11.15, 2.5, 1.25)],
    "gut": [("ellipse", 5.0, 9.5, 3.2, 1.9)],
    "kidneys": [("ellipse", 3.35, 10.25, 0.6, 0.95), ("ellipse", 6.65, 10.25, 0.6, 0.95)],
    "bone": [("rect", 3.95, 5.0, 0.42, 4.4), ("rect", 6.05, 5.0, 0.42, 4.4)],
}
LIMBS = [(2.0, 8.9, 0.75, 6.2, -8), (8.0, 8.9, 0.75, 6.2, 8)]  # arms: x, y, w, h, angle
LEGS = [(3.95, 4.3, 1.55, 7.8), (6.05, 4.3, 1.55, 7.8)]
SWATCHES = ("adipose", "other")


def has_body(run: Run) -> bool:
    """Whether the run stored the body process' tables."""
    return all((run.path / name).is_dir() and any((run.path / name).glob("[0-9]*.parquet"))
               for name in (BURDEN, OUTCOME))  # fmt: skip


def _organs(burden: pd.DataFrame) -> list[str]:
    skip = {"t_days", "primary", "total", "n_metastases", "time_min"}
    return [c for c in burden.columns if c not in skip]


def _colour(cmap, norm, value: float):
    return EMPTY if not value >= VMIN else cmap(norm(min(value, VMAX)))


def diagnosis_row(burden: pd.DataFrame, detect: float) -> int:
    """First row whose primary reaches ``detect`` cells (0 if none)."""
    hit = np.flatnonzero(burden["primary"].to_numpy(float) >= detect)
    return int(hit[0]) if hit.size else 0


def panel_rows(burden: pd.DataFrame, detect: float, k: int = 4) -> list[int]:
    """``k`` rows from diagnosis to the last record, evenly in time, the last included."""
    t = burden["t_days"].to_numpy(float)
    a = diagnosis_row(burden, detect)
    want = np.linspace(t[a], t[-1], k)
    rows = [int(np.argmin(np.abs(t - w))) for w in want]
    return list(dict.fromkeys(rows))


def _draw_body(ax, row: pd.Series, cmap, norm, primary_site: str) -> None:
    ax.set_xlim(0.6, 9.4)
    ax.set_ylim(-0.2, 20.2)
    ax.set_aspect("equal")
    ax.axis("off")
    skin = _colour(cmap, norm, float(row.get("skin", 0.0)))
    muscle = _colour(cmap, norm, float(row.get("muscle", 0.0)))
    outline = dict(ec="#6b6259", lw=1.0)
    for x, y, w, h, ang in LIMBS:
        ax.add_patch(Ellipse((x, y), w, h, angle=ang, fc=muscle, **outline))
    for x, y, w, h in LEGS:
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                    boxstyle="round,pad=0,rounding_size=0.6", fc=muscle,
                                    **outline))  # fmt: skip
    ax.add_patch(FancyBboxPatch((2.55, 7.9), 4.9, 8.0, boxstyle="round,pad=0,rounding_size=1.3",
                                fc="#fbfaf7", ec=skin, lw=3.0))  # fmt: skip
    ax.add_patch(Rectangle((4.45, 15.7), 1.1, 0.9, fc="#fbfaf7", ec="none"))
    ax.add_patch(Circle((5.0, 18.2), 1.55, fc="#fbfaf7", ec=skin, lw=3.0))
    for organ, shapes in SHAPES.items():
        value = float(row.get(organ, 0.0))
        face = _colour(cmap, norm, value)
        lw = 1.8 if organ == primary_site else 0.8
        for kind, x, y, w, h in shapes:
            if kind == "ellipse":
                p = Ellipse((x, y), w, h, fc=face, ec="#3d3631", lw=lw)
            elif kind == "circle":
                p = Circle((x, y), w, fc=face, ec="#3d3631", lw=lw)
            else:
                p = FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                   boxstyle="round,pad=0,rounding_size=0.2", fc=face,
                                   ec="#3d3631", lw=lw)  # fmt: skip
            ax.add_patch(p)
    for j, organ in enumerate(SWATCHES):
        value = float(row.get(organ, 0.0))
        ax.add_patch(Rectangle((1.0 + 4.3 * j, -0.1), 0.7, 0.55, fc=_colour(cmap, norm, value),
                               ec="#3d3631", lw=0.6))  # fmt: skip
        ax.text(1.85 + 4.3 * j, 0.17, organ, fontsize=6.5, va="center", color="#3d3631")


#: organ labels drawn on the first body: (text, x, y)
LABELS = (("brain", 5.0, 18.35), ("lungs", 4.05, 14.3), ("heart", 5.35, 12.85),
          ("liver", 3.95, 11.15), ("gut", 5.0, 9.5), ("kidney", 3.35, 10.25),
          ("bone", 3.95, 5.0), ("muscle", 2.0, 8.2))  # fmt: skip


def _labels(ax, site: str) -> None:
    for text, x, y in LABELS:
        ax.text(x, y, text, fontsize=5.5, ha="center", va="center", color="#2b2622",
                rotation=90 if text in ("bone", "kidney") else 0)  # fmt: skip
    ax.annotate(f"{site}\n(primary)", (6.55, 12.2), (8.9, 11.2), fontsize=5.5, ha="center",
                color="#2b2622", arrowprops=dict(arrowstyle="-", lw=0.5, color="#2b2622"))
    ax.annotate("lymph\nnode", (7.45, 13.9), (8.9, 15.3), fontsize=5.5, ha="center",
                color="#2b2622", arrowprops=dict(arrowstyle="-", lw=0.5, color="#2b2622"))


def _vessels(run: Run) -> np.ndarray:
    params = run.config.params
    params = params if isinstance(params, dict) else params.model_dump()
    table = params.get("vessels")
    if not table:
        return np.zeros((0, 8))
    from invasim.processes.vessels import VesselsParams, segments

    return segments(VesselsParams.model_validate(table), tuple(run.mesh.extent),
                    int(run.meta.get("seed", 0)))  # fmt: skip


def _draw_tissue(ax, run: Run) -> None:
    k = len(run.times) - 1
    frame = vc.read_cells(run, k)
    ext = run.mesh.extent
    ax.set_xlim(0, ext[0])
    ax.set_ylim(0, ext[1])
    ax.set_aspect("equal")
    ax.set_facecolor("#fbf6ee")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    for s in _vessels(run):
        if run.mesh.dim == 3:
            continue
        col = VESSEL_COLOURS.get(int(s[7]), "#555555")
        # a line as wide as the vessel, in points: the axes' µm per point
        x0, x1 = ax.get_xlim()
        width_pt = ax.bbox.width / (x1 - x0) * 2 * s[6] * 72 / ax.figure.dpi
        ax.plot([s[0], s[3]], [s[1], s[4]], color=col, lw=max(width_pt, 1.5), alpha=0.55,
                solid_capstyle="butt", zorder=1)  # fmt: skip
    if frame is not None and len(frame):
        vc.draw_cells(ax, frame, dim=run.mesh.dim, z0=ext[2] / 2 if run.mesh.dim == 3 else 0.0)
    try:
        ev = run.table(EVENTS)
    except RunDirError:
        ev = pd.DataFrame()
    if len(ev) and "x" in ev:
        ax.scatter(ev["x"], ev["y"], s=40 + 40 * ev["size"].to_numpy(float), facecolors="none",
                   edgecolors="black", linewidths=1.3, zorder=4)  # fmt: skip
    names = vc.type_names(run.meta)
    handles = vc.legend_handles([frame], names)
    handles += [Line2D([], [], color=VESSEL_COLOURS[1], lw=4, alpha=0.6, label="blood vessel"),
                Line2D([], [], color=VESSEL_COLOURS[2], lw=4, alpha=0.6, label="lymphatic"),
                Line2D([], [], ls="", marker="o", ms=9, mfc="none", mec="black",
                       label=f"intravasation ({len(ev)})")]  # fmt: skip
    ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.85)
    t_h = float(run.times[k]) / 60
    ax.set_title(f"tissue window at {t_h:g} h", fontsize=10)


def _years(days: float) -> str:
    return f"{days / 365.25:.1f} y"


def plot_body(run: Run) -> Figure:
    """The body figure (see the module contract)."""
    burden = run.table(BURDEN)
    out = run.table(OUTCOME).iloc[0]
    detect = 1e8  # the imaging threshold of metastases (BodyParams.detect_cells)
    # diagnosis: the primary reaching the body model's diagnosis size (older runs: 1e8)
    diag = float(out["diagnosis_cells"]) if "diagnosis_cells" in out.index else detect
    organs = _organs(burden)
    with mpl.rc_context(RC):
        fig = Figure(figsize=(15.5, 8.2), layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subfigures(1, 2, width_ratios=[1.0, 1.45])
        _draw_tissue(left.add_subplot(), run)
        top, bottom = right.subfigures(2, 1, height_ratios=[1.7, 1.0])
        rows = panel_rows(burden, diag)
        axes = top.subplots(1, len(rows))
        axes = np.atleast_1d(axes)
        cmap = mpl.colormaps[CMAP]
        norm = LogNorm(VMIN, VMAX)
        site = str(out.get("primary_site", "breast"))
        t = burden["t_days"].to_numpy(float)
        for j, (ax, r) in enumerate(zip(axes, rows, strict=True)):
            _draw_body(ax, burden.iloc[r], cmap, norm, site)
            if j == 0:
                _labels(ax, site)
            label = ("diagnosis" if j == 0 and burden["primary"].iloc[r] >= diag
                     else ("death" if j == len(rows) - 1 and bool(out["died"]) else ""))
            ax.set_title(f"{label + ' · ' if label else ''}day {t[r]:.0f} ({_years(t[r])})\n"
                         f"{burden['total'].iloc[r]:.2g} cells, "
                         f"{int(burden['n_metastases'].iloc[r])} metastases", fontsize=8.5)
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = top.colorbar(sm, ax=list(axes), shrink=0.75, pad=0.01)
        cb.ax.axhline(detect, color="black", lw=1.5)
        cb.set_label("burden (cells); black line: imaging threshold")
        ax = bottom.add_subplot()
        last = burden.iloc[-1]
        ranked = sorted(organs, key=lambda o: -float(last.get(o, 0.0)))[:7]
        lines = mpl.colormaps["tab10"]
        for j, o in enumerate(ranked):
            y = burden[o].to_numpy(float)
            if np.nanmax(y) < 1:
                continue
            ax.plot(t / 365.25, np.where(y >= 1, y, np.nan), lw=1.8, color=lines(j),
                    label=f"{o} (primary)" if o == site else o,
                    ls="--" if o == site else "-")  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylim(1, 3 * VMAX)
        ax.axhline(detect, color="grey", lw=0.8, ls=":")
        if bool(out["died"]):
            ax.axvline(float(out["t_death_days"]) / 365.25, color="black", lw=1.0)
        for r in rows:
            ax.axvline(t[r] / 365.25, color="grey", lw=0.5, alpha=0.6)
        ax.set_xlabel("years from the first tumour cell")
        ax.set_ylabel("cells per organ")
        ax.legend(fontsize=7, ncol=4, loc="upper left", frameon=False)
        if bool(out["died"]):
            head = (f"death at day {out['t_death_days']:.0f} ({_years(out['t_death_days'])}): "
                    f"{out['cause']}")
        else:
            head = f"alive at day {out['t_end_days']:.0f} ({_years(out['t_end_days'])})"
        name = run.meta.get("scenario_name", run.path.name)
        fig.suptitle(f"{name} — {head}", fontsize=13, fontweight="bold")
        fig.supxlabel(_caption(out), fontsize=8.5, color="#333333")
    return fig


def _caption(out: pd.Series) -> str:
    if not bool(out.get("calibrated", False)):
        return (f"shedding m = {out['shed_per_day']:.3g} (not calibrated from the run); "
                f"Butler & Gullino 1975: m = {BUTLER_GULLINO_M}")
    d = (f"{out['cal_front_mean']:.0f} µm of front × {out['cal_slice_um']:.1f} µm slice"
         if int(out["cal_dim"]) == 2 else f"{out['cal_front_mean']:.0f} µm² of front")
    return (f"shedding calibrated from this run: {int(out['cal_n_events'])} intravasation "
            f"events ({int(out['cal_n_cells'])} cells) in {out['cal_t1_min'] / 60:g} h over "
            f"{d} → m = {out['shed_per_day']:.3g} (95% {out['cal_shed_per_day_lo']:.3g}–"
            f"{out['cal_shed_per_day_hi']:.3g}) CTC events/day·cell^(2/3), α = 2/3, clusters "
            f"{100 * out['cluster_fraction']:.0f} %;  Butler & Gullino 1975: m = "
            f"{BUTLER_GULLINO_M}")


def write_body(run: Run, out: Path | str | None = None) -> Path:
    """Draw :func:`plot_body` and write it whole (default ``RUN_DIR/body.png``)."""
    path = Path(out) if out is not None else run.path / BODY_PNG
    fmt = path.suffix.lower().lstrip(".") or "png"
    fig = plot_body(run)
    write_atomic(path, lambda f: fig.savefig(f, format=fmt, dpi=DPI))
    return path


def write_body_if_any(run: Run) -> Path | None:
    """:func:`write_body` when the run has the body process' tables, else nothing."""
    return write_body(run) if has_body(run) else None


__all__ = ["has_body", "panel_rows", "plot_body", "write_body", "write_body_if_any"]

