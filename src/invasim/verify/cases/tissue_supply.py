"""Validation case of the tissue supply (a matrix field supplies a diffusing field).

The agent engine runs a small 2-D scenario with no cells, so the supplied field follows the
ODE ``dc/dt = ν m (c_s − c)`` voxel by voxel, solved by hand here:
``c(t) = c_s + (c0 − c_s) exp(−ν m t)``.

* a uniform field over a uniform matrix, with diffusion (no decay, no-flux walls, so the
  field stays uniform): the exact exponential;
* the same with the field on its own clock (``dt_min`` = 4 diffusion steps): the same value
  at the end of every phenotype step;
* a matrix disc (1 inside, 0 outside), no diffusion: the exponential inside, the initial
  value exactly outside (no tissue, no supply).

The tolerance is round-off: 1e-10 relative over ~1000 exact per-step updates and LOD solves
of a uniform field (each ~1e-16); a wrong rate, matrix weighting or clock (dt × k) would be
off by 1e-3 or more.

Contract:
    * Case ``tissue supply relaxes a field as exp(-nu m t)`` (quick and full forms are the
      same, about a second); :func:`run_supply` is shared with the unit tests.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import invasim.processes.tissue_supply  # noqa: F401  (registers the process)
from invasim.verify import Checks, Result, case

NU = 0.01  # supply rate per unit matrix, 1/min
C_S = 20.0  # supply value, mmHg
C0 = 5.0  # initial oxygen, mmHg
M0 = 0.5  # uniform matrix density
DT = 6.0  # phenotype step, min
STEPS = 10  # phenotype steps: t = 60 min
REL = 1e-10
EXTENT = 200.0  # µm
H = 20.0  # µm


def exact(t: float, m: float, c0: float = C0) -> float:
    """``c(t) = c_s + (c0 − c_s) exp(−ν m t)``."""
    return C_S + (c0 - C_S) * math.exp(-NU * m * t)


def scenario(matrix_initial: Any = M0, *, diffusion: bool = True, dt_min: float | None = None,
             **supply: Any) -> dict:  # fmt: skip
    """A small 2-D scenario with no cells: oxygen supplied by a matrix field ``ecm``."""
    oxygen = {"kind": "diffusing", "diffusion_um2_per_min": 1000.0, "decay_per_min": 0.0,
              "boundary": "no-flux", "initial": C0}  # fmt: skip
    if dt_min is not None:
        oxygen["dt_min"] = dt_min
    params = {
        "processes": (["diffusion"] if diffusion else []) + ["tissue_supply"],
        "dt_diffusion_min": 0.05,
        "dt_mechanics_min": 0.2,
        "fields": {"oxygen": oxygen, "ecm": {"kind": "matrix", "initial": matrix_initial}},
        "tissue_supply": {"sources": [{"field": "oxygen", "matrix": "ecm",
                                       "rate_per_min": NU, "value": C_S,
                                       "source": "test value"}], **supply},
        "cell_types": {"tumor": {}},
        "initial": {"geometry": "ball", "n_cells": 0},
    }  # fmt: skip
    return {
        "name": "tissue-supply-case",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [EXTENT, EXTENT], "voxel_um": H},
        "time": {"end_min": STEPS * DT, "dt_min": DT, "output_interval_min": STEPS * DT,
                 "checkpoint_interval_min": STEPS * DT},
        "params": params,
    }  # fmt: skip


def run_supply(data: dict, steps: int = STEPS, seed: int = 1) -> tuple[Any, list[np.ndarray]]:
    """Run ``steps`` phenotype steps; the simulation and the oxygen after each step."""
    import invasim

    sim = invasim.Simulation(invasim.load_scenario(data), seed=seed)
    out = []
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
        out.append(sim.fields["oxygen"].copy())
    return sim, out


DISC = {"kind": "disc", "centre_um": [EXTENT / 2, EXTENT / 2], "radius_um": 60.0,
        "inside": 1.0, "outside": 0.0}  # fmt: skip


@case("tissue supply relaxes a field as exp(-nu m t)", "tissue supply (oxygen from the matrix)",
      "exact: dc/dt = nu m (c_s - c), matrix held")  # fmt: skip
def supply_exact(quick: bool) -> Result:
    """Uniform, own-clock and disc runs against the exact exponential."""
    chk = Checks()
    worst = 0.0
    for label, data in (("uniform, with diffusion", scenario()),
                        ("uniform, own clock dt_min = 0.2", scenario(dt_min=0.2))):  # fmt: skip
        _, series = run_supply(data)
        for i, c in enumerate(series):
            want = exact((i + 1) * DT, M0)
            err = float(np.abs(c / want - 1.0).max())
            worst = max(worst, err)
        chk.near(f"relative error at t = {STEPS * DT:g} min, {label}", err, 0.0, REL)
    sim, series = run_supply(scenario(DISC, diffusion=False))
    ecm, c = sim.fields["ecm"], series[-1]
    inside, outside = ecm == 1.0, ecm == 0.0
    chk.that("disc has voxels inside and outside", inside.sum() > 10 and outside.sum() > 10)
    err = float(np.abs(c[inside] / exact(STEPS * DT, 1.0) - 1.0).max())
    worst = max(worst, err)
    chk.near("relative error inside the disc (m = 1)", err, 0.0, REL)
    chk.that("no supply outside the disc (m = 0)", bool(np.all(c[outside] == C0)))
    return chk.result(0.0, worst, REL, "relative",
                      f"largest |c / exact - 1| over 3 runs x {STEPS} steps of {DT:g} min "
                      f"(nu = {NU}, c_s = {C_S}, c0 = {C0}); bound: round-off")  # fmt: skip
