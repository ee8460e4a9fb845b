"""Basement membrane kernels: a voxel barrier to cell centres, force rupture, breach readouts.

The basement membrane (BM) is a matrix field ``ρ`` (density ``0..1``, :mod:`invasim.agents.fields`)
on the mesh. Its *integrity* is ``q = ρ / ρ_ref``, ``ρ_ref`` the field's initial peak, so a BM
thinner than a voxel (a sharp ``layer`` keeps its amount: ``ρ = thickness / h``) and a
one-voxel BM of density 1 behave the same.

Contract:
    * Barrier (:func:`barrier_velocities`): a cell's centre may not enter a voxel of intact BM.
      Each mechanics step every cell's displacement ``Δx = Δt w`` (``w = 3/2 v − 1/2 v_prev``
      for Adams–Bashforth 2, ``w = v`` for Euler: exactly what
      :func:`invasim.physics.mechanics.move` will do) is swept axis by axis (x, then y, then
      z) through the voxel faces it crosses (:func:`sweep_axis`), however far it goes: no
      tunnelling through a one-voxel BM, whatever the step. Entering a voxel of blocking
      ``φ(q)`` (:func:`blocking`: 1 for ``q >= impassable``, 0 for ``q <= passable``, linear
      between), the part of the move beyond the face is scaled by ``1 − φ``; ``φ = 1`` stops
      the centre ``1e-6 h`` short of the face (it slides along it). The velocity is then set
      so that ``move`` gives the clipped displacement: ``v = (w' + v_prev / 2) / (3/2)``
      (AB2) or ``v = w'`` (Euler), on the clipped axes only. The correction only removes
      motion (``|w'_a| <= |w_a|``), so it adds no stiffness and no time-step limit.
    * Force rupture (:func:`bm_load`, :func:`rupture`): the load on a BM voxel is the mean
      simple pressure of the cells whose body reaches into it (centre within its radius of
      the voxel's box). Where the load ``σ`` exceeds the strength ``σ_c = p_r q^s``
      (``s = 1``: strength proportional to the remaining matrix; ``s = 0``: fixed),
      ``ρ ← ρ exp(−k (σ/σ_c − 1) Δt)`` (exact for the step, never negative).
    * Readouts (pure functions of the field, for live runs and stored snapshots alike): the BM
      normal is the last mesh axis (y in 2-D, z in 3-D). A *column* (all voxels along the
      normal at one x, or one (x, y)) is **breached** when its amount ``Σ ρ h`` through the
      BM's whole thickness is below ``threshold × reference amount`` (a run: the largest
      initial column amount; :mod:`invasim.analysis.pathology`'s default: the best-kept
      column of the snapshot). :func:`breached_columns` gives the mask, :func:`breached_extent` the
      breached length (2-D, µm: breached columns × h) or area (3-D, µm²: × h²), and
      :func:`breached_length` the pathologist's breach length: 2-D the breached length, 3-D
      the sum over the breaches (connected breached patches, edge-connected) of their
      equivalent diameters ``2 √(A_k / π)`` (a disc-shaped breach seen on a section through
      its centre). With the initial field given, only the columns that held a BM at the start
      count.
    * Kernels are ``@njit(cache=True)``; every cell writes only its own row (thread-count
      independent). :func:`bm_load` scatters into voxels and runs on one thread.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from invasim.core.mesh import Mesh

_JIT = {"cache": True, "fastmath": False}
#: a fully blocked centre stops this fraction of a voxel short of the face
FACE_GAP = 1e-6


@njit(inline="always", **_JIT)
def blocking(q: float, passable: float, impassable: float) -> float:
    """Fraction ``φ`` of the motion into a voxel of integrity ``q`` that the BM removes."""
    if q >= impassable:
        return 1.0
    if q <= passable:
        return 0.0
    return (q - passable) / (impassable - passable)


@njit(inline="always", **_JIT)
def _clip(k: int, n: int) -> int:
    return 0 if k < 0 else (n - 1 if k >= n else k)


@njit(inline="always", **_JIT)
def _sweep(px, py, pz, a, d, bm, h, inv_ref, passable, impassable):
    """:func:`sweep_axis` on a position given as scalars: ``(new p[a], removed µm)``.

    No array per call: the barrier runs it for every cell on every mechanics step.
    """
    nz, ny, nx = bm.shape
    n_a = nx if a == 0 else (ny if a == 1 else nz)
    ix, iy, iz = -1, -1, -1  # the voxel row, found when a face is crossed (most moves: none)
    pos = px if a == 0 else (py if a == 1 else pz)
    k = int(math.floor(pos / h))
    rem = d
    removed = 0.0
    sign = 1.0 if d > 0.0 else -1.0
    while rem != 0.0:
        face = (k + 1) * h if sign > 0.0 else k * h
        dist = abs(face - pos)
        if abs(rem) <= dist:
            pos += rem
            break
        if ix < 0:
            ix = _clip(int(math.floor(px / h)), nx)
            iy = _clip(int(math.floor(py / h)), ny)
            iz = _clip(int(math.floor(pz / h)), nz)
        knext = k + 1 if sign > 0.0 else k - 1
        if knext < 0 or knext >= n_a:  # leaving the mesh: no BM out there
            pos += rem
            break
        if a == 0:
            rho = bm[iz, iy, knext]
        elif a == 1:
            rho = bm[iz, knext, ix]
        else:
            rho = bm[knext, iy, ix]
        phi = blocking(rho * inv_ref, passable, impassable)
        beyond = abs(rem) - dist
        if phi >= 1.0:
            removed += beyond
            pos = face - sign * FACE_GAP * h
            break
        if phi > 0.0:
            removed += phi * beyond
            beyond *= 1.0 - phi
        pos = face
        rem = sign * beyond
        k = knext
    return pos, removed


@njit(**_JIT)
def sweep_axis(p, a, d, bm, h, inv_ref, passable, impassable):
    """Move ``p[a]`` by ``d`` µm through the voxel faces it crosses; returns the removed µm.

    ``p`` is a ``[3]`` position (µm, changed in place), ``bm`` the ``(nz, ny, nx)`` field,
    ``inv_ref`` ``1 / ρ_ref``. The other coordinates of ``p`` fix the voxel row swept.
    """
    pos, removed = _sweep(p[0], p[1], p[2], a, d, bm, h, inv_ref, passable, impassable)
    p[a] = pos
    return removed


@njit(inline="always", **_JIT)
def _barrier_cell(px, py, pz, v0, v1, v2, q0, q1, q2, dt, ab2, dim, bm, h, inv_ref, passable,
                  impassable):  # fmt: skip
    """One cell's clipped velocity ``(v0, v1, v2)`` and removed speed, on scalars."""
    x = (px, py, pz)
    total = 0.0
    for a in range(dim):
        v = v0 if a == 0 else (v1 if a == 1 else v2)
        q = q0 if a == 0 else (q1 if a == 1 else q2)
        w = 1.5 * v - 0.5 * q if ab2 else v
        if w == 0.0:
            continue
        pa, cut = _sweep(px, py, pz, a, dt * w, bm, h, inv_ref, passable, impassable)
        start = x[a]
        if a == 0:
            px = pa
        elif a == 1:
            py = pa
        else:
            pz = pa
        if cut > 0.0:
            w_new = (pa - start) / dt
            v = (w_new + 0.5 * q) / 1.5 if ab2 else w_new
            if a == 0:
                v0 = v
            elif a == 1:
                v1 = v
            else:
                v2 = v
            total += cut / dt
    return v0, v1, v2, total


# The two loops are the same body (the cell's work in the scalar helper above); a helper
# taking the arrays (inline="always") ran several times slower, as motility's did.
@njit(parallel=True, **_JIT)
def _barrier_par(position, velocity, velocity_prev, dt, ab2, dim, bm, h, inv_ref, passable,
                 impassable, removed):  # fmt: skip
    for i in prange(position.shape[0]):
        velocity[i, 0], velocity[i, 1], velocity[i, 2], removed[i] = _barrier_cell(
            position[i, 0], position[i, 1], position[i, 2], velocity[i, 0], velocity[i, 1],
            velocity[i, 2], velocity_prev[i, 0], velocity_prev[i, 1], velocity_prev[i, 2], dt,
            ab2, dim, bm, h, inv_ref, passable, impassable)  # fmt: skip


@njit(**_JIT)
def _barrier_ser(position, velocity, velocity_prev, dt, ab2, dim, bm, h, inv_ref, passable,
                 impassable, removed):  # fmt: skip
    for i in range(position.shape[0]):
        velocity[i, 0], velocity[i, 1], velocity[i, 2], removed[i] = _barrier_cell(
            position[i, 0], position[i, 1], position[i, 2], velocity[i, 0], velocity[i, 1],
            velocity[i, 2], velocity_prev[i, 0], velocity_prev[i, 1], velocity_prev[i, 2], dt,
            ab2, dim, bm, h, inv_ref, passable, impassable)  # fmt: skip


def barrier_velocities(
    position: np.ndarray,
    velocity: np.ndarray,
    velocity_prev: np.ndarray,
    dt: float,
    ab2: bool,
    dim: int,
    bm: np.ndarray,
    h: float,
    reference: float,
    passable: float,
    impassable: float,
    parallel: bool = False,
) -> np.ndarray:
    """Clip ``velocity`` (``[n, 3]`` µm/min, in place) so no centre enters intact BM.

    Args:
        position, velocity, velocity_prev: the cells' ``[n, 3]`` arrays (µm, µm/min).
        dt: the mechanics step (min); ``ab2``: Adams–Bashforth 2 (else Euler).
        dim: 2 or 3.
        bm: the BM field ``(nz, ny, nx)``; ``h``: voxel size (µm).
        reference: ``ρ_ref`` (> 0), the density of intact BM.
        passable, impassable: integrity below which it lets cells through, above which it
            stops them (``0 <= passable <= impassable``).
        parallel: one cell per thread (same result).

    Returns:
        ``[n]`` the speed removed from each cell (µm/min): its push against the BM.
    """
    n = position.shape[0]
    removed = np.zeros(n)
    if n == 0:
        return removed
    kernel = _barrier_par if parallel else _barrier_ser
    kernel(position, velocity, velocity_prev, float(dt), bool(ab2), int(dim), bm, float(h),
           1.0 / float(reference), float(passable), float(impassable), removed)  # fmt: skip
    return removed


@njit(**_JIT)
def _sweep_from(start, target, dim, bm, h, inv_ref, passable, impassable, out):
    """``out[3]``: where a centre moving from ``start`` towards ``target`` ends (swept)."""
    for a in range(3):
        out[a] = start[a]
    for a in range(dim):
        sweep_axis(out, a, target[a] - start[a], bm, h, inv_ref, passable, impassable)


@njit(**_JIT)
def keep_daughters(position, pairs, dim, bm, h, inv_ref, passable, impassable):
    """Move each pair of new daughters from their mother's centre, through the barrier.

    ``pairs`` is ``[m, 2]`` rows of sibling daughters; their mother stood at the midpoint.
    Each daughter is placed where a centre moving from there to its division position stops,
    so a division next to an intact BM never puts a daughter inside or across it.
    """
    mid = np.empty(3)
    tgt = np.empty(3)
    out = np.empty(3)
    for m in range(pairs.shape[0]):
        i, j = pairs[m, 0], pairs[m, 1]
        for a in range(3):
            mid[a] = 0.5 * (position[i, a] + position[j, a])
        for r in (i, j):
            for a in range(3):
                tgt[a] = position[r, a]
            _sweep_from(mid, tgt, dim, bm, h, inv_ref, passable, impassable, out)
            for a in range(dim):
                position[r, a] = out[a]


@njit(**_JIT)
def bm_load(position, radius, pressure, dim, bm, h, sum_p, count):
    """Add each cell's pressure to the BM voxels (``bm > 0``) its body reaches into.

    A voxel counts when the centre is closer than the cell's radius to the voxel's box.
    ``sum_p`` and ``count`` are flat ``[nz ny nx]`` accumulators. One thread (it scatters).
    """
    nz, ny, nx = bm.shape
    flat = bm.ravel()
    for c in range(position.shape[0]):
        r = radius[c]
        x, y, z = position[c, 0], position[c, 1], position[c, 2]
        i0, i1 = _clip(int(math.floor((x - r) / h)), nx), _clip(int(math.floor((x + r) / h)), nx)
        j0, j1 = _clip(int(math.floor((y - r) / h)), ny), _clip(int(math.floor((y + r) / h)), ny)
        if dim == 3:
            k0 = _clip(int(math.floor((z - r) / h)), nz)
            k1 = _clip(int(math.floor((z + r) / h)), nz)
        else:
            k0, k1 = 0, 0
        for k in range(k0, k1 + 1):
            dz = 0.0
            if dim == 3:
                dz = max(k * h - z, 0.0, z - (k + 1) * h)
            for j in range(j0, j1 + 1):
                dy = max(j * h - y, 0.0, y - (j + 1) * h)
                for i in range(i0, i1 + 1):
                    v = (k * ny + j) * nx + i
                    if flat[v] <= 0.0:
                        continue
                    dx = max(i * h - x, 0.0, x - (i + 1) * h)
                    if dx * dx + dy * dy + dz * dz < r * r:
                        sum_p[v] += pressure[c]
                        count[v] += 1.0


@njit(**_JIT)
def rupture(bm, sum_p, count, reference, strength, rate, dt, scaled):
    """Degrade each loaded voxel whose mean load exceeds its strength (exact per step).

    ``ρ ← ρ exp(−k (σ/σ_c − 1) dt)`` where ``σ = sum_p / count > σ_c``,
    ``σ_c = strength × min(ρ/ρ_ref, 1)`` if ``scaled`` else ``strength``. Returns the number of
    voxels that yielded.
    """
    flat = bm.ravel()
    yielded = 0
    for v in range(flat.shape[0]):
        if count[v] <= 0.0 or flat[v] <= 0.0:
            continue
        sigma = sum_p[v] / count[v]
        sc = strength * min(flat[v] / reference, 1.0) if scaled else strength
        if sigma <= sc:
            continue
        yielded += 1
        if sc <= 0.0:
            flat[v] = 0.0
        else:
            flat[v] *= math.exp(-rate * (sigma / sc - 1.0) * dt)
    return yielded


# -- readouts (pure functions of the field) ------------------------------------------------------
def _internal(field: np.ndarray, mesh: Mesh) -> np.ndarray:
    a = np.asarray(field, dtype=np.float64)
    if a.shape not in (mesh.array_shape, mesh.shape):
        raise ValueError(f"BM field has shape {a.shape}, not {mesh.shape} or {mesh.array_shape}")
    return a.reshape(mesh.array_shape)


def column_amounts(field: np.ndarray, mesh: Mesh) -> np.ndarray:
    """Each column's BM amount ``Σ ρ h`` along the normal (the last mesh axis), field unit × µm.

    Returns ``[nx]`` in 2-D, ``[ny, nx]`` in 3-D.
    """
    a = np.maximum(_internal(field, mesh), 0.0)
    if mesh.dim == 2:
        return a[0].sum(axis=0) * mesh.h
    if mesh.dim == 3:
        return a.sum(axis=0) * mesh.h
    raise ValueError(f"a basement membrane needs a 2-D or 3-D mesh, got dim {mesh.dim}")


def breached_columns(
    bm: np.ndarray,
    reference_amount: float,
    mesh: Mesh,
    threshold: float = 0.5,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Mask of the breached columns (``[nx]`` 2-D, ``[ny, nx]`` 3-D).

    A column is breached when its amount (:func:`column_amounts`, through the BM's whole
    thickness) is below ``threshold × reference_amount`` (the amount of an intact column,
    field unit × µm: the initial one in a run, or the best-kept one of a snapshot). With
    ``initial`` (the field at the start) only the columns that then held at least that much
    count (the others never had a BM).
    """
    if not reference_amount > 0:
        raise ValueError(f"reference_amount must be > 0, got {reference_amount}")
    level = threshold * float(reference_amount)
    out = column_amounts(bm, mesh) < level
    if initial is not None:
        out &= column_amounts(initial, mesh) >= level
    return out


def breached_extent(bm, reference_amount, mesh, threshold=0.5, initial=None) -> float:
    """Breached length (2-D, µm) or area (3-D, µm²): breached columns × ``h^(dim − 1)``."""
    mask = breached_columns(bm, reference_amount, mesh, threshold, initial)
    return float(mask.sum()) * mesh.h ** (mesh.dim - 1)


def breached_length(bm, reference_amount, mesh, threshold=0.5, initial=None) -> float:
    """The breach length (µm): 2-D the breached length; 3-D Σ_k 2 √(A_k/π) over the breaches.

    3-D breaches are the edge-connected patches of breached columns (``scipy.ndimage.label``),
    ``A_k`` each one's area; a breach's equivalent diameter is what a section through the
    middle of a disc-shaped breach shows.
    """
    mask = breached_columns(bm, reference_amount, mesh, threshold, initial)
    if mesh.dim == 2:
        return float(mask.sum()) * mesh.h
    from scipy import ndimage

    labels, k = ndimage.label(mask)
    if k == 0:
        return 0.0
    areas = np.bincount(labels.ravel())[1:] * mesh.h**2
    return float(np.sum(2.0 * np.sqrt(areas / math.pi)))


def lowest_bm_voxel(initial: np.ndarray, mesh: Mesh, level: float) -> np.ndarray:
    """Per column, the lowest voxel index along the normal with ``initial >= level``; −1: none."""
    a = _internal(initial, mesh)
    stack = a[0] if mesh.dim == 2 else a  # normal axis first
    hit = stack >= level
    idx = np.argmax(hit, axis=0)
    return np.where(hit.any(axis=0), idx, -1).astype(np.int64)
