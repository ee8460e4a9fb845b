"""A diffusing field on its own clock (``dt_min``), fields sharing one binning, idle fields.

The field on its own clock must give what a run whose diffusion step is that ``dt_min`` gives
(the same solver and exchange over the same step), stay close to the run that steps it every
diffusion step (the scheme's error at the longer step), and leave the fast fields alone.
"""

from __future__ import annotations

import numpy as np
import pytest

import invasim
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.physics.exchange import SecretionUptake


def _data(dt_diff: float = 0.01, mmp_dt: float | None = 0.1, **params):
    """Cells that take up oxygen (fast, D = 1e5) and secrete an MMP (slow, D = 600)."""
    mmp = {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 600.0,
           "decay_per_min": 0.01, "boundary": "dirichlet", "boundary_value": 0.0,
           "initial": 0.0}
    if mmp_dt is not None:
        mmp["dt_min"] = mmp_dt
    p = {
        "processes": ["secretion", "diffusion", "mechanics", "motility"],
        "dt_diffusion_min": dt_diff,
        "dt_mechanics_min": 0.1,
        "diffusion": {"scheme": "lod-be", "accuracy_check": False},
        "fields": {
            "oxygen": {"kind": "diffusing", "diffusion_um2_per_min": 1e5, "decay_per_min": 0.1,
                       "boundary_value": 38.0, "initial": 38.0},
            "mmp": mmp,
            "idle": {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 100.0,
                     "decay_per_min": 0.0, "boundary": "no-flux",
                     "initial": {"kind": "gaussian_random_field", "mean": 1.0, "std": 0.2,
                                 "correlation_um": 60.0, "lower": 0.0, "upper": 2.0}},
        },
        "cell_types": {"tumor": {
            "secretion": {"uptake_per_min": {"oxygen": 10.0},
                          "secretion_per_min": {"mmp": 0.05}, "secretion_target": {"mmp": 1.0}},
            "motility": {"speed_um_per_min": 0.5, "persistence_time_min": 5.0},
        }},
        "initial": {"geometry": "ball", "n_cells": 120},
    }  # fmt: skip
    p.update(params)
    return {
        "name": "field-clocks", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 20.0},
        "time": {"end_min": 60.0, "dt_min": 6.0, "output_interval_min": 60.0,
                 "checkpoint_interval_min": 60.0},
        "params": p,
    }  # fmt: skip


def _run(data, steps: int = 5, seed: int = 3):
    sim = invasim.Simulation(invasim.load_scenario(data), seed=seed)
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    return sim


def test_own_clock_equals_a_run_at_that_step():
    own = _run(_data(dt_diff=0.01, mmp_dt=0.1))
    coarse = _run(_data(dt_diff=0.1, mmp_dt=None))
    np.testing.assert_array_equal(own.model.state.cells.position,
                                  coarse.model.state.cells.position)  # fmt: skip
    # the same solver and exchange at 0.1 min: equal to round-off (0.01 * 10 vs 0.1)
    np.testing.assert_allclose(own.fields["mmp"], coarse.fields["mmp"], rtol=1e-12, atol=1e-15)
    assert own.fields["mmp"].max() > 1e-3  # the cells did secrete


def test_own_clock_stays_close_to_every_step_and_leaves_oxygen_alone():
    own = _run(_data(dt_diff=0.01, mmp_dt=0.1))
    fine = _run(_data(dt_diff=0.01, mmp_dt=None))
    # oxygen is stepped as before, bit for bit
    np.testing.assert_array_equal(own.fields["oxygen"], fine.fields["oxygen"])
    # backward Euler's error at D dt / h^2 = 0.15 and the split over 0.1 min: a few per cent
    # of the peak (measured 0.5 %, total 0.4 %); a field stepped at the wrong rate (ten times too
    # few or too many steps) would be off by ~10x
    a, b = own.fields["mmp"], fine.fields["mmp"]
    assert np.abs(a - b).max() <= 0.02 * b.max()
    assert a.sum() == pytest.approx(b.sum(), rel=0.02)


def test_idle_field_is_skipped_and_only_diffuses():
    sim = _run(_data(), steps=2)
    sec = next(q for q in sim.model.processes if q.name == "secretion")
    assert sec.active == ["oxygen", "mmp"]  # nobody exchanges 'idle'
    # 'idle' (no-flux, no decay): only diffusion acts on it, so its total is conserved
    data = _data()
    start = invasim.Simulation(invasim.load_scenario(data), seed=3).fields["idle"]
    assert sim.fields["idle"].sum() == pytest.approx(start.sum(), rel=1e-12)
    assert not np.array_equal(sim.fields["idle"], start)


@pytest.mark.parametrize(
    ("mmp_dt", "needle"),
    [
        (0.015, r"params.fields.mmp.dt_min = 0.015 must be a whole multiple of "
                r"params.dt_diffusion_min = 0.01"),
        (0.04, r"params.fields.mmp.dt_min = 0.04 must divide params.dt_mechanics_min = 0.1"),
    ],
)
def test_bad_field_clock_rejected(mmp_dt, needle):
    with pytest.raises(ConfigError, match=needle):
        invasim.load_scenario(_data(mmp_dt=mmp_dt))


def test_field_clock_checked_against_the_accuracy_limit():
    # lod-cn, 20 µm voxels, Dirichlet: D dt / h^2 <= 2/3, i.e. dt <= 0.0444 min at D = 6000
    data = _data(dt_diff=0.01)
    data["params"]["diffusion"] = {"scheme": "lod-cn", "accuracy_check": True}
    data["params"]["fields"]["oxygen"]["diffusion_um2_per_min"] = 1e4
    data["params"]["fields"]["mmp"]["diffusion_um2_per_min"] = 6000.0
    data["params"]["fields"]["mmp"]["dt_min"] = 0.05
    with pytest.raises(ConfigError, match=r"params.fields.mmp.dt_min = 0.05 exceeds the lod-cn "
                                          r"accuracy limit 0.04444 min for mmp"):  # fmt: skip
        invasim.load_scenario(data)
    data["params"]["fields"]["mmp"]["dt_min"] = 0.02
    invasim.load_scenario(data)


def test_shared_binning_gives_the_same_bits():
    mesh = Mesh(2, (10, 10), 20.0)
    rng = np.random.default_rng(0)
    n = 300
    pos = np.c_[rng.uniform(0, 200, (n, 2)), np.zeros(n)]
    vol = rng.uniform(1000, 3000, n)
    lead, alone, shared = (SecretionUptake(mesh) for _ in range(3))
    lead.bind(pos, vol, rng.uniform(0, 1, n), 1.0, rng.uniform(0, 1, n))
    sec, upt = rng.uniform(0, 1, n), rng.uniform(0, 2, n)
    alone.bind(pos, vol, sec, 2.0, upt)
    shared.bind(pos, vol, sec, 2.0, upt, like=lead)
    u1, u2 = np.full(mesh.array_shape, 3.0), np.full(mesh.array_shape, 3.0)
    for _ in range(4):
        alone.step(u1, 0.1)
        shared.step(u2, 0.1)
    np.testing.assert_array_equal(u1, u2)
    assert shared.order is lead.order  # no second sort
    other = SecretionUptake(Mesh(2, (5, 5), 40.0))
    other.bind_rates(vol, sec, 2.0, upt)
    with pytest.raises(ValueError, match="same cells on the same mesh"):
        other.bind_positions(pos, like=lead)
