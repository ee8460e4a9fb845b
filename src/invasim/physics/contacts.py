"""Contacts: PhysiCell's simple pressure and the contact counts of every cell, in one traversal.

Contract:
    * Two cells are in contact when their centres are closer than ``R = r_i + r_j`` (they
      overlap). Simple pressure (PhysiCell's): ``p_i = Σ_j (1 - d_ij/R_ij)² / 0.027288`` over
      the cells in contact; the scale makes ``p ≈ 1`` for a cell in a compressed 3-D packing
      (PhysiCell's ``simple_pressure_scale``). Dimensionless.
    * Contacts are counted per type of the neighbour (dead or alive), alive and dead, in the
      same traversal (the rules' ``contact with ...`` signals).
    * Each cell writes only its own row, summing its neighbours in the order of the one
      candidate walk (:mod:`invasim.physics.traversal`), so the sums do not depend on the
      thread count.
"""

from __future__ import annotations

import math

from numba import njit, prange

from invasim.physics.traversal import candidate_bins, row_slots

#: PhysiCell's ``simple_pressure_scale``: 12 (1 - sqrt(pi / (2 sqrt 3)))², the pressure of a
#: cell with 12 neighbours at the packing density of a hexagonal close packing of disks
SIMPLE_PRESSURE_SCALE = 0.027288


@njit(parallel=True, cache=True)
def contact_kernel(position, radius, ctype, dead, order, bin_start, nb, w, inv_w, tol, search,
                    count, pressure, contacts):  # fmt: skip
    """Simple pressure sums and contact counts, per cell, in one cell-list traversal.

    Over the neighbours closer than ``R = r_i + r_j``: ``Σ (1 - d/R)²`` into ``pressure[i]``
    and, if ``count``, their number by type into ``contacts[i, :T]``, live into
    ``contacts[i, T]`` and dead into ``contacts[i, T + 1]``. Each cell writes only its own row,
    summing its neighbours in cell-list order (thread-count independent); ``search`` (µm) must
    be at least twice the largest radius and at most the grid's cutoff.
    """
    cut2 = search * search
    n_types = contacts.shape[1] - 2
    for k in prange(order.shape[0]):
        i = order[k]
        xi, yi, zi, ri = position[i, 0], position[i, 1], position[i, 2], radius[i]
        xlo, xhi, ylo, yhi, zlo, zhi = candidate_bins(xi, yi, zi, search, nb, inv_w)
        if count:
            for t in range(n_types + 2):
                contacts[i, t] = 0.0
        s = 0.0
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
                    big_r = ri + radius[j]
                    if d2 < big_r * big_r:
                        q = 1.0 - math.sqrt(d2) / big_r
                        s += q * q
                        if count:
                            contacts[i, ctype[j]] += 1.0
                            if dead[j] != 0:
                                contacts[i, n_types + 1] += 1.0
                            else:
                                contacts[i, n_types] += 1.0
        pressure[i] = s
