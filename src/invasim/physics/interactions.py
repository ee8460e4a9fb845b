"""Interaction neighbours: the cells each cell can touch, as compact lists, for contact processes.

Contract:
    * Cell ``j`` is an interaction neighbour of ``i`` when their centres are closer than
      ``s_i r_i + s_j r_j``, with ``s`` the relative maximum adhesion distance of each cell
      (PhysiCell's ``state.neighbors``: the cells within adhesion reach, filled by the
      mechanics; phagocytosis, attack and fusion choose among them).
    * :func:`interaction_lists` returns them in compressed rows: the neighbours of row ``i``
      are ``nbr[ptr[i]:ptr[i + 1]]`` (row indices), in the order of the one cell-list walk
      (:mod:`invasim.physics.traversal`), so a process that draws a random number per
      neighbour visits them in a fixed order, the same on any number of threads.
    * Two passes (count, then fill), each one cell per ``prange`` iteration writing only its
      own row.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from invasim.physics.traversal import candidate_bins, row_slots


@njit(parallel=True, cache=True)
def _count(position, radius, reach, order, bin_start, nb, w, inv_w, tol, search, count):
    cut2 = search * search
    for k in prange(order.shape[0]):
        i = order[k]
        xi, yi, zi = position[i, 0], position[i, 1], position[i, 2]
        ri = reach[i] * radius[i]
        xlo, xhi, ylo, yhi, zlo, zhi = candidate_bins(xi, yi, zi, search, nb, inv_w)
        c = 0
        for jz in range(zlo, zhi + 1):
            for jy in range(ylo, yhi + 1):
                lo, hi = row_slots(jy, jz, xlo, xhi, yi, zi, search, bin_start, nb, w, tol)
                for m in range(lo, hi):
                    j = order[m]
                    dx = xi - position[j, 0]
                    dy = yi - position[j, 1]
                    dz = zi - position[j, 2]
                    d2 = dx * dx + dy * dy + dz * dz
                    if d2 >= cut2 or j == i:
                        continue
                    big = ri + reach[j] * radius[j]
                    if d2 < big * big:
                        c += 1
        count[i] = c


@njit(parallel=True, cache=True)
def _fill(position, radius, reach, order, bin_start, nb, w, inv_w, tol, search, ptr, nbr):
    cut2 = search * search
    for k in prange(order.shape[0]):
        i = order[k]
        xi, yi, zi = position[i, 0], position[i, 1], position[i, 2]
        ri = reach[i] * radius[i]
        xlo, xhi, ylo, yhi, zlo, zhi = candidate_bins(xi, yi, zi, search, nb, inv_w)
        c = ptr[i]
        for jz in range(zlo, zhi + 1):
            for jy in range(ylo, yhi + 1):
                lo, hi = row_slots(jy, jz, xlo, xhi, yi, zi, search, bin_start, nb, w, tol)
                for m in range(lo, hi):
                    j = order[m]
                    dx = xi - position[j, 0]
                    dy = yi - position[j, 1]
                    dz = zi - position[j, 2]
                    d2 = dx * dx + dy * dy + dz * dz
                    if d2 >= cut2 or j == i:
                        continue
                    big = ri + reach[j] * radius[j]
                    if d2 < big * big:
                        nbr[c] = j
                        c += 1


def interaction_lists(state, reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, nbr)``: each cell's interaction neighbours (see the module contract).

    Args:
        state: the :class:`~invasim.agents.state.AgentState` (its cells and cell list).
        reach: ``[n]`` relative maximum adhesion distance of each cell (≥ 0).

    Cached in ``state.cache`` until the cells move (:meth:`AgentState.moved`).
    """
    hit = state.cache.get("interactions")
    if hit is not None:
        return hit
    c = state.cells
    n = c.n
    if not n:
        out = (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))
        state.cache["interactions"] = out
        return out
    grid = state.neighbours
    grid.rebuild(c)
    cl = grid.cell_list
    reach = np.ascontiguousarray(reach, dtype=np.float64)
    search = 2.0 * float(np.max(reach * c.radius))
    if search > cl.cutoff:
        cl.fit_cutoff(search)
        cl.rebuild(c.position)
    count = np.zeros(n, dtype=np.int64)
    _count(c.position, c.radius, reach, cl.order, cl.bin_start, cl.nb, cl.w, cl.inv_w, cl.tol,
           search, count)  # fmt: skip
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=ptr[1:])
    nbr = np.empty(int(ptr[-1]), dtype=np.int64)
    _fill(c.position, c.radius, reach, cl.order, cl.bin_start, cl.nb, cl.w, cl.inv_w, cl.tol,
          search, ptr, nbr)  # fmt: skip
    state.cache["interactions"] = (ptr, nbr)
    return ptr, nbr
