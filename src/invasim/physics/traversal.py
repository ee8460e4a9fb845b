"""One neighbour traversal: the cell-list candidate walk that every pair interaction uses.

Contract:
    * The neighbours of a point ``(x, y, z)`` within ``cutoff`` µm are found among the cells of
      the bins :func:`candidate_bins` names: rows of bins ``(jy, jz)``, walked ``jz`` outer,
      ``jy`` inner, each row a contiguous run of slots ``m`` of the cell list's ``order``
      (:func:`row_slots`: empty for a row farther than ``cutoff``, by :func:`bin_gap`). A kernel
      then keeps the candidates with ``d² < cutoff²`` other than the cell itself. Every cell
      closer than ``cutoff`` is visited exactly once; the unit tests compare with brute force.
    * The order of the visits is fixed by the walk (rows by increasing ``(jz, jy)``, slots in
      cell-list order; that is, neighbours by increasing slot ``m``): a neighbour sum is a
      deterministic function of the positions and their row order, the same in every kernel,
      and (one cell per ``prange`` iteration, each writing only its own row) independent of
      the thread count.
    * Kernels take ``order`` ([n] int32), ``bin_start`` ([nbins + 1] int32), ``nb`` ([3] int64
      bins per axis), ``w`` and ``inv_w`` ([3] float64 bin widths, µm, and inverses, 0 for a
      missing axis) and ``tol`` (µm), the arrays of :class:`~invasim.physics.neighbors.CellList`.

Why a bin-range helper and not a traversal that calls a per-pair function (``visit``)? In
Numba a per-pair function that receives arrays takes a reference on them at every call: an
atomic increment and decrement per array per pair that the reference-count pruner does not
remove once the function branches (measured 1.5-2× slower on the velocity kernel), or, not
inlined, a call per pair; and under ``parallel=True`` writes to an array unpacked from a
tuple built in the loop body are dropped as dead code (Numba 0.68; cf. numba/numba#7135). A
loop written in the kernel itself has none of that and compiles to the hand-written loop.

Writing a pair interaction (membrane-type MMP at contact, follower alignment, contact
killing): one cell per ``prange`` iteration, the walk, then the pair rule on scalars::

    @njit(parallel=True, cache=True)
    def count_touching(position, radius, ctype, target, order, bin_start, nb, w, inv_w, tol,
                       search, out):
        cut2 = search * search
        for k in prange(order.shape[0]):
            i = order[k]
            xi, yi, zi, ri = position[i, 0], position[i, 1], position[i, 2], radius[i]
            xlo, xhi, ylo, yhi, zlo, zhi = candidate_bins(xi, yi, zi, search, nb, inv_w)
            n = 0.0
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
                        # the pair rule: here, overlapping cells of the target type
                        big_r = ri + radius[j]
                        if d2 < big_r * big_r and ctype[j] == target:
                            n += 1.0
            out[i] = n

called with a cell list's arrays (``cl.order, cl.bin_start, cl.nb, cl.w, cl.inv_w, cl.tol``);
``search`` must cover the interaction (here ``2 r_max``) and be at most the grid's cutoff
(``cl.cutoff``). Sum into local scalars and store once (a velocity, a count); write into an
output array only at this cell's row. A kernel that reads a copy of the coordinates sorted by
cell list (the mechanics scratch) uses the slot ``m`` as its row instead of ``order[m]``.
"""

from __future__ import annotations

from numba import njit

_JIT = {"cache": True, "fastmath": False}


@njit(inline="always", **_JIT)
def bin_coord(x, inv_w, nb):
    """Bin index along one axis of coordinate ``x`` (µm), clamped to ``[0, nb - 1]``."""
    f = x * inv_w
    if f < 0.0:
        return 0
    i = int(f)
    return i if i < nb else nb - 1


@njit(inline="always", **_JIT)
def axis_span(v, cutoff, inv_w, nb):
    """First and last bin along one axis that hold points within ``cutoff`` of ``v``."""
    return bin_coord(v - cutoff, inv_w, nb), bin_coord(v + cutoff, inv_w, nb)


@njit(inline="always", **_JIT)
def bin_gap(v, j, w, nb, tol):
    """Distance (µm) from ``v`` to bin ``j`` of width ``w`` (edge bins extend to infinity).

    ``tol`` (µm) is taken off, so that rounding never prunes a bin that holds a neighbour.
    """
    g = 0.0
    if j > 0 and v < j * w:
        g = j * w - v
    elif j < nb - 1 and v > (j + 1) * w:
        g = v - (j + 1) * w
    g -= tol
    return g if g > 0.0 else 0.0


@njit(inline="always", **_JIT)
def candidate_bins(x, y, z, cutoff, nb, inv_w):
    """Bins that may hold points within ``cutoff`` (µm) of ``(x, y, z)``.

    Returns:
        ``(xlo, xhi, ylo, yhi, zlo, zhi)``: inclusive bin ranges per axis.
    """
    xlo, xhi = axis_span(x, cutoff, inv_w[0], nb[0])
    ylo, yhi = axis_span(y, cutoff, inv_w[1], nb[1])
    zlo, zhi = axis_span(z, cutoff, inv_w[2], nb[2])
    return xlo, xhi, ylo, yhi, zlo, zhi


@njit(inline="always", **_JIT)
def row_slots(jy, jz, xlo, xhi, y, z, cutoff, bin_start, nb, w, tol):
    """Slots ``[lo, hi)`` of ``order`` of the candidates in bin row ``(jy, jz)``.

    The bins ``xlo..xhi`` of the row are consecutive, so their cells are one run of
    ``order``; the run is empty when the row is ``cutoff`` (µm) or farther from ``(y, z)``.
    """
    gz = bin_gap(z, jz, w[2], nb[2], tol)
    gy = bin_gap(y, jy, w[1], nb[1], tol)
    row = nb[0] * (jy + nb[1] * jz)
    lo = bin_start[row + xlo]
    if gy * gy + gz * gz >= cutoff * cutoff:
        return lo, lo  # (an int32 pair either way: the loops stay 32-bit, measured faster)
    return lo, bin_start[row + xhi + 1]
