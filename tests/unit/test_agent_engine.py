"""The agent engine: params validation, check(), determinism over threads, checkpoint/resume."""

from __future__ import annotations

import copy

import numba
import numpy as np
import pytest
from tests.conftest import run_and_resume

import invasim
from invasim.errors import ConfigError
from invasim.models.agents import AgentModel
from invasim.physics.contacts import SIMPLE_PRESSURE_SCALE
from invasim.processes.contacts import pressure_and_contacts


def _data(**params):
    """A small, fast 2-D scenario with busy cell life (divisions, deaths, necrosis)."""
    p = {
        "dt_diffusion_min": 0.01,
        "dt_mechanics_min": 0.1,
        "cell_types": {
            "tumor": {
                "cycle": {"model": "live", "rate_per_min": 0.01, "pressure_threshold": 2.0},
                "death": {"apoptosis_rate_per_min": 0.002, "apoptosis_duration_min": 24.0},
                "motility": {
                    "speed_um_per_min": 0.5,
                    "persistence_time_min": 5.0,
                    "migration_bias": 0.3,
                },
                "secretion": {"uptake_per_min": {"oxygen": 10.0}},
            },
            "stroma": {
                "cycle": {"model": "live", "rate_per_min": 0.0},
                "secretion": {"uptake_per_min": {}},
            },
        },
        "initial": {"geometry": "ball", "n_cells": 80},
    }
    p.update(params)
    return {
        "name": "agents-test",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 40.0},
        "time": {
            "end_min": 60.0,
            "dt_min": 6.0,
            "output_interval_min": 12.0,
            "checkpoint_interval_min": 12.0,
        },
        "params": p,
    }


def _scenario(**params):
    return invasim.load_scenario(_data(**params))


def test_defaults_and_metric_names():
    sc = _scenario()
    sim = invasim.Simulation(sc, seed=3)
    m = sim.model
    assert isinstance(m, AgentModel)
    assert m.metric_names[:2] == ("n_cells", "tumor_radius_um")
    names = set(m.metric_names)
    assert {"n_tumor", "n_stroma", "necrotic_fraction", "oxygen_min", "pressure_max"} <= names
    assert "front_um" not in names  # it duplicated tumor_radius_um
    met = sim.metrics()
    assert met["n_cells"] == 80 and met["n_tumor"] == 80 and met["n_stroma"] == 0
    assert met["tumor_radius_um"] > 0
    assert met["oxygen_min"] == 38.0
    assert m.n_mech == 60 and m.n_diff == 10


@pytest.mark.parametrize(
    "params, needle",
    [
        ({"dt_mechanics_min": -0.1}, "dt_mechanics_min"),
        ({"cell_types": {}}, "at least one cell type"),
        ({"initial": {"geometry": "ball", "n_cells": 5, "cell_type": "ghost"}}, "'ghost'"),
        (
            {"cell_types": {"tumor": {"secretion": {"uptake_per_min": {"glucose": 1.0}}}}},
            "unknown field",
        ),
        ({"cell_types": {"tumor": {"volume": {"volume_um3": 0.0}}}}, "volume_um3"),
        ({"cell_types": {"tumor": {"death": {"necrosis_max_threshold_mmHg": 6.0}}}}, "necrosis"),
        ({"cell_types": {"tumor": {"cycle": {"model": "ki67"}}}}, "cycle.model"),
        ({"cell_types": {"tumor": {"bogus": 1.0}}}, "bogus"),
        ({"cell_types": {"tumor": {"cycle": {"rate_permin": 1.0}}}}, "mean 'rate_per_min'"),
        ({"processes": ["cycle", "mechanics"]}, "needs 'division'"),
        ({"processes": ["mechanix"]}, "did you mean 'mechanics'"),
        ({"initial": {"geometry": "ball"}}, "exactly one of n_cells"),
        ({"initial": {"geometry": "ball", "n_cells": 5000}}, "outside the domain"),
        ({"cell_types": {"bad name": {}}}, "must be a letter"),
    ],
)
def test_bad_params_rejected(params, needle):
    with pytest.raises(ConfigError, match=needle):
        _scenario(**params)


def test_check_rejects_unstable_mechanics_dt():
    with pytest.raises(ConfigError, match="mechanics stability limit"):
        _scenario(dt_mechanics_min=0.2, dt_diffusion_min=0.01)


def test_check_rejects_diffusion_dt_beyond_accuracy_limit():
    # 20 µm voxels: lod-cn with Dirichlet walls allows D dt / h² <= 2/3, i.e. 0.00267 min
    data = _data(dt_diffusion_min=0.01)
    data["mesh"]["voxel_um"] = 20.0
    with pytest.raises(ConfigError, match=r"accuracy limit 0\.002667 min for oxygen"):
        invasim.load_scenario(data)
    data["params"]["dt_diffusion_min"] = 0.0025
    invasim.load_scenario(data)


def test_check_rejects_non_divisor_time_steps():
    with pytest.raises(ConfigError, match="whole multiple of params.dt_diffusion_min"):
        _scenario(dt_diffusion_min=0.003)
    data = _data()
    data["time"].update(dt_min=6.05, output_interval_min=12.1, checkpoint_interval_min=12.1)
    with pytest.raises(ConfigError, match="whole multiple of params.dt_mechanics_min"):
        invasim.load_scenario(data)


def _run_state(threads: int, steps: int = 4):
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        sim = invasim.Simulation(_scenario(), seed=11)
        for _ in range(steps):
            sim.model.step(sim.fields, sim.time_min)
            sim.step_index += 1
    finally:
        numba.set_num_threads(before)
    return sim


def test_short_run_deterministic_and_thread_independent():
    if numba.config.NUMBA_NUM_THREADS < 2:  # pragma: no cover
        pytest.skip("needs 2 Numba threads")
    a, b, c = _run_state(1), _run_state(2), _run_state(2)
    ca, cb = a.model.state.cells.to_dict(), b.model.state.cells.to_dict()
    for k in ("position", "velocity", "volume", "dead", "phase", "id", "traits"):
        np.testing.assert_array_equal(ca[k], cb[k])
        np.testing.assert_array_equal(ca[k], c.model.state.cells.to_dict()[k])
    np.testing.assert_array_equal(a.fields["oxygen"], b.fields["oxygen"])
    # the life events really happened
    assert ca["next_id"] > 80 and np.any(ca["dead"] != 0)
    assert np.any(ca["generation"] > 0)
    # cells moved (motility) and took up oxygen
    assert a.fields["oxygen"].min() < 38.0


def test_pressure_is_physicell_simple_pressure():
    sim = invasim.Simulation(_scenario(initial={"geometry": "ball", "n_cells": 7}), seed=1)
    m = sim.model
    c = m.state.cells
    c.position[:] = [[200.0, 200.0, 0.0]] + [[0, 0, 0]] * 6
    r = c.radius[0]
    ang = np.arange(6) * np.pi / 3
    c.position[1:, 0] = 200.0 + 1.8 * r * np.cos(ang)
    c.position[1:, 1] = 200.0 + 1.8 * r * np.sin(ang)
    p = pressure_and_contacts(m.state, False)[0]
    np.testing.assert_allclose(p[0], 6 * (1 - 0.9) ** 2 / SIMPLE_PRESSURE_SCALE, rtol=1e-12)


def test_extra_state_round_trip():
    sim = _run_state(1, steps=2)
    m = sim.model
    state = copy.deepcopy(m.extra_state())
    frame = m.snapshot_tables()["cells"]
    assert len(frame) == m.state.cells.n
    assert {"x", "y", "type", "dead", "id", "pressure"} <= set(frame)
    other = invasim.Simulation(_scenario(), seed=11).model
    other.restore_extra_state(state)
    np.testing.assert_array_equal(other.state.pressure, m.state.pressure)
    for k, v in m.state.cells.to_dict().items():
        w = other.state.cells.to_dict()[k]
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(v, w)
        else:
            assert v == w


def test_resume_equals_uninterrupted(tmp_path):
    # a crash after the checkpoint at t = 36: later checkpoints dropped, marked running
    full, resumed = run_and_resume(_scenario(), 9, tmp_path, until=42, end=60.0, keep=4)
    assert resumed.meta["resumed_at_min"] == [36.0]
    np.testing.assert_array_equal(resumed.field("oxygen"), full.field("oxygen"))
    assert resumed.metrics.equals(full.metrics)
    for t in (48.0, 60.0):
        a, b = resumed.cells(t), full.cells(t)
        assert a.equals(b)
    assert full.cells(60.0)["id"].max() > 80


def test_per_face_dirichlet_voxels_hold_their_walls_only():
    # BioFVM's per-face options: xmin held at 38 mmHg, the other walls closed
    oxygen = {"kind": "diffusing", "unit": "mmHg", "boundary": "dirichlet-voxels",
              "boundary_faces": {"xmin": 38.0}, "initial": 0.0, "decay_per_min": 0.0}  # fmt: skip
    data = _data(fields={"oxygen": oxygen}, initial={"geometry": "ball", "n_cells": 0},
                 dt_diffusion_min=0.02)  # fmt: skip
    data["params"]["diffusion"] = {"scheme": "lod-be", "accuracy_check": False}
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    sim.model.step(sim.fields, sim.time_min)
    u = sim.fields["oxygen"][0]
    assert np.all(u[:, 0] == 38.0)  # the xmin column
    assert 0.0 < u[:, -1].max() < 38.0  # the far wall is not held
    np.testing.assert_allclose(u, np.broadcast_to(u[:1], u.shape), atol=1e-9)  # x only
    bad = _data(fields={"oxygen": {**oxygen, "boundary": "dirichlet"}})
    with pytest.raises(ConfigError, match="boundary_faces needs boundary = 'dirichlet-voxels'"):
        invasim.load_scenario(bad)
