"""Unit tests of invasim.physics.motility."""

from __future__ import annotations

import numpy as np
import pytest

from invasim.core.cells import APOPTOTIC, Cells
from invasim.physics.motility import (
    DIRECTION_COLUMNS,
    Motility,
    MotilityParams,
    direction_view,
    motility_kernel,
    msd_theory,
)


def make_cells(n, dim=3):
    cells = Cells(dim, capacity=n, traits=("g",))
    cells.add(n)
    return cells


@pytest.mark.parametrize("dim", [2, 3])
def test_speed_and_unit_directions(dim):
    cells = make_cells(500, dim)
    cells.velocity[:] = 1.0
    cells.dead[0] = APOPTOTIC
    mot = Motility(MotilityParams(speed=2.0, persistence_time=5.0))
    mot.step(cells, 0.1, seed=1, step=0)
    d = direction_view(cells)
    assert cells.trait_names == ["g"] and cells.state_names == list(DIRECTION_COLUMNS)
    assert np.allclose(np.linalg.norm(d[1:], axis=1), 1.0)
    assert np.all(d[0] == 0) and np.all(cells.velocity[0] == 1.0)
    assert np.allclose(cells.velocity[1:] - 1.0, 2.0 * d[1:])
    if dim == 2:
        assert np.all(d[:, 2] == 0) and np.all(cells.velocity[:, 2] == 1.0)
    else:
        assert np.abs(d[:, 2]).max() > 0.5


def test_not_motile_leaves_velocity():
    cells = make_cells(10)
    Motility(MotilityParams(speed=0.0)).step(cells, 0.1, 0, 0)
    assert np.all(cells.velocity == 0) and np.all(direction_view(cells) == 0)


def test_persistence():
    cells = make_cells(1000)
    mot = Motility(MotilityParams(speed=1.0, persistence_time=1e12))
    mot.step(cells, 0.1, 0, 0)
    d0 = direction_view(cells).copy()
    for step in range(1, 20):
        cells.velocity[:] = 0
        mot.step(cells, 0.1, 0, step)
    assert np.array_equal(direction_view(cells), d0)
    # P = 0: a new direction every step
    Motility(MotilityParams(speed=1.0, persistence_time=0.0)).step(cells, 0.1, 0, 99)
    assert np.all(np.any(direction_view(cells) != d0, axis=1))
    # the fraction re-oriented in one step is 1 - exp(-dt/P)
    d1 = direction_view(cells).copy()
    Motility(MotilityParams(speed=1.0, persistence_time=1.0)).step(cells, 0.5, 0, 100)
    frac = np.mean(np.any(direction_view(cells) != d1, axis=1))
    assert frac == pytest.approx(1 - np.exp(-0.5), abs=4 * np.sqrt(0.39 * 0.61 / 1000))


def test_full_bias_follows_gradient_and_direction_travels_with_cell():
    cells = make_cells(50)
    grad = np.zeros((50, 3))
    grad[:, 1] = -3.0
    mot = Motility(MotilityParams(speed=1.5, persistence_time=0.0, bias=1.0))
    mot.step(cells, 0.1, 0, 0, bias_dir=grad)
    assert np.allclose(cells.velocity, [0, -1.5, 0])
    cells.remove([0, 1, 2])
    assert np.allclose(direction_view(cells), [0, -1, 0])
    # per-cell overrides (rules)
    cells.velocity[:] = 0
    mot.step(cells, 0.1, 0, 1, bias_dir=grad[:47], speed=np.arange(47.0))
    assert np.allclose(cells.velocity[:, 1], -np.arange(47.0))
    with pytest.raises(ValueError):
        mot.step(cells, 0.1, 0, 2, bias_dir=grad)


def test_parallel_equals_serial_and_strided_view():
    n = 6000
    rng = np.random.default_rng(0)
    res = []
    for par in (False, True):
        traits = np.zeros((n, 5))
        direction = traits[:, 1:4]
        vel = np.zeros((n, 3))
        args = (np.zeros(n, np.int8), np.arange(n, dtype=np.int64), np.full(n, 1.0),
                np.full(n, 2.0), rng.uniform(0, 1, n) * 0 + 0.3)  # fmt: skip
        g = np.tile([1.0, 2.0, 0.5], (n, 1))
        for step in range(5):
            motility_kernel(direction, vel, *args, g, 7, step, 0.5, 3, parallel=par)
        res.append((traits, vel))
    assert np.array_equal(res[0][0], res[1][0]) and np.array_equal(res[0][1], res[1][1])


def test_params_validation():
    assert MotilityParams(speed=[1.0, 2.0]).n_types == 2
    with pytest.raises(ValueError):
        MotilityParams(bias=1.5)
    with pytest.raises(ValueError):
        MotilityParams(speed=-1.0)


def test_msd_theory():
    t = np.array([0.5, 5.0, 50.0])
    exact = msd_theory(t, 2.0, 5.0, dt=0.1)
    q = np.exp(-0.1 / 5.0)
    for ti, e in zip(t, exact, strict=True):
        n = round(ti / 0.1)
        brute = 4.0 * 0.01 * (n + 2 * sum((n - k) * q**k for k in range(1, n)))
        assert e == pytest.approx(brute, rel=1e-12)
    cont = msd_theory(t, 2.0, 5.0)
    assert np.allclose(exact, cont, rtol=0.011)
    assert msd_theory(1e4, 1.0, 2.0) == pytest.approx(2 * 2 * 1e4, rel=1e-3)  # diffusive limit


@pytest.mark.parametrize("g_size, biased", [(1e-30, False), (1e-20, False), (1e-10, True)])
def test_physicell_normalise_ignores_tiny_gradients(g_size, biased):
    """PhysiCell's normalize(): |g| far below 1e-16 gives (almost) no bias; unit mode: full bias."""
    n = 4000
    g = np.zeros((n, 3))
    g[:, 0] = g_size
    drift = {}
    for pc in (False, True):
        cells = make_cells(n, 2)
        mot = Motility(MotilityParams(speed=1.0, persistence_time=0.0, bias=0.5),
                       physicell_normalise=pc)
        mot.step(cells, 0.1, seed=3, step=0, bias_dir=g)
        drift[pc] = direction_view(cells)[:, 0].mean()
    assert drift[False] > 0.5  # any nonzero gradient is a full bias in "unit" mode
    if biased:
        assert drift[True] == pytest.approx(drift[False], rel=1e-9)
    else:
        assert abs(drift[True]) < 0.05  # unbiased random directions: mean ~ 0 (s.e. ~ 0.011)
