"""Kernels of force-driven matrix displacement: cells push the matrix ahead of them aside.

Contract:
    * A cell ``i`` with a displacement rate ``k_i`` (1/min) and a nonzero motility direction
      ``d`` (unit after normalising) acts on the voxel *ahead* of it: the voxel holding its
      front point ``x + r d`` (``r`` its radius; the point where the ECM process reads the
      pores that stop it, :mod:`invasim.physics.ecm`). A front point outside the domain acts
      on nothing (nothing to push against). The *path axis* ``a`` is the mesh axis of the
      largest ``|d_a|`` (the first on a tie); the *lateral neighbours* of the voxel ahead are
      its face neighbours along the other axes (2 in 2-D, 4 in 3-D).
    * Weight ``w_i = k_i V_i / h³`` (its volume over the voxel's, as the proteolysis and
      secretion kernels; ``h³`` in 2-D too): a cell displaces ``k V m`` (field unit · µm³) per
      minute from matrix of density ``m``, whatever the voxel size. :func:`accumulate` sums the
      weights per voxel and path axis, ``K_{v,a} = Σ w_i``, serially in row order (the result
      does not depend on the thread count), and records the voxels touched in order of first
      touch.
    * :func:`displace`, per touched voxel in that order, per field (susceptibility ``s``):
      the amount ``Δ = m_v (1 − exp(−s K_v dt))`` (``K_v = Σ_a K_{v,a}``, exact for the rates
      held over ``dt``) leaves the voxel; the share ``K_{v,a} / K_v`` of it goes to the
      lateral neighbours of axis ``a`` in equal parts (1/2 each in 2-D, 1/4 in 3-D). A part
      that would take a neighbour above the field's ``upper`` is cut to what fits (``upper −
      m``, or 0), and a neighbour outside the domain takes nothing: what is not placed stays
      in the voxel ahead (spilled back). The voxel loses exactly what its neighbours gained:
      the field's sum is conserved to round-off. With no cap and no wall, ``m_v ←
      m_v exp(−s K_v dt)``. Voxels are updated in place in turn, so a voxel that received
      matrix before its own turn displaces from the new value (deterministic: the order is
      the cells' row order).
    * Fields are ``(nz, ny, nx)`` float64 C-contiguous arrays passed flat. Kernels are pure
      (arrays in, arrays changed in place, sums returned); no allocation inside.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: slots of the per-voxel accumulator: one per possible path axis (x, y, z)
AXES = 3


@njit(cache=True)
def accumulate(position, radius, direction, live, volume, k, inv_vv, nx, ny, nz, h, dim, acc,
               touched):  # pragma: no cover  # fmt: skip
    """Sum each pushing cell's weight into the voxel ahead of it, per path axis.

    Args:
        position: ``[n, 3]`` float64 cell centres, µm.
        radius: ``[n]`` float64 cell radii, µm.
        direction: ``[n, 3]`` float64 motility directions (need not be unit; zero: none).
        live: ``[n]`` bool, which cells act.
        volume: ``[n]`` float64 cell volumes, µm³.
        k: ``[n]`` float64 displacement rates, 1/min.
        inv_vv: ``1 / h³``, 1/µm³.
        nx, ny, nz: mesh size in voxels; h: voxel side, µm; dim: 2 or 3.
        acc: ``[3, n_voxels]`` float64, all 0 on entry; filled with ``K_{v,a}``.
        touched: ``[n]`` int64 scratch; its first (returned) entries are the voxels touched.

    Returns:
        How many voxels were touched.
    """
    nt = 0
    for i in range(position.shape[0]):
        if not live[i]:
            continue
        w = k[i] * volume[i] * inv_vv
        if not w > 0.0:
            continue
        dx = direction[i, 0]
        dy = direction[i, 1]
        dz = direction[i, 2] if dim == 3 else 0.0
        norm = math.sqrt(dx * dx + dy * dy + dz * dz)
        if not norm > 0.0:
            continue
        dx /= norm
        dy /= norm
        dz /= norm
        r = radius[i]
        fx = position[i, 0] + r * dx
        fy = position[i, 1] + r * dy
        fz = position[i, 2] + r * dz if dim == 3 else 0.0
        if fx < 0.0 or fx >= nx * h or fy < 0.0 or fy >= ny * h:
            continue
        if dim == 3 and (fz < 0.0 or fz >= nz * h):
            continue
        fi = min(int(math.floor(fx / h)), nx - 1)
        fj = min(int(math.floor(fy / h)), ny - 1)
        fk = min(int(math.floor(fz / h)), nz - 1) if dim == 3 else 0
        v = (fk * ny + fj) * nx + fi
        ax = 0
        big = abs(dx)
        if abs(dy) > big:
            ax = 1
            big = abs(dy)
        if dim == 3 and abs(dz) > big:
            ax = 2
        if acc[0, v] == 0.0 and acc[1, v] == 0.0 and acc[2, v] == 0.0:
            touched[nt] = v
            nt += 1
        acc[ax, v] += w
    return nt


@njit(cache=True)
def reset(acc, touched, nt):  # pragma: no cover
    """Zero the accumulators at the touched voxels (ready for the next step)."""
    for j in range(nt):
        v = touched[j]
        for a in range(acc.shape[0]):
            acc[a, v] = 0.0


@njit(cache=True)
def _give(m, nb, share, upper):  # pragma: no cover
    """Add to ``m[nb]`` what of ``share`` fits below ``upper``; returns the amount added."""
    room = upper - m[nb]
    if not room > 0.0:
        return 0.0
    add = share if share <= room else room
    m[nb] += add
    return add


@njit(cache=True)
def displace(m, acc, touched, nt, susceptibility, dt, upper, nx, ny, nz, dim):  # pragma: no cover
    """Move matrix from the touched voxels to their lateral neighbours over ``dt``, in place.

    Args:
        m: ``[n_voxels]`` float64 the field (flat), its unit; changed in place.
        acc: ``[3, n_voxels]`` the accumulators of :func:`accumulate` (1/min).
        touched, nt: the touched voxels of :func:`accumulate`.
        susceptibility: ``s``, the field's factor on the rates (1); 0: not displaced.
        dt: the step, min.
        upper: the field's cap, its unit (``inf``: none).
        nx, ny, nz: mesh size in voxels; dim: 2 or 3.

    Returns:
        The amount moved, summed over the voxels (field unit; × ``h³`` for an amount).
    """
    moved_all = 0.0
    n_lat = 2 * (dim - 1)
    for j in range(nt):
        v = touched[j]
        K = susceptibility * (acc[0, v] + acc[1, v] + acc[2, v])
        m0 = m[v]
        if not (K > 0.0 and m0 > 0.0):
            continue
        out = m0 * -math.expm1(-K * dt)
        i = v % nx
        jj = (v // nx) % ny
        kk = v // (nx * ny)
        moved = 0.0
        for a in range(dim):
            ka = susceptibility * acc[a, v]
            if not ka > 0.0:
                continue
            share = out * (ka / K) / n_lat
            for b in range(dim):
                if b == a:
                    continue
                for sgn in (-1, 1):
                    if b == 0:
                        q = i + sgn
                        if q < 0 or q >= nx:
                            continue
                        nb = v + sgn
                    elif b == 1:
                        q = jj + sgn
                        if q < 0 or q >= ny:
                            continue
                        nb = v + sgn * nx
                    else:
                        q = kk + sgn
                        if q < 0 or q >= nz:
                            continue
                        nb = v + sgn * nx * ny
                    moved += _give(m, nb, share, upper)
        m[v] = m0 - moved
        moved_all += moved
    return moved_all


def scratch(n_voxels: int) -> np.ndarray:
    """A zeroed ``[3, n_voxels]`` accumulator."""
    return np.zeros((AXES, n_voxels), dtype=np.float64)
