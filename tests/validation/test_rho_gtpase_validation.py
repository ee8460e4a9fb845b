"""Validation of the Rac/Rho switch and the migration modes: the cases of ``invasim verify``.

Each test runs a case of :mod:`invasim.verify.cases.rho_gtpase` (the tolerances and their
reasons are in the cases' docstrings); the full forms (more cells, seeds, starts) are slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from invasim.biology.rho_gtpase import RacRho, window
from invasim.verify.cases import rho_gtpase as cases

QUICK = [cases.folds_case, cases.steady_states_case, cases.hysteresis_case,
         cases.switching_case, cases.msd_case, cases.rock_case]  # fmt: skip


@pytest.mark.parametrize("case", QUICK, ids=lambda c: c.name)
def test_case_quick(case):
    r = case.run(quick=True)
    assert r.passed, (r.detail, r.checks)


@pytest.mark.slow
@pytest.mark.parametrize("case", QUICK, ids=lambda c: c.name)
def test_case_full(case):
    r = case.run(quick=False)
    assert r.passed, (r.detail, r.checks)


def test_rho_high_start_lies_in_its_basin_below_the_upper_fold():
    """The ROCK case's premise: from (0.696, 2.075) every b_R below the fold stays Rho-high."""
    lo, hi = window(RacRho())
    b = np.linspace(1.5, hi - 1e-3, 60)
    y0 = np.tile(cases.RHO_HIGH, (b.size, 1))
    end = np.array([cases.end_states(RacRho(b_rac=v), y0[:1], t_end=3000.0)[0] for v in b])
    assert np.all(end[:, 1] > end[:, 0])
    # and just above it the state is lost (the premise is not vacuous)
    assert cases.end_states(RacRho(b_rac=hi + 0.02), y0[:1], 3000.0)[0, 0] > 1.5


def test_msd_formula_against_a_direct_simulation_of_the_discrete_walk():
    """The exact AB2 formula of the MSD case against 20000 walkers simulated in NumPy."""
    rng = np.random.default_rng(5)
    v, pers, dt, n, steps = 2.0, 3.0, 0.1, 20000, 300
    q = np.exp(-dt / pers)
    ang = rng.uniform(0, 2 * np.pi, n)
    d = np.column_stack([np.cos(ang), np.sin(ang)])
    v_prev = v * d
    x = np.zeros((n, 2))
    for _ in range(steps):
        redraw = rng.uniform(size=n) >= q
        ang = rng.uniform(0, 2 * np.pi, n)
        d[redraw] = np.column_stack([np.cos(ang), np.sin(ang)])[redraw]
        vel = v * d
        x += dt * (1.5 * vel - 0.5 * v_prev)
        v_prev = vel
    msd = np.mean(np.sum(x**2, axis=1))
    se = np.std(np.sum(x**2, axis=1)) / np.sqrt(n)
    assert abs(msd - cases.msd_exact(steps, v, pers, dt)) < 4 * se
