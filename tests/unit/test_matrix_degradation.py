"""The matrix-degradation process and matrix fields in the engine: exact, conserving, cheap."""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
from invasim.errors import ConfigError

K = 0.02  # degradation rate per unit of enzyme, 1/min
E = 0.5  # enzyme inside the disc


def _data(**params):
    p = {
        "processes": ["matrix_degradation"],
        "fields": {
            "ecm": {"kind": "matrix", "initial": 1.0, "upper": 1.0},
            "mmp": {"kind": "matrix", "initial": {"kind": "disc", "centre_um": [200.0, 200.0],
                                                  "radius_um": 100.0, "inside": E}},
            "fragments": {"kind": "matrix", "initial": 0.0},
        },
        "matrix_degradation": {"reactions": [
            {"matrix": "ecm", "enzyme": "mmp", "rate_per_unit_per_min": K,
             "product": "fragments"},
        ]},
        "cell_types": {"tumor": {}},
        "initial": {"geometry": "ball", "n_cells": 5},
    }  # fmt: skip
    p.update(params)
    return {
        "name": "degradation-test",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 20.0},
        "time": {"end_min": 60.0, "dt_min": 6.0, "output_interval_min": 30.0,
                 "checkpoint_interval_min": 60.0},
        "params": p,
    }  # fmt: skip


def test_degradation_is_exact_and_conserves_matrix_plus_product():
    sim = invasim.Simulation(invasim.load_scenario(_data()), seed=1)
    mmp = sim.fields["mmp"].copy()
    for _ in range(10):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    t = 60.0
    want = np.exp(-K * mmp * t)  # exp(-k e t) where the enzyme is, 1 elsewhere
    np.testing.assert_allclose(sim.fields["ecm"], want, rtol=1e-12)
    np.testing.assert_allclose(sim.fields["ecm"] + sim.fields["fragments"], 1.0, rtol=1e-12)
    inside = mmp == E
    assert inside.sum() > 50 and math.isclose(sim.fields["ecm"][inside].min(),
                                              math.exp(-K * E * t), rel_tol=1e-12)
    assert np.all(sim.fields["ecm"][mmp == 0] == 1.0)


def test_static_matrices_take_no_diffusion_step_and_the_engine_runs_without_cells_processes():
    data = _data(processes=["diffusion", "secretion"], dt_diffusion_min=0.0025, fields={
        "oxygen": {"kind": "diffusing"},
        "ecm": {"kind": "matrix", "initial": {"kind": "gaussian_random_field", "mean": 0.5,
                                              "std": 0.1, "correlation_um": 40.0,
                                              "lower": 0.0, "upper": 1.0}},
    })  # fmt: skip
    data["params"].pop("matrix_degradation")
    sim = invasim.Simulation(invasim.load_scenario(data), seed=3)
    ecm = sim.fields["ecm"].copy()
    diffusion = next(q for q in sim.model.processes if q.name == "diffusion")
    assert set(diffusion.solvers) == {"oxygen"}  # no solver for the matrix
    for _ in range(3):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    np.testing.assert_array_equal(sim.fields["ecm"], ecm)
    assert sim.fields["oxygen"].min() < 38.0  # the five cells took up oxygen


def test_relaxing_matrix_recovers_its_initial_values_exactly():
    data = _data(processes=[], fields={"ecm": {
        "kind": "matrix", "initial": 1.0, "relaxation_per_min": 0.01,
        "relaxation_target": 0.25}})  # fmt: skip
    data["params"].pop("matrix_degradation")
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    for _ in range(10):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    np.testing.assert_allclose(sim.fields["ecm"], 0.25 + 0.75 * math.exp(-0.01 * 60.0),
                               rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("key", ["matrix", "enzyme", "product"])
def test_a_reaction_naming_an_unknown_field_is_one_line(key):
    data = _data()
    data["params"]["matrix_degradation"]["reactions"][0][key] = "collagen"
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(data)
    msg = str(info.value)
    assert "\n" not in msg and f"reactions[0].{key} = 'collagen' is not a field" in msg
    assert "ecm, mmp, fragments" in msg


def test_a_process_table_without_its_process_is_an_unknown_key():
    data = _data(processes=["diffusion"])
    with pytest.raises(ConfigError, match="unknown key 'params.matrix_degradation'"):
        invasim.load_scenario(data)
