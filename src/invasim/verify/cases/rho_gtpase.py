"""Validation cases of the Rac/Rho switch and the migration modes (process ``rho_gtpase``).

* **Folds**: the two saddle-node folds of the §5 set in ``b_R`` (the module's roots of
  ``B'(R) = 0``) against the fold conditions solved as one system (``f = 0``, ``det J = 0``
  in ``(R, ρ, b_R)``, SciPy's ``fsolve``, 1e-8) and against brute force: cells on a grid of
  ``b_R`` integrated for 4000 min (TR-BDF2) from the Rho-high (Rac-high) state, the last
  ``b_R`` that keeps it bracketed in three refinements (1e-4: passing a fold's ghost takes
  ``~π / sqrt(a ε)``, so cells within ~1e-6 of it have not switched yet).
* **Steady states**: a grid of initial conditions integrated for 600 min by SciPy (LSODA on
  the equations written in NumPy, independent of the Numba kernel) ends on the diagram's
  stable branches (within 1e-6), with two distinct end states inside the window, one outside.
* **Hysteresis**: cells whose ``b_R`` (a trait, 0.97–1.03, times a scheduled factor) is swept
  up then down by 0.01 per 6-min step switch mode past the folds, within the sweep's lag.
* **Switching**: tumour cells in a collagen field switch modes only through cues: TGF-β
  (rule on ``emt induction``) makes them leave the epithelial mode; the collagen around them
  (rule on ``rho activation``: dense matrix → RhoA) makes them amoeboid unless their own MMP
  clears it; under an MMP inhibitor (their ``mmp secretion`` × 0) they stay amoeboid, and
  become mesenchymal once it is lifted; TGF-β removed, they return to epithelial.
* **MSD**: isolated cells held in each mode walk with the mode's speed and persistence; the
  MSD against the exact value for invasim's motility (redraw with probability
  ``1 − exp(−Δt/P)`` per mechanics step, Adams–Bashforth 2 moves), within 4 standard errors.
* **ROCK inhibition**: cells with ``b_R`` spread over 2–3.8 settle; their amoeboid count is
  the number below the upper fold; a ROCK inhibitor (``rock activity`` × 0.9, × 0.5) moves
  the folds down and the count follows (×0.5: none left).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import invasim.processes.rho_gtpase  # noqa: F401  (registers the process)
from invasim.biology.internal import integrate
from invasim.biology.rho_gtpase import (
    AMOEBOID,
    EPITHELIAL,
    MESENCHYMAL,
    RHO_GTPASE,
    EMTSwitch,
    RacRho,
    folds,
    steady_states,
    sweep_lag,
)
from invasim.verify import Checks, Result, case

MECHANISM = "Rac/Rho mutual antagonism and migration modes (rho_gtpase)"
SOURCE_SET = "model reference §5 (R_T = ρ_T = 3, n = 3, δ = 1, b_ρ = 3; computed)"
DT = 6.0  # min, the phenotype step
RAC_HIGH = (2.0754080441, 0.6955476836)  # the two stable states at b_R = b_ρ = 3
RHO_HIGH = (0.6955476836, 2.0754080441)
#: a non-epithelial cell: EMT state 1 held by strong induction (> 0.465 d)
NOT_EPITHELIAL = {"initial_emt": 1.0, "emt_induction_per_min": 0.01}


def scenario(types: dict, processes=("rho_gtpase",), *, extent: float = 2000.0,
             n_cells: int = 50, spacing: float = 16.0, voxel: float = 40.0,
             dt_mechanics: float = 0.1, dt_diffusion: float = 0.1,
             **params: Any) -> dict:  # fmt: skip
    """A 2-D agent scenario: ``n_cells`` packed at the centre (first type); ``params`` more."""
    p = {
        "processes": list(processes),
        "dt_mechanics_min": dt_mechanics,
        "dt_diffusion_min": dt_diffusion,
        "cell_types": types,
        "initial": {"geometry": "ball", "n_cells": n_cells, "spacing_um": spacing},
        **params,
    }
    return {
        "name": "rho-gtpase-case", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [extent, extent], "voxel_um": voxel},
        "time": {"end_min": 1000 * DT, "dt_min": DT, "output_interval_min": 1000 * DT,
                 "checkpoint_interval_min": 1000 * DT},
        "params": p,
    }  # fmt: skip


def simulation(data: dict, seed: int = 1):
    """The simulation of ``data``."""
    import invasim

    return invasim.Simulation(invasim.load_scenario(data), seed=seed)


def advance(sim, steps: int) -> None:
    """``steps`` phenotype steps."""
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


def modes(sim) -> np.ndarray:
    """``[n]`` the cells' modes."""
    return sim.model.cells.state("mode").astype(np.int64)


# -- 1. folds ---------------------------------------------------------------------------------
def fold_conditions(p: RacRho, guess) -> np.ndarray:
    """``(R, ρ, b_R)`` solving ``f_R = f_ρ = 0``, ``det J = 0`` from ``guess`` (fsolve)."""
    from scipy.optimize import fsolve

    def eqs(x):
        q = p.with_(b_rac=x[2])
        fr, fq = q.rhs(x[0], x[1])
        return [fr, fq, np.linalg.det(q.jacobian(x[0], x[1]))]

    return fsolve(eqs, guess, xtol=1e-13)


def brute_force_fold(p: RacRho, lo: float, hi: float, start, leaves, cells: int = 32,
                     rounds: int = 3, t_end: float = 4000.0) -> float:  # fmt: skip
    """The fold in ``b_R`` bracketed by long integrations (TR-BDF2, one cell per ``b_R``).

    ``start``: the state at ``lo`` to follow; ``leaves(rac, rho)``: whether a cell left it.
    The bracket shrinks ``cells − 1``-fold per round around the first cell that left.
    """
    u_fixed = [p.b_rho, p.rock, 0.0]
    # per-cell [n, k] inputs and parameters, as the process passes them (one compiled kernel)
    prm = np.tile([p.rac_total, p.rho_total, p.hill, p.delta, 0.0, 0.5, 1.0, 1.0], (cells, 1))
    for _ in range(rounds):
        b = np.linspace(lo, hi, cells)
        y = np.tile([start[0], start[1], 0.0], (cells, 1))
        u = np.column_stack([b, np.tile(u_fixed, (cells, 1))])
        integrate(RHO_GTPASE, y, t_end, u, prm, rtol=1e-8, atol=1e-12)
        left = leaves(y[:, 0], y[:, 1])
        if left.all() == left.any():  # not bracketed
            return math.nan
        first = int(np.argmax(left != left[0]))
        lo, hi = b[first - 1], b[first]
    return 0.5 * (lo + hi)


@case("rac-rho folds in b_R", MECHANISM, SOURCE_SET + "; fold conditions f = 0, det J = 0")
def folds_case(quick: bool = True) -> Result:
    """The folds against the fold conditions and against brute-force integration."""
    p = RacRho()
    lower, upper = folds(p, "b_rac")
    ck = Checks()
    for name, f in (("lower", lower), ("upper", upper)):
        r, rho, b = fold_conditions(p, [f.rac * 1.05, f.rho * 0.95, f.value * 1.02])
        ck.near(f"{name} fold, fold conditions (fsolve)", b, f.value, 1e-8)
        ck.near(f"{name} fold state R", r, f.rac, 1e-6)
    # upper: the Rho-high state is lost (cells end Rac-high); lower: the Rac-high one is lost
    up = brute_force_fold(p, 3.3, 3.5, RHO_HIGH, lambda r, q: r > q)
    low = brute_force_fold(p, 2.75, 2.55, RAC_HIGH, lambda r, q: r < q)
    tol = 5e-5  # the last bracket (0.2/31³ = 7e-6) and the ghost's delay (~1e-6)
    ck.near("lower fold, brute force", low, lower.value, tol)
    ck.bound("window width", upper.value - lower.value, ">", 0.5)
    return ck.result(upper.value, up, tol, "1/min",
                     f"folds {lower.value:.6f}, {upper.value:.6f} 1/min (B'(R) = 0); brute force "
                     f"{low:.6f}, {up:.6f} (32 cells per round, 4000 min)")  # fmt: skip


# -- 2. steady states from a grid of initial conditions -----------------------------------------
def end_states(p: RacRho, y0: np.ndarray, t_end: float = 600.0) -> np.ndarray:
    """``[m, 2]`` states after ``t_end`` from ``y0`` ``[m, 2]`` (SciPy LSODA, NumPy rhs)."""
    from scipy.integrate import solve_ivp

    m = y0.shape[0]

    def f(t, y):
        dr, dq = p.rhs(y[:m], y[m:])
        return np.concatenate([dr, dq])

    sol = solve_ivp(f, (0.0, t_end), np.concatenate([y0[:, 0], y0[:, 1]]), method="LSODA",
                    rtol=1e-10, atol=1e-12)  # fmt: skip
    return np.column_stack([sol.y[:m, -1], sol.y[m:, -1]])


@case("rac-rho steady states from a grid of starts", MECHANISM,
      SOURCE_SET + "; SciPy LSODA, independent of the Numba kernel")  # fmt: skip
def steady_states_case(quick: bool = True) -> Result:
    """Every start ends on a stable branch; 2 distinct end states inside the window, 1 out."""
    p = RacRho()
    lower, upper = (f.value for f in folds(p, "b_rac"))
    k = 6 if quick else 12
    # offset grids: no start on the diagonal R = ρ (invariant at b_R = b_ρ: the saddle's)
    r0, q0 = np.meshgrid(np.linspace(0.05, 2.95, k + 1), np.linspace(0.1, 2.9, k))
    y0 = np.column_stack([r0.ravel(), q0.ravel()])
    values = [2.0, 2.8, 3.2, 4.0] if quick else [1.5, 2.0, 2.4, 2.6, 2.7, 2.9, 3.0, 3.1,
                                                  3.3, 3.38, 3.45, 3.6, 4.0, 4.5]  # fmt: skip
    ck = Checks()
    worst, wrong = 0.0, 0
    for b in values:
        q = p.with_(b_rac=b)
        stable = np.array([(s.rac, s.rho) for s in steady_states(q) if s.stable])
        end = end_states(q, y0)
        dist = np.min(np.linalg.norm(end[:, None, :] - stable[None], axis=2), axis=1)
        worst = max(worst, float(dist.max()))
        distinct = len({tuple(np.round(e, 5)) for e in end})
        want = 2 if lower < b < upper else 1
        wrong += int(distinct != want or len(stable) != want)
        ck.that(f"b_R = {b}: {want} stable state(s)", distinct == want == len(stable),
                f"{distinct} distinct end states, {len(stable)} stable on the diagram")
    ck.bound("largest distance of an end state from a stable branch", worst, "<", 1e-6)
    return ck.result(0, wrong, 0, "", f"{len(y0)} starts × {len(values)} values of b_R, 600 "
                     f"min; window ({lower:.4f}, {upper:.4f})")  # fmt: skip


# -- 3. hysteresis through the engine -------------------------------------------------------------
SWEEP_STEP = 0.01  # 1/min per phenotype step


def sweep_interventions(values) -> list[dict]:
    """One ``scale rac activation`` per phenotype step (the type's b_R is 1)."""
    return [{"kind": "scale", "behaviour": "rac activation", "value": float(v),
             "from_min": DT * k, "until_min": DT * (k + 1)}
            for k, v in enumerate(values)]  # fmt: skip


@case("rac-rho hysteresis: mode switches at the folds", MECHANISM,
      SOURCE_SET + "; slow sweep of b_R up and down; delayed jump past a fold (Haberman, SIAM "
      "J Appl Math 1979; 37:69)")  # fmt: skip
def hysteresis_case(quick: bool = True) -> Result:
    """Cells switch to Rac-high past the upper fold going up, back past the lower going down.

    A fold passed at a slow sweep rate ``r`` is left late, by ``Ω r^⅔ |c α|^(−1/3)`` in b_R
    (normal form ``x' = α (b − b_f) + c x²``, Ω = 2.338: 0.0625 and 0.0572 here at
    r = 0.01 per 6 min). Each cell's switch (its own b_R when its mode first flips) must be
    past the fold, and within 0.015 (the sweep step 0.01 and higher-order terms) of fold +
    lag.
    """
    p = RacRho()
    lower, upper = folds(p, "b_rac")
    rate = SWEEP_STEP / DT
    lag_up, lag_down = sweep_lag(p, upper, rate), sweep_lag(p, lower, rate)
    up = np.arange(2.3, 3.65, SWEEP_STEP)
    values = np.concatenate([up, up[::-1]])
    n = 24 if quick else 80
    gain = {"initial": {"distribution": "uniform", "lower": 0.97, "upper": 1.03},
            "scales": ["rac activation"]}  # fmt: skip
    tumour = {"rho_gtpase": {**NOT_EPITHELIAL, "b_rac_per_min": 1.0,
                             "initial_rac": RHO_HIGH[0], "initial_rho": RHO_HIGH[1]}}  # fmt: skip
    sim = simulation(scenario({"tumor": tumour}, n_cells=n, traits={"rac_gain": gain},
                              interventions=sweep_interventions(values)))  # fmt: skip
    g = by_id(sim, sim.model.cells.trait("rac_gain"))
    switch_up, switch_down = np.full(n, np.nan), np.full(n, np.nan)
    for k, v in enumerate(values):
        advance(sim, 1)
        mode = by_id(sim, modes(sim))
        b = g * v
        if k < len(up):
            hit = np.isnan(switch_up) & (mode == MESENCHYMAL)
            switch_up[hit] = b[hit]
        else:
            hit = np.isnan(switch_down) & (mode == AMOEBOID)
            switch_down[hit] = b[hit]
    tol = 0.015
    ck = Checks()
    ck.that("every cell switched up and down", not (np.isnan(switch_up).any()
                                                     or np.isnan(switch_down).any()))
    ck.bound("earliest switch up − upper fold", np.nanmin(switch_up) - upper.value, ">", 0.0)
    ck.bound("lower fold − latest switch down", lower.value - np.nanmax(switch_down), ">", 0.0)
    ck.near("switch down (mean)", float(np.nanmean(switch_down)), lower.value - lag_down, tol,
            "1/min")  # fmt: skip
    ck.near("switch up, widest", float(np.nanmax(np.abs(switch_up - upper.value - lag_up))),
            0.0, tol)  # fmt: skip
    ck.near("switch down, widest",
            float(np.nanmax(np.abs(switch_down - lower.value + lag_down))), 0.0, tol)
    return ck.result(upper.value + lag_up, float(np.nanmean(switch_up)), tol, "1/min",
                     f"{n} cells, b_R swept 2.3 → 3.64 → 2.3 by 0.01 per 6 min; switches up "
                     f"{np.nanmin(switch_up):.4f}–{np.nanmax(switch_up):.4f}, down "
                     f"{np.nanmin(switch_down):.4f}–{np.nanmax(switch_down):.4f}; folds "
                     f"{lower.value:.4f}, {upper.value:.4f}; lags {lag_down:.4f}, "
                     f"{lag_up:.4f}")  # fmt: skip


# -- 4. mode switching by cues ---------------------------------------------------------------------
T_TGFB, T_LIFT, T_STOP, T_END = 360.0, 1080.0, 1440.0, 3600.0  # min (MET takes ~26 h)


def switching_scenario(mmp_inhibitor: bool, n_cells: int = 9) -> dict:
    """Cells in collagen; TGF-β from T_TGFB to T_STOP; the MMP inhibitor until T_LIFT.

    Fields (2-D, 20-µm voxels): collagen (1 everywhere, not diffusing, degraded by MMP at
    0.05 per MMP unit per min), MMP (secreted by the cells towards 1 at 0.5/min, D = 1
    µm²/min, decay 0.1/min), TGF-β (0, set to 1 at T_TGFB and to 0 at T_STOP). Rules:
    collagen raises ``rho activation`` from 2 to 5 (half-max 0.3, Hill 4: dense, uncleaved
    matrix around the cell, confinement; b_ρ window 2.645–3.417 at b_R = 3); TGF-β raises
    ``emt induction`` from 0 to 0.005/min (above the EMT fold 0.465 d = 6.5e-4/min).
    """
    still = {"diffusion_um2_per_min": 0.0, "decay_per_min": 0.0, "boundary": "no-flux"}
    fields = {
        "collagen": {**still, "initial": 1.0},
        "mmp": {"diffusion_um2_per_min": 1.0, "decay_per_min": 0.1, "boundary": "no-flux",
                "initial": 0.0},
        "tgfb": {**still, "initial": 0.0},
    }  # fmt: skip
    tumour = {
        "rho_gtpase": {"b_rac_per_min": 3.0, "b_rho_per_min": 2.0},
        "secretion": {"uptake_per_min": {}, "secretion_per_min": {"mmp": 0.5},
                      "secretion_target": {"mmp": 1.0}},
    }  # fmt: skip
    rules = [
        {"cell_type": "tumor", "signal": "collagen", "direction": "increases",
         "behaviour": "rho activation", "saturation": 5.0, "half_max": 0.3, "hill_power": 4},
        {"cell_type": "tumor", "signal": "tgfb", "direction": "increases",
         "behaviour": "emt induction", "saturation": 0.005, "half_max": 0.5, "hill_power": 2},
    ]  # fmt: skip
    events = [
        {"kind": "bolus", "field": "tgfb", "value": 1.0, "mode": "set", "at_min": T_TGFB},
        {"kind": "bolus", "field": "tgfb", "value": 0.0, "mode": "set", "at_min": T_STOP},
    ]  # fmt: skip
    if mmp_inhibitor:
        events.append({"kind": "scale", "behaviour": "mmp secretion", "value": 0.0,
                       "from_min": 0.0, "until_min": T_LIFT, "label": "MMP inhibitor"})
    return scenario(
        {"tumor": tumour},
        ("secretion", "diffusion", "rho_gtpase", "matrix_degradation"),
        extent=400.0, n_cells=n_cells, spacing=60.0, voxel=20.0, dt_mechanics=DT,
        dt_diffusion=DT, fields=fields, rules=rules, interventions=events,
        matrix_degradation={"reactions": [{"matrix": "collagen", "enzyme": "mmp",
                                           "rate_per_unit_per_min": 0.05}]},
    )  # fmt: skip


def mode_history(sim, times) -> dict[float, np.ndarray]:
    """The modes at each of ``times`` (min, whole steps), advancing the simulation."""
    out = {}
    for t in times:
        advance(sim, int(round((t - sim.time_min) / DT)))
        out[t] = modes(sim)
    return out


@case("migration modes switch with the cues and back", MECHANISM,
      "Wolf et al., J Cell Biol 2003; 160:267 (mesenchymal-amoeboid transition after blocking "
      "pericellular proteolysis); EMT as a reversible bistable switch (illustrative)")
def switching_case(quick: bool = True) -> Result:
    """EMT, mesenchymal → amoeboid under MMP inhibition, back when lifted, then MET."""
    times = (T_TGFB, T_LIFT, T_STOP, T_END)
    n = 4 if quick else 9
    ctrl = mode_history(simulation(switching_scenario(False, n)), times)
    mmpi = mode_history(simulation(switching_scenario(True, n)), times)
    ck = Checks()
    share = []

    def all_in(what, got, want):
        frac = float(np.mean(got == want))
        share.append(frac)
        ck.near(what, frac, 1.0, 0.0)

    all_in("before TGF-β: epithelial (control)", ctrl[T_TGFB], EPITHELIAL)
    all_in("before TGF-β: epithelial (MMP inhibitor)", mmpi[T_TGFB], EPITHELIAL)
    all_in("TGF-β, own MMP clears the collagen: mesenchymal", ctrl[T_LIFT], MESENCHYMAL)
    all_in("TGF-β, MMP inhibitor: amoeboid", mmpi[T_LIFT], AMOEBOID)
    all_in("inhibitor lifted: mesenchymal again", mmpi[T_STOP], MESENCHYMAL)
    all_in("TGF-β removed: epithelial again (MET)", mmpi[T_END], EPITHELIAL)
    all_in("TGF-β removed: epithelial again (control)", ctrl[T_END], EPITHELIAL)
    return ck.result(1.0, min(share), 0.0, "", f"{n} cells per arm; cues: collagen (rule on "
                     "rho activation), TGF-β (rule on emt induction); share of cells in the "
                     "expected mode at 360, 1080, 1440, 3600 min, worst shown")  # fmt: skip


# -- 5. MSD in each mode --------------------------------------------------------------------------
def msd_exact(n_steps: np.ndarray, speed: float, persistence: float, dt: float) -> np.ndarray:
    """MSD (µm²) after ``n_steps`` mechanics steps of invasim's walk, moved by AB2.

    Velocities ``v_j = s d_j`` with ``E[d_i·d_j] = q^|i−j|``, ``q = exp(−dt/P)`` (a redraw is
    independent of the last direction); AB2 moves ``dt (3/2 v_j − 1/2 v_{j−1})``, so the
    displacement is ``dt (S + (v_N − v_0)/2)``, ``S = Σ_{j=1..N} v_j``, and
    ``E|.|² = dt² s² (N + 2 Σ_{k<N} (N − k) q^k + 3/2 (1 − q^N))`` for a stationary walker.
    """
    q = math.exp(-dt / persistence)
    n = np.asarray(n_steps, dtype=np.float64)
    s = q * (n * (1.0 - q) - 1.0 + q**n) / (1.0 - q) ** 2
    return speed * speed * dt * dt * (n + 2.0 * s + 1.5 * (1.0 - q**n))


def msd_continuous(t, speed: float, persistence: float):
    """Fürth's ``2 v² P (t − P (1 − e^{−t/P}))`` (µm², any dimension)."""
    return 2.0 * speed**2 * persistence * (t + persistence * np.expm1(-t / persistence))


MODE_TYPES = {
    "epi": {"rho_gtpase": {"initial_emt": 0.0}},
    "mes": {"rho_gtpase": {**NOT_EPITHELIAL, "b_rac_per_min": 5.0}},
    "amo": {"rho_gtpase": {**NOT_EPITHELIAL, "b_rac_per_min": 1.5, "initial_rac": RHO_HIGH[0],
                           "initial_rho": RHO_HIGH[1]}},
}  # fmt: skip


@case("single-cell msd in each migration mode", MECHANISM,
      "persistent random walk (Fürth 1920), exact for invasim's discrete walk (AB2 moves)")
def msd_case(quick: bool = True) -> Result:
    """Isolated cells of three types held in the three modes; MSD at 5 lags vs exact.

    Ensemble over cells (independent draws keyed by id), pooled over the seeds; the window
    starts after one phenotype step (the walk is then stationary). Margin: 4 standard
    errors of the mean of ``|Δx|²`` (sample SE) at each of the 15 (lag, mode) pairs: a
    false alarm has probability ~1e-3 for Gaussian errors (the short lags' ``|Δx|²`` is
    skewed: few cells have turned yet, so fewer seeds or cells would need a wider margin).
    """
    from invasim.processes.rho_gtpase import DEFAULT_MODES

    n, seeds = (150, (1, 2)) if quick else (400, (1, 2, 3))
    lags = (1, 2, 4, 7, 10)  # phenotype steps
    names = ("epithelial", "mesenchymal", "amoeboid")
    dt_mech = 0.1
    ck = Checks()
    d2 = {(lag, k): [] for lag in lags for k in range(3)}
    for seed in seeds:
        sim = simulation(scenario(dict(MODE_TYPES), ("motility", "rho_gtpase"), n_cells=3 * n,
                                  extent=6000.0, spacing=4.0), seed=seed)  # fmt: skip
        c = sim.model.cells
        c.type[:] = np.arange(c.n) % 3  # one third of the cells of each type
        _reset_initial_state(sim)
        advance(sim, 1)
        x0 = by_id(sim, sim.model.cells.position)
        kind = by_id(sim, sim.model.cells.type)
        done = 0
        for lag in lags:
            advance(sim, lag - done)
            done = lag
            sq = np.sum((by_id(sim, sim.model.cells.position) - x0) ** 2, axis=1)
            mode = by_id(sim, modes(sim))
            for k in range(3):
                d2[lag, k].append(sq[kind == k])
                if lag == lags[-1]:
                    ck.that(f"{names[k]} cells stayed {names[k]} (seed {seed})",
                            bool(np.all(mode[kind == k] == k)))  # fmt: skip
    worst = 0.0
    for (lag, k), parts in d2.items():
        x = np.concatenate(parts)
        v = DEFAULT_MODES[names[k]]["migration speed"]
        pers = DEFAULT_MODES[names[k]]["migration persistence time"]
        t = lag * DT
        want = float(msd_exact(round(t / dt_mech), v, pers, dt_mech))
        got, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))
        worst = max(worst, abs(got - want) / se)
        ck.near(f"{names[k]}, t = {t:g} min", got, want, 4 * se, "µm²")
        if lag == lags[-1]:
            cont = float(msd_continuous(t, v, pers))
            ck.near(f"{names[k]} vs Fürth (continuous), t = {t:g}", got, cont,
                    4 * se + 0.02 * cont, "µm²")  # fmt: skip
    lag_min = [lag * DT for lag in lags]
    return ck.result(0.0, worst, 4.0, "SE", f"{n} cells per mode × seeds {seeds}; the largest "
                     f"|MSD − exact| in standard errors over lags {lag_min} min")  # fmt: skip


def by_id(sim, values: np.ndarray) -> np.ndarray:
    """``values`` (one per row) in the order of the cells' ids (rows are re-sorted each step)."""
    return np.asarray(values)[np.argsort(sim.model.cells.id, kind="stable")]


def _reset_initial_state(sim) -> None:
    """Give every cell its (new) type's initial Rac/Rho/EMT state and mode."""
    c = sim.model.cells
    for name in ("rac", "rho", "emt"):
        c.internal(name)[:] = math.nan
    q = next(q for q in sim.model.processes if q.name == "rho_gtpase")
    q._initialise(sim.model.state)


# -- 6. ROCK inhibition ---------------------------------------------------------------------------
@case("rock inhibition leaves fewer amoeboid cells", MECHANISM,
      "Sahai & Marshall, Nat Cell Biol 2003; 5:711 (rounded movement needs ROCK); "
      "Sanz-Moreno et al., Cell 2008; 135:510 (ROCK suppresses Rac); the folds of the diagram")
def rock_case(quick: bool = True) -> Result:
    """Amoeboid counts before and after a ROCK inhibitor against the diagram's folds.

    Each cell's b_R is a trait (uniform 2.0–3.8); cells start in the Rho-high state (in its
    basin for every b_R below the upper fold: checked by integration in the tests). Expected
    amoeboid count: cells below the upper fold at κ = 1; at κ = 0.9 between the counts below
    its lower and upper folds (inside its window the old state's basin decides); at κ = 0.5
    (no window, Rac-high only) none. Margin: 1 cell (a cell within ~1e-3 of a fold passes
    its ghost slowly).
    """
    p = RacRho()
    n = 120 if quick else 400
    counts, ck = {}, Checks()
    for kappa in (1.0, 0.9, 0.5):
        tumour = {"rho_gtpase": {**NOT_EPITHELIAL, "initial_rac": RHO_HIGH[0],
                                 "initial_rho": RHO_HIGH[1]}}  # fmt: skip
        level = {"initial": {"distribution": "uniform", "lower": 2.0, "upper": 3.8},
                 "sets": ["rac activation"], "unit": "1/min"}  # fmt: skip
        ivs = [] if kappa == 1.0 else [{"kind": "scale", "behaviour": "rock activity",
                                        "value": kappa, "from_min": 0.0}]  # fmt: skip
        sim = simulation(scenario({"tumor": tumour}, n_cells=n, traits={"rac_level": level},
                                  interventions=ivs))  # fmt: skip
        advance(sim, 40)
        b = sim.model.cells.trait("rac_level")
        got = int((modes(sim) == AMOEBOID).sum())
        counts[kappa] = got
        f = folds(p.with_(rock=kappa), "b_rac")
        if f:
            lo, hi = int((b < f[0].value).sum()), int((b < f[-1].value).sum())
        else:
            lo = hi = int((b < 0.0).sum())
        if kappa == 1.0:
            lo = hi  # the starting state: below the upper fold every cell stays Rho-high
        ck.bound(f"κ = {kappa}: amoeboid ≥ diagram's bound {lo} − 1", got, ">=", lo - 1)
        ck.bound(f"κ = {kappa}: amoeboid ≤ diagram's bound {hi} + 1", got, "<=", hi + 1)
    ck.bound("fewer amoeboid cells under ROCK inhibition (κ = 0.5 vs 1)", counts[0.5], "<",
             counts[1.0])  # fmt: skip
    return ck.result(counts[1.0], counts[0.5], 0.0, "cells",
                     f"{n} cells, b_R uniform 2.0–3.8; amoeboid counts {counts} by κ",
                     relation="<")  # fmt: skip


def emt_switch() -> EMTSwitch:
    """The default EMT switch (for the tests)."""
    return EMTSwitch()
