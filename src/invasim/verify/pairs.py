"""Isolated pairs of cells: the setup of the interaction, attachment and transfer cases.

Contract:
    * :func:`scenario_data` a 2-D agent scenario (2400 µm box, 40 µm voxels, phenotype step
      :data:`PHENO` min) with the named processes and cell types and no initial cells;
      :func:`sim` the Simulation of it; :func:`pairs` replaces its cells by ``n`` pairs
      ``gap`` µm apart (in contact: the interaction reach is 1.25 (r_i + r_j) ≈ 21 µm), 60 µm
      between pairs, rows ``2a`` and ``2a + 1`` a pair; :func:`advance` steps the model.
    * :func:`binomial_ok`: a count over independent pairs within 4 binomial standard errors
      of ``n p`` (a false alarm has probability ~6e-5 per check).
"""

from __future__ import annotations

import math

import numpy as np

from invasim.config import load_scenario
from invasim.core.cells import Cells
from invasim.simulation import Simulation

#: mechanics step (the pair events' step), min
DT_MECH = 0.1
#: phenotype step, min
PHENO = 6.0
#: a cell type that neither dies by apoptosis nor is removed
STILL = {"death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 1e6}}


def scenario_data(processes, types, rules=None, fields=None) -> dict:
    """The scenario, as data (see the module docstring)."""
    params = {"processes": list(processes), "cell_types": types,
              "initial": {"geometry": "ball", "n_cells": 0}}  # fmt: skip
    if rules:
        params["rules"] = rules
    if fields:
        params["fields"] = fields
    return {
        "name": "interactions-test", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [2400.0, 2400.0], "voxel_um": 40.0},
        "time": {"end_min": 600.0, "dt_min": PHENO, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 600.0},
        "params": params,
    }  # fmt: skip


def sim(processes, types, seed=1, **kw) -> Simulation:
    """A Simulation of :func:`scenario_data`."""
    return Simulation(load_scenario(scenario_data(processes, types, **kw)), seed=seed)


def pairs(s: Simulation, n: int, kinds=(0, 1), second_dead=0, gap=15.0) -> Cells:
    """``n`` pairs: rows ``2a`` of type ``kinds[0]``, ``2a + 1`` of ``kinds[1]``."""
    m = s.model
    side = int(math.ceil(math.sqrt(n)))
    pos = np.zeros((2 * n, 3))
    for a in range(n):
        x, y = 60.0 + 60.0 * (a % side), 60.0 + 60.0 * (a // side)
        pos[2 * a] = (x, y, 0.0)
        pos[2 * a + 1] = (x + gap, y, 0.0)
    c = Cells(2, capacity=4 * n)
    types = np.tile(np.array(kinds, dtype=np.int32), n)
    c.add(2 * n, position=pos, type=types, volume=np.full(2 * n, 2494.0))
    c.dead[1::2] = second_dead
    m.cells = c
    for q in m.processes:
        q.setup(m.state)
    return c


def advance(s: Simulation, steps: int) -> None:
    """``steps`` phenotype steps of the model."""
    for _ in range(steps):
        s.model.step(s.fields, s.time_min)
        s.step_index += 1


def binomial_ok(count, n, p) -> bool:
    """``count`` within 4 binomial standard errors of ``n p``."""
    return abs(count - n * p) < 4 * math.sqrt(n * p * (1 - p)) + 1e-9


def binomial_margin(n, p) -> float:
    """The margin of :func:`binomial_ok`: 4 binomial standard errors (+ 1e-9)."""
    return 4 * math.sqrt(n * p * (1 - p)) + 1e-9
