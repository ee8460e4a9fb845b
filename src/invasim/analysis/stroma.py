"""Stroma readouts: CAF activation, who leads invading strands, the matrix at the invasive front.

What a pathologist or a tumour-stroma biologist reads on a section of a carcinoma invading a
fibroblast-rich stroma (Gaggioli et al., Nat Cell Biol 2007; Kalluri, Nat Rev Cancer 2016),
measured on the cells and the matrix fields of a :class:`~invasim.analysis.snapshot.Snapshot`,
live or stored (the same function, the same bits).

Contract:
    * **Cell roles by type name** (case-insensitive prefixes): *fibroblast* types start with
      ``fibroblast`` (resting fibroblasts), *CAF* types with ``caf`` (cancer-associated,
      activated fibroblasts); together they are the *fibroblast lineage*. *Tumour* types are
      those :func:`invasim.analysis.pathology.is_host_type` calls tumour (neither host nor
      stroma). Only live cells (``dead == 0``) count anywhere.
    * ``caf_fraction``: live CAFs / (live fibroblasts + live CAFs); NaN when there is none.
    * **Depth below the BM**: the basement membrane's reference height ``H`` per column
      (:func:`invasim.analysis.pathology.bm_profile`: measured where intact, interpolated
      where breached); a cell's depth is ``H(column) − coordinate`` along the last mesh axis
      (y in 2-D, z in 3-D), positive below the membrane (in the stroma).
    * **Invading groups and their tips**: the live cells of the tumour and fibroblast-lineage
      types whose depth is > 0 are linked when their centres are closer than
      ``1.25 (r_i + r_j)`` (:data:`~invasim.analysis.pathology.LINK_FACTOR`, cells that can
      adhere). A connected component is an *invading group* when it holds at least one tumour
      cell deeper than ``min_depth_um`` (default :data:`MIN_TUMOUR_DEPTH_UM`, 0: any tumour cell
      below the membrane's height); its *tip* is its deepest cell (ties: the first row).
      ``n_invading_strands`` counts the groups; ``frac_strand_tips_fibroblast`` is the share of
      them whose tip is a fibroblast-lineage cell (fibroblast or CAF); NaN without a group.
      Cells above the membrane (the carcinoma in situ, the epithelium) are not part of a group,
      so a strand still joined to the carcinoma above counts from where it crosses the membrane.
    * **Stroma voxels**: voxels of the mesh whose centre lies at least half a voxel below ``H``
      of their column (below the membrane's voxel row). **Front band**: the stroma voxels whose
      centre is within :data:`FRONT_BAND_UM` (30 µm, about two cell diameters) of a live tumour
      cell's centre; **far stroma**: the stroma voxels farther than :data:`FAR_STROMA_UM`
      (100 µm) from every live tumour cell. ``ecm_density_front`` / ``ecm_density_far``: the
      mean of the ``ecm`` field over those voxels (its unit: 1 = dense collagen I);
      ``ecm_alignment_front`` / ``ecm_alignment_far``: the mean of the ``anisotropy`` field
      (0 isotropic, 1 fully aligned; Metzcar et al. 2025). NaN where a set is empty.
    * ``front_permissive_fraction`` (the "tumour-permissive stroma" summary): the share of the
      front band's voxels whose pores admit a protease-free carcinoma cell, i.e. whose density
      is below the pore limit ``ρ* = A₁ / (0.1 A_n)`` of the ecm process (Wolf et al. 2013:
      migration stops at pores of 10 % of the nuclear cross-section); with the defaults
      ``A₁ = 5 µm²`` and ``A_n = 70 µm²``, ``ρ* = 0.714``. It says how much of the stroma at
      the front a carcinoma cell without proteases could move into (1: all of it). NaN without
      a front band.
    * ``stiffness_front`` / ``stiffness_far`` (kPa) and ``crosslink_front`` /
      ``crosslink_far`` (0..1): the mean of the ``stiffness`` and ``crosslink`` fields (the
      crosslinking process: LOX cross-link fraction and the matrix's Young's modulus) over
      the same front band and far stroma. Unlike the ``<field>_at_front`` family (a band
      around the main tumour mass, on both sides of the membrane) they count stroma voxels
      only, so matrix-free voxels above the membrane do not dilute them.
    * The readouts apply when the snapshot has the fields they read (``basement_membrane``,
      ``ecm``, ``anisotropy``) and the cell types they count, so a run's metric columns do
      not change when its tumour appears or dies out.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from invasim.analysis.pathology import (
    BM_FIELD,
    LINK_FACTOR,
    bm_profile,
    cell_radii,
    has_field,
    is_host_type,
)
from invasim.analysis.readouts import ALIVE, has_cells, readout
from invasim.analysis.snapshot import Snapshot

#: type-name prefixes of resting fibroblasts and of CAFs (case-insensitive)
FIBROBLAST_PREFIXES = ("fibroblast",)
CAF_PREFIXES = ("caf",)
#: matrix fields read here: density (1 = dense collagen I) and fibre anisotropy (0..1)
ECM_FIELD, ANISOTROPY_FIELD = "ecm", "anisotropy"
#: fields of the crosslinking process: Young's modulus (kPa) and cross-link fraction (0..1)
STIFFNESS_FIELD, CROSSLINK_FIELD = "stiffness", "crosslink"
#: half-width of the front band around the live tumour cells, µm (about two cell diameters)
FRONT_BAND_UM = 30.0
#: far stroma: farther than this from every live tumour cell, µm
FAR_STROMA_UM = 100.0
#: a group invades when a tumour cell lies deeper than this below the BM's height, µm
MIN_TUMOUR_DEPTH_UM = 0.0
#: the ecm process's defaults: pore area at density 1 (µm²) and a carcinoma nucleus (µm²)
PORE_AREA_AT_UNIT_DENSITY_UM2, NUCLEAR_CROSS_SECTION_UM2 = 5.0, 70.0


# -- cell roles --------------------------------------------------------------------------------
def is_fibroblast_type(name: str) -> bool:
    """Whether ``name`` is a resting-fibroblast type (starts with ``fibroblast``)."""
    return name.lower().startswith(FIBROBLAST_PREFIXES)


def is_caf_type(name: str) -> bool:
    """Whether ``name`` is a CAF type (starts with ``caf``)."""
    return name.lower().startswith(CAF_PREFIXES)


def _type_mask(s: Snapshot, pick) -> np.ndarray:
    idx = np.array([k for k, t in enumerate(s.type_names) if pick(t)], np.int64)
    types = s.cells["type"].to_numpy()
    return (s.cells["dead"].to_numpy() == ALIVE) & np.isin(types, idx)


def roles(s: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[n]`` bool masks over the cell table: live (tumour, fibroblast, CAF) cells."""
    tumour = _type_mask(s, lambda t: not is_host_type(t))
    fib = _type_mask(s, is_fibroblast_type)
    caf = _type_mask(s, is_caf_type)
    return tumour, fib, caf


def caf_fraction_of(s: Snapshot) -> float:
    """Live CAFs / (live fibroblasts + live CAFs); NaN when there is none."""
    _, fib, caf = roles(s)
    total = int(fib.sum()) + int(caf.sum())
    return float(caf.sum()) / total if total else math.nan


# -- depth below the membrane and invading groups ------------------------------------------------
def bm_height(s: Snapshot) -> np.ndarray:
    """The BM's reference height per column, µm (``(nx,)`` 2-D, ``(ny, nx)`` 3-D)."""
    return bm_profile(s.fields[BM_FIELD], s.mesh)[1]


def cell_depths(s: Snapshot, height: np.ndarray | None = None) -> np.ndarray:
    """``[n]`` depth of every cell below the BM's reference height, µm (negative above)."""
    height = bm_height(s) if height is None else height
    pos = s.positions()
    h = s.mesh.h
    i = np.clip((pos[:, 0] // h).astype(np.int64), 0, s.mesh.nx - 1)
    if s.dim == 2:
        return height[i] - pos[:, 1]
    j = np.clip((pos[:, 1] // h).astype(np.int64), 0, s.mesh.ny - 1)
    return height[j, i] - pos[:, 2]


def invading_groups(s: Snapshot, min_depth_um: float = MIN_TUMOUR_DEPTH_UM
                    ) -> list[tuple[np.ndarray, int]]:
    """The invading groups (module doc): per group its rows and the row of its tip.

    Returns:
        ``[(rows, tip_row), ...]`` in the order of each group's first row; rows index the
        snapshot's cell table.
    """
    tumour, fib, caf = roles(s)
    depth = cell_depths(s)
    below = (tumour | fib | caf) & (depth > 0.0)
    rows = np.flatnonzero(below)
    if not rows.size:
        return []
    pos = s.positions()[rows, : s.dim]
    radius = cell_radii(s.cells)[rows]
    n = len(rows)
    pairs = cKDTree(pos).query_pairs(2.0 * LINK_FACTOR * radius.max(), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    keep = ((pos[i] - pos[j]) ** 2).sum(axis=1) < (LINK_FACTOR * (radius[i] + radius[j])) ** 2
    graph = sparse.coo_matrix((np.ones(int(keep.sum()), np.int8), (i[keep], j[keep])),
                              shape=(n, n)).tocsr()  # fmt: skip
    k, label = csgraph.connected_components(graph, directed=False)
    out = []
    d, tum = depth[rows], tumour[rows]
    for g in range(k):
        members = np.flatnonzero(label == g)
        if not (tum[members] & (d[members] > min_depth_um)).any():
            continue
        tip = members[int(np.argmax(d[members]))]
        out.append((rows[members], int(rows[tip])))
    return out


def strand_tips(s: Snapshot, min_depth_um: float = MIN_TUMOUR_DEPTH_UM) -> tuple[int, int]:
    """(invading groups, groups whose tip is a fibroblast-lineage cell)."""
    groups = invading_groups(s, min_depth_um)
    _, fib, caf = roles(s)
    lineage = fib | caf
    return len(groups), sum(int(lineage[tip]) for _, tip in groups)


# -- the matrix at the front ---------------------------------------------------------------------
def stroma_bands(s: Snapshot, band_um: float = FRONT_BAND_UM, far_um: float = FAR_STROMA_UM
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Flat masks over the mesh's voxels (``array_shape`` order): (front band, far stroma)."""
    mesh = s.mesh
    h = mesh.h
    height = bm_height(s)
    zc, yc, xc = np.meshgrid(*((np.arange(n) + 0.5) * h for n in mesh.array_shape),
                             indexing="ij")  # fmt: skip
    if s.dim == 2:
        normal, ref = yc, np.broadcast_to(height[None, None, :], yc.shape)
    else:
        normal, ref = zc, np.broadcast_to(height[None, :, :], zc.shape)
    with np.errstate(invalid="ignore"):
        stroma = (normal <= ref - 0.5 * h + 1e-9).ravel()
    tumour, _, _ = roles(s)
    centres = np.stack([xc.ravel(), yc.ravel(), zc.ravel()], axis=1)[:, : s.dim]
    if not tumour.any():
        return np.zeros_like(stroma), stroma.copy()
    tree = cKDTree(s.positions()[tumour, : s.dim])
    dist, _ = tree.query(centres, k=1)
    return stroma & (dist <= band_um), stroma & (dist > far_um)


def _mean_over(s: Snapshot, name: str, mask: np.ndarray) -> float:
    if not mask.any():
        return math.nan
    return float(np.asarray(s.fields[name], np.float64).ravel()[mask].mean())


def pore_limit_density(pore_area_um2: float = PORE_AREA_AT_UNIT_DENSITY_UM2,
                       nuclear_um2: float = NUCLEAR_CROSS_SECTION_UM2) -> float:
    """Density above which a protease-free cell cannot move: ``A₁ / (0.1 A_n)`` (Wolf 2013)."""
    return pore_area_um2 / (0.1 * nuclear_um2)


def front_permissive(s: Snapshot, band_um: float = FRONT_BAND_UM) -> float:
    """Share of the front band's voxels below the carcinoma's pore-limit density (NaN: none)."""
    front, _ = stroma_bands(s, band_um)
    if not front.any():
        return math.nan
    rho = np.asarray(s.fields[ECM_FIELD], np.float64).ravel()[front]
    return float((rho < pore_limit_density()).mean())


# -- applicability -------------------------------------------------------------------------------
def _has_lineage(s: Snapshot) -> bool:
    return has_cells(s) and any(is_fibroblast_type(t) or is_caf_type(t) for t in s.type_names)


def _with_bm_cells(s: Snapshot) -> bool:
    return (has_cells(s) and s.dim in (2, 3) and has_field(s, BM_FIELD)
            and any(not is_host_type(t) for t in s.type_names))  # fmt: skip


def _with(*fields: str):
    return lambda s: _with_bm_cells(s) and all(has_field(s, f) for f in fields)


# -- the registered readouts -----------------------------------------------------------------------
@readout("caf_fraction", "", "live CAFs / (live fibroblasts + live CAFs): the share of the "
         "fibroblast lineage that is activated (NaN without any)", _has_lineage)
def caf_fraction(s: Snapshot) -> float:
    """Share of activated fibroblasts."""
    return caf_fraction_of(s)


@readout("n_invading_strands", "groups", "connected groups of live tumour/fibroblast/CAF "
         "cells below the basement membrane holding a tumour cell", _with())
def n_invading_strands(s: Snapshot) -> float:
    """Invading groups below the BM."""
    return float(strand_tips(s)[0])


@readout("frac_strand_tips_fibroblast", "", "share of invading groups whose deepest cell (tip) "
         "is a fibroblast or CAF (NaN without a group)", _with())
def frac_strand_tips_fibroblast(s: Snapshot) -> float:
    """Share of invading-group tips that are fibroblast-lineage cells."""
    n, led = strand_tips(s)
    return led / n if n else math.nan


@readout("front_permissive_fraction", "", "tumour-permissive stroma: share of the front band's "
         "voxels with ecm density below the carcinoma pore limit 0.714 (Wolf 2013)",
         _with(ECM_FIELD))
def front_permissive_fraction(s: Snapshot) -> float:
    """Share of the front band a protease-free carcinoma cell can enter."""
    return front_permissive(s)


#: the stroma band readouts: ``<prefix>_front`` (the mean of the field over the stroma within
#: FRONT_BAND_UM of a live tumour cell) and ``<prefix>_far`` (farther than FAR_STROMA_UM from all)
BAND_READOUTS = (
    # prefix, field, unit, what the field is
    ("ecm_density", ECM_FIELD, "1", "ecm density"),
    ("ecm_alignment", ANISOTROPY_FIELD, "", "fibre anisotropy (0 isotropic, 1 aligned)"),
    ("stiffness", STIFFNESS_FIELD, "kPa", "matrix stiffness"),
    ("crosslink", CROSSLINK_FIELD, "", "collagen cross-link fraction (0 to 1)"),
)


def _band_readout(field: str, band: int):
    def compute(s: Snapshot) -> float:
        return _mean_over(s, field, stroma_bands(s)[band])

    return compute


for _prefix, _field, _unit, _what in BAND_READOUTS:
    readout(f"{_prefix}_front", _unit, f"mean {_what} in the stroma within {FRONT_BAND_UM:g} µm "
            f"of a live tumour cell (the invasive front band)", _with(_field))(
        _band_readout(_field, 0))  # fmt: skip
    readout(f"{_prefix}_far", _unit, f"mean {_what} in the stroma farther than "
            f"{FAR_STROMA_UM:g} µm from every live tumour cell", _with(_field))(
        _band_readout(_field, 1))  # fmt: skip


__all__ = [
    "CAF_PREFIXES",
    "FAR_STROMA_UM",
    "FIBROBLAST_PREFIXES",
    "FRONT_BAND_UM",
    "bm_height",
    "caf_fraction_of",
    "cell_depths",
    "front_permissive",
    "invading_groups",
    "is_caf_type",
    "is_fibroblast_type",
    "pore_limit_density",
    "roles",
    "strand_tips",
    "stroma_bands",
]
