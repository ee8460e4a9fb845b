"""A new mechanism is one module plus a scenario entry: a process written here, in the test.

The process keeps a per-cell internal state (a memory of hypoxia, integrated exactly), writes a
behaviour from it (layer 3 of the behaviour matrix: migration speed), provides a new signal that
rules can read, and reads a new behaviour that rules can set; its parameters are a cell-type
sub-table validated by its own schema. Nothing in the engine is changed for it.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

import invasim
from invasim.agents import process as process_registry
from invasim.agents.process import Process
from invasim.errors import ConfigError
from invasim.rules import dictionary

V_MAX = 0.6  # µm/min
O2_REF = 38.0  # mmHg


class MemoryCell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate_per_min: float = Field(0.05, ge=0, description="memory relaxation rate [1/min]")


class HypoxiaMemory(Process):
    """h relaxes to the oxygen at the cell: dh/dt = k (o2 - h), exact per step; speed from h."""

    name: ClassVar[str] = "hypoxia_memory"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = 50  # before the behaviours are filled: the fill sees the new h
    CellParams: ClassVar[type[BaseModel]] = MemoryCell
    signals: ClassVar[tuple[str, ...]] = ("hypoxia memory",)
    behaviours: ClassVar[tuple[str, ...]] = ("memory rate",)
    writes: ClassVar[tuple[str, ...]] = ("migration speed",)

    @classmethod
    def base_behaviours(cls, cell, params):
        return {"memory rate": cell.hypoxia_memory.rate_per_min}

    def setup(self, state):
        if state.cells.role_of("memory") is None:  # a per-cell internal state variable
            state.cells.add_internal("memory", O2_REF)

    def step(self, state, dt):
        h = state.cells.internal("memory")
        o2 = state.field_at_cells("oxygen")
        k = state.behaviours.column("memory rate")
        h[:] = o2 + (h - o2) * np.exp(-k * dt)

    def signal_values(self, state, template, target):
        return state.cells.internal("memory")

    def internal_behaviours(self, state, behaviours):
        h = state.cells.internal("memory")
        behaviours.column("migration speed")[:] = V_MAX * np.clip(1.0 - h / O2_REF, 0.0, 1.0)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(process_registry.REGISTRY, HypoxiaMemory.name, HypoxiaMemory)
    monkeypatch.setattr(dictionary, "_SIGNALS", list(dictionary._SIGNALS))
    monkeypatch.setattr(dictionary, "_BEHAVIOURS", list(dictionary._BEHAVIOURS))
    dictionary.register_signal("hypoxia memory", "mmHg", "the cell's remembered oxygen")
    dictionary.register_behaviour("memory rate", "1/min", "relaxation rate of the memory",
                                  lower=0.0)  # fmt: skip


def _data(rules=()):
    return {
        "name": "extension-test",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 40.0},
        "time": {"end_min": 60.0, "dt_min": 6.0, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 60.0},
        "params": {
            "processes": ["mechanics", "motility", "hypoxia_memory"],
            "fields": {"oxygen": {  # frozen: 5 mmHg left of x = 200 µm, 38 right of it
                "diffusion_um2_per_min": 0.0, "decay_per_min": 0.0, "boundary": "no-flux",
                "initial": {"kind": "layer", "axis": "x", "lo_um": 0.0, "hi_um": 200.0,
                            "value": 5.0, "background": 38.0}}},
            "cell_types": {"tumor": {"hypoxia_memory": {"rate_per_min": 0.05},
                                     "motility": {"persistence_time_min": 1e9}}},
            "initial": {"geometry": "layer", "spacing_um": 50.0,
                        "lo_um": [30.0, 150.0], "hi_um": [380.0, 250.0]},
            "rules": list(rules),
        },
    }  # fmt: skip


def test_a_new_process_with_internal_state_writes_a_behaviour(registered):
    sim = invasim.Simulation(invasim.load_scenario(_data()), seed=1)
    m = sim.model
    assert [q.name for q in m.processes] == ["mechanics", "motility", "hypoxia_memory"]
    for _ in range(4):
        m.step(sim.fields, sim.time_min)
        sim.step_index += 1
    c = m.cells
    o2 = m.state.field_at_cells("oxygen")
    h = c.internal("memory")
    # cells moved by at most a few µm: each stayed on its side of x = 200 µm
    want = o2 + (O2_REF - o2) * math.exp(-0.05 * 24.0)
    np.testing.assert_allclose(h, want, rtol=1e-12)
    left = c.position[:, 0] < 200.0
    assert left.sum() >= 4 and (~left).sum() >= 4
    # layer 3 set the speed from the memory at the last step's start (motion behaviours are
    # filled then, from the memory of 18 min); the motility process moved the hypoxic cells
    speed = m.behaviours.column("migration speed")
    h_start = o2 + (O2_REF - o2) * math.exp(-0.05 * 18.0)
    np.testing.assert_allclose(speed, V_MAX * (1.0 - h_start / O2_REF), rtol=1e-12)
    assert np.all(speed[left] > 0.2) and np.all(speed[~left] == 0.0)


def test_rules_read_the_new_signal_and_set_the_new_behaviour(registered):
    rules = [
        {"cell_type": "tumor", "signal": "hypoxia memory", "direction": "decreases",
         "behaviour": "memory rate", "saturation": 0.0, "half_max": 20.0, "hill_power": 2},
    ]  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(_data(rules)), seed=1)
    m = sim.model
    m.step(sim.fields, sim.time_min)
    sim.step_index += 1
    h = m.cells.internal("memory").copy()  # the memory at the next step's start: its fill reads it
    m.step(sim.fields, sim.time_min)
    rate = m.behaviours.column("memory rate")
    assert np.ptp(h) > 1.0  # the cells differ: the rule gives them different rates
    np.testing.assert_allclose(rate, 0.05 * (1 - h**2 / (20.0**2 + h**2)), rtol=1e-12)
    with pytest.raises(ConfigError, match="did you mean 'hypoxia memory'"):
        invasim.load_scenario(_data([{**rules[0], "signal": "hypoxia memroy"}]))


def test_its_cell_table_is_validated_by_its_schema(registered):
    data = _data()
    data["params"]["cell_types"]["tumor"]["hypoxia_memory"] = {"rate_per_min": -1.0}
    with pytest.raises(ConfigError, match="hypoxia_memory.rate_per_min"):
        invasim.load_scenario(data)
