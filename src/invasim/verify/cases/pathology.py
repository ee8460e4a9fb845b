"""Validation cases of the pathology readouts on synthetic tumours whose answer is known.

Contract:
    * The tumours are built cell by cell on lattices (hexagonal in 2-D, face-centred cubic in
      3-D, neighbours ``2 r`` apart, so every cell touches its neighbours) and measured by the
      registered readouts (:mod:`invasim.analysis.pathology`) on a hand-made
      :class:`~invasim.analysis.snapshot.Snapshot`, as on a run's.
    * Known answers: the box-counting dimension of a straight front (1), of a Koch snowflake's
      boundary (``log 4 / log 3 = 1.2619``; Mandelbrot, The Fractal Geometry of Nature, 1982)
      and of a ball's surface (2); the number of planted buds (ITBCC 2016); the depth of cells
      planted under a flat basement membrane (exact).
    * The builders (:func:`hex_disc`, :func:`snowflake_cells`, :func:`fcc_ball`,
      :func:`cell_snapshot`) are shared with ``tests/unit/test_pathology.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from invasim.analysis import readouts as rd
from invasim.analysis.snapshot import Snapshot
from invasim.core.mesh import Mesh
from invasim.verify import Result, case

MECHANISM = "pathology readouts"
SOURCE_FRACTAL = ("box counting (Mandelbrot 1982): a smooth curve 1, a smooth surface 2, the Koch "
                  "snowflake log 4 / log 3")  # fmt: skip
SOURCE_BUDS = "ITBCC 2016 (Lugli et al., Mod Pathol 2017; 30:1299): a bud is 1-4 cells"
SOURCE_DEPTH = "depth of invasion from the basement membrane (MODEL_REFERENCE §9): exact geometry"
#: radius of the synthetic cells, µm (PhysiCell's default cell, volume 2494 µm³)
R_CELL = 8.41


# -- builders ----------------------------------------------------------------------------------
def hex_lattice(lo, hi, spacing: float) -> np.ndarray:
    """``[m, 2]`` points of a hexagonal lattice of ``spacing`` covering the box ``lo``–``hi``."""
    row = spacing * math.sqrt(3) / 2
    j = np.arange(math.floor(lo[1] / row) - 1, math.ceil(hi[1] / row) + 2)
    i = np.arange(math.floor(lo[0] / spacing) - 1, math.ceil(hi[0] / spacing) + 2)
    ii, jj = np.meshgrid(i, j)
    return np.c_[(spacing * (ii + 0.5 * (jj % 2))).ravel(), (row * jj).ravel()]


def hex_disc(radius: float, centre=(0.0, 0.0), r: float = R_CELL) -> np.ndarray:
    """``[m, 2]`` centres of touching cells filling a disc."""
    c = np.asarray(centre, float)
    p = hex_lattice(c - radius, c + radius, 2 * r)
    return p[np.hypot(*(p - c).T) <= radius]


def fcc_ball(radius: float, centre=(0.0, 0.0, 0.0), r: float = R_CELL) -> np.ndarray:
    """``[m, 3]`` centres of touching cells (face-centred cubic) filling a ball."""
    a = 2 * math.sqrt(2) * r  # the cube side whose nearest neighbours are 2 r apart
    g = np.arange(-(int(radius / a) + 2), int(radius / a) + 3) * a
    base = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    offsets = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * a
    p = (base[:, None, :] + offsets[None]).reshape(-1, 3)
    return p[np.linalg.norm(p, axis=1) <= radius] + np.asarray(centre, float)


def snowflake_triangles(side: float, level: int) -> np.ndarray:
    """``[t, 3, 2]`` triangles whose union is the Koch snowflake of ``side`` at ``level``."""
    h = math.sqrt(3) / 2
    tri = [np.array([[0.0, 0.0], [side / 2, side * h], [side, 0.0]])]
    edges = np.array([[[0.0, 0.0], [side / 2, side * h]], [[side / 2, side * h], [side, 0.0]],
                      [[side, 0.0], [0.0, 0.0]]])  # fmt: skip
    rot = np.array([[0.5, -h], [h, 0.5]])  # +60°: the outside of these (clockwise) edges
    for _ in range(level):
        a, b = edges[:, 0], edges[:, 1]
        d = (b - a) / 3
        p1, p2 = a + d, a + 2 * d
        tip = p1 + d @ rot.T
        tri.append(np.stack([p1, tip, p2], axis=1))
        edges = np.stack([np.stack(e, axis=1) for e in ((a, p1), (p1, tip), (tip, p2), (p2, b))],
                         axis=1).reshape(-1, 2, 2)
    return np.concatenate([t.reshape(-1, 3, 2) for t in tri])


def snowflake_cells(side: float, level: int, r: float = R_CELL) -> np.ndarray:
    """``[m, 2]`` centres of touching cells (hexagonal lattice) filling a Koch snowflake."""
    tris = snowflake_triangles(side, level)
    spacing, row = 2 * r, 2 * r * math.sqrt(3) / 2
    keys = []
    for t in tris:
        p = hex_lattice(t.min(axis=0), t.max(axis=0), spacing)
        a, b, c = t
        def side_of(u, v, p=p):  # noqa: E306
            return (p[:, 0] - v[0]) * (u[1] - v[1]) - (u[0] - v[0]) * (p[:, 1] - v[1])
        d1, d2, d3 = side_of(a, b), side_of(b, c), side_of(c, a)
        inside = ~(((d1 < 0) | (d2 < 0) | (d3 < 0)) & ((d1 > 0) | (d2 > 0) | (d3 > 0)))
        q = p[inside]
        keys.append(np.c_[np.round(q[:, 1] / row), np.round(q[:, 0] / (spacing / 2))])
    k = np.unique(np.concatenate(keys), axis=0)
    return np.c_[k[:, 1] * spacing / 2, k[:, 0] * row]


def cell_snapshot(pos: np.ndarray, types=None, names=("tumour",), dead=None,
                  mesh: Mesh | None = None, fields=None, radius: float = R_CELL,
                  **columns) -> Snapshot:
    """A snapshot of cells at ``pos`` (``[n, dim]`` µm), all live, type 0, radius ``radius``."""
    n, dim = pos.shape
    cols = {"id": np.arange(n, dtype=np.int64),
            "type": np.zeros(n, np.int32) if types is None else np.asarray(types, np.int32),
            "dead": np.zeros(n, np.int8) if dead is None else np.asarray(dead, np.int8)}
    cols |= {a: pos[:, k].astype(float) for k, a in enumerate("xyz"[:dim])}
    cols |= {"radius": np.full(n, radius)}
    mesh = mesh or Mesh(dim=dim, n=(10,) * dim, h=20.0)
    return Snapshot(0.0, mesh, fields or {}, pd.DataFrame(cols | columns), list(names))


def _dim(pos: np.ndarray) -> float:
    return rd.compute(cell_snapshot(pos), ["front_fractal_dim"])["front_fractal_dim"]


# -- cases -------------------------------------------------------------------------------------
@case("pathology front dimension of a straight front", MECHANISM, SOURCE_FRACTAL)
def straight_front(quick: bool) -> Result:
    """A block of cells: its boundary is four straight fronts (dimension 1).

    The block is at least half as wide as long: box counting merges two parallel fronts closer
    than the largest box (a quarter of the length), which would steepen the slope.
    """
    length, width = (1000.0, 600.0) if quick else (3000.0, 2000.0)
    p = hex_lattice((0.0, 0.0), (length, width), 2 * R_CELL)
    p = p[(p[:, 0] >= 0) & (p[:, 0] <= length) & (p[:, 1] >= 0) & (p[:, 1] <= width)]
    # the cells' round bumps add boxes at the smallest sides: a front of touching cells reads
    # 0.03-0.07 high (discs, blocks and balls of 300-50000 cells)
    return Result(1.0, _dim(p), 0.08, "", detail=f"{len(p)} cells, a {length:g} × {width:g} µm "
                  "block; boxes 1 cell diameter to 1/4 of the extent")


@case("pathology front dimension of a koch snowflake", MECHANISM, SOURCE_FRACTAL)
def koch_front(quick: bool) -> Result:
    """A tumour filling a Koch snowflake whose smallest segment is one cell diameter."""
    side, level = (810.0, 4) if quick else (2430.0, 5)
    r = side / 3**level / 2  # the smallest segment is one cell diameter
    p = snowflake_cells(side, level, r)
    pos = p  # the cell radius is set through the snapshot
    s = cell_snapshot(pos, radius=r)
    measured = rd.compute(s, ["front_fractal_dim"])["front_fractal_dim"]
    # box counting over 1.4-1.9 decades of a digitised Koch curve reads 0.02-0.04 high
    return Result(math.log(4) / math.log(3), measured, 0.06, "",
                  detail=f"{len(p)} cells of radius {r:g} µm, side {side:g} µm, level {level}")


@case("pathology front dimension of a ball surface", MECHANISM, SOURCE_FRACTAL)
def ball_front(quick: bool) -> Result:
    """A 3-D spheroid of touching cells: its surface has dimension 2."""
    radius = 150.0 if quick else 300.0
    p = fcc_ball(radius)
    return Result(2.0, _dim(p), 0.1, "", detail=f"{len(p)} cells, a ball of {radius:g} µm")


@case("pathology bud count of planted buds", MECHANISM, SOURCE_BUDS)
def planted_buds(quick: bool) -> Result:
    """Buds of 1-4 cells and 5-cell clusters (not buds) planted in front of a tumour disc."""
    main = hex_disc(300.0)
    rng = np.random.default_rng(7)
    n_buds = 8 if quick else 12
    sizes = np.r_[rng.integers(1, 5, n_buds), np.full(3, 5)]  # 3 five-cell clusters: no buds
    # spots 100 µm apart in front of the disc, all within one field of radius 500 µm: a
    # 5-cell row is 67 µm long, so neighbouring clusters stay 33 µm (> 2.5 r) apart
    spots = [(x, y) for y in range(-300, 301, 100) for x in (360.0, 460.0, 560.0)]
    parts = [main]
    for (x, y), size in zip(spots, sizes, strict=False):
        parts.append(np.array([x, y]) + 2 * R_CELL * np.c_[np.arange(size), np.zeros(size)])
    v = rd.compute(cell_snapshot(np.concatenate(parts)), ["n_buds", "n_clusters"])
    ok = v["n_buds"] == n_buds and v["n_clusters"] == len(sizes)
    return Result(float(n_buds), v["n_buds"], 0.0, "buds", passed=ok,
                  detail=f"{len(sizes)} detached clusters of sizes {sizes.tolist()}; "
                  f"n_clusters {v['n_clusters']:g}")


@case("pathology depth of invasion under a flat basement membrane", MECHANISM, SOURCE_DEPTH)
def flat_bm_depth(quick: bool) -> Result:
    """Cells at known depths under a flat BM with a breach; host cells deeper do not count."""
    mesh = Mesh(dim=2, n=(50, 40), h=10.0)
    bm = mesh.zeros()
    bm[0, 30, :] = 1.0  # the BM voxel row centred at y = 305 µm
    bm[0, 30, 20:27] = 0.1  # a breach of 70 µm
    depths = np.array([0.0, 30.0, 85.0, 140.0])
    pos = np.c_[np.full(4, 235.0), 305.0 - depths]  # in the breach: the interpolated height
    pos = np.r_[pos, [[100.0, 20.0]]]  # a fibroblast deeper than all
    s = cell_snapshot(pos, types=[0, 0, 0, 0, 1], names=("tumour", "fibroblast"), mesh=mesh,
                      fields={"basement_membrane": bm})
    v = rd.compute(s, ["invasion_depth_um", "bm_breached_um"])
    ok = v["invasion_depth_um"] == 140.0 and abs(v["bm_breached_um"] - 70.0) <= mesh.h
    return Result(140.0, v["invasion_depth_um"], 0.0, "µm", passed=ok,
                  detail=f"breach 70 µm measured {v['bm_breached_um']:g} µm")


__all__ = ["cell_snapshot", "fcc_ball", "hex_disc", "hex_lattice", "snowflake_cells"]
