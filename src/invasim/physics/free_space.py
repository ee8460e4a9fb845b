"""Division into free space: where a dividing cell's daughter fits (Anderson 2005/2006).

Contract:
    * :func:`free_space_directions`: a mother tries up to ``tries`` random unit vectors
      ``e_t`` keyed ``(seed, step, mother id, STREAM_FREE_SPACE, t)`` and takes the first for
      which daughter B, centred at ``x + separation r e_t`` with the daughter radius
      ``r_d = r / 2^(1/3)``, lies inside the domain and comes no closer to any other cell ``j``
      (live; dead too if its type says so) than ``clearance (r_d + r_j)``, nor to a daughter B
      placed earlier in the same call. Mothers are taken in increasing id order (so the result
      depends on neither the thread count nor the row order). The division itself
      (:func:`invasim.biology.division.divide` with ``placed``) keeps daughter A at the
      mother's position and puts B at ``x + separation r e``; a mother with no free direction
      is not divided (the division process defers her).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from invasim.core.cells import Cells
from invasim.core.rng import uniform
from invasim.physics.neighbors import CellList
from invasim.physics.traversal import candidate_bins, row_slots

#: rng stream of the directions tried by division into free space
STREAM_FREE_SPACE = 29
_JIT = {"cache": True, "fastmath": False}


@njit(**_JIT)
def _random_direction(seed, step, cid, t, dim, e):
    """Try ``t``'s unit vector (z = 0 in 2-D) into ``e[3]``, keyed by ``cid``."""
    phi = 2.0 * math.pi * uniform(seed, step, cid, STREAM_FREE_SPACE, 2 * t)
    if dim == 3:
        z = 2.0 * uniform(seed, step, cid, STREAM_FREE_SPACE, 2 * t + 1) - 1.0
        s = math.sqrt(max(0.0, 1.0 - z * z))
        e[0] = s * math.cos(phi)
        e[1] = s * math.sin(phi)
        e[2] = z
    else:
        e[0] = math.cos(phi)
        e[1] = math.sin(phi)
        e[2] = 0.0


@njit(**_JIT)
def free_space_kernel(
    position, radius, dead, ctype, cid, rows, by_id, tries, clearance, dead_blocks, extent,
    dim, separation, seed, step, order, bin_start, nb, w, inv_w, tol, search, out_dir, found,
):  # fmt: skip
    """For each mother ``rows[k]`` (visited in the order ``by_id``), a free direction.

    ``found[k] = 1`` and ``out_dir[k]`` the direction where daughter B fits (see the module
    contract), else ``found[k] = 0``. ``tries``, ``clearance``, ``dead_blocks``: per type.
    ``search`` (µm) must cover ``clearance (r_d + r_j)`` for every pair and be at most the
    cell list's cutoff. Serial: a mother sees the daughters placed before her.
    """
    k_all = rows.shape[0]
    placed = np.empty((k_all, 4))  # x, y, z, radius of the daughters B placed so far
    n_placed = 0
    e = np.empty(3)
    cut2 = search * search
    for q in range(k_all):
        k = by_id[q]
        i = rows[k]
        found[k] = 0
        t_i = ctype[i]
        c = clearance[t_i]
        r_d = radius[i] * 0.7937005259840998  # 2^(-1/3): half the volume
        d = separation * radius[i]
        for t in range(tries[t_i]):
            _random_direction(seed, step, cid[i], t, dim, e)
            px = position[i, 0] + d * e[0]
            py = position[i, 1] + d * e[1]
            pz = position[i, 2] + d * e[2]
            free = True
            p3 = (px, py, pz)
            for a in range(dim):
                if p3[a] < 0.0 or p3[a] > extent[a]:
                    free = False
            if free:  # the daughters placed earlier in this call
                for m in range(n_placed):
                    dx = px - placed[m, 0]
                    dy = py - placed[m, 1]
                    dz = pz - placed[m, 2]
                    lim = c * (r_d + placed[m, 3])
                    if dx * dx + dy * dy + dz * dz < lim * lim:
                        free = False
                        break
            if free:  # the cells present (the mother herself excepted)
                xlo, xhi, ylo, yhi, zlo, zhi = candidate_bins(px, py, pz, search, nb, inv_w)
                for jz in range(zlo, zhi + 1):
                    if not free:
                        break
                    for jy in range(ylo, yhi + 1):
                        if not free:
                            break
                        lo, hi = row_slots(jy, jz, xlo, xhi, py, pz, search, bin_start, nb,
                                           w, tol)  # fmt: skip
                        for m in range(lo, hi):
                            j = order[m]
                            if j == i or (dead[j] != 0 and not dead_blocks[t_i]):
                                continue
                            dx = px - position[j, 0]
                            dy = py - position[j, 1]
                            dz = pz - position[j, 2]
                            d2 = dx * dx + dy * dy + dz * dz
                            if d2 >= cut2:
                                continue
                            lim = c * (r_d + radius[j])
                            if d2 < lim * lim:
                                free = False
                                break
            if free:
                found[k] = 1
                out_dir[k, 0] = e[0]
                out_dir[k, 1] = e[1]
                out_dir[k, 2] = e[2]
                placed[n_placed, 0] = px
                placed[n_placed, 1] = py
                placed[n_placed, 2] = pz
                placed[n_placed, 3] = r_d
                n_placed += 1
                break


def free_space_directions(
    cells: Cells,
    rows: np.ndarray,
    seed: int,
    step: int,
    extent,
    tries: np.ndarray,
    clearance: np.ndarray,
    dead_blocks: np.ndarray,
    separation: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Where the daughters B of the mothers ``rows`` fit (module contract).

    Args:
        cells: the cells (before division).
        rows: ``[k]`` distinct live rows of the mothers.
        seed, step: rng key words (the phenotype step).
        extent: the domain's size per axis, µm (the box ``[0, extent]``).
        tries: ``[T]`` int, directions tried per mother, by cell type (0: never free).
        clearance: ``[T]`` in (0, 1], the least centre distance over the sum of radii.
        dead_blocks: ``[T]`` bool, dead cells count as obstacles.
        separation: daughters' centre distance over the mother's radius.

    Returns:
        ``(found [k] bool, directions [k, 3])``; a row not found has direction 0.
    """
    rows = np.asarray(rows, dtype=np.int64)
    k = rows.shape[0]
    out = np.zeros((k, 3))
    found = np.zeros(k, dtype=np.uint8)
    if k == 0:
        return found.astype(bool), out
    n = cells.n
    r_max = float(cells.radius[:n].max())
    c_max = float(np.max(clearance))
    r_d_max = float(cells.radius[rows].max()) * 2.0 ** (-1.0 / 3.0)
    search = max(c_max * (r_d_max + r_max), 1e-6)
    ext = tuple(float(e) for e in extent)
    cl = CellList(ext, search)
    pos = np.ascontiguousarray(cells.position[:n])
    cl.rebuild(pos)
    ext3 = np.full(3, np.inf)
    ext3[: len(ext)] = ext
    by_id = np.argsort(cells.id[rows], kind="stable").astype(np.int64)
    free_space_kernel(
        pos, cells.radius[:n], cells.dead[:n], cells.type[:n], cells.id[:n], rows, by_id,
        np.asarray(tries, dtype=np.int64), np.asarray(clearance, dtype=np.float64),
        np.asarray(dead_blocks, dtype=np.bool_), ext3, len(ext), float(separation),
        np.int64(seed), np.int64(step), cl.order, cl.bin_start, cl.nb, cl.w, cl.inv_w, cl.tol,
        search, out, found,
    )  # fmt: skip
    return found.astype(bool), out
