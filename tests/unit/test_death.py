"""Unit tests of invasim.biology.death (and the dead cells' volumes)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invasim.biology import DeathParams, VolumeParams, advance_death, update_volumes
from invasim.biology.death import LYSED, STREAM_DEATH, SWELLING, necrosis_rate_o2
from invasim.core.cells import ALIVE, APOPTOTIC, NECROTIC, Cells
from invasim.core.rng import uniforms


def make_cells(n):
    cells = Cells(3, capacity=n)
    cells.add(n, position=np.full((n, 3), 10.0))
    return cells


def test_necrosis_rate_o2():
    r = necrosis_rate_o2(np.array([10.0, 5.0, 3.75, 2.5, 0.0]))
    assert np.allclose(r, np.array([0, 0, 0.5, 1, 1]) / 360)
    p = DeathParams(necrosis_max_rate=[0.1, 0.2], n_types=2)
    assert p.n_types == 2
    assert np.allclose(p.necrosis_rate(np.array([3.75, 3.75]), np.array([0, 1])), [0.05, 0.1])


def test_params_validation():
    assert DeathParams(n_types=3).apoptosis_rate.shape == (3,)
    with pytest.raises(ValueError):
        DeathParams(apoptosis_rate=-1.0)
    with pytest.raises(ValueError):
        DeathParams(apoptosis_rate=[1e-4, 1e-4], necrosis_max_rate=[1, 1, 1])
    with pytest.raises(ValueError):
        DeathParams(relative_rupture_volume=1.0)
    with pytest.raises(ValueError):
        DeathParams(necrosis_max_threshold=6.0)
    assert DeathParams().lysis_time[0] == pytest.approx(math.log(2) / (0.67 / 60))


def test_kernel_matches_reference():
    n = 5000
    cells = make_cells(n)
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 0.05, n)
    m = rng.uniform(0, 0.05, n)
    seed, step, dt = 3, 11, 6.0
    rows = advance_death(cells, DeathParams(), dt, seed, step, apoptosis_rate=a, necrosis_rate=m)
    assert rows.size == 0
    u0 = uniforms(seed, step, cells.id, STREAM_DEATH, 0)
    u1 = uniforms(seed, step, cells.id, STREAM_DEATH, 1)
    dies = u0 < -np.expm1(-(a + m) * dt)
    kind = np.where(u1 * (a + m) < m, NECROTIC, APOPTOTIC)
    assert np.array_equal(cells.dead, np.where(dies, kind, ALIVE))
    assert 500 < dies.sum() < 2500 and (cells.dead == NECROTIC).sum() > 200
    assert np.all(cells.time_in_phase[dies] == 0) and np.all(cells.phase[dies] == 0)


def test_apoptosis_removal_after_duration():
    cells = make_cells(1)
    p = DeathParams(apoptosis_rate=1e3)  # dies at once
    advance_death(cells, p, 6.0, 0, 0)
    assert cells.dead[0] == APOPTOTIC
    removed_at = None
    for step in range(1, 200):
        if advance_death(cells, p, 6.0, 0, step).size:
            removed_at = step
            break
    assert removed_at == 86  # 516 / 6
    # death is irreversible: nothing revives it
    assert cells.dead[0] == APOPTOTIC


@pytest.mark.parametrize("lysed_duration", [0.0, 60.0])
def test_necrosis_swelling_rupture_lysis(lysed_duration):
    cells = make_cells(2)
    dp = DeathParams(apoptosis_rate=0.0, lysed_duration=lysed_duration)
    vp = VolumeParams()
    o2 = np.array([0.0, 50.0])
    dt = 1.0
    step = 0
    while cells.dead[0] == ALIVE:
        update_volumes(cells, vp, dp, dt)
        advance_death(cells, dp, dt, 1, step, o2=o2)
        step += 1
    assert cells.dead[1] == ALIVE
    v0 = cells.volume[0]
    t_lysis = dp.lysis_time[0]
    removed = None
    for k in range(1, 400):
        update_volumes(cells, vp, dp, dt)
        rows = advance_death(cells, dp, dt, 1, step + k, o2=o2)
        if cells.phase[0] == SWELLING:
            assert cells.volume[0] == pytest.approx(v0 * math.exp(dp.necrotic_swell_rate[0] * k))
        if k == round(t_lysis):
            assert cells.volume[0] / v0 == pytest.approx(2.0, rel=0.01)
        if rows.size:
            removed = k
            break
        assert cells.phase[0] == (SWELLING if k < round(t_lysis) else LYSED)
    assert removed == round(t_lysis) + round(lysed_duration)
    assert cells.dead[1] == ALIVE


def test_high_oxygen_no_necrosis_and_no_rates():
    cells = make_cells(1000)
    dp = DeathParams(apoptosis_rate=0.0)
    for step in range(50):
        advance_death(cells, dp, 6.0, 0, step, o2=np.full(1000, 6.0))
        advance_death(cells, dp, 6.0, 0, step)
    assert np.all(cells.dead == ALIVE)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("state", ["apoptotic", "lysed"])
def test_a_dead_phase_can_end_at_a_rate(seed, state):
    # PhysiCell's fixed_duration="false" (apoptosis, or the necrotic lysed phase): removal at
    # 1/duration per minute, so exp(-t/duration) of the cells are left after t (exact per
    # step); 4 binomial s.e.
    n, duration, dt = 4000, 60.0, 6.0
    if state == "apoptotic":
        rate_ended = DeathParams(apoptosis_rate=0.0, apoptosis_duration=duration,
                                 apoptosis_fixed=False)  # fmt: skip
        fixed_params = DeathParams(apoptosis_rate=0.0, apoptosis_duration=duration)
    else:
        rate_ended = DeathParams(apoptosis_rate=0.0, lysed_duration=duration, lysed_fixed=False)
        fixed_params = DeathParams(apoptosis_rate=0.0, lysed_duration=duration)

    def dead_cells(k):
        c = make_cells(k)
        c.dead[:] = APOPTOTIC if state == "apoptotic" else NECROTIC
        c.phase[:] = 0 if state == "apoptotic" else 1
        return c

    cells = dead_cells(n)
    for step in range(10):
        rows = advance_death(cells, rate_ended, dt, seed, step)
        gone = np.zeros(cells.n, dtype=bool)
        gone[rows] = True
        cells.remove(gone)
        p = math.exp(-(step + 1) * dt / duration)
        assert abs(cells.n - n * p) < 4 * math.sqrt(n * p * (1 - p)), (step, cells.n, n * p)
    assert advance_death(dead_cells(100), fixed_params, dt, seed, 0).size == 0  # none early


