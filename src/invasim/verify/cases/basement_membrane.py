"""Validation cases of the basement membrane (``basement_membrane``, ``basement_membrane_breach``).

Contract:
    * ``bm barrier stops cells``: cells crawling (persistent random walk, the engine with AB2)
      and cells pushed against an intact one-voxel BM (constant push plus counter-based noise,
      pushes up to 1000 µm/min, i.e. 100 µm per step: ten voxels) never put a centre into or
      beyond it. Expected 0 crossings, exactly; several seeds.
    * ``bm degraded lets cells through``: the same crawling cells, the BM degraded below
      ``passable_below``: most cross (a direction-of-effect case).
    * ``bm force rupture``: a voxel loaded above its strength loses density exactly as
      ``exp(−k (σ/σ_c − 1) t)``; loaded below it, none.
    * ``bm breach metrics``: hand-made fields with a known gap (2-D length, 3-D area and
      equivalent diameter, exact to the voxel), and the first breach time of a BM degraded at a
      known rate (``ln 2 / (k e)``, rounded up to the phenotype step).
    * ``bm weaker breaches earlier``: a growing carcinoma in situ on a BM: a weaker BM
      (lower ``rupture_pressure``) breaches first; a strong one not at all.
"""

from __future__ import annotations

import math

import numpy as np

import invasim.processes.basement_membrane  # noqa: F401  (registers the processes)
from invasim.core.cells import Cells
from invasim.core.mesh import Mesh
from invasim.core.rng import normals
from invasim.physics import basement_membrane as bmk
from invasim.physics.mechanics import move
from invasim.verify import Result, case

SOURCE = "mechanism definition (docs: basement-membrane); exact solutions where stated"
#: rng stream of the noise in these cases (not used by any process)
STREAM_CASE = 91
BM_LO, BM_HI = 100.0, 110.0  # the BM voxel row of the cases' 2-D meshes (h = 10 µm)


def _scenario(processes, end_min, bm=1.0, extra=None, cells=None, fields=None, types=None):
    """A small 2-D agent scenario with a one-voxel BM at y = 100-110 µm."""
    p = {
        "processes": processes,
        "dt_mechanics_min": 0.1,
        "dt_diffusion_min": 0.1,
        "fields": {"basement_membrane": {
            "kind": "matrix", "upper": 1.0,
            "initial": {"kind": "layer", "axis": "y", "lo_um": BM_LO, "hi_um": BM_HI,
                        "value": bm}}},
        "cell_types": types or {"tumor": {}},
        "initial": cells or {"geometry": "layer", "lo_um": [20.0, 118.0],
                             "hi_um": [180.0, 150.0]},
    }  # fmt: skip
    p["fields"].update(fields or {})
    p.update(extra or {})
    return {
        "name": "bm-case", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [200.0, 200.0], "voxel_um": 10.0},
        "time": {"end_min": end_min, "dt_min": 6.0, "output_interval_min": end_min,
                 "checkpoint_interval_min": end_min},
        "params": p,
    }  # fmt: skip


def _simulate(data, seed):
    import invasim

    sim = invasim.Simulation(invasim.load_scenario(data), seed=seed)
    n = int(round(data["time"]["end_min"] / data["time"]["dt_min"]))
    for _ in range(n):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    return sim


def _crawlers(bm: float, reference: float | None, end_min: float, seed: int) -> np.ndarray:
    """The y coordinates of the crawling cells after ``end_min``."""
    types = {"tumor": {"motility": {"speed_um_per_min": 2.0, "persistence_time_min": 10.0}}}
    extra = {"basement_membrane": {"reference_density": reference}} if reference else None
    data = _scenario(["mechanics", "motility", "basement_membrane"], end_min, bm, extra,
                     types=types)  # fmt: skip
    return _simulate(data, seed).model.state.cells.position[:, 1].copy()


def _pushed(push: float, seed: int, steps: int, bm_value: float = 1.0) -> np.ndarray:
    """The y of 40 cells pushed down at ``push`` µm/min plus noise, AB2, through the kernel."""
    mesh = Mesh(2, (20, 20), 10.0)
    bm = np.zeros(mesh.array_shape)
    bm[0, 10, :] = bm_value
    n = 40
    cells = Cells(2, capacity=n)
    x = 5.0 + 190.0 * (np.arange(n) + 0.5) / n
    cells.add(n, position=np.stack([x, np.full(n, 112.0), np.zeros(n)], axis=1),
              type=np.zeros(n, np.int32), volume=np.full(n, 2494.0))  # fmt: skip
    for k in range(steps):
        noise = np.stack([normals(seed, k, cells.id, STREAM_CASE, a) for a in (0, 1)], axis=1)
        cells.velocity[:, :2] = 0.2 * push * noise
        cells.velocity[:, 1] -= push
        bmk.barrier_velocities(cells.position, cells.velocity, cells.velocity_prev, 0.1, True, 2,
                               bm, mesh.h, 1.0, 0.25, 0.5)  # fmt: skip
        move(cells, 0.1, "ab2")
        cells.position[:, 0] = np.clip(cells.position[:, 0], 0.0, 200.0)
    return cells.position[:, 1].copy()


@case("bm barrier stops cells", "basement membrane: an intact BM stops crawling and pushed cells",
      SOURCE)  # fmt: skip
def barrier_stops(quick: bool) -> Result:
    """No centre into or beyond an intact BM, crawling (engine) or pushed (kernel, AB2)."""
    seeds = (1, 2) if quick else (1, 2, 3, 4, 5)
    end = 300.0 if quick else 1200.0
    crossed = 0
    lowest = math.inf
    for s in seeds:
        y = _crawlers(1.0, None, end, s)
        crossed += int(np.sum(y < BM_HI))
        lowest = min(lowest, float(y.min()))
        for push in (1.0, 10.0, 1000.0):
            y = _pushed(push, s, 200 if quick else 1000)
            crossed += int(np.sum(y < BM_HI))
            lowest = min(lowest, float(y.min()))
    return Result(0.0, float(crossed), 0.0, "cells",
                  detail=f"{len(seeds)} seeds, crawling 2 µm/min for {end:g} min and pushed at "
                         f"1-1000 µm/min; lowest centre {lowest:.6f} µm, BM top face {BM_HI} µm")


@case("bm degraded lets cells through", "basement membrane: a degraded BM lets cells pass",
      SOURCE)  # fmt: skip
def degraded_passes(quick: bool) -> Result:
    """With the BM at 0.2 of its intact density (below passable_below), crawlers cross.

    Direction of effect: the intact BM lets none through (previous case); here, over the seeds,
    more than a fifth of the cells end below the BM (an unbiased walk with an RMS
    displacement of ~150 µm in 300 min from a start 8-40 µm above the BM puts about half of
    them below; one fifth is a margin of several standard deviations for ~40 cells a seed).
    """
    seeds = (1, 2) if quick else (1, 2, 3, 4, 5)
    end = 300.0 if quick else 1200.0
    fractions = [float(np.mean(_crawlers(0.2, 1.0, end, s) < BM_LO)) for s in seeds]
    pushed = float(np.mean(_pushed(10.0, 1, 100, bm_value=0.2) < BM_LO))
    measured = float(np.mean(fractions))
    ok = measured > 0.2 and pushed == 1.0
    return Result(0.5, measured, 0.3, "1", passed=ok,
                  detail=f"fraction of crawlers below the BM per seed {np.round(fractions, 2)}; "
                         f"pushed cells through: {pushed:.2f}; pass: mean > 0.2 and all pushed")


@case("bm force rupture", "basement membrane: loads above its strength tear it, below do not",
      "exact solution of dρ/dt = −k (σ/σ_c − 1) ρ at constant load")  # fmt: skip
def force_rupture(quick: bool) -> Result:
    """One voxel row, cells with a given pressure resting on it; 100 steps of 6 min."""
    mesh = Mesh(2, (10, 10), 10.0)
    k, strength, dt, steps = 0.01, 2.0, 6.0, 100
    worst = 0.0
    for ratio in (0.5, 0.99, 1.2, 2.0, 4.0):
        bm = np.zeros(mesh.array_shape)
        bm[0, 5, :] = 1.0
        pos = np.array([[25.0, 65.0, 0.0], [55.0, 65.0, 0.0]])  # 5 µm above the BM's top face
        radius = np.full(2, 8.41)
        pressure = np.array([ratio * strength, ratio * strength])
        for _ in range(steps):
            s, c = np.zeros(bm.size), np.zeros(bm.size)
            bmk.bm_load(pos, radius, pressure, 2, bm, mesh.h, s, c)
            bmk.rupture(bm, s, c, 1.0, strength, k, dt, False)
        want = math.exp(-k * max(ratio - 1.0, 0.0) * dt * steps)
        loaded = bm[0, 5, 1:7]  # voxels the two bodies reach into (x 16.6-33.4, 46.6-63.4 µm)
        worst = max(worst, float(np.max(np.abs(loaded - want))))
        worst = max(worst, float(np.max(np.abs(bm[0, 5, [0, 7, 8, 9]] - 1.0))))
    return Result(0.0, worst, 1e-12, "1",
                  detail="max |ρ − exp(−k (σ/σ_c − 1) t)| over σ/σ_c in {0.5, 0.99, 1.2, 2, 4} "
                         "(untouched voxels must stay 1)")


@case("bm breach metrics", "basement membrane: breached length, area, first breach time",
      "hand-made fields; exact solution ρ = exp(−k e t) of matrix degradation")  # fmt: skip
def breach_metrics(quick: bool) -> Result:
    """Known gaps on 2-D/3-D fields; first breach time of a BM degraded at a known rate."""
    errors = []
    m2 = Mesh(2, (40, 20), 10.0)
    a = np.zeros(m2.array_shape)
    a[0, 8, :] = 1.0
    a[0, 8, 10:17] = 0.3  # 7 voxels breached
    a[0, 8, 30] = 0.5  # exactly at the threshold: not breached
    init = np.zeros(m2.array_shape)
    init[0, 8, :] = 1.0
    init[0, 8, 39] = 0.0  # never held a BM: not counted with the initial field given
    a[0, 8, 39] = 0.0
    errors.append(bmk.breached_length(a, 10.0, m2, 0.5, init) - 70.0)
    errors.append(bmk.breached_length(a, 10.0, m2, 0.5) - 80.0)
    m3 = Mesh(3, (12, 12, 8), 5.0)
    b = np.zeros(m3.array_shape)
    b[3] = 1.0
    b[3, 2:6, 2:6] = 0.0  # a 4 x 4 hole: 400 µm²
    b[3, 9, 9] = 0.1  # a second, single-voxel hole: 25 µm²
    errors.append(bmk.breached_extent(b, 5.0, m3) - 425.0)
    want = 2 * math.sqrt(400 / math.pi) + 2 * math.sqrt(25 / math.pi)
    errors.append(bmk.breached_length(b, 5.0, m3) - want)
    # first breach: an enzyme e in x < 60 µm degrades the BM at k e: breached at ln 2 / (k e)
    k, e, dt = 0.01, 0.5, 6.0
    enzyme = {"enzyme": {"kind": "matrix", "initial": {
        "kind": "layer", "axis": "x", "lo_um": 0.0, "hi_um": 60.0, "value": e}}}  # fmt: skip
    extra = {"matrix_degradation": {"reactions": [
        {"matrix": "basement_membrane", "enzyme": "enzyme", "rate_per_unit_per_min": k}]}}
    cells = {"geometry": "ball", "n_cells": 1, "center_um": [150.0, 170.0]}
    data = _scenario(["matrix_degradation", "basement_membrane_breach"], 300.0, extra=extra,
                     cells=cells, fields=enzyme)  # fmt: skip
    sim = _simulate(data, 1)
    q = next(p for p in sim.model.processes if p.name == "basement_membrane_breach")
    got = q.metrics(sim.model.state)
    t_star = math.ceil(math.log(2) / (k * e) / dt) * dt  # the end of the step it happens in
    errors.append(got["bm_first_breach_min"] - t_star)
    errors.append(got["bm_breached_um"] - 60.0)
    worst = float(np.max(np.abs(errors)))
    return Result(0.0, worst, 1e-9, "µm or min",
                  detail=f"2-D gap 70 µm, 3-D holes 425 µm² (equivalent diameters {want:.3f} "
                         f"µm), first breach {t_star:g} min (ln 2/(k e) = "
                         f"{math.log(2) / (k * e):.1f}), 60 µm breached; errors {errors}")


def cis_run(rupture_pressure: float, end_min: float, seed: int = 1):
    """A growing CIS (fast cycle) pushing on a BM of ``rupture_pressure``: the Simulation."""
    types = {"tumor": {
        "cycle": {"oxygen_dependent": False, "durations_min": [60.0, 120.0, 60.0, 30.0]},
        "death": {"necrosis_oxygen_dependent": False, "necrosis_max_rate_per_min": 0.0,
                  "apoptosis_rate_per_min": 0.0}}}  # fmt: skip
    extra = {"basement_membrane_breach": {"rupture_pressure": rupture_pressure,
                                          "rupture_rate_per_min": 0.05}}  # fmt: skip
    cells = {"geometry": "layer", "lo_um": [60.0, 118.0], "hi_um": [140.0, 150.0]}
    data = _scenario(["mechanics", "basement_membrane", "contacts", "volume", "death", "cycle",
                      "division", "basement_membrane_breach"], end_min, extra=extra,
                     cells=cells, types=types)  # fmt: skip
    return _simulate(data, seed)


def cis_first_breach(rupture_pressure: float, end_min: float, seed: int = 1) -> float:
    """First breach time of :func:`cis_run` (min; NaN: none)."""
    return float(cis_run(rupture_pressure, end_min, seed).model.state.counters[
        "bm_first_breach_min"])


@case("bm weaker breaches earlier", "basement membrane: a weaker BM breaches earlier under a CIS",
      SOURCE)  # fmt: skip
def weaker_earlier(quick: bool) -> Result:
    """First breach times for three strengths: increasing with strength, NaN for the strong."""
    end = 480.0 if quick else 720.0
    strengths = (0.75, 1.5, 50.0)
    times = [cis_first_breach(p, end) for p in strengths]
    ok = (math.isfinite(times[0]) and math.isfinite(times[1]) and times[0] < times[1]
          and math.isnan(times[2]))  # fmt: skip
    return Result(math.nan, times[0], math.nan, "min", passed=ok,
                  detail=f"first breach at rupture_pressure {strengths}: {times} min "
                         f"(pass: increasing, none for the strongest)")
