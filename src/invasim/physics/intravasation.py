"""Kernels of the vessels and of intravasation: segment geometry, the rate, the clusters.

Contract:
    * A vessel is a straight segment (a cylinder with hemispherical ends, "capsule") from
      ``a`` to ``b`` with radius ``r`` (µm) and a kind code (:data:`BLOOD` 1, :data:`LYMPH` 2).
      Segments are rows of a ``[m, 8]`` float64 array ``(ax, ay, az, bx, by, bz, r, kind)``;
      in 2-D the z coordinates are 0 and distances are taken in the plane.
    * :func:`paint_vessels`: a voxel belongs to a vessel when the distance of its centre to the
      segment is at most ``r``, and so does every voxel the axis passes through (sampled every
      ``h/4``; a vessel thinner than a voxel still marks a connected line of voxels; a point on
      a voxel face belongs to the voxel above it); where vessels overlap, the later segment's
      kind wins.
    * :func:`intravasation_kernel`: the per-cell rate is

          λ = b · f_mode[mode] · (1 + F_mmp p / (p + K_mmp)) · (1 + F_tam n / (n + K_tam)) · f_kind

      for a live cell with ``b > 0`` (the behaviour ``intravasation rate``, 1/min) whose
      centre lies within ``R_cell + r`` of a vessel segment's axis (the cell touches the
      vessel wall); ``p`` is its ``pericellular proteolysis`` (1/min), ``n`` the number of live
      helper cells (TAMs) with centres within ``d_tam`` of its centre, ``f_kind`` the factor of
      the nearest touched vessel's kind. The cell intravasates in the step with probability
      ``1 − exp(−λ dt)`` exactly (a uniform keyed by seed, step, cell id, stream).
    * Candidates are walked in ascending cell id. A leader takes with it, breadth first from
      itself, live cells with ``b > 0`` not yet taken whose centres lie within
      ``c (R_i + R_j)`` of a cluster member (``c`` the contact factor), nearest first within
      each member, until the cluster holds ``max_cluster`` cells. Taken cells cannot lead.
    * Pure functions of their arrays (no allocation on the hot loops beyond scratch); cells
      are walked serially, so the result does not depend on the thread count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from invasim.core.rng import uniform

BLOOD, LYMPH = 1, 2
KIND_NAMES = {BLOOD: "blood", LYMPH: "lymph"}
KIND_CODES = {"blood": BLOOD, "lymph": LYMPH}


@njit(cache=True)
def segment_distance(px, py, pz, ax, ay, az, bx, by, bz):  # pragma: no cover - compiled
    """Distance from the point ``p`` to the segment ``[a, b]`` (µm)."""
    ux, uy, uz = bx - ax, by - ay, bz - az
    wx, wy, wz = px - ax, py - ay, pz - az
    L2 = ux * ux + uy * uy + uz * uz
    t = 0.0
    if L2 > 0.0:
        t = (wx * ux + wy * uy + wz * uz) / L2
        t = min(1.0, max(0.0, t))
    dx, dy, dz = wx - t * ux, wy - t * uy, wz - t * uz
    return math.sqrt(dx * dx + dy * dy + dz * dz)


@njit(cache=True)
def paint_vessels(out, segs, h, dim):  # pragma: no cover - compiled
    """Write each segment's kind code into the voxels of ``out`` (``(nz, ny, nx)``) it covers.

    Voxels no segment covers keep their value. Returns the number of voxels written.
    """
    nz, ny, nx = out.shape
    count = 0
    for s in range(segs.shape[0]):
        ax, ay, az, bx, by, bz, r, kind = segs[s, 0], segs[s, 1], segs[s, 2], segs[s, 3], \
            segs[s, 4], segs[s, 5], segs[s, 6], segs[s, 7]  # fmt: skip
        lo_x = max(0, int(math.floor((min(ax, bx) - r) / h)))
        hi_x = min(nx - 1, int(math.floor((max(ax, bx) + r) / h)))
        lo_y = max(0, int(math.floor((min(ay, by) - r) / h)))
        hi_y = min(ny - 1, int(math.floor((max(ay, by) + r) / h)))
        lo_z, hi_z = 0, 0
        if dim == 3:
            lo_z = max(0, int(math.floor((min(az, bz) - r) / h)))
            hi_z = min(nz - 1, int(math.floor((max(az, bz) + r) / h)))
        for k in range(lo_z, hi_z + 1):
            z = (k + 0.5) * h if dim == 3 else 0.0
            for j in range(lo_y, hi_y + 1):
                y = (j + 0.5) * h
                for i in range(lo_x, hi_x + 1):
                    x = (i + 0.5) * h
                    if segment_distance(x, y, z, ax, ay, az, bx, by, bz) <= r:
                        out[k, j, i] = kind
                        count += 1
        # the voxels the axis passes through (a vessel thinner than a voxel), every h/4
        length = math.sqrt((bx - ax) ** 2 + (by - ay) ** 2 + (bz - az) ** 2)
        m = int(math.ceil(4.0 * length / h)) + 1
        for q in range(m + 1):
            t = q / m
            i = int(math.floor((ax + t * (bx - ax)) / h))
            j = int(math.floor((ay + t * (by - ay)) / h))
            k = int(math.floor((az + t * (bz - az)) / h)) if dim == 3 else 0
            if 0 <= i < nx and 0 <= j < ny and 0 <= k < nz and out[k, j, i] != kind:
                out[k, j, i] = kind
                count += 1
    return count


@njit(cache=True)
def touching(pos, radius, segs, out_kind, out_seg):  # pragma: no cover - compiled
    """Per cell: the kind and index of the nearest segment it touches (0 and -1: none).

    A cell touches a segment when the distance of its centre to the axis is at most its
    radius plus the vessel's.
    """
    for c in range(pos.shape[0]):
        best = math.inf
        out_kind[c] = 0
        out_seg[c] = -1
        for s in range(segs.shape[0]):
            d = segment_distance(pos[c, 0], pos[c, 1], pos[c, 2], segs[s, 0], segs[s, 1],
                                 segs[s, 2], segs[s, 3], segs[s, 4], segs[s, 5])  # fmt: skip
            gap = d - radius[c] - segs[s, 6]
            if gap <= 0.0 and gap < best:
                best = gap
                out_kind[c] = int(segs[s, 7])
                out_seg[c] = s


@njit(cache=True)
def count_within(pos, dead, ctype, helper, i, dist):  # pragma: no cover - compiled
    """Number of live cells of type ``helper`` (``>= 0``) within ``dist`` of cell ``i``."""
    if helper < 0 or dist <= 0.0:
        return 0
    d2 = dist * dist
    n = 0
    for j in range(pos.shape[0]):
        if j == i or dead[j] != 0 or ctype[j] != helper:
            continue
        dx = pos[j, 0] - pos[i, 0]
        dy = pos[j, 1] - pos[i, 1]
        dz = pos[j, 2] - pos[i, 2]
        if dx * dx + dy * dy + dz * dz <= d2:
            n += 1
    return n


@njit(cache=True)
def rates(base, mode, mmp, n_tam, kind, mode_factor, mmp_fold, mmp_half, tam_fold, tam_half,
          kind_factor):  # pragma: no cover - compiled  # fmt: skip
    """``[n]`` intravasation rates λ (1/min) of the contract; 0 where ``kind == 0``.

    ``mode``: int64, -1 for no mode (factor 1); ``mode_factor``: ``[3]``; ``kind_factor``:
    ``[3]`` indexed by kind code (entry 0 unused).
    """
    out = np.zeros(base.shape[0])
    for c in range(base.shape[0]):
        b = base[c]
        if kind[c] == 0 or not b > 0.0:
            continue
        f = b * kind_factor[kind[c]]
        if mode[c] >= 0:
            f *= mode_factor[mode[c]]
        p = max(mmp[c], 0.0)
        if mmp_fold > 0.0 and p > 0.0:
            f *= 1.0 + mmp_fold * p / (p + mmp_half)
        t = float(n_tam[c])
        if tam_fold > 0.0 and t > 0.0:
            f *= 1.0 + tam_fold * t / (t + tam_half)
        out[c] = f
    return out


@njit(cache=True)
def cell_rates(pos, radius, dead, ctype, base, mode, mmp, segs, mode_factor, mmp_fold, mmp_half,
               tam_fold, tam_half, kind_factor, helper, tam_dist, lam, kind,
               seg):  # pragma: no cover - compiled  # fmt: skip
    """Fill ``lam`` (``[n]`` λ, 1/min), ``kind`` and ``seg`` (the touched vessel) per cell.

    λ is 0 for dead cells, cells with ``base <= 0`` and cells touching no vessel.
    """
    n = pos.shape[0]
    touching(pos, radius, segs, kind, seg)
    n_tam = np.zeros(n, dtype=np.int64)
    for c in range(n):
        if dead[c] != 0:
            kind[c] = 0
        elif kind[c] != 0 and base[c] > 0.0:
            n_tam[c] = count_within(pos, dead, ctype, helper, c, tam_dist)
    lam[:] = rates(base, mode, mmp, n_tam, kind, mode_factor, mmp_fold, mmp_half, tam_fold,
                   tam_half, kind_factor)  # fmt: skip


@njit(cache=True)
def intravasation_kernel(pos, radius, dead, cid, base, lam, kind, seg, contact, max_cluster,
                         seed, step, stream, dt, event, kind_out, seg_out,
                         lead_out):  # pragma: no cover - compiled  # fmt: skip
    """One phenotype step of intravasation (see the module contract); returns the events.

    ``lam``, ``kind``, ``seg``: from :func:`cell_rates`. ``event``: ``[n]`` int64, set to the
    event number (0, 1, ...) of each cell that leaves, -1 elsewhere (filled here).
    ``kind_out``, ``seg_out``, ``lead_out``: ``[n]`` the vessel kind, the segment and the row
    of each event's leader, indexed by event number.
    """
    n = pos.shape[0]
    for c in range(n):
        event[c] = -1
    order = np.argsort(cid)
    queue = np.empty(n, dtype=np.int64)
    dist = np.empty(n)
    events = 0
    for q in range(n):
        i = order[q]
        if dead[i] != 0 or event[i] >= 0 or not lam[i] > 0.0:
            continue
        u = uniform(seed, step, cid[i], stream, 0)
        if not u < -math.expm1(-lam[i] * dt):
            continue
        event[i] = events
        kind_out[events] = kind[i]
        seg_out[events] = seg[i]
        lead_out[events] = i
        queue[0] = i
        head, size = 0, 1
        while head < size and size < max_cluster:
            m = queue[head]
            head += 1
            # neighbours of m not taken, nearest first
            k = 0
            for j in range(n):
                if event[j] >= 0 or dead[j] != 0 or not base[j] > 0.0:
                    continue
                dx = pos[j, 0] - pos[m, 0]
                dy = pos[j, 1] - pos[m, 1]
                dz = pos[j, 2] - pos[m, 2]
                d = math.sqrt(dx * dx + dy * dy + dz * dz)
                if d <= contact * (radius[m] + radius[j]):
                    dist[k] = d
                    queue[size + k] = j  # staged after the queue's end
                    k += 1
            if k:
                idx = np.argsort(dist[:k], kind="mergesort")
                staged = queue[size:size + k].copy()
                for t in range(k):
                    if size >= max_cluster:
                        break
                    j = staged[idx[t]]
                    event[j] = events
                    queue[size] = j
                    size += 1
        events += 1
    return events
