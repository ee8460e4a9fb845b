"""Mechanics kernels against a NumPy reference; parameters; stability bound."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from invasim.core.cells import Cells
from invasim.physics.mechanics import (
    Mechanics,
    MechanicsParams,
    compute_velocities,
    max_stable_dt,
    move,
)


def two_type_params() -> MechanicsParams:
    return MechanicsParams(
        repulsion=np.array([10.0, 4.0]),
        adhesion=np.array([[0.4, 0.1], [0.1, 1.0]]),
        s_rel=np.array([1.25, 1.5]),
        wall_repulsion=np.array([100.0, 50.0]),
    )


def reference_velocity(cells: Cells, p: MechanicsParams, extent) -> np.ndarray:
    """The potentials of the module contract, summed over all pairs with NumPy."""
    x, r, t = cells.position, cells.radius, cells.type
    d_vec = x[:, None, :] - x[None, :, :]
    d = np.sqrt((d_vec**2).sum(-1))
    np.fill_diagonal(d, np.inf)
    big_r = r[:, None] + r[None, :]
    reach = p.s_rel[t] * r
    s = reach[:, None] + reach[None, :]
    rep = np.sqrt(p.repulsion[t][:, None] * p.repulsion[t][None, :])
    adh = p.adhesion[t][:, t]
    f = np.where(d < big_r, rep * (1 - d / big_r) ** 2, 0.0)
    f -= np.where(d < s, adh * (1 - d / s) ** 2, 0.0)
    v = (f / np.maximum(d, 1e-5))[:, :, None] * d_vec
    v = np.where(np.isfinite(d)[:, :, None], v, 0.0).sum(1)
    cw = p.wall_repulsion[t]
    for a in range(cells.dim):
        lo = np.maximum(x[:, a], 0.0)
        hi = np.maximum(extent[a] - x[:, a], 0.0)
        v[:, a] += np.where(lo < r, cw * (1 - lo / r) ** 2, 0.0)
        v[:, a] -= np.where(hi < r, cw * (1 - hi / r) ** 2, 0.0)
    return v


def random_cells(dim: int, n: int, extent, seed: int) -> Cells:
    rng = np.random.default_rng(seed)
    c = Cells(dim)
    pos = np.zeros((n, 3))
    pos[:, :dim] = rng.uniform(-0.05, 1.05, (n, dim)) * np.array(extent)  # a few outside
    c.add(n, position=pos, radius=rng.uniform(5, 11, n), type=rng.integers(0, 2, n))
    return c


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("parallel", [False, True])
def test_velocities_match_reference(dim, parallel):
    extent = (120.0, 100.0, 80.0)[:dim]
    p = two_type_params()
    for seed in range(2):
        cells = random_cells(dim, 300 if dim == 2 else 500, extent, seed)
        m = Mechanics(p, extent, parallel=parallel)
        m.rebuild(cells)
        compute_velocities(cells, m.cell_list, p, extent, parallel=parallel)
        ref = reference_velocity(cells, p, extent)
        assert np.allclose(cells.velocity, ref, rtol=1e-10, atol=1e-10)
        if dim == 2:
            assert np.all(cells.velocity[:, 2] == 0.0)


@pytest.mark.parametrize("dim", [2, 3])
def test_serial_and_parallel_are_bit_identical(dim):
    extent = (200.0, 200.0, 200.0)[:dim]
    runs = []
    for parallel in (False, True):
        cells = random_cells(dim, 800, extent, 3)
        m = Mechanics(two_type_params(), extent, parallel=parallel)
        for _ in range(20):
            m.step(cells, 0.05)
        runs.append(cells.to_dict())
    for k in ("position", "velocity", "velocity_prev"):
        assert np.array_equal(runs[0][k], runs[1][k])


def test_move_schemes():
    c = Cells(2)
    c.add(1, position=[[10.0, 10.0, 0.0]])
    c.velocity[:] = [1.0, -2.0, 0.0]
    c.velocity_prev[:] = [3.0, 0.0, 0.0]
    move(c, 0.1, "ab2")
    assert np.allclose(c.position, [[10.0 + 0.1 * (1.5 - 1.5), 10.0 - 0.3, 0.0]])
    assert np.array_equal(c.velocity_prev, [[1.0, -2.0, 0.0]])
    move(c, 0.1, "euler")
    assert np.allclose(c.position, [[10.1, 9.5, 0.0]])
    with pytest.raises(ValueError):
        move(c, 0.1, "rk4")


def test_sort_is_a_function_of_state_and_changes_nothing_physical():
    extent = (150.0, 150.0, 150.0)
    a = random_cells(3, 400, extent, 4)
    b = Cells.from_dict(a.to_dict())
    ma, mb = Mechanics(two_type_params(), extent), Mechanics(two_type_params(), extent)
    ma.sort(a)
    assert np.array_equal(np.sort(a.id), b.id)
    ma.step(a, 0.05)
    mb.step(b, 0.05)
    ia, ib = np.argsort(a.id), np.argsort(b.id)
    assert np.allclose(a.position[ia], b.position[ib], rtol=0, atol=1e-12)
    again = Cells.from_dict(b.to_dict())
    mb.sort(b)
    Mechanics(two_type_params(), extent).sort(again)
    assert np.array_equal(b.id, again.id)


def test_params_validation_and_cutoff():
    p = MechanicsParams.single_type()
    assert p.n_types == 1 and p.cutoff(8.0) == 20.0
    assert np.allclose(two_type_params().repulsion_matrix, [[10, np.sqrt(40)], [np.sqrt(40), 4]])
    with pytest.raises(ValueError, match="symmetric"):
        MechanicsParams([1.0, 1.0], [[0.0, 1.0], [0.0, 0.0]], 1.25, 10.0)
    with pytest.raises(ValueError, match="repulsion"):
        MechanicsParams([-1.0], [[0.0]], 1.25, 10.0)
    with pytest.raises(ValueError, match="adhesion distance"):
        MechanicsParams([1.0], [[0.0]], 0.5, 10.0)
    with pytest.raises(ValueError, match="types"):
        c = Cells(2)
        c.add(1, position=[[5.0, 5.0]], type=[3])
        Mechanics(p, (10.0, 10.0)).step(c, 0.1)


def test_max_stable_dt():
    p = MechanicsParams.single_type()
    r = 8.412710547954228
    dt3 = max_stable_dt(p, r, 3)
    dt2 = max_stable_dt(p, r, 2)
    # PhysiCell's default mechanics step (0.1 min) passes, with little room in 3-D
    assert 0.1 < dt3 < 0.11 and 0.1 < dt2 < 0.14
    assert np.isclose(max_stable_dt(p, r, 3, "euler"), 2 * dt3)
    assert max_stable_dt(MechanicsParams.single_type(repulsion=20.0), r, 3) < dt3
    assert max_stable_dt(MechanicsParams.single_type(0.0, 0.4, 1.25, 0.0), r, 3) == np.inf
    with pytest.raises(ValueError):
        max_stable_dt(p, 0.0, 3)


# -- per-cell strengths (behaviour rules) ------------------------------------------------------
def per_cell_reference(cells, p, extent, rep, adh):
    """The per-cell pair rules of the module contract, with NumPy, from their definitions."""
    x, r, t = cells.position, cells.radius, cells.type
    d_vec = x[:, None, :] - x[None, :, :]
    d = np.sqrt((d_vec**2).sum(-1))
    np.fill_diagonal(d, np.inf)
    big_r = r[:, None] + r[None, :]
    reach = p.s_rel[t] * r
    s = reach[:, None] + reach[None, :]
    diag = np.diag(p.adhesion)
    affinity = p.adhesion / np.sqrt(diag[:, None] * diag[None, :])
    c_rep = np.sqrt(rep[:, None] * rep[None, :])
    c_adh = np.sqrt(adh[:, None] * adh[None, :]) * affinity[t][:, t]
    with np.errstate(invalid="ignore"):  # 0 strength × inf on the diagonal, masked below
        f = np.where(d < big_r, c_rep * (1 - d / big_r) ** 2, 0.0)
        f -= np.where(d < s, c_adh * (1 - d / s) ** 2, 0.0)
    v = (f / np.maximum(d, 1e-5))[:, :, None] * d_vec
    v = np.where(np.isfinite(d)[:, :, None], v, 0.0).sum(1)
    cw = p.wall_repulsion[t]
    for a in range(cells.dim):
        lo = np.maximum(x[:, a], 0.0)
        hi = np.maximum(extent[a] - x[:, a], 0.0)
        v[:, a] += np.where(lo < r, cw * (1 - lo / r) ** 2, 0.0)
        v[:, a] -= np.where(hi < r, cw * (1 - hi / r) ** 2, 0.0)
    return v


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("parallel", [False, True])
def test_per_cell_velocities_match_reference(dim, parallel):
    extent = (120.0, 100.0, 80.0)[:dim]
    p = two_type_params()  # not a geometric mean: affinity factors 0.158 between the types
    for seed in range(2):
        cells = random_cells(dim, 300 if dim == 2 else 500, extent, seed)
        rng = np.random.default_rng(10 + seed)
        rep = rng.uniform(0.0, 20.0, cells.n)
        adh = rng.uniform(0.0, 2.0, cells.n)
        m = Mechanics(p, extent, parallel=parallel)
        m.rebuild(cells)
        compute_velocities(cells, m.cell_list, p, extent, parallel=parallel,
                           repulsion=rep, adhesion=adh)  # fmt: skip
        ref = per_cell_reference(cells, p, extent, rep, adh)
        assert np.allclose(cells.velocity, ref, rtol=1e-10, atol=1e-10)
        # one array alone: the other strength is the type's (matrix entries for adhesion)
        compute_velocities(cells, m.cell_list, p, extent, parallel=parallel, repulsion=rep)
        ref_rep = reference_velocity(cells, p, extent)  # the types' adhesion ...
        ref_rep += per_cell_reference(cells, p, extent, rep, np.zeros(cells.n))
        ref_rep -= per_cell_reference(cells, p, extent, p.repulsion[cells.type],
                                      np.zeros(cells.n))  # ... with the cells' repulsion
        assert np.allclose(cells.velocity, ref_rep, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dim", [2, 3])
def test_per_cell_strengths_equal_to_the_types_are_bit_identical(dim):
    extent = (120.0, 100.0, 80.0)[:dim]
    rep_t, adh_t = np.array([10.0, 4.3]), np.array([0.4, 1.7])
    # the agent model's matrix: the geometric mean of the types' adhesion strengths
    p = MechanicsParams(rep_t, np.sqrt(np.outer(adh_t, adh_t)), [1.25, 1.5], [100.0, 50.0])
    cells = random_cells(dim, 400, extent, 7)
    m = Mechanics(p, extent)
    m.rebuild(cells)
    compute_velocities(cells, m.cell_list, p, extent)
    per_type = cells.velocity.copy()
    assert np.any(per_type != 0.0)
    t = cells.type
    for kw in ({"repulsion": rep_t[t]}, {"adhesion": adh_t[t]},
               {"repulsion": rep_t[t], "adhesion": adh_t[t]}):  # fmt: skip
        cells.velocity[:] = np.nan
        compute_velocities(cells, m.cell_list, p, extent, **kw)
        assert np.array_equal(cells.velocity, per_type), kw
    # a general matrix: repulsion alone still gives the per-type numbers bit for bit
    q = two_type_params()
    compute_velocities(cells, m.cell_list, q, extent)
    per_type = cells.velocity.copy()
    compute_velocities(cells, m.cell_list, q, extent, repulsion=q.repulsion[t])
    assert np.array_equal(cells.velocity, per_type)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_per_cell_kernel_is_thread_independent():
    extent = (200.0, 200.0, 200.0)
    runs = []
    threads = numba.get_num_threads()
    try:
        for n_threads in (1, 2):
            numba.set_num_threads(n_threads)
            cells = random_cells(3, 800, extent, 3)
            rng = np.random.default_rng(1)
            rep, adh = rng.uniform(2, 20, cells.n), rng.uniform(0, 2, cells.n)
            m = Mechanics(two_type_params(), extent, parallel=True)
            for _ in range(10):
                m.rebuild(cells)
                compute_velocities(cells, m.cell_list, m.params, extent, parallel=True,
                                   repulsion=rep, adhesion=adh)  # fmt: skip
                move(cells, 0.05)
            runs.append(cells.to_dict())
    finally:
        numba.set_num_threads(threads)
    for k in ("position", "velocity", "velocity_prev"):
        assert np.array_equal(runs[0][k], runs[1][k])


def test_per_cell_strengths_are_checked():
    extent = (100.0, 100.0)
    cells = random_cells(2, 20, extent, 0)
    p = two_type_params()
    m = Mechanics(p, extent)
    m.rebuild(cells)
    with pytest.raises(ValueError, match="shape"):
        compute_velocities(cells, m.cell_list, p, extent, repulsion=np.ones(3))
    with pytest.raises(ValueError, match=">= 0"):
        compute_velocities(cells, m.cell_list, p, extent, adhesion=-np.ones(20))
