"""Transformation between cell types: exponential waiting times at the set rates, competing.

Setup: 2000 cells of type ``a`` that neither move, divide nor die; ``a`` transforms into ``b``
at 0.01/min and into ``c`` at 0.03/min (the total R = 0.04/min), over 10 phenotype steps of
6 min, three seeds. Theory: the fraction still ``a`` after ``t`` is ``exp(−R t)`` (the draw is
exact per step, so this holds at the step times without a time-step error), and a transformed
cell went to ``c`` with probability 0.75.

Tolerance: 4 binomial standard errors of the 2000 cells at each checked time (a false alarm
has probability ~6e-5 per check); the per-seed deviations are checked, not only their mean.

Contract:
    * Case (quick and full forms are the same, under a second): ``transformation waiting
      times exponential, targets split by rate``.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.config import load_scenario
from invasim.simulation import Simulation
from invasim.verify import Checks, Result, case

N = 2000
RATE_B, RATE_C = 0.01, 0.03


def scenario_data(rates=None, processes=("transformation",)) -> dict:
    """2000 cells of type a, transforming to b and c at the given rates."""
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


@case("transformation waiting times exponential, targets split by rate", "transformation",
      "competing exponential rates (PhysiCell 1.14 transformation)")
def waiting_times(quick: bool) -> Result:
    """Fraction still ``a`` = exp(−R t) at every step; transformed cells went to c with p 0.75."""
    total = RATE_B + RATE_C
    chk, finals = Checks(), []
    for seed in (1, 2, 3):
        sim = Simulation(load_scenario(scenario_data()), seed=seed)
        ids0 = sim.model.cells.id.copy()
        for k in range(1, 11):
            sim.model.step(sim.fields, sim.time_min)
            sim.step_index += 1
            t = 6.0 * k
            c = sim.model.cells
            if not (c.n == N and np.array_equal(np.sort(c.id), np.sort(ids0))):  # same cells
                chk.that(f"the same cells at {t:g} min, seed {seed}", False)
            p = math.exp(-total * t)
            frac_a = float(np.mean(c.type == 0))
            chk.near(f"fraction still a at {t:g} min, seed {seed}", frac_a, p,
                     4 * math.sqrt(p * (1 - p) / N))  # fmt: skip
        finals.append(frac_a)
        moved = c.type != 0
        m = int(moved.sum())
        chk.near(f"share of transformed cells in c, seed {seed}",
                 float(np.mean(c.type[moved] == 2)), 0.75, 4 * math.sqrt(0.75 * 0.25 / m))
        chk.that(f"no transformed cell is a, seed {seed}", not np.any(c.type[moved] == 0))
    p = math.exp(-total * 60.0)
    return chk.result(p, float(np.mean(finals)), 4 * math.sqrt(p * (1 - p) / N), "",
                      "fraction still a at 60 min, mean of 3 seeds x 2000 cells (each seed and "
                      "step within 4 binomial SE)")  # fmt: skip
