"""The Muller plot of a run: clone frequencies over time, each clone drawn inside its parent.

Contract:
    * Data: :func:`clone_counts` counts the live cells (``dead == 0``) of each clone in each
      cell snapshot (``time_min`` × clone id); the lineage is the run's clone table
      (:func:`~invasim.biology.clones.load_clones`; a clone it lacks is a root).
      :func:`run_tables` reads both from a run directory, one snapshot at a time, two columns
      each.
    * Grouping (:func:`group_rare`): the ``top`` clones of largest peak frequency (at least
      ``min_frequency``) and their ancestors keep a band of their own; every other clone is
      merged into its nearest kept ancestor (its cells count as that clone's own), or, when it
      has none, into the grey root "other clones" (id :data:`OTHER`). Merging keeps the totals
      and the nesting.
    * Layout (:func:`muller_layout`, the classical Muller diagram): at each time a clone's band
      is as wide as the frequency of the clone *and all its descendants*; the roots are stacked
      from 0 to 1; inside a clone's band, half its own cells lie below its children's bands,
      the children are stacked in founding order, and the other half lies above. So a
      descendant's band always lies inside its parent's, the bands of one clone's children
      never overlap, and the roots fill ``[0, 1]`` wherever there are live cells.
    * Drawing: :func:`plot_muller` returns a :class:`~matplotlib.figure.Figure` (Agg, no
      pyplot): the bands filled in depth-first order (a parent, then its children over it),
      the largest clones coloured (Okabe–Ito, then tab20), the others grey, a legend of the
      coloured ones. :func:`muller_plot` writes it whole (PNG, SVG, PDF, ...: the suffix picks
      the format; default ``RUN_DIR/muller.png``) and returns the path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from invasim.biology.clones import load_clones
from invasim.errors import RunDirError
from invasim.io.atomic import write_atomic
from invasim.io.run import Run, load_run
from invasim.viz.cells import TYPE_COLOURS
from invasim.viz.common import DPI, IMAGE_FORMATS, RC, TITLED_FORMATS, time_unit

#: the id of the merged root of the rare clones that have no kept ancestor
OTHER = -1
#: colour of merged rare clones
OTHER_COLOUR = "#BBBBBB"
#: default number of clones with a band and a colour of their own
TOP = 10
#: default smallest peak frequency of a clone with a band of its own
MIN_FREQUENCY = 0.01
#: default file name in the run directory
DEFAULT_NAME = "muller.png"
SIZE_IN = (7.2, 3.6)


# -- data --------------------------------------------------------------------------------------
def clone_counts(cells: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Live cells per clone per snapshot.

    Args:
        cells: cell tables with columns ``time_min`` and ``clone_id`` (``dead`` optional:
            rows with ``dead != 0`` are left out): one frame or several (one per snapshot).

    Returns:
        counts, index ``time_min`` (sorted), one int64 column per clone id (sorted).
    """
    frames = [cells] if isinstance(cells, pd.DataFrame) else list(cells)
    parts = []
    for f in frames:
        if "dead" in f:
            f = f[f["dead"].to_numpy() == 0]
        parts.append(f[["time_min", "clone_id"]])
    both = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {"time_min": [], "clone_id": []})  # fmt: skip
    times = sorted({float(t) for f in frames for t in pd.unique(f["time_min"])})
    counts = both.groupby(["time_min", "clone_id"]).size().unstack(fill_value=0)
    counts = counts.reindex(times, fill_value=0).sort_index(axis=1)
    counts.index = counts.index.astype(float).rename("time_min")
    counts.columns = counts.columns.astype(np.int64).rename("clone_id")
    return counts.astype(np.int64)


def run_tables(run: Run) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(counts, lineage)`` of a run.

    :func:`clone_counts` of its cell snapshots, and its clone table
    (:func:`~invasim.biology.clones.load_clones`).
    """
    import pyarrow.parquet as pq

    frames = []
    for k, t in enumerate(run.times):
        path = Path(run.path) / "cells" / f"{k:06d}.parquet"
        if not path.is_file():
            continue
        try:
            have = pq.ParquetFile(path).schema_arrow.names
            f = pd.read_parquet(path, columns=[c for c in ("clone_id", "dead") if c in have])
        except (OSError, ValueError) as exc:
            raise RunDirError(f"cannot read {path}: {exc}") from None
        frames.append(f.assign(time_min=float(t)))
    if not frames:
        raise RunDirError(f"{run.path} has no cell snapshots: a Muller plot needs an agent run")
    return clone_counts(frames), load_clones(run)


def _parents(counts: pd.DataFrame, lineage: pd.DataFrame | Mapping[int, int] | None):
    """Each clone's parent (-1: root) and founding rank.

    For every clone of ``counts`` and its ancestors; the founding order is the lineage's row
    order, then the clones it lacks by id.
    """
    if lineage is None:
        table = {}
    elif isinstance(lineage, Mapping):
        table = {int(k): int(v) for k, v in lineage.items()}
    else:
        table = dict(zip(lineage["clone_id"].astype(np.int64).tolist(),
                         lineage["parent_clone_id"].astype(np.int64).tolist(), strict=True))
    order = list(table)
    parent = dict(table)
    for c in counts.columns:
        if int(c) not in parent:
            parent[int(c)] = -1
            order.append(int(c))
    for c in list(parent):  # a parent missing from the table: a root
        p = parent[c]
        if p != -1 and p not in parent:
            parent[p] = -1
            order.append(p)
    rank = {c: i for i, c in enumerate(order)}
    return parent, rank


def group_rare(counts: pd.DataFrame, lineage=None, top: int = TOP,
               min_frequency: float = MIN_FREQUENCY) -> tuple[pd.DataFrame, dict[int, int]]:
    """Merge the rare clones into their nearest kept ancestor, or into :data:`OTHER`.

    Args:
        counts: :func:`clone_counts`.
        lineage: the clone table (columns ``clone_id``, ``parent_clone_id``) or a mapping
            clone -> parent clone; None: every clone a root.
        top: the most clones kept for their own size (ranked by peak frequency, ties by id).
        min_frequency: the smallest peak frequency of a clone kept for its own size.

    Returns:
        ``(counts, parents)``: the grouped counts (columns: the kept clones, their ancestors
        and perhaps :data:`OTHER`, in founding order) and clone -> parent of those columns.
    """
    parent, rank = _parents(counts, lineage)
    total = counts.sum(axis=1).to_numpy(dtype=float)
    freq = counts.to_numpy(dtype=float) / np.where(total > 0, total, 1.0)[:, None]
    peak = pd.Series(freq.max(axis=0) if len(counts) else 0.0, index=counts.columns)
    peak = peak[peak >= min_frequency].sort_index(kind="stable")
    chosen = [int(c) for c in peak.sort_values(ascending=False, kind="stable").index[:top]]
    kept = set()
    for c in chosen:  # with their ancestors
        while c != -1 and c not in kept:
            kept.add(c)
            c = parent[c]

    def target(c: int) -> int:
        while c != -1 and c not in kept:
            c = parent[c]
        return OTHER if c == -1 else c

    mapped = [target(int(c)) for c in counts.columns]
    grouped = counts.T.groupby(np.array(mapped, dtype=np.int64)).sum().T
    cols = sorted(kept, key=lambda c: rank[c])
    if OTHER in grouped.columns:  # the last root: drawn on top
        cols = [*cols, OTHER]
    grouped = grouped.reindex(columns=cols, fill_value=0).astype(np.int64)
    grouped.columns = grouped.columns.rename("clone_id")
    parents = {c: (-1 if c == OTHER else parent[c]) for c in cols}
    return grouped, parents


def muller_layout(counts: pd.DataFrame, parents: Mapping[int, int]
                  ) -> tuple[pd.DataFrame, pd.DataFrame, list[int]]:
    """Lower and upper edge of each clone's band (frequencies; the classical Muller layout).

    Args:
        counts: live cells per clone (index time, columns clone ids; the columns' order is
            the founding order: the order of the roots and of each clone's children).
        parents: clone -> parent clone (-1, or a clone not among the columns: a root; the
            column :data:`OTHER`, id -1, is always a root).

    Returns:
        ``(lower, upper, order)``: two frames shaped as ``counts`` with the band edges in
        ``[0, 1]`` (all 0 at times without live cells), and the clones in depth-first order
        (each parent before its children: the drawing order).
    """
    cols = [int(c) for c in counts.columns]
    idx = {c: j for j, c in enumerate(cols)}
    children: dict[int, list[int]] = {c: [] for c in cols}
    roots = []
    for c in cols:
        p = int(parents.get(c, -1))
        (children[p] if p != -1 and p in idx and p != c else roots).append(c)
    n = counts.to_numpy(dtype=float)
    total = n.sum(axis=1)
    scale = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)
    own = n * scale[:, None]
    order: list[int] = []
    stack = list(reversed(roots))
    while stack:
        c = stack.pop()
        order.append(c)
        stack.extend(reversed(children[c]))
    if len(order) != len(cols):
        raise ValueError("the lineage has a cycle: some clones descend from themselves")
    size = own.copy()  # the clone and all its descendants
    for c in reversed(order):
        for ch in children[c]:
            size[:, idx[c]] += size[:, idx[ch]]
    lower = np.zeros_like(own)
    upper = np.zeros_like(own)
    base = np.zeros(own.shape[0])
    for r in roots:
        lower[:, idx[r]] = base
        base = base + size[:, idx[r]]
    for c in order:  # parents first: their lower edge is known
        j = idx[c]
        upper[:, j] = lower[:, j] + size[:, j]
        start = lower[:, j] + 0.5 * own[:, j]
        for ch in children[c]:
            lower[:, idx[ch]] = start
            start = start + size[:, idx[ch]]
    frame = lambda a: pd.DataFrame(a, index=counts.index, columns=counts.columns)  # noqa: E731
    return frame(lower), frame(upper), order


# -- drawing -----------------------------------------------------------------------------------
def _colours(grouped: pd.DataFrame) -> dict[int, str]:
    """A colour per kept clone, by peak frequency (largest: the first Okabe–Ito colour)."""
    total = grouped.sum(axis=1).to_numpy(dtype=float)
    freq = grouped.to_numpy(dtype=float) / np.where(total > 0, total, 1.0)[:, None]
    peak = pd.Series(freq.max(axis=0) if len(grouped) else 0.0, index=grouped.columns)
    ranked = [int(c) for c in peak.sort_values(ascending=False, kind="stable").index
              if int(c) != OTHER]  # fmt: skip
    tab = [mpl.colors.to_hex(c) for c in mpl.colormaps["tab20"].colors]
    palette = [*TYPE_COLOURS, *(c for c in tab if c not in TYPE_COLOURS)]
    out = {c: palette[i % len(palette)] for i, c in enumerate(ranked)}
    out[OTHER] = OTHER_COLOUR
    return out


def _label(c: int, parents: Mapping[int, int]) -> str:
    p = parents.get(c, -1)
    return f"clone {c}" if p in (-1, OTHER) else f"clone {c} (from {p})"


def _source(run_or_tables) -> tuple[pd.DataFrame, pd.DataFrame | None, Run | None]:
    if isinstance(run_or_tables, (str, Path)):
        run_or_tables = load_run(run_or_tables)
    if isinstance(run_or_tables, Run):
        counts, lineage = run_tables(run_or_tables)
        return counts, lineage, run_or_tables
    if isinstance(run_or_tables, pd.DataFrame):
        tables, lineage = run_or_tables, None
    else:
        tables, lineage = run_or_tables
    if isinstance(tables, pd.DataFrame) and "clone_id" not in tables:
        counts = tables  # already counts: index time, columns clone ids
    else:
        counts = clone_counts(tables)
    return counts, lineage, None


def plot_muller(run_or_tables, top: int = TOP, min_frequency: float = MIN_FREQUENCY,
                dpi: int = DPI, title: str | None = None) -> Figure:
    """The Muller plot of a run or of tables (see :func:`muller_plot`) as a figure."""
    counts, lineage, run = _source(run_or_tables)
    if counts.empty:
        raise RunDirError("no live cells in any snapshot: nothing to draw")
    grouped, parents = group_rare(counts, lineage, top, min_frequency)
    lower, upper, order = muller_layout(grouped, parents)
    colour = _colours(grouped)
    t = grouped.index.to_numpy(dtype=float)
    unit, per = time_unit(float(t[-1] - t[0]) if len(t) > 1 else 0.0)
    with mpl.rc_context(RC):
        fig = Figure(figsize=SIZE_IN, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        bands = {}
        for c in order:  # depth first: a parent, then its children over it
            bands[c] = ax.fill_between(t / per, lower[c].to_numpy(), upper[c].to_numpy(),
                                       color=colour[c], linewidth=0.3, edgecolor="white")
        ax.set_xlim(t[0] / per, t[-1] / per if len(t) > 1 else t[0] / per + 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.set_xlabel(f"time [{unit}]")
        ax.set_ylabel("clone frequency (live cells)")
        name = (run.meta.get("scenario_name") if run is not None else None) or ""
        ax.set_title(title if title is not None else f"clones over time {name}".strip())
        legend = [c for c in colour if c in bands]  # largest clone first, "other" last
        labels = ["other clones" if c == OTHER else _label(c, parents) for c in legend]
        if legend:
            ax.legend([bands[c] for c in legend], labels, loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7)  # fmt: skip
    return fig


def muller_plot(run_or_tables, out_path: str | Path | None = None, top: int = TOP,
                min_frequency: float = MIN_FREQUENCY, dpi: int = DPI,
                title: str | None = None) -> Path:
    """Write the Muller plot of a run (or of tables) whole; returns the path written.

    Args:
        run_or_tables: a :class:`~invasim.io.run.Run` or its directory; or ``(cells,
            lineage)``: ``cells`` a cell table with ``time_min`` and ``clone_id`` (or a list
            of them, or counts from :func:`clone_counts`), ``lineage`` a clone table
            (``clone_id``, ``parent_clone_id``), a mapping clone -> parent, or None.
        out_path: the image (suffix: ``.png``, ``.svg``, ``.pdf`` ...); default
            ``RUN_DIR/muller.png`` (required for tables).
        top, min_frequency: the clones drawn apart (:func:`group_rare`).
        dpi: dots per inch (PNG).
        title: the axes' title (default: "clones over time" and the scenario's name).

    Raises:
        RunDirError: no cell snapshots, no live cells, an unknown format or a write error.
    """
    src = load_run(run_or_tables) if isinstance(run_or_tables, (str, Path)) else run_or_tables
    if out_path is None:
        if not isinstance(src, Run):
            raise RunDirError("muller_plot of tables needs out_path (there is no run directory)")
        out_path = src.path / DEFAULT_NAME
    path = Path(out_path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    supported = [f for f in IMAGE_FORMATS if f in FigureCanvasAgg.get_supported_filetypes()]
    if fmt not in supported:
        raise RunDirError(f"cannot write {path}: unknown image format {fmt!r}; use one of "
                          f"{', '.join(supported)}")  # fmt: skip
    fig = plot_muller(src, top, min_frequency, dpi, title)
    extra = {"metadata": {"Title": "invasim Muller plot"}} if fmt in TITLED_FORMATS else {}
    write_atomic(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi, **extra))
    return path


__all__ = [
    "OTHER",
    "clone_counts",
    "group_rare",
    "muller_layout",
    "muller_plot",
    "plot_muller",
    "run_tables",
]
