"""Validation cases of matrix degradation (secreted and membrane-type MMPs) and deposition.

Each case runs the agent engine on a small 2-D scenario (non-motile cells, no cell life), so
the fields follow an ODE solved by hand here:

* a uniform matrix under a fixed MMP field decays as ``m0 exp(−k e t)``;
* a cell alone in its voxel degrades it as ``m0 exp(−k V t / h³)``, two cells twice as fast,
  the other voxels untouched, whatever the voxel size;
* cleavage conserves ``matrix + product``; a diffusing, decaying product's total follows
  ``dF/dt = P(t) − λ F``;
* a cell deposits ``r V t`` until the voxel reaches the cap;
* more MMP secretion degrades more matrix around a small lesion (direction of effect).

The exact cases' tolerances are round-off (1e-12 relative over tens of exact per-step
updates; an error in the rate, the volume weighting or the voxel would be >= 1e-3).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import invasim.processes.matrix_degradation  # noqa: F401  (registers the process)
import invasim.processes.proteolysis  # noqa: F401  (registers the process)
from invasim.verify import Checks, Result, case

MECHANISM_SECRETED = "secreted MMP degrades matrix (matrix_degradation)"
MECHANISM_PERICELLULAR = "membrane-type MMP degrades matrix at the cell (proteolysis)"
K_CELL = 0.01  # pericellular rate, 1/min
VOLUME = 2494.0  # cell volume, µm³ (PhysiCell's default)
ROUND_OFF = 1e-12


def scenario(fields: dict, processes: list[str], cells: dict | None = None, *,
             h: float = 20.0, extent: float = 220.0, n_cells: int = 1, spacing: float = 4.0,
             dt: float = 6.0, dt_diffusion: float = 0.05, **tables: Any) -> dict:  # fmt: skip
    """A small 2-D agent scenario: ``n_cells`` packed at the centre, nothing else moving."""
    params = {
        "processes": processes,
        "dt_diffusion_min": dt_diffusion,
        "dt_mechanics_min": 0.1,
        "fields": fields,
        "cell_types": {"tumor": cells or {}},
        "initial": {"geometry": "ball", "n_cells": n_cells, "spacing_um": spacing,
                    "center_um": [extent / 2, extent / 2]},
        **tables,
    }  # fmt: skip
    return {
        "name": "proteolysis-case",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [extent, extent], "voxel_um": h},
        "time": {"end_min": 100 * dt, "dt_min": dt, "output_interval_min": 100 * dt,
                 "checkpoint_interval_min": 100 * dt},
        "params": params,
    }  # fmt: skip


def run(data: dict, steps: int, seed: int = 1):
    """Build the simulation and advance it ``steps`` phenotype steps; returns it."""
    import invasim

    sim = invasim.Simulation(invasim.load_scenario(data), seed=seed)
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    return sim


def voxel_of_cells(sim) -> np.ndarray:
    """Flat voxel index of each cell."""
    from invasim.physics.exchange import voxel_of

    c = sim.model.cells
    return voxel_of(c.position[: c.n], sim.model.mesh)


# -- 1. secreted MMP: a uniform matrix under a fixed MMP field -------------------------------
@case("secreted MMP degrades a uniform matrix as m0 exp(-k e t)", MECHANISM_SECRETED,
      "exact solution of dm/dt = -k e m (Anderson et al. 2000 form, e held fixed)")  # fmt: skip
def uniform_degradation(quick: bool) -> Result:
    """A diffusing MMP field, uniform with no decay and closed walls, stays fixed."""
    k, e, m0 = 0.06, 0.3, 0.8  # 1/(MMP unit·min), MMP unit, ECM density
    steps = 10 if quick else 40
    fields = {
        "ecm": {"kind": "matrix", "initial": m0, "upper": 1.0},
        "mmp": {"unit": "1", "diffusion_um2_per_min": 600.0, "decay_per_min": 0.0,
                "boundary": "no-flux", "boundary_value": 0.0, "initial": e},
    }  # fmt: skip
    reaction = {"matrix": "ecm", "enzyme": "mmp", "rate_per_unit_per_min": k}
    data = scenario(fields, ["diffusion", "matrix_degradation"], extent=100.0,
                    matrix_degradation={"reactions": [reaction]})
    sim = run(data, steps)
    t = steps * 6.0
    want = m0 * math.exp(-k * e * t)
    got = sim.fields["ecm"]
    worst = float(got.flat[np.argmax(np.abs(got - want))])
    chk = Checks()
    chk.near("largest change of the MMP field (it must stay fixed)",
             float(np.max(np.abs(sim.fields["mmp"] - e))), 0.0, 1e-13)  # fmt: skip
    return chk.result(want, worst, ROUND_OFF * want, "ECM density",
                      f"{got.size} voxels, {steps} steps of 6 min, k e = {k * e:g}/min; the "
                      "voxel farthest from the exact value; round-off tolerance")  # fmt: skip


# -- 2. pericellular: one fixed cell, two cells, the voxel size -----------------------------
def _pericellular(chk: Checks, n_cells: int, h: float, steps: int) -> tuple[float, float]:
    """``n_cells`` non-motile cells in one voxel of side ``h``; ``(expected, measured)``."""
    m0 = 0.9
    fields = {"ecm": {"kind": "matrix", "initial": m0, "upper": 1.0}}
    cells = {"proteolysis": {"rate_per_min": K_CELL}, "volume": {"volume_um3": VOLUME}}
    extent = 11 * h  # the centre is a voxel centre
    data = scenario(fields, ["proteolysis"], cells, h=h, extent=extent, n_cells=n_cells,
                    spacing=min(4.0, h / 4), proteolysis={"matrices": {"ecm": 1.0}})  # fmt: skip
    sim = run(data, steps)
    vox = voxel_of_cells(sim)
    chk.that(f"h = {h:g} µm: the {n_cells} cell(s) share one voxel",
             sim.model.cells.n == n_cells and bool(np.all(vox == vox[0])))  # fmt: skip
    t = steps * 6.0
    want = m0 * math.exp(-n_cells * K_CELL * VOLUME * t / h**3)
    flat = sim.fields["ecm"].reshape(-1)
    got = float(flat[vox[0]])
    chk.rel(f"h = {h:g} µm: the cells' voxel at t = {t:g} min", got, want, ROUND_OFF)
    chk.that(f"h = {h:g} µm: every other voxel untouched",
             bool(np.all(np.delete(flat, vox[0]) == m0)))  # fmt: skip
    return want, got


@case("one cell degrades its voxel as exp(-k V t / h^3)", MECHANISM_PERICELLULAR,
      "exact solution of dm/dt = -k (V/h^3) m (volume-weighted, as BioFVM's cell sources)")
def one_cell(quick: bool) -> Result:
    """A non-motile cell; the full form repeats it at three voxel sizes (10, 20, 40 µm)."""
    chk = Checks()
    sizes = [20.0] if quick else [10.0, 40.0, 20.0]
    for h in sizes:
        want, got = _pericellular(chk, 1, h, 10)
    return chk.result(want, got, ROUND_OFF * want, "ECM density",
                      "h = 20 µm, 10 steps of 6 min, k = 0.01/min, V = 2494 µm³; round-off "
                      "tolerance (the update is exact)")  # fmt: skip


@case("two cells in one voxel degrade it twice as fast", MECHANISM_PERICELLULAR,
      "exact solution of dm/dt = -(k1 V1 + k2 V2)/h^3 m")  # fmt: skip
def two_cells(quick: bool) -> Result:
    """Two non-motile cells 4 µm apart in one 20 µm voxel."""
    chk = Checks()
    steps = 10 if quick else 40
    want, got = _pericellular(chk, 2, 20.0, steps)
    return chk.result(want, got, ROUND_OFF * want, "ECM density",
                      f"{steps} steps of 6 min, k = 0.01/min each, V = 2494 µm³ each")


# -- 3. cleavage: matrix + product, and a diffusing, decaying product ------------------------
@case("cleavage conserves laminin + fragment voxel by voxel", MECHANISM_PERICELLULAR,
      "mass balance: what the MMPs remove from laminin-5 is its gamma2 fragment "
      "(Giannelli et al. 1997; Koshikawa et al. 2000)")  # fmt: skip
def cleavage_conserves(quick: bool) -> Result:
    """Seven cells cleave laminin pericellularly and a fixed MMP field cleaves it everywhere."""
    l0 = 0.7
    fields = {
        "laminin": {"kind": "matrix", "initial": {"kind": "disc", "centre_um": [110.0, 110.0],
                                                   "radius_um": 60.0, "inside": l0},
                    "upper": 1.0},
        "fragment": {"kind": "matrix", "initial": 0.0},
        "mmp": {"kind": "matrix", "initial": {"kind": "disc", "centre_um": [90.0, 110.0],
                                               "radius_um": 50.0, "inside": 0.2}},
    }  # fmt: skip
    cells = {"proteolysis": {"rate_per_min": 0.02}}
    data = scenario(fields, ["matrix_degradation", "proteolysis"], cells, n_cells=7,
                    spacing=16.0,
                    matrix_degradation={"reactions": [
                        {"matrix": "laminin", "enzyme": "mmp", "rate_per_unit_per_min": 0.06,
                         "product": "fragment"}]},
                    proteolysis={"matrices": {"laminin": 1.0},
                                 "products": {"laminin": {"field": "fragment"}}})  # fmt: skip
    l_init = None
    sim = run(data, 0)
    l_init = sim.fields["laminin"].copy()
    steps = 10 if quick else 50
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    total = sim.fields["laminin"] + sim.fields["fragment"]
    err = float(np.max(np.abs(total - l_init)))
    chk = Checks()
    chk.bound("sum of the fragment over the voxels (the cleavage acted)",
              float(sim.fields["fragment"].sum()), ">", 0.1)  # fmt: skip
    chk.bound("smallest laminin left (never negative)", float(sim.fields["laminin"].min()),
              ">=", 0.0)  # fmt: skip
    return chk.result(0.0, err, ROUND_OFF, "laminin density",
                      f"max |laminin + fragment - laminin(0)| over the voxels after {steps} "
                      "steps of 6 min (pericellular and secreted-MMP cleavage together)")


def fragment_ode(K: float, lam: float, amount0: float, t: float) -> float:
    """``F(t)`` of ``dF/dt = K L(t) − λ F``, ``L = amount0 e^{−K t}``, ``F(0) = 0``."""
    if abs(lam - K) < 1e-14:
        return K * amount0 * t * math.exp(-K * t)
    return K * amount0 * (math.exp(-K * t) - math.exp(-lam * t)) / (lam - K)


def fragment_semi_discrete(K: float, lam: float, amount0: float, dt: float, n: int) -> float:
    """The same with the production of each step added at its end (the engine's splitting)."""
    return sum(amount0 * math.exp(-K * (j - 1) * dt) * -math.expm1(-K * dt)
               * math.exp(-lam * (n - j) * dt) for j in range(1, n + 1))  # fmt: skip


@case("the fragment's total follows production minus decay", MECHANISM_PERICELLULAR,
      "exact solution of dF/dt = k_eff L(t) - lambda F with L = L0 exp(-k_eff t)")  # fmt: skip
def fragment_balance(quick: bool) -> Result:
    """One cell cleaves its voxel's laminin into a diffusing, decaying fragment (closed walls).

    Production is added at each phenotype step's end, so each fragment decays for up to one
    step less than in the ODE: the engine's total lies in ``[F, F e^{λ dt}]`` (the tolerance).
    """
    l0, lam, dt, h = 0.8, 0.01, 6.0, 20.0
    fields = {
        "laminin": {"kind": "matrix", "initial": l0, "upper": 1.0},
        "ln5_fragment": {"unit": "1", "diffusion_um2_per_min": 60.0, "decay_per_min": lam,
                         "boundary": "no-flux", "boundary_value": 0.0, "initial": 0.0},
    }  # fmt: skip
    cells = {"proteolysis": {"rate_per_min": 0.05}, "volume": {"volume_um3": VOLUME}}
    data = scenario(fields, ["diffusion", "proteolysis"], cells, h=h, dt_diffusion=0.1,
                    proteolysis={"matrices": {"laminin": 1.0},
                                 "products": {"laminin": {"field": "ln5_fragment"}}})  # fmt: skip
    steps = 20 if quick else 60
    sim = run(data, steps)
    K = 0.05 * VOLUME / h**3
    t = steps * dt
    amount0 = l0 * h**3  # laminin in the cell's voxel, density · µm³
    want = fragment_ode(K, lam, amount0, t)
    semi = fragment_semi_discrete(K, lam, amount0, dt, steps)
    got = float(sim.fields["ln5_fragment"].sum()) * h**3
    chk = Checks()
    chk.bound("total >= the ODE's (less decay, never more)", got, ">=", want * (1 - 1e-9))
    chk.bound("total <= the ODE's × exp(λ dt)", got, "<=", want * math.exp(lam * dt) * (1 + 1e-9))
    chk.rel("total vs the engine's splitting, summed by hand", got, semi, 1e-9)
    return chk.result(want, got, want * math.expm1(lam * dt), "density · µm³",
                      f"{steps} steps of {dt:g} min, k_eff = {K:.4g}/min, decay {lam:g}/min, "
                      "closed walls; tolerance: one step's decay, F (exp(λ dt) − 1)")


# -- 4. deposition ---------------------------------------------------------------------------
@case("a cell deposits r V t of laminin, then stops at the cap", "matrix deposition "
      "(proteolysis)", "amount balance: a cell deposits r V per minute (r per unit volume)")
def deposition(quick: bool) -> Result:
    """One cell, deposition ``r``; the voxel fills linearly until the field's ``upper``."""
    r, h, m0, upper, dt = 0.002, 20.0, 0.1, 0.5, 6.0
    fields = {"laminin": {"kind": "matrix", "initial": m0, "upper": upper}}
    cells = {"proteolysis": {"deposition_per_min": r}, "volume": {"volume_um3": VOLUME}}
    data = scenario(fields, ["proteolysis"], cells, h=h,
                    proteolysis={"deposit_field": "laminin"})  # fmt: skip
    sim = run(data, 0)
    vox = int(voxel_of_cells(sim)[0])
    steps_linear = 10  # 60 min: 0.1 + 0.002 · 2494/8000 · 60 = 0.137 < 0.5
    for _ in range(steps_linear):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    t = steps_linear * dt
    want = r * VOLUME * t
    got = float((sim.fields["laminin"] - m0).sum()) * h**3
    counter = sim.model.metrics(sim.fields, sim.time_min)["proteolysis_deposited_laminin"]
    chk = Checks()
    chk.rel("the deposition counter after 60 min", counter, want, ROUND_OFF, "density · µm³")
    # then to the cap: (0.5 - 0.1) / (0.002 · 0.3118) = 641 min; run to 720 (quick) / 1440
    more = 110 if quick else 230
    for _ in range(more):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    capped = float(sim.fields["laminin"].reshape(-1)[vox])
    total = sim.model.metrics(sim.fields, sim.time_min)["proteolysis_deposited_laminin"]
    t_end = (steps_linear + more) * dt
    chk.that(f"the voxel at the cap after {t_end:g} min", capped == upper, f"{capped:g}")
    chk.rel("total deposited = (cap - m0) h³", total, (upper - m0) * h**3, ROUND_OFF,
            "density · µm³")  # fmt: skip
    return chk.result(want, got, ROUND_OFF * want, "density · µm³",
                      f"one cell, r = {r:g}/min, V = 2494 µm³, h = {h:g} µm: the amount "
                      f"added in {t:g} min, r V t")  # fmt: skip


# -- 5. direction of effect ------------------------------------------------------------------
def lesion_loss(secretion: float, steps: int) -> float:
    """ECM amount (density · µm³) that a lesion of 19 non-motile cells degrades via MMP."""
    fields = {
        "ecm": {"kind": "matrix", "initial": 1.0, "upper": 1.0},
        "mmp": {"unit": "1", "diffusion_um2_per_min": 600.0, "decay_per_min": 0.01,
                "boundary": "dirichlet", "boundary_value": 0.0, "initial": 0.0},
    }  # fmt: skip
    cells = {"secretion": {"uptake_per_min": {}, "secretion_per_min": {"mmp": secretion},
                           "secretion_target": {"mmp": 1.0}}}  # fmt: skip
    reaction = {"matrix": "ecm", "enzyme": "mmp", "rate_per_unit_per_min": 0.06}
    data = scenario(fields, ["secretion", "diffusion", "matrix_degradation"], cells,
                    h=20.0, extent=300.0, n_cells=19, spacing=16.0, dt_diffusion=0.1,
                    matrix_degradation={"reactions": [reaction]})
    sim = run(data, steps)
    return float((1.0 - sim.fields["ecm"]).sum()) * 20.0**3


@case("more MMP secretion degrades more matrix around a lesion", MECHANISM_SECRETED,
      "direction of effect (Anderson et al. 2000: dm/dt = alpha n, df/dt = -eta m f)")
def secretion_direction(quick: bool) -> Result:
    """Deterministic (no motility, no cell life): the ECM lost grows with the secretion rate."""
    levels = [0.001, 0.01, 0.1] if quick else [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.1]
    steps = 10 if quick else 40
    loss = [lesion_loss(s, steps) for s in levels]
    chk = Checks()
    ratios = [b / a if a > 0 else 0.0 for a, b in zip(loss, loss[1:], strict=False)]
    for k, ratio in enumerate(ratios):
        chk.bound(f"ECM lost at {levels[k + 1]:g}/min over that at {levels[k]:g}/min", ratio,
                  ">", 1.0)  # fmt: skip
    worst = min(ratios)
    return chk.result(1.0, worst, 0.0, "ratio",
                      f"19 non-motile cells, {steps} steps of 6 min; ECM lost (density · µm³) "
                      f"at secretion {levels} /min: {[round(x, 1) for x in loss]}; the "
                      "smallest ratio of successive levels (deterministic: no seeds)", ">")
