"""Validation cases of the vessels and of intravasation (``vessels``, ``intravasation``).

Contract:
    * ``intravasation waiting time is exponential``: cells touching a blood vessel at a fixed
      rate ``b`` (no factors) leave at the engine's phenotype steps ``k dt`` with survival
      ``P(T > k dt) = exp(−b k dt)`` exactly (the per-step probability ``1 − exp(−b dt)``).
      Measured: the Kolmogorov–Smirnov distance between the empirical survival over all cells
      and seeds and ``exp(−b t)`` at the step ends; accepted below ``1.63/√N`` (the 1 %
      critical value of the one-sample KS statistic; conservative for a distribution on a
      lattice of times). Checks: the pooled per-step hazard (events over cell-steps at risk)
      within 3 standard errors of ``1 − exp(−b dt)``; the censored mean time.
    * ``intravasation needs a vessel``: the same cells 3 µm beyond contact with the vessel at a
      rate of 1/min: none leaves (exactly 0, several seeds).
    * ``intravasation cluster leaves together``: a chain of five touching cells, one touching
      the vessel, at a high rate: one event of five cells (``max_cluster_cells = 10``), all
      gone in the same step; with ``max_cluster_cells = 3``: events of at most 3 cells, the
      first of exactly 3; the events table has one row per event, its sizes sum to the metric
      ``intravasated_cells`` and its count is ``intravasation_events``.
    * ``vessel oxygen profile``: a blood vessel along y at the centre of a no-flux window
      holds oxygen at ``c_v``; oxygen decays at ``λ`` and diffuses with ``D``. The steady
      profile is 1-D: ``c(s) = c(0) cosh((W − s)/L)/cosh(W/L)``, ``L = √(D/λ)``, ``s`` the
      distance from the first voxel centre outside the vessel, ``W`` from there to the wall.
      Measured: the largest relative error of the profile (voxel centres) after 10 decay
      times; 1 % (the discrete solution differs from the cosh law by ~0.03 % on 10-µm voxels
      with L = 100 µm). The reference is the first tissue voxel, not the vessel voxel: the
      supply holds the vessel voxel at ``c_v`` before each diffusion solve, which then lowers
      it (operator splitting), so the stored vessel value sits below ``c_v`` (35 of 38 mmHg
      here) while the tissue sees a source near ``c_v``.
"""

from __future__ import annotations

import math

import numpy as np

import invasim.processes.intravasation  # noqa: F401  (registers the processes)
import invasim.processes.vessels  # noqa: F401
from invasim.verify import Checks, Result, case

SOURCE = "mechanism definition (docs: vessels); exact solutions where stated"
R_VESSEL = 5.0
Y_VESSEL = 100.0


def _scenario(processes, end_min, cell_params=None, intra=None, fields=None, vessels=None,
              extent=(1000.0, 200.0)):  # fmt: skip
    p = {
        "processes": processes,
        "dt_mechanics_min": 0.1,
        "dt_diffusion_min": 0.1,
        "fields": {"vessels": {"kind": "matrix", "initial": 0.0}, **(fields or {})},
        "vessels": vessels or {"segments": [{"from": [0.0, Y_VESSEL], "to": [extent[0], Y_VESSEL],
                                             "radius_um": R_VESSEL, "kind": "blood"}]},
        "cell_types": {"tumor": {}},
        "initial": {"geometry": "ball", "n_cells": 1},
    }  # fmt: skip
    if "intravasation" in processes:
        p["cell_types"]["tumor"]["intravasation"] = {"rate_per_min": 0.0, **(cell_params or {})}
        p["intravasation"] = intra or {}
    return {
        "name": "intravasation-case", "model": "agents",
        "mesh": {"dim": 2, "extent_um": list(extent), "voxel_um": 10.0},
        "time": {"end_min": end_min, "dt_min": 6.0, "output_interval_min": end_min,
                 "checkpoint_interval_min": end_min},
        "params": p,
    }  # fmt: skip


def simulation(data, seed, place=None):
    """A Simulation of ``data``, its initial cells replaced by tumour cells at ``place(R)``.

    ``place``: ``R`` (the tumour cells' radius, µm) -> ``[m, 2]`` positions (µm); None: keep
    the scenario's initial cells.
    """
    import invasim

    sim = invasim.Simulation(invasim.load_scenario(data), seed=seed)
    if place is not None:
        s = sim.model.state
        s.remove(np.ones(s.cells.n, dtype=bool))
        vol = sim.model.params.cell_types["tumor"].volume.volume_um3
        radius = (3.0 * vol / (4.0 * math.pi)) ** (1.0 / 3.0)
        s.add_cells(np.asarray(place(radius), dtype=np.float64), 0, vol,
                    sim.model.params.trait_specs())  # fmt: skip
        s.pressure = np.zeros(s.cells.n)
        s.moved()
    return sim


def advance(sim, steps: int) -> None:
    """``steps`` phenotype steps of the model (no output)."""
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


def process(sim, name: str = "intravasation"):
    """The scenario's process ``name``."""
    return next(q for q in sim.model.processes if q.name == name)


def _row(n: int, gap: float, radius: float) -> np.ndarray:
    """``n`` cells in a row along the vessel, their surfaces ``gap`` µm from its wall."""
    x = 20.0 + 2.5 * radius * np.arange(n)  # no two in contact
    return np.stack([x, np.full(n, Y_VESSEL + R_VESSEL + radius + gap)], axis=1)


@case("intravasation waiting time is exponential",
      "intravasation: a cell at a vessel leaves at rate b, survival exp(-b t)", SOURCE)  # fmt: skip
def waiting_time(quick: bool) -> Result:
    """KS distance of the survival of cells at a vessel from exp(−b t)."""
    b, dt = 0.01, 6.0
    seeds = (1, 2, 3) if quick else tuple(range(1, 11))
    steps = 50
    data = _scenario(["vessels", "intravasation"], steps * dt, {"rate_per_min": b},
                     extent=(2000.0, 200.0))  # fmt: skip
    n0 = 90
    left = np.zeros(steps + 1)  # cells still there after k steps, summed over seeds
    for seed in seeds:
        sim = simulation(data, seed, lambda r: _row(n0, -0.5, r))
        left[0] += sim.model.state.cells.n
        for k in range(1, steps + 1):
            advance(sim, 1)
            left[k] += sim.model.state.cells.n
    total = left[0]
    t = dt * np.arange(steps + 1)
    ks = float(np.max(np.abs(left / total - np.exp(-b * t))))
    bound = 1.63 / math.sqrt(total)  # one-sample KS, alpha = 0.01
    chk = Checks()
    chk.that("every cell started at the vessel", total == n0 * len(seeds), f"{total:g}")
    mean_t = float(np.sum(left[:-1]) * dt / total)  # E[min(T, t_max)] from the survival
    expect_mean = (1.0 - math.exp(-b * steps * dt)) / (1.0 - math.exp(-b * dt)) * dt
    chk.rel("mean time (censored at the end)", mean_t, expect_mean, 4.0 / math.sqrt(total))
    # pooled per-step hazard (events / cell-steps at risk) vs 1 - exp(-b dt), 3 standard errors
    p = -math.expm1(-b * dt)
    at_risk = float(np.sum(left[:-1]))
    hazard = (total - left[-1]) / at_risk
    chk.near("pooled per-step hazard", hazard, p, 3.0 * math.sqrt(p * (1.0 - p) / at_risk))
    return chk.result(0.0, ks, bound, "", f"{int(total)} cells ({n0} x {len(seeds)} seeds), "
                      f"b = {b}/min, dt = {dt} min, {steps} steps; KS bound 1.63/sqrt(N) "
                      "(alpha 0.01)", "±")  # fmt: skip


@case("intravasation needs a vessel",
      "intravasation: a cell away from every vessel never enters one", SOURCE)  # fmt: skip
def needs_vessel(quick: bool) -> Result:
    """Cells 3 µm beyond contact at a rate of 1/min: none leaves."""
    seeds = (1, 2) if quick else (1, 2, 3, 4, 5)
    data = _scenario(["vessels", "intravasation"], 120.0, {"rate_per_min": 1.0})
    gone = 0
    chk = Checks()
    for seed in seeds:
        sim = simulation(data, seed, lambda r: _row(30, 3.0, r))
        advance(sim, 20)
        gone += 30 - sim.model.state.cells.n
        # the control: the same cells touching the vessel all leave (rate·dt = 6)
        near = simulation(data, seed, lambda r: _row(30, -0.5, r))
        advance(near, 3)
        chk.bound(f"seed {seed}: cells left at the vessel after 3 steps", near.model.state.cells.n,
                  "<=", 0)  # fmt: skip
    return chk.result(0.0, float(gone), 0.0, "cells",
                      f"30 cells x {len(seeds)} seeds, 120 min at b = 1/min, 3 µm from the wall",
                      "±")  # fmt: skip


def _chain(r: float) -> np.ndarray:
    """Five cells in a chain away from the vessel, touching (spacing 1.9 R), the first at it."""
    y0 = Y_VESSEL + R_VESSEL + r - 0.5
    return np.array([[500.0, y0 + 1.9 * r * k] for k in range(5)])


@case("intravasation cluster leaves together",
      "intravasation: a tumour cell takes its attached neighbours with it", SOURCE)  # fmt: skip
def cluster(quick: bool) -> Result:
    """A five-cell chain leaves in one event; capped at 3, in events of at most 3 cells."""
    chk = Checks()
    sizes_all = []
    seeds = (1, 2) if quick else (1, 2, 3, 4, 5)
    for seed in seeds:
        data = _scenario(["vessels", "intravasation"], 60.0, {"rate_per_min": 1.0},
                         {"max_cluster_cells": 10})  # fmt: skip
        sim = simulation(data, seed, _chain)
        ids = sim.model.state.cells.id.copy()
        advance(sim, 10)
        ev = process(sim).tables(sim.model.state)["intravasation_events"]
        cells = process(sim).tables(sim.model.state)["intravasated_cells"]
        sizes_all += list(ev["size"])
        sizes = list(ev["size"])
        chk.that(f"seed {seed}: one event of 5 cells", sizes == [5], str(sizes))
        chk.that(f"seed {seed}: all five recorded in the same event and step",
                 sorted(cells["id"]) == sorted(ids.tolist()) and cells["event"].nunique() == 1
                 and cells["event_time_min"].nunique() == 1)  # fmt: skip
        m = sim.model.metrics(sim.fields, sim.time_min)
        n_cells, n_events = m["intravasated_cells"], m["intravasation_events"]
        chk.that(f"seed {seed}: metrics match the table",
                 n_cells == ev["size"].sum() and n_events == len(ev),
                 f"{n_cells:g} cells, {n_events:g} events")  # fmt: skip
        capped = _scenario(["vessels", "intravasation"], 60.0, {"rate_per_min": 1.0},
                           {"max_cluster_cells": 3})  # fmt: skip
        sim = simulation(capped, seed, _chain)
        advance(sim, 10)
        ev = process(sim).tables(sim.model.state)["intravasation_events"]
        chk.that(f"seed {seed}: capped at 3: first event 3 cells, none above 3",
                 len(ev) >= 1 and ev["size"].iloc[0] == 3 and ev["size"].max() <= 3,
                 str(list(ev["size"])))  # fmt: skip
    return chk.result(5.0, float(np.mean(sizes_all)) if sizes_all else 0.0, 0.0, "cells",
                      f"a chain of 5 touching cells (spacing 1.9 R), b = 1/min, {len(seeds)} "
                      "seeds; mean event size", "±")  # fmt: skip


@case("vessel oxygen profile",
      "vessels: a blood vessel holds oxygen; the profile decays as cosh", SOURCE)  # fmt: skip
def oxygen_profile(quick: bool) -> Result:
    """Steady 1-D profile around a vessel along y in a no-flux window: cosh law, 3 %."""
    D, lam, cv = 1000.0, 0.1, 38.0
    L = math.sqrt(D / lam)
    extent = (200.0, 200.0) if quick else (400.0, 200.0)
    xv = extent[0] / 2
    data = _scenario(
        ["vessels", "diffusion"], 102.0,
        fields={"oxygen": {"initial": 0.0, "boundary": "no-flux", "decay_per_min": lam,
                           "diffusion_um2_per_min": D}},
        vessels={"segments": [{"from": [xv, 0.0], "to": [xv, extent[1]], "radius_um": R_VESSEL,
                               "kind": "blood"}],
                 "supply": [{"field": "oxygen", "value": cv}]},
        extent=extent,
    )  # fmt: skip
    sim = simulation(data, 1)
    advance(sim, 17)  # 102 min: ten decay times
    c = sim.fields["oxygen"][0].mean(axis=0)
    vessel = sim.fields["vessels"][0].mean(axis=0)
    h = 10.0
    edge = int(np.flatnonzero(vessel > 0).max()) + 1  # first tissue voxel on the + side
    x = (np.arange(c.size) + 0.5) * h
    s = x[edge:] - x[edge]
    W = extent[0] - x[edge]
    exact = c[edge] * np.cosh((W - s) / L) / np.cosh(W / L)
    err = float(np.max(np.abs(c[edge:] - exact) / exact))
    chk = Checks()
    chk.that("oxygen falls monotonically away from the vessel",
             bool(np.all(np.diff(c[edge - 1:]) < 0)))  # fmt: skip
    chk.bound("oxygen in the vessel voxel (mmHg)", float(c[edge - 1]), ">", 0.8 * cv)
    chk.rel("far/near oxygen", float(c[-1] / c[edge]), 1.0 / math.cosh(W / L), 0.01)
    return chk.result(0.0, err, 0.01, "", f"D = {D} µm²/min, λ = {lam}/min, L = {L:g} µm, "
                      f"window {extent[0]:g} µm, h = 10 µm; largest relative error of the "
                      "profile vs c(0) cosh((W - s)/L)/cosh(W/L) from the first tissue voxel",
                      "±")  # fmt: skip


CASES = [waiting_time, needs_vessel, cluster, oxygen_profile]
