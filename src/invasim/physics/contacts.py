"""Contacts: PhysiCell's simple pressure and the contact counts of every cell, in one traversal.

Contract:
    * Two cells are in contact when their centres are closer than ``R = r_i + r_j`` (they
      overlap). Simple pressure (PhysiCell's): ``p_i = Σ_j (1 - d_ij/R_ij)² / 0.027288`` over
      the cells in contact; the scale makes ``p ≈ 1`` for a cell in a compressed 3-D packing
      (PhysiCell's ``simple_pressure_scale``). Dimensionless.
    * Contacts are counted per type of the neighbour (dead or alive), alive and dead, in the
      same traversal (the rules' ``contact with ...`` signals).
    * Each cell writes only its own row, summing its neighbours in cell-list order, so the
      sums do not depend on the thread count.
"""

from __future__ import annotations

import math

from numba import njit, prange

from invasim.physics.neighbors import axis_span, bin_gap

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
    be at least twice the largest radius.
    """
    cut2 = search * search
    n_types = contacts.shape[1] - 2
    for k in prange(order.shape[0]):
        i = order[k]
        xi, yi, zi, ri = position[i, 0], position[i, 1], position[i, 2], radius[i]
        xlo, xhi = axis_span(xi, search, inv_w[0], nb[0])
        ylo, yhi = axis_span(yi, search, inv_w[1], nb[1])
        zlo, zhi = axis_span(zi, search, inv_w[2], nb[2])
        if count:
            for t in range(n_types + 2):
                contacts[i, t] = 0.0
        s = 0.0
        for jz in range(zlo, zhi + 1):
            gz = bin_gap(zi, jz, w[2], nb[2], tol)
            for jy in range(ylo, yhi + 1):
                gy = bin_gap(yi, jy, w[1], nb[1], tol)
                if gy * gy + gz * gz >= cut2:
                    continue
                row = nb[0] * (jy + nb[1] * jz)
                for m in range(bin_start[row + xlo], bin_start[row + xhi + 1]):
                    j = order[m]
                    if j == i:
                        continue
                    dx = xi - position[j, 0]
                    dy = yi - position[j, 1]
                    dz = zi - position[j, 2]
                    big_r = ri + radius[j]
                    d2 = dx * dx + dy * dy + dz * dz
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
