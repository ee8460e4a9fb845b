"""Exact kernels of the pathology readouts (:mod:`invasim.analysis.pathology`).

Contract:
    * Each gives the values of the SciPy / k-d tree call it replaces, bit for bit: the same
      linked pair set (a bin grid instead of a k-d tree), the same component numbering as
      ``scipy.sparse.csgraph.connected_components``, exact squared Euclidean distances to
      the nearest outside pixel (integers, then the same square root as
      ``ndimage.distance_transform_edt``), ``binary_fill_holes``, labelled maxima, distinct
      counts. ``tests/unit/test_pathology_fast.py`` compares each with its reference on random
      inputs. Private to :mod:`invasim.analysis`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from scipy import ndimage


# -- exact kernels (the same values as the SciPy / k-d tree calls they replace) ----------------
@njit(cache=True)
def link_pairs_grid(pos: np.ndarray, radius: np.ndarray, link_factor: float, side: float,
                lo: np.ndarray, nb: np.ndarray, pi: np.ndarray, pj: np.ndarray) -> int:
    """Pairs ``i < j`` with ``|x_i − x_j|² < (link_factor (r_i + r_j))²``, by a bin grid.

    Writes the first ``len(pi)`` pairs into ``pi``, ``pj`` and returns how many there are
    (the caller calls again with room for all when they did not fit).

    ``side`` ≥ the largest link distance, so linked cells lie in the same or adjacent bins of
    side ``side`` from ``lo`` (``nb[a]`` bins along axis a). ``|x_i − x_j|²`` is summed axis
    by axis in order, as NumPy's ``((p_i − p_j) ** 2).sum(axis=1)`` does.
    """
    n, d = pos.shape
    key = np.empty(n, np.int64)
    for c in range(n):
        k = 0
        for a in range(d - 1, -1, -1):
            b = int(math.floor((pos[c, a] - lo[a]) / side))
            k = k * nb[a] + min(max(b, 0), nb[a] - 1)
        key[c] = k
    n_bins = nb[0] * nb[1] * nb[2]
    start = np.zeros(n_bins + 1, np.int64)
    for c in range(n):
        start[key[c] + 1] += 1
    for b in range(n_bins):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    idx = np.empty(n, np.int64)  # cells in bin order, their data beside them (cache)
    for c in range(n):
        idx[fill[key[c]]] = c
        fill[key[c]] += 1
    ps = np.empty((n, d))
    rs = np.empty(n)
    for q in range(n):
        ps[q] = pos[idx[q]]
        rs[q] = radius[idx[q]]
    cap = len(pi)
    m = 0
    # each pair once: later cells of the same bin, and the bins after it in (z, y, x) order
    # among the adjacent ones (half of the stencil)
    for b2 in range(nb[2]):
        for b1 in range(nb[1]):
            for b0 in range(nb[0]):
                here = (b2 * nb[1] + b1) * nb[0] + b0
                for q in range(start[here], start[here + 1]):
                    for c2 in range(b2, min(b2 + 1, nb[2] - 1) + 1):
                        for c1 in range(max(b1 - 1, 0) if c2 > b2 else b1,
                                        min(b1 + 1, nb[1] - 1) + 1):
                            row = (c2 * nb[1] + c1) * nb[0]
                            if c2 > b2 or c1 > b1:
                                first = start[row + max(b0 - 1, 0)]
                            else:
                                first = q + 1
                            last = start[row + min(b0 + 1, nb[0] - 1) + 1]
                            for p in range(first, last):
                                e = ps[q, 0] - ps[p, 0]
                                d2 = e * e
                                for a in range(1, d):
                                    e = ps[q, a] - ps[p, a]
                                    d2 = d2 + e * e
                                lim = link_factor * (rs[q] + rs[p])
                                if d2 < lim * lim:
                                    if m < cap:
                                        pi[m] = min(idx[q], idx[p])
                                        pj[m] = max(idx[q], idx[p])
                                    m += 1
    return m


@njit(cache=True)
def components(n: int, pi: np.ndarray, pj: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the graph of edges ``(pi, pj)``, numbered by their first node.

    The numbering of ``scipy.sparse.csgraph.connected_components`` (undirected): a component's
    label is the number of components whose lowest node comes before its own.
    """
    parent = np.arange(n)
    for e in range(len(pi)):
        a, b = pi[e], pj[e]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a != b:
            if a < b:
                parent[b] = a
            else:
                parent[a] = b
    label = np.full(n, -1, np.int64)
    k = 0
    for v in range(n):
        r = v
        while parent[r] != r:
            r = parent[r]
        if label[r] < 0:
            label[r] = k
            k += 1
        label[v] = label[r]
    return k, label


@njit(cache=True)
def _envelope(f: np.ndarray, n: int, out: np.ndarray, s: np.ndarray, t: np.ndarray) -> None:
    """``out[x] = min_i (x − i)² + f[i]`` over ``i < n`` (integers; Meijster et al. 2000)."""
    q = 0
    s[0] = 0
    t[0] = 0
    for u in range(1, n):
        while q >= 0 and (t[q] - s[q]) ** 2 + f[s[q]] > (t[q] - u) ** 2 + f[u]:
            q -= 1
        if q < 0:
            q = 0
            s[0] = u
        else:
            w = 1 + (u * u - s[q] * s[q] + f[u] - f[s[q]]) // (2 * (u - s[q]))
            if w < n:
                q += 1
                s[q] = u
                t[q] = w
    for u in range(n - 1, -1, -1):
        out[u] = (u - s[q]) ** 2 + f[s[q]]
        if u == t[q]:
            q -= 1


@njit(parallel=True, cache=True)
def _edt_squared(inside: np.ndarray) -> np.ndarray:
    """``(nz, ny, nx)`` int64: squared distance of each pixel to the nearest pixel outside.

    Exact: the distance along the first axis longer than one pixel, then lower envelopes of
    parabolas along the others, in integer arithmetic. A line without any pixel outside holds
    a distance larger than the array's diagonal until a later pass.
    """
    nz, ny, nx = inside.shape
    big = nx + ny + nz
    g = np.empty((nz, ny, nx), np.int64)
    flat = inside.reshape(nz, ny * nx) if nz > 1 else inside.reshape(ny, nx)
    out = g.reshape(flat.shape)
    rows, width = flat.shape
    for i in range(width):  # along the first axis, row after row (contiguous)
        out[0, i] = 0 if not flat[0, i] else big
    for r in range(1, rows):
        for i in range(width):
            out[r, i] = 0 if not flat[r, i] else min(out[r - 1, i] + 1, big)
    for r in range(rows - 2, -1, -1):
        for i in range(width):
            if out[r + 1, i] + 1 < out[r, i]:
                out[r, i] = out[r + 1, i] + 1
    for r in range(rows):
        for i in range(width):
            out[r, i] = out[r, i] * out[r, i]
    if nz > 1 and ny > 1:  # along y, plane by plane
        for k in prange(nz):
            f = np.empty(ny, np.int64)
            env = np.empty(ny, np.int64)
            s = np.empty(ny, np.int64)
            t = np.empty(ny, np.int64)
            for i in range(nx):
                for j in range(ny):
                    f[j] = g[k, j, i]
                _envelope(f, ny, env, s, t)
                for j in range(ny):
                    g[k, j, i] = env[j]
    if nx > 1:  # along x (contiguous), row by row
        for r in prange(nz * ny):
            line = g[r // ny, r % ny]
            env = np.empty(nx, np.int64)
            s = np.empty(nx, np.int64)
            t = np.empty(nx, np.int64)
            _envelope(line, nx, env, s, t)
            line[:] = env
    return g


@njit(parallel=True, cache=True)
def _root(d2: np.ndarray) -> np.ndarray:
    """``sqrt(d2)`` as float64 (the integers are exact in float64; one correctly rounded root)."""
    flat = d2.ravel()
    out = np.empty(flat.size)
    for k in prange(flat.size):
        out[k] = math.sqrt(float(flat[k]))
    return out.reshape(d2.shape)


def distance_to_outside(inside: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.distance_transform_edt(inside)``, the same bits, faster.

    The Euclidean distance (pixels) of each pixel of ``inside`` (2-D or 3-D, truthy = inside)
    to the nearest pixel outside; 0 outside. Both are exact, and both take the square root of
    the same integer, so they agree bit for bit. Without any pixel outside, SciPy's own.
    """
    a = np.ascontiguousarray(np.asarray(inside).astype(bool, copy=False))
    if a.ndim not in (2, 3) or a.all():
        return ndimage.distance_transform_edt(a)
    d2 = _edt_squared(a.reshape((1,) * (3 - a.ndim) + a.shape))
    return _root(d2).reshape(a.shape)


@njit(cache=True)
def _nearest_outside(inside: np.ndarray, kk: np.ndarray, jj: np.ndarray, ii: np.ndarray,
                     budget: int) -> tuple[np.ndarray, bool]:
    """Squared distance from pixels ``(kk, jj, ii)`` to the nearest pixel outside, exactly.

    Each pixel searches a window of half-width ``w`` (1, 2, 4, ...) until the nearest
    outside pixel in it is no farther than ``w + 1``: any pixel beyond the window is at
    least that far. Returns ``(d2, True)``, or ``(_, False)`` once more than ``budget``
    pixels have been visited or when the array has no pixel outside.
    """
    nz, ny, nx = inside.shape
    out = np.zeros(len(ii), np.int64)
    work = 0
    for q in range(len(ii)):
        k, j, i = kk[q], jj[q], ii[q]
        if not inside[k, j, i]:
            continue
        w = 1
        while True:
            k0, k1 = max(k - w, 0), min(k + w, nz - 1)
            j0, j1 = max(j - w, 0), min(j + w, ny - 1)
            i0, i1 = max(i - w, 0), min(i + w, nx - 1)
            best = -1
            for a in range(k0, k1 + 1):
                for b in range(j0, j1 + 1):
                    for c in range(i0, i1 + 1):
                        if not inside[a, b, c]:
                            d2 = (a - k) * (a - k) + (b - j) * (b - j) + (c - i) * (c - i)
                            if best < 0 or d2 < best:
                                best = d2
            work += (k1 - k0 + 1) * (j1 - j0 + 1) * (i1 - i0 + 1)
            if work > budget:
                return out, False
            whole = k0 == 0 and j0 == 0 and i0 == 0 and k1 == nz - 1 and j1 == ny - 1 \
                and i1 == nx - 1
            if best >= 0 and (best <= (w + 1) * (w + 1) or whole):
                out[q] = best
                break
            if whole:  # no pixel outside at all
                return out, False
            w *= 2
    return out, True


def distance_at(inside: np.ndarray, at: tuple[np.ndarray, ...]) -> np.ndarray:
    """``distance_to_outside(inside)[at]`` (``at``: an ``np.nonzero`` tuple), the same bits.

    Few pixels near the outside (a protrusion's residue): searched from each pixel
    (:func:`_nearest_outside`); otherwise, or once the search has visited four pixels per
    pixel of the array (about half the cost of a transform), the whole array's transform.
    """
    a = np.ascontiguousarray(np.asarray(inside).astype(bool, copy=False))
    if a.ndim in (2, 3):
        a3 = a.reshape((1,) * (3 - a.ndim) + a.shape)
        idx = [np.zeros(len(at[0]), np.int64)] * (3 - a.ndim) + [c.astype(np.int64) for c in at]
        d2, ok = _nearest_outside(a3, idx[0], idx[1], idx[2], 4 * a.size)
        if ok:
            return _root(d2)
    return distance_to_outside(a)[at]


@njit(cache=True)
def _flood_outside(inside: np.ndarray) -> np.ndarray:
    """``(nz, ny, nx)`` bool: the outside pixels face-connected to the array's border.

    The z faces are a border only when ``nz > 1`` (a 2-D image is ``nz == 1``).
    """
    nz, ny, nx = inside.shape
    seen = np.zeros((nz, ny, nx), np.bool_)
    stack = np.empty(nz * ny * nx, np.int64)
    top = 0
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                edge = i == 0 or i == nx - 1 or j == 0 or j == ny - 1
                edge = edge or (nz > 1 and (k == 0 or k == nz - 1))
                if edge and not inside[k, j, i] and not seen[k, j, i]:
                    seen[k, j, i] = True
                    stack[top] = (k * ny + j) * nx + i
                    top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        i = v % nx
        j = (v // nx) % ny
        k = v // (nx * ny)
        for a in range(6):
            kk, jj, ii = k, j, i
            if a == 0:
                ii -= 1
            elif a == 1:
                ii += 1
            elif a == 2:
                jj -= 1
            elif a == 3:
                jj += 1
            elif a == 4:
                kk -= 1
            else:
                kk += 1
            if ii < 0 or ii >= nx or jj < 0 or jj >= ny or kk < 0 or kk >= nz:
                continue
            if not inside[kk, jj, ii] and not seen[kk, jj, ii]:
                seen[kk, jj, ii] = True
                stack[top] = (kk * ny + jj) * nx + ii
                top += 1
    return seen


def fill_holes(inside: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_fill_holes(inside)`` (face connectivity), the same set, faster."""
    a = np.ascontiguousarray(np.asarray(inside).astype(bool, copy=False))
    if a.ndim not in (2, 3):
        return ndimage.binary_fill_holes(a)
    return ~_flood_outside(a.reshape((1,) * (3 - a.ndim) + a.shape)).reshape(a.shape)


@njit(cache=True)
def label_max(values: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """``[k]``: the largest of ``values`` over the pixels of each label 1..k (−inf: none)."""
    out = np.full(k, -np.inf)
    for p in range(values.size):
        lab = labels[p]
        if lab > 0 and values[p] > out[lab - 1]:
            out[lab - 1] = values[p]
    return out


@njit(cache=True)
def count_distinct(key: np.ndarray, size: int) -> int:
    """Number of distinct values of ``key`` (each in ``[0, size)``)."""
    seen = np.zeros(size, np.bool_)
    m = 0
    for v in key:
        if not seen[v]:
            seen[v] = True
            m += 1
    return m
