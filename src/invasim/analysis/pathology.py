"""Pathology readouts of a snapshot: depth of invasion, BM breach, budding, pattern, front, clones.

What a pathologist reads on a section of the invasive front (MODEL_REFERENCE §9), measured on
the cells and the basement-membrane field of a :class:`~invasim.analysis.snapshot.Snapshot`,
live or stored (the same function, the same bits).

Contract:
    * **Tumour cells** are the live cells (``dead == 0``) of the tumour types. A type is *host*
      (not tumour) when its name starts, case-insensitively, with one of :data:`HOST_PREFIXES`
      (``normal``, ``host``, ``epithel``, ``fibroblast``, ``caf``, ``stroma``, ``immune``,
      ``macrophage``, ``t_cell``, ``cd8``, ``nk``, ``neutrophil``, ``endothel``); every other
      type is tumour. Each function takes ``tumour_types`` (type names) to override this.
      Radii: the ``radius`` column, else ``(3 V / 4π)^(1/3)`` of ``volume``, else 8.41 µm.
    * **Clusters**: two tumour cells are linked when their centres are closer than
      ``1.25 (r_i + r_j)`` (PhysiCell's relative maximum adhesion distance: cells that can
      adhere). The connected components (neighbour pairs from a k-d tree) are ordered by size;
      the largest is the **main mass**, the others are **detached clusters** (``n_clusters``,
      ``cluster_size_mean``, ``cluster_size_max``; :func:`cluster_sizes` lists them).
    * **Buds** (ITBCC 2016): detached clusters of 1–4 cells. ``n_buds`` is the most bud
      centroids one hotspot field of 0.785 mm² holds. 2-D: a disc of radius 499.9 µm placed
      to hold the most (:func:`hotspot_count`: exact up to 2·10⁵ bud pairs within a field's
      diameter). 3-D: a section one mean cell diameter thick normal to y (an x–z plane, which
      holds the BM normal z, as a section cut perpendicular to the mucosa), its position
      searched in steps of r̄, and the best disc in it. ``bud_grade``: Bd1 (0–4 buds) = 1,
      Bd2 (5–9) = 2, Bd3 (≥ 10) = 3.
    * **Main-mass raster**: the main mass painted on a grid of pixel ``r̄/2`` in 2-D, ``r̄`` in
      3-D (coarser if it would exceed :data:`RASTER_BUDGET` pixels), each cell a disc/ball of
      ``1.25 r_i`` (linked cells overlap), holes filled (a necrotic core is not front). Its
      boundary pixels (a face neighbour outside) are the **invasive front**.
    * ``front_fractal_dim``: box counting on the front, box sides geometric from one mean cell
      diameter to a quarter of the front's largest extent (at least 3 sizes, else NaN), the
      fewest boxes over ``2^dim`` grid offsets, least-squares slope of ``log N`` on
      ``log(1/s)``. A smooth curve gives 1, a smooth surface 2.
    * ``invasion_pattern`` (worst pattern of invasion, Brandwein-Gensler 2005), the first
      that holds: 5, a detached cluster whose gap (centre distance less the two radii) to every
      other tumour cluster, the main mass included, is ≥ 1 mm; 4, a detached cluster of ≤ 15
      cells, or a strand (a detached cluster whose median cell has ≤ 2 links: single file, or
      a protrusion of the main mass, as below, with an inscribed radius ≤ 1.6 r̄); 3, a
      detached cluster of > 15 cells; 2, a finger: the main mass opened by a disc/ball of
      radius ``ρ = min(3 cell diameters, half the mass's largest inscribed radius)`` leaves a
      protrusion reaching ≥ 2 cell diameters beyond the opened body; else 1 (pushing border).
      NaN without tumour cells.
    * **Basement membrane**: the matrix field ``basement_membrane``; its normal is the last
      mesh axis (y in 2-D, z in 3-D), epithelium above (high side), stroma below. Per column
      (one per x in 2-D, per (x, y) in 3-D): its amount ``Σ m h`` and its height, the
      density-weighted mean of the voxel centres of the column's peak voxel and its two
      neighbours along the normal (sub-voxel). A column is **breached** when its amount is
      below 50 % of the reference (default: the largest column amount of the snapshot, the
      best-kept membrane; ``reference_amount`` overrides it). ``bm_breached_um``: 2-D the
      breached length (columns × ``h``), 3-D the sum over the breaches (edge-connected patches
      of breached columns, area ``A_k``) of their equivalent diameters ``2 √(A_k/π)`` (what a
      section through a disc-shaped breach shows); ``bm_breached_um2`` (3-D only): breached
      area, columns × ``h²``. The definitions of the ``basement_membrane_breach`` process's
      metrics, with the snapshot's best-kept column in place of the initial one (a snapshot
      does not hold the initial field); a column without any membrane counts as breached
      (the membrane is taken to span the domain, as a layer generator makes it). The height
      of a breached column is interpolated harmonically from the intact ones (linear in 2-D,
      held constant beyond the last intact column; a Laplace solve in 3-D); with no intact
      column, the median height of the columns that keep any membrane; with none, NaN.
    * ``invasion_depth_um``: ``max(0, max over tumour cells of H(column) − coordinate)``, H the
      reference height at the cell's column (cells outside the mesh take the nearest column);
      0 without tumour cells.
    * ``frac_epithelial``, ``frac_mesenchymal``, ``frac_amoeboid``: shares of the tumour cells
      with ``mode`` 0, 1, 2 (0 without tumour cells). ``n_clones``, ``clone_simpson``
      (``1 − Σ p²``) and ``clone_shannon`` (``−Σ p ln p``) over their ``clone_id``.
    * The readouts apply when the snapshot has a cell table and a tumour type (and the BM field,
      or the ``mode`` / ``clone_id`` column), so a run's metric columns do not change when
      its tumour appears or dies out. The tumour rows, the cluster analysis, the raster and
      the mode shares are computed once per snapshot (a one-entry cache keyed by the snapshot
      object and its cell table).
    * Speed without new values: the linked pairs (a bin grid), the components, the distance
      transforms (whole arrays, or searched from the few pixels a protrusion's reach and
      width need), the hole filling and the labelled maxima run in Numba kernels
      (:mod:`invasim.analysis._pathology_kernels`) that give the values of the k-d tree /
      SciPy calls they replace bit for bit (the same pair set and component numbering; exact
      squared distances in integers, then the same square root;
      tests/unit/test_pathology_fast.py compares them on random inputs).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit
from scipy import ndimage, sparse
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree

from invasim.analysis._pathology_kernels import (
    components,
    count_distinct,
    distance_at,
    distance_to_outside,
    fill_holes,
    label_max,
    link_pairs_grid,
)
from invasim.analysis.readouts import ALIVE, has_cells, readout
from invasim.analysis.snapshot import Snapshot
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError

#: type-name prefixes of host (non-tumour) cell types, matched case-insensitively
HOST_PREFIXES = ("normal", "host", "epithel", "fibroblast", "caf", "stroma", "immune",
                 "macrophage", "t_cell", "cd8", "nk", "neutrophil", "endothel")  # fmt: skip
#: radius when the cell table has neither ``radius`` nor ``volume`` (PhysiCell 2494 µm³), µm
DEFAULT_RADIUS_UM = 8.41
#: link distance / (r_i + r_j): PhysiCell's relative maximum adhesion distance (Ghaffarizadeh
#: et al. 2018)
LINK_FACTOR = 1.25
#: largest bud, cells (ITBCC 2016, Lugli et al., Mod Pathol 2017; 30:1299)
BUD_MAX_CELLS = 4
#: area of the hotspot field, µm² (ITBCC 2016: 0.785 mm²)
HOTSPOT_AREA_UM2 = 0.785e6
#: largest small island of pattern 4, cells (Brandwein-Gensler et al., Am J Surg Pathol 2005)
ISLAND_MAX_CELLS = 15
#: smallest gap of a satellite (pattern 5), µm (Brandwein-Gensler et al. 2005: 1 mm)
SATELLITE_GAP_UM = 1000.0
#: the basement membrane's matrix field
BM_FIELD = "basement_membrane"
#: a BM column is breached below this fraction of the reference amount
BREACH_FRACTION = 0.5
#: opening radius for fingers, cell diameters; a finger reaches this many diameters out
OPENING_DIAMETERS, FINGER_DIAMETERS = 3.0, 2.0
#: a protrusion no wider than this inscribed radius (× mean cell radius) is a strand
STRAND_RADII = 1.6
#: most pixels of the main-mass raster
RASTER_BUDGET = 1 << 22
#: most box keys counted by a bitmap in box counting (more: by sorting)
DISTINCT_BUDGET = 1 << 26
#: mode codes of the ``mode`` column
EPITHELIAL, MESENCHYMAL, AMOEBOID = 0, 1, 2


# -- tumour cells ------------------------------------------------------------------------------
def is_host_type(name: str) -> bool:
    """Whether cell-type ``name`` is a host type (starts with one of :data:`HOST_PREFIXES`)."""
    return name.lower().startswith(HOST_PREFIXES)


def tumour_type_indices(type_names: Sequence[str],
                        tumour_types: Sequence[str] | None = None) -> np.ndarray:
    """Indices of the tumour types among ``type_names`` (``tumour_types``: by name).

    Raises:
        ConfigError: a name of ``tumour_types`` that is not a cell type.
    """
    names = list(type_names)
    if tumour_types is None:
        return np.array([k for k, t in enumerate(names) if not is_host_type(t)], np.int64)
    for t in tumour_types:
        if t not in names:
            raise ConfigError(f"tumour_types: {t!r} is not a cell type; types: {', '.join(names)}")
    return np.array([names.index(t) for t in tumour_types], np.int64)


def has_tumour_type(s: Snapshot) -> bool:
    """The snapshot has a cell table and at least one tumour type."""
    return has_cells(s) and any(not is_host_type(t) for t in s.type_names)


def tumour_mask(s: Snapshot, tumour_types: Sequence[str] | None = None) -> np.ndarray:
    """``[n]`` bool over the cell table's rows: live cells of a tumour type."""
    if s.cells is None:
        return np.zeros(0, bool)
    types = s.cells["type"].to_numpy()
    live = s.cells["dead"].to_numpy() == ALIVE
    return live & np.isin(types, tumour_type_indices(s.type_names, tumour_types))


def cell_radii(cells: pd.DataFrame) -> np.ndarray:
    """``[n]`` float64 radii, µm: ``radius``, else from ``volume``, else 8.41 µm."""
    if "radius" in cells:
        return cells["radius"].to_numpy(np.float64)
    if "volume" in cells:
        return np.cbrt(3.0 * np.maximum(cells["volume"].to_numpy(np.float64), 0.0) / (4 * np.pi))
    return np.full(len(cells), DEFAULT_RADIUS_UM)


# -- clusters ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clusters:
    """The tumour cells and their connected clusters.

    Attributes:
        pos: ``[n, dim]`` float64 centres, µm.
        radius: ``[n]`` float64 radii, µm.
        label: ``[n]`` int64 cluster of each cell; 0 is the main mass, then by size (desc).
        sizes: ``[k]`` int64 cells per cluster (``sizes[0]``: the main mass).
        degree: ``[n]`` int64 links per cell.
    """

    pos: np.ndarray
    radius: np.ndarray
    label: np.ndarray
    sizes: np.ndarray
    degree: np.ndarray

    @property
    def n(self) -> int:
        """Number of tumour cells."""
        return len(self.radius)

    @property
    def mean_radius(self) -> float:
        """Mean radius r̄, µm (8.41 without cells)."""
        return float(self.radius.mean()) if self.n else DEFAULT_RADIUS_UM


def connected_clusters(pos: np.ndarray, radius: np.ndarray,
                       link_factor: float = LINK_FACTOR) -> Clusters:
    """Clusters of cells linked when ``|x_i − x_j| < link_factor (r_i + r_j)``.

    Args:
        pos: ``[n, dim]`` centres, µm.
        radius: ``[n]`` radii, µm.
        link_factor: link distance / (r_i + r_j).
    """
    pos = np.ascontiguousarray(pos, np.float64)
    radius = np.ascontiguousarray(radius, np.float64)
    n = len(radius)
    if n == 0:
        z = np.zeros(0, np.int64)
        return Clusters(pos, radius, z, z, z)
    i, j = linked_pairs(pos, radius, link_factor)
    k, raw = components(n, i, j)
    sizes = np.bincount(raw, minlength=k)
    # by size, descending; ties by the first cell (connected_components numbers in cell order)
    order = np.lexsort((np.arange(k), -sizes))
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    degree = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    return Clusters(pos, radius, rank[raw], sizes[order].astype(np.int64), degree)


def linked_pairs(pos: np.ndarray, radius: np.ndarray,
                 link_factor: float = LINK_FACTOR) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)``: the pairs ``i < j`` of linked cells (``|x_i − x_j| < link_factor (r_i + r_j)``).

    A bin grid (:func:`link_pairs_grid`) for finite centres in 1-3 dimensions and non-negative
    radii; otherwise the k-d tree's pairs within ``2 link_factor max(r)``, kept by the same
    test. The set is the same either way; the order is not part of the result.
    """
    n, d = pos.shape
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    reach = 2.0 * link_factor * float(radius.max())
    if (1 <= d <= 3 and link_factor > 0 and float(radius.min()) >= 0
            and np.isfinite(reach) and np.isfinite(pos).all()):
        lo, hi = pos.min(axis=0), pos.max(axis=0)
        # bins at least the reach (a little more: a linked pair never lies two bins apart),
        # and no more than about 4 per cell
        side = max(reach * (1 + 1e-9), 1e-300)
        extent = np.maximum(hi - lo, 0.0)
        side = max(side, float(np.prod(extent + side)) ** (1.0 / d) / (4.0 * n) ** (1.0 / d))
        nb = np.ones(3, np.int64)
        nb[:d] = np.floor(extent / side).astype(np.int64) + 1
        i, j = np.empty(4 * n + 16, np.int64), np.empty(4 * n + 16, np.int64)
        m = link_pairs_grid(pos, radius, float(link_factor), side, lo, nb, i, j)
        if m > len(i):  # more than 4 links per cell on average: again, with room for all
            i, j = np.empty(m, np.int64), np.empty(m, np.int64)
            link_pairs_grid(pos, radius, float(link_factor), side, lo, nb, i, j)
        return i[:m], j[:m]
    pairs = cKDTree(pos).query_pairs(reach, output_type="ndarray")
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    d2 = ((pos[i] - pos[j]) ** 2).sum(axis=1)
    keep = d2 < (link_factor * (radius[i] + radius[j])) ** 2
    return i[keep], j[keep]


_MEMO: dict = {"ref": None, "cells": None, "values": {}}


def _memo(s: Snapshot, key: tuple, make: Callable[[], object]) -> object:
    """``make()`` once per snapshot object, cell table and ``key``."""
    if _MEMO["ref"] is None or _MEMO["ref"]() is not s or _MEMO["cells"] is not s.cells:
        _MEMO.update(ref=weakref.ref(s), cells=s.cells, values={})
    values = _MEMO["values"]
    if key not in values:
        values[key] = make()
    return values[key]


def _tumour(s: Snapshot, tumour_types: Sequence[str] | None = None) -> np.ndarray:
    """:func:`tumour_mask`, once per snapshot (read-only: the readouts share it)."""
    key = ("tumour", None if tumour_types is None else tuple(tumour_types))

    def make() -> np.ndarray:
        m = tumour_mask(s, tumour_types)
        m.flags.writeable = False
        return m

    return _memo(s, key, make)


def clusters(s: Snapshot, tumour_types: Sequence[str] | None = None,
             link_factor: float = LINK_FACTOR) -> Clusters:
    """The tumour cells of ``s`` and their clusters (computed once per snapshot)."""
    key = ("clusters", None if tumour_types is None else tuple(tumour_types), link_factor)

    def make() -> Clusters:
        m = _tumour(s, tumour_types)
        pos = s.positions()[m, : max(2, s.dim)]
        return connected_clusters(pos, cell_radii(s.cells)[m], link_factor)

    return _memo(s, key, make)


def cluster_sizes(s: Snapshot, tumour_types: Sequence[str] | None = None) -> np.ndarray:
    """Sizes (cells) of the detached clusters, largest first (the main mass left out)."""
    return clusters(s, tumour_types).sizes[1:].copy()


# -- buds and the hotspot field ----------------------------------------------------------------
def grade_of(n_buds: float) -> int:
    """ITBCC budding grade of a hotspot count: Bd1 (0–4) 1, Bd2 (5–9) 2, Bd3 (≥ 10) 3."""
    return 1 if n_buds <= 4 else 2 if n_buds <= 9 else 3


def bud_centres(cl: Clusters) -> np.ndarray:
    """``[m, dim]`` centroids of the buds (detached clusters of ≤ 4 cells), µm."""
    bud = cl.sizes <= BUD_MAX_CELLS
    bud[:1] = False
    sel = bud[cl.label]
    if not sel.any():
        return np.zeros((0, cl.pos.shape[1]))
    lab, inv = np.unique(cl.label[sel], return_inverse=True)
    sums = np.zeros((len(lab), cl.pos.shape[1]))
    np.add.at(sums, inv, cl.pos[sel])
    return sums / np.bincount(inv)[:, None]


def hotspot_count(points: np.ndarray, radius: float, max_pairs: int = 200_000) -> int:
    """Most of ``points`` (``[m, 2]``) one disc of ``radius`` holds (its rim included).

    Exact while at most ``max_pairs`` pairs of points lie within ``2 radius``: the best disc
    can be moved until two points lie on its rim (or it holds one), so the centres tried are
    the points and, for each such pair, the two centres of the discs through both. Beyond
    that, the centres are a grid of ``radius / 10`` over the points' bounding box and the
    points (at most 2·10⁵ centres; a count can then be short of the best).
    """
    m = len(points)
    if m <= 1:
        return m
    points = np.ascontiguousarray(points, np.float64)
    tree = cKDTree(points)
    if int(tree.count_neighbors(tree, 2.0 * radius)) - m <= 2 * max_pairs:
        pairs = tree.query_pairs(2.0 * radius, output_type="ndarray")
        a, b = points[pairs[:, 0]], points[pairs[:, 1]]
        mid, half = (a + b) / 2, (b - a) / 2
        d2 = (half**2).sum(axis=1)
        along = np.sqrt(np.maximum(radius**2 - d2, 0.0))[:, None]
        unit = np.c_[-half[:, 1], half[:, 0]] / np.sqrt(np.maximum(d2, 1e-300))[:, None]
        centres = np.concatenate([points, mid + along * unit, mid - along * unit])
    else:
        lo, hi = points.min(axis=0), points.max(axis=0)
        step = max(radius / 10, math.sqrt(float(np.prod(hi - lo + radius)) / 2e5))
        axes = [np.arange(x0, x1 + step, step) for x0, x1 in zip(lo, hi, strict=True)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        centres = np.concatenate([grid, points])
    counts = tree.query_ball_point(centres, radius * (1 + 1e-9), return_length=True)
    return int(counts.max())


def hotspot_buds(cl: Clusters, area_um2: float = HOTSPOT_AREA_UM2) -> int:
    """Buds in the hotspot field of ``area_um2`` (2-D disc; 3-D a section one diameter thick)."""
    c = bud_centres(cl)
    radius = math.sqrt(area_um2 / math.pi)
    if c.shape[1] == 2 or len(c) == 0:
        return hotspot_count(c[:, :2], radius)
    r = cl.mean_radius
    best = 0
    order = np.argsort(c[:, 1])
    y = c[order, 1]
    for y0 in np.arange(y[0], y[-1] + r, r):  # sections |y - y0| <= r̄, in steps of r̄
        a = np.searchsorted(y, y0 - r, side="left")
        b = np.searchsorted(y, y0 + r, side="right")
        if b - a > best:
            best = max(best, hotspot_count(c[order[a:b]][:, [0, 2]], radius))
    return best


# -- the main mass on a grid -------------------------------------------------------------------
@njit(cache=True)
def paint_discs(pos: np.ndarray, rad: np.ndarray, origin: np.ndarray, px: float,
           mask: np.ndarray) -> None:
    """Set the pixels of ``mask`` (nz, ny, nx) whose centre lies within ``rad[c]`` of cell c."""
    nz, ny, nx = mask.shape
    for c in range(pos.shape[0]):
        r = rad[c]
        r2 = r * r
        lo = np.empty(3, np.int64)
        hi = np.empty(3, np.int64)
        size = (nx, ny, nz)
        for a in range(3):
            if size[a] == 1:
                lo[a], hi[a] = 0, 0
            else:
                lo[a] = max(0, int(math.floor((pos[c, a] - r - origin[a]) / px)))
                hi[a] = min(size[a] - 1, int(math.ceil((pos[c, a] + r - origin[a]) / px)))
        for k in range(lo[2], hi[2] + 1):
            dz = 0.0 if nz == 1 else origin[2] + (k + 0.5) * px - pos[c, 2]
            for j in range(lo[1], hi[1] + 1):
                dy = origin[1] + (j + 0.5) * px - pos[c, 1]
                for i in range(lo[0], hi[0] + 1):
                    dx = origin[0] + (i + 0.5) * px - pos[c, 0]
                    if dx * dx + dy * dy + dz * dz <= r2:
                        mask[k, j, i] = 1


@dataclass(frozen=True)
class Raster:
    """The main mass on a grid (holes filled).

    Attributes:
        mask: ``(nz, ny, nx)`` bool (``nz == 1`` in 2-D).
        edt: distance of each mass pixel to the nearest pixel outside, pixels.
        pixel: pixel side, µm.
        r_px: mean cell radius, pixels.
    """

    mask: np.ndarray
    edt: np.ndarray
    pixel: float
    r_px: float

    @property
    def front(self) -> np.ndarray:
        """``[m, 3]`` int64 indices (k, j, i) of the front pixels (a face neighbour outside)."""
        return np.argwhere(self.mask & (self.edt <= 1.0))


def rasterise(pos: np.ndarray, radius: np.ndarray, pixel: float | None = None,
              link_factor: float = LINK_FACTOR, budget: int = RASTER_BUDGET) -> Raster:
    """Cells painted as discs/balls of ``link_factor r_i``, holes filled (see module doc)."""
    dim = pos.shape[1]
    rbar = max(float(radius.mean()), 0.5)  # µm; a table of zero radii still gets a grid
    paint = link_factor * radius
    lo = (pos - paint[:, None]).min(axis=0)
    hi = (pos + paint[:, None]).max(axis=0)
    if pixel is None:  # 3-D: r̄, its distance transforms dominate the cost; 2-D: r̄ / 2
        pixel = rbar / 2 if dim == 2 else rbar
    px = pixel
    px = max(px, (float(np.prod(hi - lo)) / budget) ** (1.0 / dim))
    origin = np.zeros(3)
    origin[:dim] = lo - 2 * px
    n = np.ones(3, np.int64)
    n[:dim] = np.ceil((hi - lo) / px).astype(np.int64) + 4
    pos3 = np.zeros((len(pos), 3))
    pos3[:, :dim] = pos
    mask = np.zeros((n[2], n[1], n[0]), np.uint8)
    paint_discs(pos3, paint, origin, px, mask)
    filled = fill_holes(mask[0] if dim == 2 else mask).reshape(mask.shape)
    edt = distance_to_outside(filled[0] if dim == 2 else filled).reshape(mask.shape)
    return Raster(filled, edt, px, rbar / px)


def main_raster(s: Snapshot, tumour_types: Sequence[str] | None = None) -> Raster | None:
    """The raster of the main mass of ``s`` (None without tumour cells); once per snapshot."""
    cl = clusters(s, tumour_types)
    if cl.n == 0:
        return None
    key = ("raster", None if tumour_types is None else tuple(tumour_types))
    main = cl.label == 0
    return _memo(s, key, lambda: rasterise(cl.pos[main], cl.radius[main]))


def box_counting_dimension(points: np.ndarray, s_min: float, s_max: float,
                           n_sizes: int = 10) -> float:
    """Box-counting dimension of a pixel set.

    Args:
        points: ``[m, d]`` int64 pixel indices.
        s_min: smallest box side, pixels (at least 1).
        s_max: largest box side, pixels.
        n_sizes: box sides, geometric from ``s_min`` to ``s_max`` (rounded, distinct).

    Returns:
        the least-squares slope of ``log N(s)`` on ``log(1/s)``, ``N`` the fewest occupied
        boxes over the ``2^d`` offsets ``{0, s/2}`` per axis; NaN with fewer than 3 sides.
    """
    s_min = max(1.0, s_min)
    if len(points) == 0 or s_max < s_min:
        return math.nan
    sides = np.unique(np.round(np.geomspace(s_min, s_max, n_sizes)).astype(np.int64))
    if len(sides) < 3:
        return math.nan
    pts = points - points.min(axis=0)
    d = pts.shape[1]
    counts = []
    for s in sides:
        span = int(pts.max()) // s + 2
        size = span**d  # box keys lie in [0, span^d)
        best = None
        for off in range(1 << d):
            shift = np.array([(s // 2) * ((off >> a) & 1) for a in range(d)], np.int64)
            b = (pts + shift) // s
            key = b[:, 0].copy()
            for a in range(1, d):
                key = key * span + b[:, a]
            m = count_distinct(key, size) if size <= DISTINCT_BUDGET else len(np.unique(key))
            best = m if best is None else min(best, m)
        counts.append(best)
    slope = np.polyfit(np.log(1.0 / sides), np.log(np.asarray(counts, float)), 1)[0]
    return float(slope)


def front_dimension(r: Raster) -> float:
    """Box-counting dimension of the raster's front, sides one cell diameter to extent / 4."""
    f = r.front
    dim = 2 if r.mask.shape[0] == 1 else 3
    f = f[:, 1:] if dim == 2 else f
    if len(f) == 0:
        return math.nan
    extent = float((f.max(axis=0) - f.min(axis=0)).max() + 1)
    return box_counting_dimension(f, 2.0 * r.r_px, extent / 4.0)


def protrusions(r: Raster) -> tuple[int, int]:
    """(fingers, strands) of the main mass: protrusions of its opening (see module doc)."""
    m = r.mask[0] if r.mask.shape[0] == 1 else r.mask
    edt = r.edt[0] if r.mask.shape[0] == 1 else r.edt
    rho = min(OPENING_DIAMETERS * 2 * r.r_px, 0.5 * float(edt.max()))
    core = edt > rho
    if not core.any():
        return 0, 0
    body = (distance_to_outside(~core) <= rho) & m
    residue = m & ~body
    lab, k = ndimage.label(residue, structure=np.ones((3,) * m.ndim))
    if k == 0:
        return 0, 0
    at = np.nonzero(residue)
    lab = lab[at]
    # reach and width matter on the residue only (distance_at: searched from its pixels)
    reach = label_max(distance_at(~body, at), lab, k)
    width = label_max(distance_at(residue, at), lab, k)
    long = reach >= FINGER_DIAMETERS * 2 * r.r_px
    strand = long & (width <= STRAND_RADII * r.r_px)
    return int((long & ~strand).sum()), int(strand.sum())


# -- islands, satellites and the pattern of invasion -------------------------------------------
def cluster_gaps(cl: Clusters, cutoff: float = SATELLITE_GAP_UM) -> np.ndarray:
    """``[k-1]`` gap (µm) of each detached cluster to the nearest other cluster.

    The gap is the centre distance of the nearest pair less the two radii; gaps beyond about
    ``cutoff`` are ``inf`` (only pairs within ``cutoff + 2 r_max`` are looked at).
    """
    k = len(cl.sizes)
    gaps = np.full(k, np.inf)
    if k < 2:
        return gaps[1:]
    bound = cutoff + 2.0 * float(cl.radius.max())
    small_max = 32
    small = (cl.label > 0) & (cl.sizes[cl.label] <= small_max)
    if small.any():  # among its k = 33 nearest cells at least one is of another cluster
        idx = np.flatnonzero(small)
        d, j = cKDTree(cl.pos).query(cl.pos[idx], k=min(small_max + 1, cl.n),
                                     distance_upper_bound=bound)
        d, j = d.reshape(len(idx), -1), j.reshape(len(idx), -1)
        ok = j < cl.n
        jj = np.where(ok, j, 0)
        other = ok & (cl.label[jj] != cl.label[idx][:, None])
        g = np.where(other, d - cl.radius[idx][:, None] - cl.radius[jj], np.inf).min(axis=1)
        np.minimum.at(gaps, cl.label[idx], g)
    for c in np.flatnonzero(cl.sizes > small_max):
        if c == 0:
            continue
        inside = cl.label == c
        lo, hi = cl.pos[inside].min(axis=0) - bound, cl.pos[inside].max(axis=0) + bound
        near = ~inside & np.all((cl.pos >= lo) & (cl.pos <= hi), axis=1)
        if not near.any():
            continue
        d, j = cKDTree(cl.pos[near]).query(cl.pos[inside], k=1, distance_upper_bound=bound)
        ok = np.isfinite(d)
        if ok.any():
            rn = cl.radius[near][j[ok]]
            gaps[c] = float((d[ok] - cl.radius[inside][ok] - rn).min())
    return gaps[1:]


def pattern_of(cl: Clusters, raster: Callable[[], Raster | None]) -> float:
    """Worst pattern of invasion 1–5 of clusters ``cl`` (module doc).

    Args:
        cl: the tumour cells' clusters.
        raster: returns the main mass's raster (called only when the detached clusters leave
            the pattern below 4).
    """
    if cl.n == 0:
        return math.nan
    det = cl.sizes[1:]
    if len(det) and bool((cluster_gaps(cl) >= SATELLITE_GAP_UM).any()):
        return 5.0
    single_file = np.bincount(cl.label, weights=cl.degree <= 2, minlength=len(cl.sizes))
    strand = single_file[1:] >= 0.5 * det
    if bool((det <= ISLAND_MAX_CELLS).any()) or bool(strand.any()):
        return 4.0
    r = raster()
    fingers, strands = protrusions(r) if r is not None else (0, 0)
    if strands:
        return 4.0
    if len(det):
        return 3.0
    return 2.0 if fingers else 1.0


# -- basement membrane -------------------------------------------------------------------------
def has_field(s: Snapshot, name: str) -> bool:
    return any(k == name for k in s.fields)  # iterate: the stored fields load on __getitem__


def _columns(field: np.ndarray, mesh: Mesh) -> np.ndarray:
    """The field as columns along the last mesh axis: ``(nx, ny)`` 2-D, ``(ny, nx, nz)`` 3-D."""
    a = np.asarray(field, np.float64).reshape(mesh.array_shape)
    return a[0].T if mesh.dim == 2 else np.moveaxis(a, 0, -1)


def bm_profile(field: np.ndarray, mesh: Mesh,
               reference_amount: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of the BM: (amount, height, intact).

    Returns:
        amount: ``Σ m h`` along the normal (field unit × µm), ``(nx,)`` 2-D / ``(ny, nx)`` 3-D.
        height: the reference height of the membrane, µm (measured where intact, interpolated
            where breached; NaN when nothing is left, see module doc).
        intact: amount ≥ 50 % of the reference (default: the largest amount).
    """
    if mesh.dim not in (2, 3):
        raise ValueError(f"a basement membrane needs a 2-D or 3-D mesh, got dim {mesh.dim}")
    a = np.maximum(np.asarray(field, np.float64).reshape(mesh.array_shape), 0.0)
    h = mesh.h
    amount = (a[0] if mesh.dim == 2 else a).sum(axis=0) * h  # [nx] or [ny, nx]
    col = _columns(a, mesh)
    nn = col.shape[-1]
    ref = float(amount.max()) if reference_amount is None else float(reference_amount)
    intact = (amount >= BREACH_FRACTION * ref) & (amount > 0)
    peak = col.argmax(axis=-1)[..., None] + np.arange(-1, 2)
    valid = (peak >= 0) & (peak < nn)
    peak = np.clip(peak, 0, nn - 1)
    w = np.take_along_axis(col, peak, axis=-1) * valid
    wsum = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        measured = ((peak + 0.5) * h * w).sum(axis=-1) / wsum
    if not intact.any():
        some = measured[wsum > 0]
        fill = float(np.median(some)) if some.size else math.nan
        return amount, np.full(amount.shape, fill), intact
    height = np.where(intact, measured, np.nan)
    if (~intact).any():
        height = _harmonic_fill(height, intact)
    return amount, height, intact


def _harmonic_fill(height: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``height`` with its unknown entries harmonic (discrete Laplace) in the known ones."""
    if height.ndim == 1:
        x = np.arange(len(height))
        return np.interp(x, x[known], height[known])
    ny, nx = height.shape
    unknown = np.flatnonzero(~known.ravel())
    where = np.full(ny * nx, -1, np.int64)
    where[unknown] = np.arange(len(unknown))
    flat = np.where(known, height, 0.0).ravel()
    jj, ii = np.divmod(unknown, nx)
    rows, cols, vals = [], [], []
    rhs = np.zeros(len(unknown))
    diag = np.zeros(len(unknown))
    for dj, di in ((1, 0), (-1, 0), (0, 1), (0, -1)):  # no-flux at the domain's sides
        j2, i2 = jj + dj, ii + di
        inside = (j2 >= 0) & (j2 < ny) & (i2 >= 0) & (i2 < nx)
        nb = np.where(inside, j2 * nx + i2, 0)
        diag += inside
        is_u = inside & (where[nb] >= 0)
        rows.append(np.flatnonzero(is_u))
        cols.append(where[nb[is_u]])
        vals.append(-np.ones(int(is_u.sum())))
        rhs += np.where(inside & ~is_u, flat[nb], 0.0)
    a = sparse.coo_matrix((np.concatenate([diag, *vals]),
                           (np.concatenate([np.arange(len(unknown)), *rows]),
                            np.concatenate([np.arange(len(unknown)), *cols]))),
                          shape=(len(unknown),) * 2).tocsc()
    out = height.ravel().copy()
    # the grid is connected and some column is known, so every breached patch borders a known
    # column: the system is non-singular
    out[unknown] = spsolve(a, rhs)
    return out.reshape(height.shape)


def invasion_depth(s: Snapshot, tumour_types: Sequence[str] | None = None,
                   reference_amount: float | None = None) -> float:
    """Deepest live tumour cell below the BM's reference height, µm (module doc)."""
    m = _tumour(s, tumour_types)
    if not m.any():
        return 0.0
    _, height, _ = bm_profile(s.fields[BM_FIELD], s.mesh, reference_amount)
    pos = s.positions()[m]
    h, dim = s.mesh.h, s.dim
    i = np.clip((pos[:, 0] // h).astype(np.int64), 0, s.mesh.nx - 1)
    if dim == 2:
        ref, z = height[i], pos[:, 1]
    else:
        j = np.clip((pos[:, 1] // h).astype(np.int64), 0, s.mesh.ny - 1)
        ref, z = height[j, i], pos[:, 2]
    return float(np.maximum(0.0, np.max(ref - z)))  # NaN when the membrane is gone


def bm_breached(s: Snapshot, reference_amount: float | None = None,
                area: bool = False) -> float:
    """The breached BM (module doc): length, µm (``area``: the area, µm², 3-D)."""
    _, _, intact = bm_profile(s.fields[BM_FIELD], s.mesh, reference_amount)
    breached = ~intact
    h = s.mesh.h
    if s.dim == 2 or area:
        return float(breached.sum()) * h ** (s.dim - 1)
    labels, k = ndimage.label(breached)
    if k == 0:
        return 0.0
    areas = np.bincount(labels.ravel())[1:] * h**2
    return float(np.sum(2.0 * np.sqrt(areas / math.pi)))


# -- modes and clones --------------------------------------------------------------------------
def mode_fractions(s: Snapshot, tumour_types: Sequence[str] | None = None) -> np.ndarray:
    """``[3]`` shares of the tumour cells in mode 0 (epithelial), 1 (mesenchymal), 2 (amoeboid)."""
    def make() -> np.ndarray:
        m = _tumour(s, tumour_types)
        if not m.any():
            return np.zeros(3)
        mode = s.cells["mode"].to_numpy()[m].astype(np.int64)
        counts = np.array([(mode == k).sum() for k in (EPITHELIAL, MESENCHYMAL, AMOEBOID)])
        return counts / float(m.sum())

    key = ("modes", None if tumour_types is None else tuple(tumour_types))
    return _memo(s, key, make).copy()  # once per snapshot: three readouts share it


def clone_diversity(s: Snapshot, tumour_types: Sequence[str] | None = None
                    ) -> tuple[float, float, float]:
    """(clones, Simpson ``1 − Σ p²``, Shannon ``−Σ p ln p``) of the tumour cells' clone_id."""
    m = _tumour(s, tumour_types)
    if not m.any():
        return 0.0, 0.0, 0.0
    _, counts = np.unique(s.cells["clone_id"].to_numpy()[m], return_counts=True)
    p = counts / counts.sum()
    return float(len(counts)), float(1.0 - (p * p).sum()), float(-(p * np.log(p)).sum())


# -- the registered readouts -------------------------------------------------------------------
def _with_bm(s: Snapshot) -> bool:
    return s.dim in (2, 3) and has_field(s, BM_FIELD)


def _with_column(column: str) -> Callable[[Snapshot], bool]:
    return lambda s: has_tumour_type(s) and column in s.cells


@readout("invasion_depth_um", "µm", "deepest live tumour cell below the basement membrane's "
         "reference height (0 above it)", lambda s: has_tumour_type(s) and _with_bm(s))
def invasion_depth_um(s: Snapshot) -> float:
    """Depth of invasion (module doc)."""
    return invasion_depth(s)


@readout("bm_breached_um", "µm", "basement membrane below 50 % of its best-kept amount: 2-D "
         "length, 3-D sum of the breaches' equivalent diameters", _with_bm)
def bm_breached_um(s: Snapshot) -> float:
    """Breached BM length (3-D: the breaches' equivalent diameters, summed)."""
    return bm_breached(s)


@readout("bm_breached_um2", "µm²", "area of basement membrane below 50 % of its best-kept "
         "amount (3-D)", lambda s: _with_bm(s) and s.dim == 3)
def bm_breached_um2(s: Snapshot) -> float:
    """Breached BM area, 3-D."""
    return bm_breached(s, area=True)


@readout("n_buds", "buds", "tumour buds (detached clusters of 1-4 cells) in the 0.785 mm² "
         "hotspot field (ITBCC 2016)", has_tumour_type)
def n_buds(s: Snapshot) -> float:
    """Buds in the hotspot."""
    return float(hotspot_buds(clusters(s)))


@readout("bud_grade", "", "ITBCC budding grade of the hotspot: 1 (0-4 buds), 2 (5-9), 3 (>= 10)",
         has_tumour_type)
def bud_grade(s: Snapshot) -> float:
    """Bd1–Bd3 as 1–3."""
    return float(grade_of(hotspot_buds(clusters(s))))


@readout("invasion_pattern", "", "worst pattern of invasion 1-5 (Brandwein-Gensler 2005; NaN "
         "without tumour cells)", has_tumour_type)
def invasion_pattern(s: Snapshot) -> float:
    """Worst pattern of invasion."""
    return pattern_of(clusters(s), lambda: main_raster(s))


@readout("front_fractal_dim", "", "box-counting dimension of the main tumour mass's boundary "
         "(1 smooth curve, 2 smooth surface)", has_tumour_type)
def front_fractal_dim(s: Snapshot) -> float:
    """Box-counting dimension of the invasive front."""
    r = main_raster(s)
    return math.nan if r is None else front_dimension(r)


def invasion_distance(s: Snapshot, tumour_types: Sequence[str] | None = None) -> float:
    """Largest distance of a live tumour cell from the live tumour cells' centre of mass, µm.

    The reach of a lesion without a basement membrane (a spheroid in collagen): the
    farthest invader, where the 95th-percentile radius follows the bulk. 0 without tumour
    cells.
    """
    mask = _tumour(s, tumour_types)
    if not mask.any():
        return 0.0
    pos = s.positions()[mask]
    return float(np.linalg.norm(pos - pos.mean(axis=0), axis=1).max())


@readout("invasion_distance_um", "µm", "largest distance of a live tumour cell from the live "
         "tumour cells' centre of mass (the farthest invader)", has_tumour_type)  # fmt: skip
def invasion_distance_um(s: Snapshot) -> float:
    """The farthest invader's distance from the tumour's centre of mass."""
    return invasion_distance(s)


@readout("n_clusters", "clusters", "tumour clusters detached from the main mass",
         has_tumour_type)
def n_clusters(s: Snapshot) -> float:
    """Detached clusters."""
    return float(len(cluster_sizes(s)))


@readout("cluster_size_mean", "cells", "mean size of the detached tumour clusters (0 if none)",
         has_tumour_type)
def cluster_size_mean(s: Snapshot) -> float:
    """Mean detached-cluster size."""
    sizes = cluster_sizes(s)
    return float(sizes.mean()) if sizes.size else 0.0


@readout("cluster_size_max", "cells", "largest detached tumour cluster (0 if none)",
         has_tumour_type)
def cluster_size_max(s: Snapshot) -> float:
    """Largest detached-cluster size."""
    sizes = cluster_sizes(s)
    return float(sizes.max()) if sizes.size else 0.0


@readout("frac_epithelial", "", "share of live tumour cells in the epithelial mode (mode 0)",
         _with_column("mode"))
def frac_epithelial(s: Snapshot) -> float:
    """Share in mode 0."""
    return float(mode_fractions(s)[EPITHELIAL])


@readout("frac_mesenchymal", "", "share of live tumour cells in the mesenchymal mode (mode 1)",
         _with_column("mode"))
def frac_mesenchymal(s: Snapshot) -> float:
    """Share in mode 1."""
    return float(mode_fractions(s)[MESENCHYMAL])


@readout("frac_amoeboid", "", "share of live tumour cells in the amoeboid mode (mode 2)",
         _with_column("mode"))
def frac_amoeboid(s: Snapshot) -> float:
    """Share in mode 2."""
    return float(mode_fractions(s)[AMOEBOID])


@readout("n_clones", "clones", "distinct clone_id among live tumour cells",
         _with_column("clone_id"))
def n_clones(s: Snapshot) -> float:
    """Clones present."""
    return clone_diversity(s)[0]


@readout("clone_simpson", "", "Simpson diversity 1 - sum p² of the live tumour cells' clones",
         _with_column("clone_id"))
def clone_simpson(s: Snapshot) -> float:
    """Simpson diversity of clones."""
    return clone_diversity(s)[1]


@readout("clone_shannon", "", "Shannon diversity -sum p ln p of the live tumour cells' clones",
         _with_column("clone_id"))
def clone_shannon(s: Snapshot) -> float:
    """Shannon diversity of clones."""
    return clone_diversity(s)[2]


__all__ = [
    "BM_FIELD",
    "HOST_PREFIXES",
    "Clusters",
    "Raster",
    "bm_breached",
    "bm_profile",
    "box_counting_dimension",
    "bud_centres",
    "clone_diversity",
    "cluster_gaps",
    "cluster_sizes",
    "clusters",
    "connected_clusters",
    "distance_to_outside",
    "fill_holes",
    "front_dimension",
    "grade_of",
    "hotspot_buds",
    "hotspot_count",
    "invasion_depth",
    "is_host_type",
    "linked_pairs",
    "main_raster",
    "mode_fractions",
    "pattern_of",
    "protrusions",
    "rasterise",
    "tumour_mask",
    "tumour_type_indices",
]
