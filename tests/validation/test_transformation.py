"""Transformation between cell types: exponential waiting times at the set rates, competing.

Setup: 2000 cells of type ``a`` that neither move, divide nor die; ``a`` transforms into ``b``
at 0.01/min and into ``c`` at 0.03/min (the total R = 0.04/min), over 10 phenotype steps of
6 min, three seeds. Theory: the fraction still ``a`` after ``t`` is ``exp(−R t)`` (the draw is
exact per step, so this holds at the step times without a time-step error), and a transformed
cell went to ``c`` with probability 0.75.

Tolerance: 4 binomial standard errors of the 2000 cells at each checked time (a false alarm
has probability ~6e-5 per check); the per-seed deviations are checked, not only their mean.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
from invasim.errors import ConfigError

N = 2000
RATE_B, RATE_C = 0.01, 0.03


def _data(rates=None, processes=("transformation",)):
    still = {}  # no cycle, death or motility process: only the transformation runs
    return {
        "name": "transformation-test",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [1200.0, 1200.0], "voxel_um": 40.0},
        "time": {"end_min": 60.0, "dt_min": 6.0, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 60.0},
        "params": {
            "processes": list(processes),
            "cell_types": {
                "a": {**still, "transformation": {"rates_per_min": rates or {"b": RATE_B,
                                                                            "c": RATE_C}}},
                "b": dict(still), "c": dict(still),
            },
            "initial": {"geometry": "ball", "n_cells": N, "spacing_um": 16.0},
        },
    }  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_waiting_times_are_exponential_and_targets_split_by_rate(seed):
    sim = invasim.Simulation(invasim.load_scenario(_data()), seed=seed)
    ids0 = sim.model.cells.id.copy()
    total = RATE_B + RATE_C
    for k in range(1, 11):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
        t = 6.0 * k
        c = sim.model.cells
        assert c.n == N and np.array_equal(np.sort(c.id), np.sort(ids0))  # same cells
        p = math.exp(-total * t)
        frac_a = np.mean(c.type == 0)
        assert abs(frac_a - p) < 4 * math.sqrt(p * (1 - p) / N), (t, frac_a, p)
    moved = c.type != 0
    to_c = np.mean(c.type[moved] == 2)
    m = moved.sum()
    assert abs(to_c - 0.75) < 4 * math.sqrt(0.75 * 0.25 / m), (to_c, m)
    assert not np.any(c.type[moved] == 0)


def test_a_rule_can_set_the_rate_and_unknown_targets_fail():
    data = _data(rates={"b": 0.0})
    data["params"]["rules"] = [{"cell_type": "a", "signal": "time", "direction": "increases",
                                "behaviour": "transition to b", "saturation": 1.0,
                                "half_max": 1e-9, "hill_power": 1}]  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    sim.model.step(sim.fields, sim.time_min)
    # the rate is 1/min from t > 0: all but exp(-6) ≈ 0.25 % transform in the first step
    assert np.mean(sim.model.cells.type == 1) > 0.99
    with pytest.raises(ConfigError, match="'d', which is not a cell type"):
        invasim.load_scenario(_data(rates={"d": 0.1}))
    data["params"]["processes"] = ["cycle", "division"]
    data["params"]["cell_types"]["a"].pop("transformation")
    with pytest.raises(ConfigError, match="not read by the listed processes"):
        invasim.load_scenario(data)


def test_newborn_cells_transform_at_their_mothers_rate_not_at_random():
    # a dividing type with no transformation next to one that transforms: the daughters born
    # in a step (rows appended by division, before transformation runs) must read their own
    # rates (0), not whatever lies beyond the behaviour matrix (issue 10 regression)
    data = _data(rates={"b": 0.0}, processes=("cycle", "division", "transformation"))
    data["params"]["cell_types"]["a"]["cycle"] = {"model": "live", "rate_per_min": 0.05,
                                                  "oxygen_dependent": False}  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(data), seed=2)
    for _ in range(4):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    c = sim.model.cells
    assert c.n > N and np.all(c.type == 0), np.bincount(c.type)
