"""Validation of PhysiCell's standard cycle models against their theory.

Free growth: each model's population grows at its Euler–Lotka rate and holds its stable phase
fractions (:func:`~invasim.biology.cycle.growth_rate` and
:func:`~invasim.biology.cycle.phase_fractions`, both for the discrete steps of 6 min). Phase
exits set by a rule: exponential waiting times with the rule's mean, or the rule's fixed
duration.

Every run uses fixed seeds, so the cases are deterministic; the margins say how surprising a
failure would be for a correct model. The seed-to-seed standard deviations behind them were
measured with this module's own :func:`grow` over 16 other seeds (100 .. 115) and are written
in :data:`SPREAD`.

Contract:
    * Cases: ``cycle <model> free growth at the euler-lotka rate`` for each standard model
      (quick: seeds 1, 2, margins 4 sd/√2; full: seeds 1-4, margins 4 sd/√4), ``cycle exit
      rule gives exponential waiting times``, ``cycle exit rule sets a fixed duration`` (quick
      and full the same).
"""

from __future__ import annotations

import math

import numpy as np

from invasim.biology.cycle import (
    STANDARD_MODELS,
    CycleModel,
    CycleParams,
    advance_cycle,
    growth_rate,
    phase_fractions,
    standard_model,
)
from invasim.biology.division import divide
from invasim.config import load_scenario
from invasim.core.cells import Cells
from invasim.simulation import Simulation
from invasim.verify import Checks, Result, case

MECHANISM = "cycle"
SOURCE = "PhysiCell standard cycle models (Ghaffarizadeh et al. 2018); Euler-Lotka equation"
DT = 6.0  # phenotype step, min
SEEDS = (1, 2, 3, 4)
QUICK_SEEDS = (1, 2)
#: per model: seed-to-seed sd of the growth-rate estimate (relative) and of a phase fraction
#: (the largest over the phases), measured with :func:`grow` over seeds 100 .. 115
SPREAD = {
    "advanced_Ki67": (0.0039, 0.0013),
    "basic_Ki67": (0.0031, 0.0012),
    "flow_cytometry": (0.0044, 0.0023),
    "live": (0.0086, 0.0),
    "flow_cytometry_separated": (0.0046, 0.0025),
    "cycling_quiescent": (0.0031, 0.0012),
}


def grow(model: CycleModel, seed: int, n0=400, cap=4000, burn=800, steps=1800):
    """Free growth on the cycle alone: ``(growth rate 1/min, mean phase fractions)``.

    The founders start spread over the cycle (each phase in proportion to its mean duration,
    a fixed phase at a uniform whole-step age): the stable state of a population that does
    not grow, so no theory of the growing one goes into the start. The population is thinned
    to ``cap / 2`` at random whenever it exceeds ``cap`` (that keeps the phase mix and is
    counted in the growth); the rate is the slope of ln N after ``burn`` steps (the start's
    transient decays by e^-5 and more in that time, slowest for advanced Ki67), the fractions
    are averaged over the steps after it.
    """
    cyc = CycleParams.from_models([model])
    rng = np.random.default_rng(seed)
    cells = Cells(2, capacity=2 * cap)
    pos = np.zeros((n0, 3))
    pos[:, :2] = rng.uniform(0.0, 1000.0, (n0, 2))
    mean = 1.0 / np.asarray(model.rates)
    phase = rng.choice(model.n_phases, n0, p=mean / mean.sum())
    whole = np.maximum(1.0, np.ceil(mean / DT - 0.5))
    age = np.where(np.asarray(model.fixed)[phase], np.floor(rng.random(n0) * whole[phase]) * DT, 0)
    cells.add(n0, position=pos, phase=phase, time_in_phase=age)
    thinned = 0.0  # ln of the factor removed by thinning
    fractions = np.zeros(model.n_phases)
    for step in range(steps):
        divide(cells, advance_cycle(cells, cyc, DT, seed, step), seed, step)
        if cells.n > cap:
            drop = rng.choice(cells.n, cells.n - cap // 2, replace=False)
            thinned += math.log(cells.n / (cap // 2))
            cells.remove(drop)
        if step + 1 == burn:
            ln1 = math.log(cells.n) + thinned
        elif step + 1 > burn:
            fractions += np.bincount(cells.phase[: cells.n], minlength=model.n_phases) / cells.n
    ln2 = math.log(cells.n) + thinned
    return (ln2 - ln1) / ((steps - burn) * DT), fractions / (steps - burn)


def _free_growth(name: str):
    def check(quick: bool) -> Result:
        """Growth rate and phase fractions of the model's defaults vs the discrete-step theory.

        Margins: 4 standard errors of the mean over the seeds, from the measured seed-to-seed
        spread (:data:`SPREAD`): growth within 4 sd/√n relative, each fraction within 4 sd/√n
        absolute (≈ 0.002 to 0.005 with 4 seeds). Power: the margins are far below what a
        wrong division phase would shift (checked for advanced Ki67: the division at the last
        phase, so daughters start Ki67-, moves the fractions by > 0.02).
        """
        model = standard_model(name)
        seeds = QUICK_SEEDS if quick else SEEDS
        runs = [grow(model, seed) for seed in seeds]
        rate = float(np.mean([r[0] for r in runs]))
        frac = np.mean([r[1] for r in runs], axis=0)
        sd_rate, sd_frac = SPREAD[name]
        se = 1.0 / math.sqrt(len(seeds))
        theory = growth_rate(model, DT)
        expected = phase_fractions(model, DT)
        chk = Checks()
        tol_frac = max(4 * sd_frac * se, 1e-12)
        for i, (f, e) in enumerate(zip(frac, expected, strict=True)):
            chk.near(f"phase {i} fraction", float(f), float(e), tol_frac)
        if name == "advanced_Ki67":  # the check can tell where the division is
            wrong = CycleModel("x", model.phases, model.rates, model.fixed, (False, False, True))
            chk.rel("growth rate with the division moved (the same)", growth_rate(wrong, DT),
                    theory, 1e-9, "1/min")  # fmt: skip
            chk.bound("fraction shift with the division moved",
                      float(np.max(np.abs(phase_fractions(wrong, DT) - expected))), ">", 0.02)
            chk.bound("fraction margin", 4 * sd_frac * se, "<", 0.005)
        return chk.result(theory, rate, 4 * sd_rate * se * theory, "1/min",
                          f"slope of ln N over steps 800-1800, seeds {list(seeds)}; margin 4 "
                          f"standard errors (seed sd {sd_rate:g} relative)")  # fmt: skip

    check.__name__ = f"free_growth_{name}"
    return case(f"cycle {name} free growth at the euler-lotka rate", MECHANISM, SOURCE)(check)


#: the free-growth case of each standard model, by model name
FREE_GROWTH = {name: _free_growth(name) for name in STANDARD_MODELS}


def scenario(cycle: dict, rule: dict, n: int) -> dict:
    """2-D agent scenario with only the cycle and division processes and one rule."""
    return {"name": "cycle-exit-rule", "model": "agents", "seed": 1,
            "mesh": {"dim": 2, "extent_um": [1600.0, 1600.0], "voxel_um": 100.0},
            "time": {"end_min": 6000.0, "dt_min": DT, "output_interval_min": 600.0,
                     "checkpoint_interval_min": 6000.0},
            "params": {"processes": ["cycle", "division"], "fields": {},
                       "cell_types": {"tumor": {"cycle": cycle}},
                       "initial": {"geometry": "ball", "n_cells": n},
                       "rules": [{"cell_type": "tumor", **rule}]}}  # fmt: skip


def time_rule(behaviour: str, rate: float) -> dict:
    """The rule ``time increases <behaviour>`` to ``rate``.

    Half-max 1e-9 min, so the behaviour is the saturation (to 1e-10) at every fill (the first
    at t = 6 min).
    """
    return {"signal": "time", "direction": "increases", "behaviour": behaviour,
            "saturation": rate, "half_max": 1e-9, "hill_power": 1.0}  # fmt: skip


@case("cycle exit rule gives exponential waiting times", MECHANISM,
      "geometric (discrete exponential) waiting times of a constant rate")
def exit_rule_exponential(quick: bool) -> Result:
    """``exit from cycle phase 2`` = 1/90 per min on an exponential postmitotic phase.

    Advanced Ki67 with exponential phases, phase 0 never left, every cell starting in phase
    2 (type rate 1/150). The steps spent there are geometric, P(T > j) = exp(-r j dt) (the
    discrete form of an exponential of mean 1/r; the mean in minutes is dt / (1 - e^(-r dt))
    = 93.0 min). 3 seeds × 600 cells: the mean within 4 standard errors (sd of the geometric
    / √N), the survival at 3 ages within 4 binomial standard errors; the type's own rate (mean
    153 min) is 25 standard errors away.
    """
    r = 1.0 / 90.0
    cyc = {"model": "advanced_Ki67", "durations_min": [math.inf, 780.0, 150.0],
           "fixed_durations": False}  # fmt: skip
    chk = Checks()
    waits = []
    for seed in (1, 2, 3):
        sc = load_scenario(scenario(cyc, time_rule("exit from cycle phase 2", r), 600))
        sim = Simulation(sc, seed=seed)
        sim.model.cells.phase[:] = 2
        left = np.full(sim.model.cells.n, -1)
        for step in range(150):  # P(T > 150 steps) = e^-10
            sim.model.step(sim.fields, sim.time_min)
            sim.step_index += 1
            left[(left < 0) & (sim.model.cells.phase[: left.size] == 0)] = step + 1
        # phase 2 ends no cycle: nobody divided
        chk.that(f"nobody divided, seed {seed}", sim.model.cells.n == left.size)
        waits.append(left[left > 0])
    t = np.concatenate(waits)
    chk.bound("cells that left phase 2", t.size, ">", 0.99 * 1800)
    p = -math.expm1(-r * DT)
    mean, sd = DT / p, DT * math.sqrt(1 - p) / p
    tol = 4 * sd / math.sqrt(t.size)
    chk.bound("distance of the type's own rate, in standard errors",
              abs(DT / -math.expm1(-DT / 150) - mean) / tol * 4, ">", 25)  # fmt: skip
    for j in (5, 15, 30):
        s = math.exp(-r * j * DT)
        chk.near(f"P(T > {j} steps)", float(np.mean(t > j)), s,
                 4 * math.sqrt(s * (1 - s) / t.size))  # fmt: skip
    return chk.result(mean, float(t.mean() * DT), tol, "min",
                      f"mean time in phase 2 over {t.size} cells, 3 seeds; margin 4 standard "
                      "errors")  # fmt: skip


@case("cycle exit rule sets a fixed duration", MECHANISM, "deterministic: duration = 1/rate")
def exit_rule_fixed(quick: bool) -> Result:
    """``exit from cycle phase 1`` = 1/300 per min on basic Ki67's fixed Ki67+ phase.

    The phase then lasts 1/rate = 300 min = 50 steps (its default 930 min = 155 steps): every
    cell that starts Ki67+ divides at step 50 and not before, over 3 seeds. No tolerance: a
    fixed duration is deterministic.
    """
    chk = Checks()
    first = []
    for seed in (1, 2, 3):
        sc = load_scenario(scenario({"model": "basic_Ki67", "durations_min": [math.inf, 930.0]},
                                    time_rule("exit from cycle phase 1", 1.0 / 300.0), 200))
        sim = Simulation(sc, seed=seed)
        sim.model.cells.phase[:] = 1
        counts = []
        for _ in range(55):
            sim.model.step(sim.fields, sim.time_min)
            sim.step_index += 1
            counts.append(sim.model.cells.n)
        chk.that(f"200 cells to step 49, 400 from step 50 on, seed {seed}",
                 counts[48] == 200 and counts[49] == 400 and counts[-1] == 400,
                 str(counts[45:52]))  # fmt: skip
        # both daughters Ki67- (never left)
        chk.that(f"every cell Ki67- after, seed {seed}", bool(np.all(sim.model.cells.phase == 0)))
        grown = np.flatnonzero(np.array(counts) > 200)
        first.append(DT * (grown[0] + 1) if grown.size else math.inf)
    return chk.result(300.0, max(first), 0.0, "min",
                      "time of the first division (latest of 3 seeds), 200 cells each")
