"""Internal per-cell ODE state: declaration, inheritance, integration bookkeeping."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from invasim.biology.division import divide
from invasim.biology.internal import (
    RAC_RHO,
    IntegrationError,
    declare_internal,
    integrate,
    integrate_internal,
)
from invasim.core.cells import Cells


def rac_rho_cells(n: int = 40) -> tuple[Cells, np.ndarray]:
    c = Cells(2, capacity=n)
    declare_internal(c, RAC_RHO)
    c.add(n)
    rng = np.random.default_rng(1)
    c.internal("rac")[:] = rng.uniform(0, 2, n)
    c.internal("rho")[:] = rng.uniform(0, 2, n)
    return c, rng.uniform(0, 5, (n, 2))


def test_declare_and_divide_copy_internal_state():
    c, _ = rac_rho_cells(4)
    assert c.internal_names == ["rac", "rho"] and c.division_modes("internal") == ["copy"] * 2
    assert c.defaults("internal") == [0.0, 0.0] and c.trait_names == []
    before = c.columns("internal").copy()
    s = divide(c, [1, 2], 3, 3)
    assert np.array_equal(c.columns("internal")[s], before[[1, 2]])
    assert np.array_equal(c.columns("internal")[:4], before)


def test_integrate_internal_writes_back_and_matches_integrate():
    c, u = rac_rho_cells()
    y = c.columns("internal").copy()
    stats = integrate_internal(c, RAC_RHO, 6.0, u, rtol=1e-5)
    ref = integrate(RAC_RHO, y, 6.0, u, rtol=1e-5)
    assert np.array_equal(c.columns("internal"), y)
    assert np.array_equal(stats.accepted, ref.accepted) and stats.accepted.min() > 1
    # a step that is a rest: the steady state is a fixed point of the scheme
    again = c.columns("internal").copy()
    integrate_internal(c, RAC_RHO, 0.0, u)
    assert np.array_equal(c.columns("internal"), again)


def test_same_bits_on_any_thread_count_and_cell_order():
    c, u = rac_rho_cells(300)
    y0 = c.columns("internal").copy()
    p = np.tile(RAC_RHO.param_array(d_rac=5.0), (300, 1))
    out = []
    threads = numba.get_num_threads()
    try:
        for t in sorted({1, threads}):
            numba.set_num_threads(t)
            y = y0.copy()
            integrate(RAC_RHO, y, 6.0, u, p, rtol=1e-4)
            out.append(y)
    finally:
        numba.set_num_threads(threads)
    assert all(np.array_equal(out[0], o) for o in out)
    order = np.random.default_rng(0).permutation(300)
    y = y0[order].copy()
    integrate(RAC_RHO, y, 6.0, u[order], p[order], rtol=1e-4)
    assert np.array_equal(y, out[0][order])


def test_parameters_inputs_and_errors():
    p = RAC_RHO.param_array(d_rac=2.0)
    assert p[[q.name for q in RAC_RHO.params].index("d_rac")] == 2.0 and p.shape == (9,)
    assert all(q.unit for q in (*RAC_RHO.params, *RAC_RHO.inputs, *RAC_RHO.variables))
    with pytest.raises(KeyError, match="d_rca"):
        RAC_RHO.param_array(d_rca=1.0)
    y = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="inputs"):
        integrate(RAC_RHO, y, 6.0, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="columns"):
        integrate(RAC_RHO, np.zeros((3, 3)), 6.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        integrate(RAC_RHO, np.zeros((2, 3)).T, 6.0)
    bad = np.tile(RAC_RHO.param_array(), (3, 1))
    bad[1, 4] = np.nan
    with pytest.raises(IntegrationError, match="1 of 3 cells"):
        integrate(RAC_RHO, y, 6.0, None, bad)
