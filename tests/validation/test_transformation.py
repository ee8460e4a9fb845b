"""Transformation between cell types: exponential waiting times at the set rates, competing.

The rates are the verify case of :mod:`invasim.verify.cases.transformation` (``invasim verify
-k transformation``), which gives the theory and the margins; rules, errors and newborn cells
are checked here only.
"""

from __future__ import annotations

import numpy as np
import pytest

import invasim
from invasim.errors import ConfigError
from invasim.verify.cases import transformation as tr
from invasim.verify.cases.transformation import N
from invasim.verify.cases.transformation import scenario_data as _data


def test_waiting_times_are_exponential_and_targets_split_by_rate():
    res = tr.waiting_times.run(quick=False)
    assert res.passed, (res.detail, res.checks)


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
