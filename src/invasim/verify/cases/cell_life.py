"""Validation of cell life, coupling and motility against their theory.

Margins are statistical and stated per case; every run uses fixed seeds, so the cases are
deterministic (the margins say how surprising a failure would be for a correct model).

Contract:
    * Cases (quick and full forms are the same, about a second each): ``cycle live free
      growth is exponential``, ``cycle flow_cytometry_separated growth over seeds at the
      euler-lotka rate``, ``death necrotic fraction at constant low oxygen``, ``secretion
      uptake and diffusion balance mass``, ``motility persistent random walk msd``,
      ``motility biased walk drift``.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.biology import (
    CycleParams,
    DeathParams,
    VolumeParams,
    advance_cycle,
    advance_death,
    divide,
    flow_cytometry_separated,
    growth_rate,
    live,
    update_volumes,
)
from invasim.core.cells import ALIVE, Cells
from invasim.core.mesh import Mesh
from invasim.physics.diffusion import Diffusion
from invasim.physics.exchange import SecretionUptake
from invasim.physics.motility import Motility, MotilityParams, msd_theory
from invasim.verify import Checks, Result, case

DT = 6.0  # phenotype step, min
PHYSICELL = "PhysiCell (Ghaffarizadeh et al. 2018)"
NO_DEATH = DeathParams(apoptosis_rate=0.0, necrosis_max_rate=0.0)


def seed_cells(n, dim=2):
    """``n`` cells at uniform random positions in a 1000 µm box."""
    cells = Cells(dim, capacity=n)
    rng = np.random.default_rng(0)
    pos = np.zeros((n, 3))
    pos[:, :dim] = rng.uniform(0, 1000, (n, dim))
    cells.add(n, position=pos)
    return cells


def life_step(cells, cyc, vol, dth, seed, step, o2=None):
    """One phenotype step in the documented order."""
    update_volumes(cells, vol, dth, DT)
    gone = advance_death(cells, dth, DT, seed, step, o2=o2)
    divide(cells, advance_cycle(cells, cyc, DT, seed, step), seed, step)
    cells.remove(gone)


@case("cycle live free growth is exponential", "cycle", "Yule process; " + PHYSICELL)
def live_growth(quick: bool) -> Result:
    """Ln N(t)/N0 over 5 seeds is within 3 standard errors of r t.

    Theory: each of N0 founders grows as a Yule process, so Var(N)/E[N]² = (1 - e^{-rt})/N0
    and sd(ln N) ≈ sqrt((1 - e^{-rt})/N0) per seed. The discrete steps give the rate
    ln(2 - e^{-r dt})/dt, 0.43 % below r at dt = 6 min; both are checked.
    """
    n0, steps, seeds = 100, 700, range(5)
    model = live()
    r = model.rates[0]
    cyc = CycleParams.from_models([model])
    logs = []
    for seed in seeds:
        cells = seed_cells(n0)
        for step in range(steps):
            life_step(cells, cyc, VolumeParams(), NO_DEATH, seed, step)
        logs.append(math.log(cells.n / n0))
    t = steps * DT
    se = math.sqrt((1 - math.exp(-r * t)) / n0 / len(logs))
    mean = float(np.mean(logs))
    chk = Checks()
    chk.near("ln N/N0 against the continuous r t", mean, r * t, 3 * se)
    return chk.result(growth_rate(model, DT) * t, mean, 3 * se, "",
                      "ln N/N0 after 4200 min, 5 seeds x 100 cells; margin 3 standard errors")


@case("cycle flow_cytometry_separated growth over seeds at the euler-lotka rate", "cycle",
      "Euler-Lotka equation; " + PHYSICELL)
def flow_growth(quick: bool) -> Result:
    """Long-run growth rate of the 4-phase model vs the Euler–Lotka rate.

    The slope of ln N between 1500 and 4500 min (transient gone: the subdominant roots decay at
    ≥ 5e-3/min) over 6 seeds is within 3 standard errors (sample SE across seeds) of the
    discrete-step Euler–Lotka rate, and within 3 SE + the known discretisation shift of the
    continuous one (prod λ_i/(λ_i + α) = 1/2).
    """
    model = flow_cytometry_separated()
    cyc = CycleParams.from_models([model])
    t1, t2 = 250, 750  # steps
    slopes = []
    for seed in range(6):
        cells = seed_cells(200)
        for step in range(t2):
            life_step(cells, cyc, VolumeParams(), NO_DEATH, seed, step)
            if step + 1 == t1:
                n1 = cells.n
        slopes.append(math.log(cells.n / n1) / ((t2 - t1) * DT))
    mean, se = float(np.mean(slopes)), float(np.std(slopes, ddof=1) / math.sqrt(len(slopes)))
    a_disc, a_cont = growth_rate(model, DT), growth_rate(model)
    chk = Checks()
    chk.near("against the continuous rate (+ its discretisation shift)", mean, a_cont,
             3 * se + abs(a_cont - a_disc), "1/min")  # fmt: skip
    chk.bound("standard error / rate (the check has power)", se / a_cont, "<", 0.02)
    return chk.result(a_disc, mean, 3 * se, "1/min",
                      "slope of ln N over 1500-4500 min, 6 seeds x 200 cells; margin 3 "
                      "sample standard errors")  # fmt: skip


@case("death necrotic fraction at constant low oxygen", "death",
      "1 - exp(-rate t); PhysiCell's necrosis law")
def necrotic_fraction(quick: bool) -> Result:
    """Fraction of cells dead by necrosis at 3.75 mmHg vs 1 - exp(-rate t), rate = 1/720 /min.

    10,000 cells (5 seeds × 2000); no cycle, no apoptosis; each checkpoint within 4 binomial
    standard errors sqrt(p (1 - p) / N).
    """
    dth = DeathParams(apoptosis_rate=0.0)
    o2 = 3.75
    rate = dth.necrosis_rate(np.array([o2]), np.array([0]))[0]
    chk = Checks()
    chk.rel("necrosis rate at 3.75 mmHg", rate, 1 / 720, 1e-6, "1/min")
    checkpoints = {20: 0, 60: 0, 120: 0, 240: 0}
    n_per, seeds = 2000, range(5)
    for seed in seeds:
        cells = seed_cells(n_per)
        for step in range(max(checkpoints)):
            update_volumes(cells, VolumeParams(), dth, DT)
            gone = advance_death(cells, dth, DT, seed, step, o2=np.full(cells.n, o2))
            cells.remove(gone)
            if step + 1 in checkpoints:
                checkpoints[step + 1] += n_per - int(np.sum(cells.dead == ALIVE))
    n = n_per * len(seeds)
    for steps, dead in checkpoints.items():
        p = 1 - math.exp(-rate * steps * DT)
        chk.near(f"dead fraction at {steps * DT:g} min", dead / n, p,
                 4 * math.sqrt(p * (1 - p) / n))  # fmt: skip
    p = 1 - math.exp(-rate * 240 * DT)
    return chk.result(p, checkpoints[240] / n, 4 * math.sqrt(p * (1 - p) / n), "",
                      "dead fraction at 1440 min (and 120, 360, 720), 10,000 cells; margin 4 "
                      "binomial standard errors")  # fmt: skip


@case("secretion uptake and diffusion balance mass", "secretion",
      "exact: the field changes by the cells' exchanges")
def exchange_balance(quick: bool) -> Result:
    """Closed box, no decay: total substrate changes by exactly Σ cell exchanges (round-off)."""
    chk, worst = Checks(), (0.0, 0.0, 0.0)
    for dim in (2, 3):
        mesh = Mesh(dim, (30,) * dim, 20.0)
        cells = seed_cells(3000, dim=dim)
        cells.position[:, :dim] *= 0.6
        rng = np.random.default_rng(5)
        su = SecretionUptake(mesh)
        sec = np.where(rng.random(cells.n) < 0.5, rng.uniform(0, 2, cells.n), 0.0)
        su.bind(cells.position, cells.volume, sec, 38.0, rng.uniform(0, 10, cells.n),
                rng.normal(0, 50, cells.n))  # fmt: skip
        diff = Diffusion(mesh, D=1e5, decay=0.0, dt=0.01)
        u = np.full(mesh.array_shape, 38.0)
        total0 = u.sum() * su.voxel_volume
        exchanged, ex = 0.0, np.empty(cells.n)
        for _ in range(200):
            su.step(u, 0.01, exchanged=ex)
            exchanged += ex.sum()
            diff.step(u)
        total = u.sum() * su.voxel_volume
        chk.bound(f"|exchanged| / total, {dim}-D", abs(exchanged) / total0, ">", 1e-3)
        chk.rel(f"field change vs exchanges, {dim}-D", total - total0, exchanged, 1e-9)
        if dim == 3:
            worst = (exchanged, total - total0, 1e-9 * abs(exchanged))
    return chk.result(*worst, unit="substrate · µm³",
                      detail="3-D, 3000 cells, 200 steps of 0.01 min (2-D checked too)")


@case("motility persistent random walk msd", "motility",
      "persistent random walk: 2 v² P (t - P (1 - e^{-t/P}))")
def random_walk_msd(quick: bool) -> Result:
    """MSD of free walkers (v = 2 µm/min, P = 5 min, dt = 0.1 min) vs the theory.

    4000 walkers; at t >> P the displacement is Gaussian, so the relative SE of the MSD
    estimator is sqrt(2 / (dim N)) (≤ 1.6 %); each checkpoint within 4 SE of the exact value
    for the discrete steps, and within 4 SE + 1 % of the continuous 2 v² P (t - P(1 - e^{-t/P})).
    """
    v, P, dt, n = 2.0, 5.0, 0.1, 4000
    chk, last = Checks(), None
    for dim in (2, 3):
        cells = Cells(dim, capacity=n)
        cells.add(n)
        mot = Motility(MotilityParams(speed=v, persistence_time=P))
        x0 = cells.position.copy()
        checks = {10: None, 50: None, 200: None, 500: None}
        for step in range(max(checks)):
            cells.velocity[:] = 0.0
            mot.step(cells, dt, seed=11, step=step)
            cells.position[:] += dt * cells.velocity
            if step + 1 in checks:
                checks[step + 1] = float(np.mean(np.sum((cells.position - x0) ** 2, axis=1)))
        for steps, msd in checks.items():
            t = steps * dt
            want = msd_theory(t, v, P, dt)
            se = math.sqrt(2 / (dim * n)) * want
            chk.near(f"msd at {t:g} min, {dim}-D (discrete steps)", msd, want, 4 * se, "µm²")
            cont = msd_theory(t, v, P)
            chk.near(f"msd at {t:g} min, {dim}-D (continuous)", msd, cont, 4 * se + 0.01 * cont,
                     "µm²")  # fmt: skip
            last = (want, msd, 4 * se)
    return chk.result(*last, unit="µm²", detail="3-D at 50 min, 4000 walkers; margin 4 "
                                                "standard errors (2-D and 3 other times too)")


@case("motility biased walk drift", "motility", "drift v E[d·g] of the biased direction")
def biased_drift(quick: bool) -> Result:
    """Constant gradient along +x: b = 1 drifts at exactly v; b = 0.5 at v E[d·ĝ] (quadrature).

    2-D, 4000 walkers: the mean x-velocity is within 4 SE (sample SE) of the theory.
    """
    n, v = 4000, 3.0
    grad = np.tile([0.2, 0.0, 0.0], (n, 1))
    chk, half = Checks(), None
    for b in (1.0, 0.5, 0.0):
        cells = Cells(2, capacity=n)
        cells.add(n)
        mot = Motility(MotilityParams(speed=v, persistence_time=2.0, bias=b))
        vx = []
        for step in range(50):
            cells.velocity[:] = 0.0
            mot.step(cells, 0.1, seed=3, step=step, bias_dir=grad)
            vx.append(cells.velocity[:, 0].copy())
        vx = np.concatenate(vx)
        theta = np.linspace(0, 2 * np.pi, 200001)[:-1]
        dx, dy = (1 - b) * np.cos(theta) + b, (1 - b) * np.sin(theta)
        expect = v * np.mean(dx / np.hypot(dx, dy))
        if b == 1.0:
            chk.that("bias 1: every x-velocity is v", bool(np.allclose(vx, v)))
        se = vx[:n].std() / math.sqrt(n)  # first step: independent draws
        chk.near(f"mean vx, first step, bias {b:g}", float(vx[:n].mean()), expect,
                 4 * se + 1e-12, "µm/min")  # fmt: skip
        chk.near(f"mean vx, 50 steps, bias {b:g}", float(vx.mean()), expect, 4 * se + 1e-12,
                 "µm/min")  # fmt: skip
        if b == 0.5:
            half = (expect, float(vx.mean()), 4 * se + 1e-12)
    return chk.result(*half, unit="µm/min", detail="bias 0.5, 4000 walkers over 50 steps "
                                                   "(bias 1 and 0 too); margin 4 SE")
