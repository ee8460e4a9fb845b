"""Validation of PhysiCell's standard cycle models against their theory.

Free growth: each model's population grows at its Euler–Lotka rate and holds its stable phase
fractions (:func:`~invasim.biology.cycle.growth_rate` and
:func:`~invasim.biology.cycle.phase_fractions`, both for the discrete steps of 6 min). Phase
exits set by a rule: exponential waiting times with the rule's mean, or the rule's fixed
duration.

Every run uses fixed seeds, so the tests are deterministic; the margins say how surprising a
failure would be for a correct model. The seed-to-seed standard deviations behind them were
measured with this file's own :func:`grow` over 16 other seeds (100 .. 115) and are written
in :data:`SPREAD`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
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
from invasim.core.cells import Cells

DT = 6.0  # phenotype step, min
SEEDS = (1, 2, 3, 4)
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


@pytest.mark.parametrize("name", list(STANDARD_MODELS))
def test_free_growth_matches_euler_lotka_and_phase_fractions(name):
    """Growth rate and phase fractions of each model's defaults vs the discrete-step theory.

    Margins: 4 standard errors of the mean over the 4 seeds, from the measured seed-to-seed
    spread (:data:`SPREAD`): growth within 4 sd/√4 relative, each fraction within 4 sd/√4
    absolute (≈ 0.002 to 0.005). Power: the margins are far below what a wrong division
    phase would shift (checked below: advanced Ki67 with the division at the last phase, so
    daughters start Ki67-, moves the fractions by > 0.02).
    """
    model = standard_model(name)
    runs = [grow(model, seed) for seed in SEEDS]
    rate = float(np.mean([r[0] for r in runs]))
    frac = np.mean([r[1] for r in runs], axis=0)
    sd_rate, sd_frac = SPREAD[name]
    se = 1.0 / math.sqrt(len(SEEDS))
    theory = growth_rate(model, DT)
    assert abs(rate / theory - 1.0) < 4 * sd_rate * se, (rate, theory)
    expected = phase_fractions(model, DT)
    assert np.all(np.abs(frac - expected) < max(4 * sd_frac * se, 1e-12)), (frac, expected)
    if name == "advanced_Ki67":  # the test can tell where the division is
        wrong = CycleModel("x", model.phases, model.rates, model.fixed, (False, False, True))
        assert growth_rate(wrong, DT) == pytest.approx(theory, rel=1e-9)
        assert np.max(np.abs(phase_fractions(wrong, DT) - expected)) > 0.02
        assert 4 * sd_frac * se < 0.005


def _scenario(cycle: dict, rule: dict, n: int) -> dict:
    """2-D agent scenario with only the cycle and division processes and one rule."""
    return {"name": "cycle-exit-rule", "model": "agents", "seed": 1,
            "mesh": {"dim": 2, "extent_um": [1600.0, 1600.0], "voxel_um": 100.0},
            "time": {"end_min": 6000.0, "dt_min": DT, "output_interval_min": 600.0,
                     "checkpoint_interval_min": 6000.0},
            "params": {"processes": ["cycle", "division"], "fields": {},
                       "cell_types": {"tumor": {"cycle": cycle}},
                       "initial": {"geometry": "ball", "n_cells": n},
                       "rules": [{"cell_type": "tumor", **rule}]}}  # fmt: skip


def _time_rule(behaviour: str, rate: float) -> dict:
    """``time increases <behaviour>`` to ``rate``: half-max 1e-9 min, so the behaviour is the
    saturation (to 1e-10) at every fill (the first at t = 6 min)."""
    return {"signal": "time", "direction": "increases", "behaviour": behaviour,
            "saturation": rate, "half_max": 1e-9, "hill_power": 1.0}  # fmt: skip


def test_exit_rule_gives_exponential_waiting_times_with_its_mean():
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
    waits = []
    for seed in (1, 2, 3):
        sc = invasim.load_scenario(_scenario(cyc, _time_rule("exit from cycle phase 2", r), 600))
        sim = invasim.Simulation(sc, seed=seed)
        sim.model.cells.phase[:] = 2
        left = np.full(sim.model.cells.n, -1)
        for step in range(150):  # P(T > 150 steps) = e^-10
            sim.model.step(sim.fields, sim.time_min)
            sim.step_index += 1
            left[(left < 0) & (sim.model.cells.phase[: left.size] == 0)] = step + 1
        assert sim.model.cells.n == left.size  # phase 2 ends no cycle: nobody divided
        waits.append(left[left > 0])
    t = np.concatenate(waits)
    assert t.size > 0.99 * 1800
    p = -math.expm1(-r * DT)
    mean, sd = DT / p, DT * math.sqrt(1 - p) / p
    assert abs(t.mean() * DT - mean) < 4 * sd / math.sqrt(t.size), (t.mean() * DT, mean)
    assert abs(DT / -math.expm1(-DT / 150) - mean) > 25 * sd / math.sqrt(t.size)
    for j in (5, 15, 30):
        s = math.exp(-r * j * DT)
        assert abs(np.mean(t > j) - s) < 4 * math.sqrt(s * (1 - s) / t.size), (j, np.mean(t > j))


def test_exit_rule_sets_a_fixed_duration():
    """``exit from cycle phase 1`` = 1/300 per min on basic Ki67's fixed Ki67+ phase.

    The phase then lasts 1/rate = 300 min = 50 steps (its default 930 min = 155 steps): every
    cell that starts Ki67+ divides at step 50 and not before, over 3 seeds. No tolerance: a
    fixed duration is deterministic.
    """
    for seed in (1, 2, 3):
        sc = invasim.load_scenario(_scenario(
            {"model": "basic_Ki67", "durations_min": [math.inf, 930.0]},
            _time_rule("exit from cycle phase 1", 1.0 / 300.0), 200))  # fmt: skip
        sim = invasim.Simulation(sc, seed=seed)
        sim.model.cells.phase[:] = 1
        counts = []
        for _ in range(55):
            sim.model.step(sim.fields, sim.time_min)
            sim.step_index += 1
            counts.append(sim.model.cells.n)
        assert counts[48] == 200 and counts[49] == 400 and counts[-1] == 400, counts[45:52]
        assert np.all(sim.model.cells.phase == 0)  # both daughters Ki67- (never left)
