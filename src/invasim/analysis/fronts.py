"""Invasion fronts, masses and interstitial gaps of continuum density fields.

Contract:
    * Inputs are ``float64`` fields of the mesh's internal shape ``(nz, ny, nx)`` and a
      :class:`~invasim.core.mesh.Mesh`; outputs are plain floats in µm (positions, widths) or in
      field-unit × µm^dim (masses). The functions never modify their inputs and work the same on a
      live field and on one loaded from a run directory.
    * Two geometries (``"planar"``, ``"radial"``), matching how a scenario seeds its tumour:

      - **planar**: the tumour starts at the ``x = 0`` wall and invades along +x. For each row of
        voxels along x (one row in 1-D, ``ny`` rows in 2-D, ``ny·nz`` in 3-D) the front is the
        *last* position where the density crosses the threshold downwards, linearly interpolated
        between the two voxel centres that straddle it. The field's front is the maximum over the
        rows (the deepest invasion, as a pathologist measures depth of invasion); ``reduce="mean"``
        gives the mean over rows instead.
      - **radial**: the tumour starts at the domain centre. The front is the largest distance from
        the centre at which the density is at or above the threshold: the maximum over the
        centres of voxels at or above it and over every threshold crossing between two
        face-neighbouring voxels, each crossing linearly interpolated along the line joining their
        centres.

    * Edge cases: a field nowhere at or above the threshold has its front at 0 (nothing has
      invaded); a field at or above it up to the far wall has its front at the last voxel centre.
    * The interstitial **gap** (Gatenby–Gawlinski) is the width of the hypocellular zone between
      the tumour and the normal tissue, where both densities are below ``threshold``:

      - planar, per row: ``x_T`` = the tumour front at ``threshold`` (as above); ``x_N`` = the first
        upward crossing of the normal density through ``threshold`` beyond ``x_T``, interpolated;
        gap = ``max(0, x_N − x_T)``. It is 0 when the last tumour voxel at or above the threshold
        still holds normal tissue at or above it (coexistence). Rows are reduced like the front.
      - radial: ``r_T`` = the tumour front radius at ``threshold``; ``r_N`` = the smallest distance
        from the centre at which the normal density is at or above ``threshold`` (voxel centres and
        interpolated crossings); gap = ``max(0, r_N − r_T)``: the narrowest point of the gap.
      - no tumour at or above the threshold: gap 0. Normal tissue below the threshold all the way
        to the domain edge: the gap extends to the last voxel centre (planar) or to the farthest
        voxel centre (radial), a lower bound.
"""

from __future__ import annotations

import math
from typing import Literal

import numba
import numpy as np

from invasim.core.mesh import Mesh

Geometry = Literal["planar", "radial"]
GEOMETRIES: tuple[str, ...] = ("planar", "radial")


# -- kernels -----------------------------------------------------------------------------------
@numba.njit(cache=True)
def _row_front(u: np.ndarray, r: int, thr: float, h: float) -> tuple[float, int]:
    """Front of row ``r`` of a ``(rows, nx)`` array: (position µm, index of last voxel >= thr)."""
    nx = u.shape[1]
    last = -1
    for i in range(nx - 1, -1, -1):
        if u[r, i] >= thr:
            last = i
            break
    if last < 0:
        return 0.0, -1
    x = (last + 0.5) * h
    if last == nx - 1:
        return x, last
    a = u[r, last]
    b = u[r, last + 1]
    return x + h * (a - thr) / (a - b), last


@numba.njit(cache=True)
def planar_fronts_kernel(u: np.ndarray, thr: float, h: float) -> np.ndarray:
    """Planar front position of every row of ``u`` (shape ``(rows, nx)``), µm."""
    rows = u.shape[0]
    out = np.empty(rows)
    for r in range(rows):
        out[r], _ = _row_front(u, r, thr, h)
    return out


@numba.njit(cache=True)
def planar_gaps_kernel(t: np.ndarray, n: np.ndarray, thr: float, h: float) -> np.ndarray:
    """Planar gap width of every row of the tumour ``t`` and normal ``n`` arrays ``(rows, nx)``."""
    rows, nx = t.shape
    out = np.zeros(rows)
    for r in range(rows):
        x_t, last = _row_front(t, r, thr, h)
        if last < 0 or n[r, last] >= thr:
            continue  # no tumour, or normal tissue still present at the tumour's edge
        j = last + 1
        while j < nx and n[r, j] < thr:
            j += 1
        if j == nx:
            x_n = (nx - 0.5) * h  # normal tissue gone up to the far wall: lower bound
        else:
            a = n[r, j - 1]
            b = n[r, j]
            x_n = (j - 0.5) * h + h * (thr - a) / (b - a)
        out[r] = max(0.0, x_n - x_t)
    return out


@numba.njit(cache=True)
def radial_extreme_kernel(
    u: np.ndarray, thr: float, h: float, cx: float, cy: float, cz: float, largest: bool
) -> float:
    """Largest (or smallest) distance from ``(cx, cy, cz)`` where ``u >= thr``, µm.

    Considers the centres of voxels with ``u >= thr`` and every interpolated crossing of ``thr``
    between face neighbours. Returns -1 when no voxel reaches ``thr``.
    """
    nz, ny, nx = u.shape
    best = -np.inf if largest else np.inf
    found = False
    for k in range(nz):
        z = (k + 0.5) * h - cz
        for j in range(ny):
            y = (j + 0.5) * h - cy
            for i in range(nx):
                x = (i + 0.5) * h - cx
                a = u[k, j, i]
                above = a >= thr
                if above:
                    found = True
                    d = math.sqrt(x * x + y * y + z * z)
                    if d > best if largest else d < best:
                        best = d
                # crossings with the +x, +y, +z neighbours
                for axis in range(3):
                    if axis == 0:
                        if i + 1 >= nx:
                            continue
                        b = u[k, j, i + 1]
                    elif axis == 1:
                        if j + 1 >= ny:
                            continue
                        b = u[k, j + 1, i]
                    else:
                        if k + 1 >= nz:
                            continue
                        b = u[k + 1, j, i]
                    if above == (b >= thr):
                        continue
                    s = h * (a - thr) / (a - b)
                    px, py, pz = x, y, z
                    if axis == 0:
                        px += s
                    elif axis == 1:
                        py += s
                    else:
                        pz += s
                    d = math.sqrt(px * px + py * py + pz * pz)
                    if d > best if largest else d < best:
                        best = d
    return best if found else -1.0


# -- public helpers ----------------------------------------------------------------------------
def _rows(u: np.ndarray) -> np.ndarray:
    """``(nz, ny, nx)`` → ``(nz·ny, nx)`` contiguous float64 view/copy."""
    return np.ascontiguousarray(u, dtype=np.float64).reshape(-1, u.shape[-1])


def domain_center(mesh: Mesh) -> tuple[float, float, float]:
    """Centre of the domain ``(x, y, z)``, µm; missing axes sit at half a voxel."""
    ext = list(mesh.extent) + [mesh.h] * (3 - mesh.dim)
    return (0.5 * ext[0], 0.5 * ext[1], 0.5 * ext[2])


def mass(u: np.ndarray, mesh: Mesh) -> float:
    """Integral of ``u`` over the domain, field-unit × µm^dim (midpoint rule)."""
    return float(np.sum(u) * mesh.voxel_volume)


def front_position(
    u: np.ndarray,
    mesh: Mesh,
    threshold: float,
    geometry: Geometry = "planar",
    reduce: Literal["max", "mean"] = "max",
) -> float:
    """Invasion front of ``u`` at ``threshold``, µm (see the module docstring).

    Args:
        u: field ``(nz, ny, nx)``.
        mesh: the mesh of ``u``.
        threshold: density that defines the front, in ``u``'s unit.
        geometry: ``"planar"`` (distance from the x = 0 wall) or ``"radial"`` (distance from the
            domain centre).
        reduce: planar only: ``"max"`` (deepest row) or ``"mean"`` over rows.

    Returns:
        The front position in µm; 0 when ``u`` is nowhere at or above ``threshold``.
    """
    if geometry == "planar":
        fronts = planar_fronts_kernel(_rows(u), float(threshold), mesh.h)
        return float(fronts.max() if reduce == "max" else fronts.mean())
    if geometry == "radial":
        cx, cy, cz = domain_center(mesh)
        u3 = np.ascontiguousarray(u, dtype=np.float64)
        r = radial_extreme_kernel(u3, float(threshold), mesh.h, cx, cy, cz, True)
        return max(0.0, float(r))
    raise ValueError(f"unknown geometry {geometry!r}; expected one of {GEOMETRIES}")


def gap_width(
    tumour: np.ndarray,
    normal: np.ndarray,
    mesh: Mesh,
    threshold: float,
    geometry: Geometry = "planar",
    reduce: Literal["max", "mean"] = "max",
) -> float:
    """Width of the hypocellular gap between ``tumour`` and ``normal`` tissue, µm.

    Both densities below ``threshold`` inside the gap; see the module docstring for the exact
    definition in each geometry.
    """
    if geometry == "planar":
        gaps = planar_gaps_kernel(_rows(tumour), _rows(normal), float(threshold), mesh.h)
        return float(gaps.max() if reduce == "max" else gaps.mean())
    if geometry == "radial":
        cx, cy, cz = domain_center(mesh)
        t3 = np.ascontiguousarray(tumour, dtype=np.float64)
        n3 = np.ascontiguousarray(normal, dtype=np.float64)
        r_t = radial_extreme_kernel(t3, float(threshold), mesh.h, cx, cy, cz, True)
        if r_t < 0:
            return 0.0
        r_n = radial_extreme_kernel(n3, float(threshold), mesh.h, cx, cy, cz, False)
        if r_n < 0:  # no normal tissue left anywhere: the gap reaches the farthest voxel
            x, y, z = mesh.grids()
            r_n = float(np.sqrt((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2).max())
        return max(0.0, float(r_n - r_t))
    raise ValueError(f"unknown geometry {geometry!r}; expected one of {GEOMETRIES}")
