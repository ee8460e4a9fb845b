"""Unit tests of the shared binding of several fields (invasim.physics.exchange).

``bind_positions_shared`` sums every field's voxel coefficients in one pass from per-cell
products, optionally over a subset of the cells; it must give the very bits of binding each
field on its own over all the cells (the cells outside the subset add exact zeros).
"""

from __future__ import annotations

import numpy as np
import pytest

from invasim.core.mesh import Mesh
from invasim.physics.exchange import (
    SecretionUptake,
    VoxelBins,
    bind_positions_shared,
    step_factors,
    voxel_of,
)


def _cells(mesh, n, seed):
    rng = np.random.default_rng(seed)
    pos = np.zeros((n, 3))
    for a in range(mesh.dim):
        pos[:, a] = rng.uniform(0, mesh.extent[a], n)
    return rng, pos


def _rates(rng, n, k, active):
    """``k`` fields' (secretion, target, uptake, export), zero outside ``active``."""
    out = []
    for _ in range(k):
        r = [rng.uniform(0, 1, n), rng.uniform(0, 20, n), rng.uniform(0, 10, n),
             rng.uniform(-5, 5, n)]  # fmt: skip
        for a in r:
            a[~active] = 0.0
        out.append(r)
    return out


@pytest.mark.parametrize("scheme", ["implicit", "exact"])
@pytest.mark.parametrize("parallel", [False, True])
def test_shared_subset_binding_equals_separate_bitwise(scheme, parallel):
    mesh = Mesh(2, (40, 30), 10.0)
    n = 12000
    rng, pos = _cells(mesh, n, 3)
    vol = rng.uniform(1000, 3000, n)
    active = rng.uniform(0, 1, n) < 0.4
    rows = np.flatnonzero(active)
    fields = _rates(rng, n, 3, active)
    # reference: each field on its own, all cells bound
    ref = []
    for sec, tgt, upt, exp in fields:
        su = SecretionUptake(mesh, scheme, parallel=parallel)
        su.bind(pos, vol, sec, tgt, upt, exp)
        u = np.full(mesh.array_shape, 3.0)
        for _ in range(4):
            su.step(u, 0.05)
        su.bind_positions(pos + 7.0)  # the cells moved: positions only
        for _ in range(4):
            su.step(u, 0.05)
        ref.append(u)
    # shared: the active rows only, one binning and one pass for the three fields
    group = [SecretionUptake(mesh, scheme, parallel=parallel) for _ in fields]
    for su, (sec, tgt, upt, exp) in zip(group, fields, strict=True):
        su.bind_rates(vol[rows], sec[rows], tgt[rows], upt[rows], exp[rows])
    us = [np.full(mesh.array_shape, 3.0) for _ in fields]
    bind_positions_shared(group, pos, rows)
    for _ in range(4):
        for su, u in zip(group, us, strict=True):
            su.step(u, 0.05)
    bind_positions_shared(group, pos + 7.0, rows)
    for _ in range(4):
        for su, u in zip(group, us, strict=True):
            su.step(u, 0.05)
    for a, b in zip(ref, us, strict=True):
        assert np.array_equal(a, b)
    # the fields changed (a test that would pass on untouched fields proves nothing)
    assert all(np.abs(u - 3.0).max() > 0.1 for u in us)


def test_shared_binding_restacks_after_new_rates():
    """New rates of one member (bind_rates) must be used at the next shared bind."""
    mesh = Mesh(2, (10, 10), 10.0)
    n = 500
    rng, pos = _cells(mesh, n, 5)
    vol = np.full(n, 1000.0)
    a, b = SecretionUptake(mesh), SecretionUptake(mesh)
    a.bind_rates(vol, 0.1, 10.0, 0.0)
    b.bind_rates(vol, 0.0, 0.0, 0.5)
    bind_positions_shared([a, b], pos)
    b.bind_rates(vol, 0.2, 4.0, 0.0)
    bind_positions_shared([a, b], pos)
    c = SecretionUptake(mesh)
    c.bind(pos, vol, 0.2, 4.0, 0.0)
    assert np.array_equal(b.A, c.A) and np.array_equal(b.B, c.B)


def test_shared_binding_checks_its_members():
    mesh = Mesh(2, (10, 10), 10.0)
    a, b = SecretionUptake(mesh), SecretionUptake(mesh)
    a.bind_rates(np.ones(3), 0.1, 1.0, 0.0)
    b.bind_rates(np.ones(4), 0.1, 1.0, 0.0)
    with pytest.raises(ValueError, match="same cells"):
        bind_positions_shared([a, b], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="rows"):
        bind_positions_shared([a], np.zeros((5, 3)), np.arange(2))


def test_implicit_factors_are_the_formula():
    rng = np.random.default_rng(1)
    A, B, E = rng.uniform(0, 3, 200), rng.uniform(0, 9, 200), rng.uniform(-1, 1, 200)
    B[:20] = 0.0
    dt = 0.37
    c1, c0, m1, m0 = step_factors(A, B, E, dt, exact=False)
    x = B * dt
    e1 = 1.0 / (1.0 + x)
    e0 = dt * (A + E) * e1
    assert np.array_equal(c1, e1) and np.array_equal(c0, e0)
    assert np.array_equal(m1, dt * e1) and np.array_equal(m0, dt * e0)


@pytest.mark.parametrize("dim", [2, 3])
def test_shared_voxel_bins_give_the_same_layout_and_bits(dim):
    """Adopting or filtering the state's bins of all cells = sorting again (same bits)."""
    mesh = Mesh(dim, (40, 30) if dim == 2 else (12, 10, 8), 10.0)
    n = 6000
    rng, pos = _cells(mesh, n, 11)
    pos = pos[:, :dim].copy()  # as the state holds them: [n, dim]
    vol = rng.uniform(1000, 3000, n)
    active = rng.uniform(0, 1, n) < 0.45
    rows = np.flatnonzero(active)
    (sec, tgt, upt, exp), = _rates(rng, n, 1, active)
    bins = VoxelBins(voxel_of(pos, mesh), mesh.n_voxels)
    for sub in (None, rows):
        pick = (lambda a: a) if sub is None else (lambda a, s=sub: a[s])  # noqa: E731
        out = []
        for shared in (None, bins):
            su = SecretionUptake(mesh, "implicit", parallel=True)
            su.bind_rates(pick(vol), pick(sec), pick(tgt), pick(upt), pick(exp))
            bind_positions_shared([su], pos, sub, shared)
            u = np.full(mesh.array_shape, 3.0)
            for _ in range(3):
                su.step(u, 0.05)
            out.append((su.voxel.copy(), su.order.copy(), su.occupied.copy(), su.start.copy(), u))
        for a, b in zip(*out, strict=True):
            assert np.array_equal(a, b)
        assert np.abs(out[0][-1] - 3.0).max() > 0.1
    with pytest.raises(ValueError, match="ascending"):
        su = SecretionUptake(mesh, "implicit")
        r2 = rows[::-1].copy()
        su.bind_rates(vol[r2], sec[r2], tgt[r2], upt[r2], exp[r2])
        bind_positions_shared([su], pos, r2, bins)


def test_voxel_of_parallel_equals_serial_and_padded():
    mesh = Mesh(2, (300, 200), 10.0)
    rng, pos = _cells(mesh, 50000, 2)
    pos[:10, 0] = -5.0  # clipped into the mesh
    pos[10:20, 1] = 1e6
    import numba

    two = voxel_of(pos[:, :2], mesh)
    with_z = voxel_of(pos, mesh)
    numba.set_num_threads(1)
    try:
        one = voxel_of(pos[:, :2], mesh)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(two, with_z) and np.array_equal(two, one)
    i = np.clip(np.floor(pos[:, 0] / 10.0).astype(np.int64), 0, 299)
    j = np.clip(np.floor(pos[:, 1] / 10.0).astype(np.int64), 0, 199)
    assert np.array_equal(two, j * 300 + i)
