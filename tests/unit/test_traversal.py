"""The one candidate walk: exactly the brute-force pairs, in one order, in every kernel."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from numba import njit

from invasim.core.cells import Cells
from invasim.physics.contacts import contact_kernel
from invasim.physics.mechanics import (
    MIN_DISTANCE,
    Mechanics,
    MechanicsParams,
    adhesion_factor,
    compute_velocities,
)
from invasim.physics.neighbors import CellList, neighbor_pairs
from invasim.physics.traversal import candidate_bins, row_slots


@njit
def _walk(position, order, bin_start, nb, w, inv_w, tol, search, out):
    """Every visit ``(i, j)`` of the walk, in visiting order (``out`` None: count only)."""
    cut2 = search * search
    v = 0
    for k in range(order.shape[0]):
        i = order[k]
        xi, yi, zi = position[i, 0], position[i, 1], position[i, 2]
        xlo, xhi, ylo, yhi, zlo, zhi = candidate_bins(xi, yi, zi, search, nb, inv_w)
        for jz in range(zlo, zhi + 1):
            for jy in range(ylo, yhi + 1):
                lo, hi = row_slots(jy, jz, xlo, xhi, yi, zi, search, bin_start, nb, w, tol)
                for m in range(lo, hi):
                    j = order[m]
                    dx = xi - position[j, 0]
                    dy = yi - position[j, 1]
                    dz = zi - position[j, 2]
                    if dx * dx + dy * dy + dz * dz >= cut2 or j == i:
                        continue
                    if out is not None:
                        out[v, 0] = i
                        out[v, 1] = j
                    v += 1
    return v


def walk(position: np.ndarray, cl: CellList, search: float) -> np.ndarray:
    args = (position, cl.order, cl.bin_start, cl.nb, cl.w, cl.inv_w, cl.tol, search)
    out = np.empty((_walk(*args, None), 2), dtype=np.int64)
    _walk(*args, out)
    return out


def brute_ordered(position: np.ndarray, cutoff: float) -> set[tuple[int, int]]:
    d2 = ((position[:, None, :] - position[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    i, j = np.nonzero(d2 < cutoff * cutoff)
    return set(zip(i.tolist(), j.tolist(), strict=True))


def edgy_cloud(dim: int, n: int, extent: tuple, seed: int) -> np.ndarray:
    """Random points, some outside the box, some exactly on its walls and corners."""
    rng = np.random.default_rng(seed)
    p = np.zeros((n, 3))
    p[:, :dim] = rng.uniform(-0.05, 1.05, (n, dim)) * np.array(extent)
    walls = rng.integers(0, n, n // 10)
    axis = rng.integers(0, dim, walls.size)
    p[walls, axis] = np.where(rng.random(walls.size) < 0.5, 0.0, np.array(extent)[axis])
    p[0, :dim] = 0.0
    p[1, :dim] = extent
    return p


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("split", [(1, 1, 1), (2, 1, 1), (3, 2, 2)])
def test_walk_visits_exactly_the_brute_force_pairs(dim, split):
    extent = (100.0, 80.0, 60.0)[:dim]
    for seed in range(2):
        p = edgy_cloud(dim, 600 if dim == 2 else 1200, extent, seed)
        for grid, search in ((7.0, 7.0), (20.0, 20.0), (20.0, 13.3), (35.0, 35.0), (150.0, 90.0)):
            cl = CellList(extent, grid, split)
            cl.rebuild(p)
            got = walk(p, cl, search)
            pairs = set(zip(got[:, 0].tolist(), got[:, 1].tolist(), strict=True))
            assert len(pairs) == len(got), "a pair visited twice"
            assert pairs == brute_ordered(p, search), (seed, grid, search)
            # the one order: each cell's neighbours by increasing slot of the cell list
            slot = np.empty(len(p), dtype=np.int64)
            slot[cl.order] = np.arange(len(p))
            starts = np.flatnonzero(np.r_[True, got[1:, 0] != got[:-1, 0]])
            assert np.all(np.diff(slot[got[starts, 0]]) > 0)
            for a, b in zip(starts, np.r_[starts[1:], len(got)], strict=True):
                assert np.all(np.diff(slot[got[a:b, 1]]) > 0)


# ----------------------------------------------------------------- the four users, bit for bit
def walk_neighbours(position: np.ndarray, cl: CellList, cutoff: float) -> list[list[int]]:
    """Each row's neighbours closer than ``cutoff``, in the walk's order (by slot)."""
    slot = np.empty(len(position), dtype=np.int64)
    slot[cl.order] = np.arange(len(position))
    nbrs: list[list[int]] = [[] for _ in range(len(position))]
    for i, j in brute_ordered(position, cutoff):
        nbrs[i].append(j)
    return [sorted(js, key=lambda j: slot[j]) for js in nbrs]


def velocity_in_walk_order(cells, cl, p, extent, repulsion=None, adhesion=None) -> np.ndarray:
    """The mechanics contract summed in plain Python floats, neighbours in walk order."""
    x = cells.position.tolist()
    r = cells.radius.tolist()
    t = cells.type.tolist()
    s_rel = p.s_rel.tolist()
    rep, adh = repulsion, adhesion
    per_cell = rep is not None or adh is not None
    if per_cell:
        c = (p.repulsion[cells.type] if rep is None else rep).tolist()
        a = np.ones(cells.n).tolist() if adh is None else adh.tolist()
        f_adh = (p.adhesion if adh is None else adhesion_factor(p.adhesion)).tolist()
    rep_t, adh_t = p.repulsion_matrix.tolist(), p.adhesion.tolist()
    v = np.zeros((cells.n, 3))
    for i, js in enumerate(walk_neighbours(cells.position, cl, cl.cutoff)):
        xi, yi, zi = x[i]
        ri, ti = r[i], t[i]
        reach_i = s_rel[ti] * ri
        vx = vy = vz = 0.0
        for j in js:
            dx, dy, dz = xi - x[j][0], yi - x[j][1], zi - x[j][2]
            d2 = dx * dx + dy * dy + dz * dz
            rj, tj = r[j], t[j]
            s = reach_i + s_rel[tj] * rj
            if d2 >= s * s:
                continue
            d = max(math.sqrt(d2), MIN_DISTANCE)
            big_r = ri + rj
            f = 0.0
            if d < big_r:
                q = 1.0 - d / big_r
                f = (math.sqrt(c[i] * c[j]) if per_cell else rep_t[ti][tj]) * q * q
            qa = 1.0 - d / s
            if per_cell:
                f -= math.sqrt(a[i] * a[j]) * f_adh[ti][tj] * qa * qa
            else:
                f -= adh_t[ti][tj] * qa * qa
            f /= d
            vx += f * dx
            vy += f * dy
            vz += f * dz
        vel = [vx, vy, vz]
        cw = float(p.wall_repulsion[ti])
        for ax in range(cells.dim if cw > 0.0 else 0):
            lo = x[i][ax] if x[i][ax] > 0.0 else 0.0
            hi = extent[ax] - x[i][ax]
            hi = hi if hi > 0.0 else 0.0
            push = 0.0
            if lo < ri:
                push += cw * (1.0 - lo / ri) * (1.0 - lo / ri)
            if hi < ri:
                push -= cw * (1.0 - hi / ri) * (1.0 - hi / ri)
            vel[ax] += push
        v[i] = vel
    return v


def params_and_cells(dim: int, seed: int) -> tuple[MechanicsParams, Cells, tuple]:
    extent = (120.0, 100.0, 80.0)[:dim]
    p = MechanicsParams(
        repulsion=np.array([10.0, 4.0]),
        adhesion=np.array([[0.4, 0.1], [0.1, 1.0]]),
        s_rel=np.array([1.25, 1.5]),
        wall_repulsion=np.array([100.0, 50.0]),
    )
    rng = np.random.default_rng(seed)
    c = Cells(dim)
    pos = edgy_cloud(dim, 300 if dim == 2 else 500, extent, seed)
    pos[5] = pos[6]  # coincident centres: the MIN_DISTANCE floor
    c.add(len(pos), position=pos, radius=rng.uniform(5, 11, len(pos)),
          type=rng.integers(0, 2, len(pos)))  # fmt: skip
    c.dead[rng.random(c.n) < 0.3] = 1
    return p, c, extent


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("parallel", [False, True])
def test_velocity_kernel_sums_in_walk_order_bit_for_bit(dim, parallel):
    for seed in range(2):
        p, cells, extent = params_and_cells(dim, seed)
        m = Mechanics(p, extent, parallel=parallel)
        m.rebuild(cells)
        rng = np.random.default_rng(seed)
        rep, adh = rng.uniform(0.0, 20.0, cells.n), rng.uniform(0.0, 2.0, cells.n)
        for kw in ({}, {"repulsion": rep}, {"adhesion": adh}, {"repulsion": rep, "adhesion": adh}):
            cells.velocity[:] = np.nan
            compute_velocities(cells, m.cell_list, p, extent, parallel=parallel, **kw)
            ref = velocity_in_walk_order(cells, m.cell_list, p, extent, **kw)
            assert cells.velocity.tobytes() == ref.tobytes(), (seed, list(kw))


@pytest.mark.parametrize("dim", [2, 3])
def test_contact_kernel_sums_in_walk_order_bit_for_bit(dim):
    for seed in range(2):
        p, c, extent = params_and_cells(dim, seed)
        m = Mechanics(p, extent)
        m.rebuild(c)
        cl = m.cell_list
        search = min(cl.cutoff, 2.0 * float(c.radius.max()))
        pressure, contacts = np.full(c.n, np.nan), np.full((c.n, 4), np.nan)
        contact_kernel(c.position, c.radius, c.type, c.dead, cl.order, cl.bin_start, cl.nb,
                       cl.w, cl.inv_w, cl.tol, search, True, pressure, contacts)  # fmt: skip
        x, r = c.position.tolist(), c.radius.tolist()
        ref_p, ref_c = np.zeros(c.n), np.zeros((c.n, 4))
        for i, js in enumerate(walk_neighbours(c.position, cl, search)):
            s = 0.0
            for j in js:
                dx, dy, dz = x[i][0] - x[j][0], x[i][1] - x[j][1], x[i][2] - x[j][2]
                d2 = dx * dx + dy * dy + dz * dz
                big_r = r[i] + r[j]
                if d2 < big_r * big_r:
                    q = 1.0 - math.sqrt(d2) / big_r
                    s += q * q
                    ref_c[i, c.type[j]] += 1.0
                    ref_c[i, 3 if c.dead[j] else 2] += 1.0
            ref_p[i] = s
        assert pressure.tobytes() == ref_p.tobytes()
        assert np.array_equal(contacts, ref_c)
        only = np.full(c.n, np.nan)
        contact_kernel(c.position, c.radius, c.type, c.dead, cl.order, cl.bin_start, cl.nb,
                       cl.w, cl.inv_w, cl.tol, search, False, only, np.zeros((1, 2)))  # fmt: skip
        assert only.tobytes() == ref_p.tobytes()


@pytest.mark.parametrize("dim", [2, 3])
def test_neighbor_pairs_are_the_walk_pairs(dim):
    extent = (100.0, 80.0, 60.0)[:dim]
    p = edgy_cloud(dim, 500, extent, 3)
    got = neighbor_pairs(p, extent, 18.0)
    ref = sorted((i, j) for i, j in brute_ordered(p, 18.0) if i < j)
    assert got.tolist() == [list(q) for q in ref]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_contact_kernel_is_thread_independent():
    p, c, extent = params_and_cells(3, 4)
    m = Mechanics(p, extent)
    m.rebuild(c)
    cl = m.cell_list
    search = min(cl.cutoff, 2.0 * float(c.radius.max()))
    runs = []
    threads = numba.get_num_threads()
    try:
        for n_threads in (1, 2):
            numba.set_num_threads(n_threads)
            out = (np.zeros(c.n), np.zeros((c.n, 4)))
            contact_kernel(c.position, c.radius, c.type, c.dead, cl.order, cl.bin_start, cl.nb,
                           cl.w, cl.inv_w, cl.tol, search, True, *out)  # fmt: skip
            runs.append(out)
    finally:
        numba.set_num_threads(threads)
    assert runs[0][0].tobytes() == runs[1][0].tobytes()
    assert np.array_equal(runs[0][1], runs[1][1])
