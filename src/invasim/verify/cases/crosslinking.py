"""Validation cases of matrix cross-linking (lysyl oxidase) and the stiffness it gives.

Each case runs the agent engine on a small 2-D scenario (non-motile cells, no cell life), so
the fields follow an ODE solved by hand here:

* a cell alone in its voxel cross-links it as ``c(t) = 1 − exp(−k V t / h³)``, every other
  voxel untouched, whatever the voxel size;
* two cells in one voxel cross-link it at the sum of their rates;
* the stiffness field is ``E_ref (ρ/ρ_ref)^n (1 + g c)`` at known ``ρ`` and ``c`` (the law
  written out here with :func:`math.pow`, not the kernel);
* a secreted LOX field cross-links every voxel as ``1 − exp(−k_e e t)``, composed exactly
  with the cells' part;
* a cross-linked matrix resists pericellular proteolysis: ``m(t) = m0 exp(−s (1 − r c) k V
  t / h³)`` at a fixed ``c``, and secreted MMPs: ``m0 exp(−k e (1 − r c) t)``.

The direction of effect in the ``stroma-invasion`` scenario (CAF lysyl oxidase stiffens the
front) is :func:`invasim.verify.cases.stroma.lox_stiffens_front`. Tolerances: round-off
(1e-12 relative over tens of exact per-step updates; a wrong rate, volume weighting, voxel
or exponent would be off by >= 1e-3).
"""

from __future__ import annotations

import math

import numpy as np

import invasim.processes.crosslinking  # noqa: F401  (registers the process)
import invasim.processes.matrix_degradation  # noqa: F401
import invasim.processes.proteolysis  # noqa: F401
from invasim.verify import Checks, Result, case
from invasim.verify.cases.proteolysis import run, scenario, voxel_of_cells

MECHANISM = "lysyl oxidase cross-links matrix, stiffness (crosslinking)"
K_LOX = 0.002  # cross-linking rate of a cell, 1/min
VOLUME = 2494.0  # cell volume, µm³ (PhysiCell's default)
ROUND_OFF = 1e-12
#: the stiffness law's parameters used by the cases (not the defaults: a wrong default
#: would not hide an error in the law)
LAW = {"reference_stiffness_kpa": 0.4, "reference_density": 0.8, "density_exponent": 2.2,
       "crosslink_gain": 1.5}  # fmt: skip


def fields(rho: float = 0.9, c0: float | dict = 0.0) -> dict:
    """The matrix, its cross-link fraction and its stiffness."""
    return {
        "ecm": {"kind": "matrix", "initial": rho, "upper": 1.0},
        "crosslink": {"kind": "matrix", "initial": c0, "upper": 1.0},
        "stiffness": {"kind": "matrix", "unit": "kPa", "initial": 0.0},
    }


def law(rho: float, c: float) -> float:
    """``E_ref (ρ/ρ_ref)^n (1 + g c)`` written out, kPa."""
    return (LAW["reference_stiffness_kpa"]
            * math.pow(rho / LAW["reference_density"], LAW["density_exponent"])
            * (1.0 + LAW["crosslink_gain"] * c))  # fmt: skip


def _cells(h: float, n_cells: int, steps: int, rate: float = K_LOX, **extra):
    """``n_cells`` non-motile LOX-making cells in one voxel of side ``h``, run ``steps``."""
    cells = {"crosslinking": {"rate_per_min": rate}, "volume": {"volume_um3": VOLUME},
             **extra.pop("cells", {})}  # fmt: skip
    procs = extra.pop("processes", ["crosslinking"])
    table = extra.pop("crosslinking", dict(LAW))
    data = scenario(extra.pop("fields", fields()), procs, cells, h=h, extent=11 * h,
                    n_cells=n_cells, spacing=min(4.0, h / 4), crosslinking=table,
                    **extra)  # fmt: skip
    return run(data, steps)


def _lox(chk: Checks, n_cells: int, h: float, steps: int) -> tuple[float, float]:
    sim = _cells(h, n_cells, steps)
    vox = voxel_of_cells(sim)
    chk.that(f"h = {h:g} µm: the {n_cells} cell(s) share one voxel",
             sim.model.cells.n == n_cells and bool(np.all(vox == vox[0])))  # fmt: skip
    t = steps * 6.0
    want = -math.expm1(-n_cells * K_LOX * VOLUME * t / h**3)
    flat = sim.fields["crosslink"].reshape(-1)
    got = float(flat[vox[0]])
    chk.rel(f"h = {h:g} µm: c at the cells' voxel at t = {t:g} min", got, want, ROUND_OFF)
    chk.that(f"h = {h:g} µm: every other voxel's c untouched",
             bool(np.all(np.delete(flat, vox[0]) == 0.0)))  # fmt: skip
    e = float(sim.fields["stiffness"].reshape(-1)[vox[0]])
    chk.rel(f"h = {h:g} µm: stiffness at the cells' voxel", e, law(0.9, want), ROUND_OFF)
    return want, got


@case("one cell cross-links its voxel as 1 - exp(-k V t / h^3)", MECHANISM,
      "exact solution of dc/dt = k (V/h^3) (1 - c), c(0) = 0 (volume-weighted, as BioFVM's "
      "cell sources)")  # fmt: skip
def one_cell(quick: bool) -> Result:
    """A non-motile cell; the full form repeats it at three voxel sizes (10, 20, 40 µm)."""
    chk = Checks()
    for h in [20.0] if quick else [10.0, 40.0, 20.0]:
        want, got = _lox(chk, 1, h, 20)
    return chk.result(want, got, ROUND_OFF * want, "cross-link fraction",
                      "h = 20 µm, 20 steps of 6 min, k = 0.002/min, V = 2494 µm³; round-off "
                      "tolerance (the update is exact)")  # fmt: skip


@case("two cells in one voxel cross-link it at the sum of their rates", MECHANISM,
      "exact solution of dc/dt = (k1 V1 + k2 V2)/h^3 (1 - c)")  # fmt: skip
def two_cells(quick: bool) -> Result:
    """Two non-motile cells 4 µm apart in one 20 µm voxel."""
    chk = Checks()
    steps = 20 if quick else 80
    want, got = _lox(chk, 2, 20.0, steps)
    return chk.result(want, got, ROUND_OFF * want, "cross-link fraction",
                      f"{steps} steps of 6 min, k = 0.002/min each, V = 2494 µm³ each")


@case("matrix stiffness is E_ref (rho/rho_ref)^n (1 + g c)", MECHANISM,
      "MacKintosh et al. 1995 (E ~ rho^(11/5)); Levental et al. 2009 (cross-linking "
      "stiffens); the law written out")  # fmt: skip
def stiffness_law(quick: bool) -> Result:
    """A matrix of random density, cross-linked in a disc, no cells acting; E everywhere.

    ``ρ`` a clipped Gaussian random field (mean 0.6, sd 0.25) below 70 % of the height, 0
    above it, and ``c`` is 0.6 in a disc; the stiffness field after one step must be
    the law at every voxel (0 where ``ρ = 0``).
    """
    h, n = 20.0, 11
    extent = n * h
    f = fields()
    f["ecm"]["initial"] = {"kind": "gaussian_random_field", "mean": 0.6, "std": 0.25,
                           "correlation_um": 40.0, "lower": 0.0, "upper": 1.0,
                           "within_axis": "y", "within_lo_um": 0.0,
                           "within_hi_um": 0.7 * extent, "outside": 0.0}  # fmt: skip
    f["crosslink"]["initial"] = {"kind": "disc", "centre_um": [extent / 2, extent / 2],
                                 "radius_um": 50.0, "inside": 0.6}  # fmt: skip
    sim = _cells(h, 1, 1, rate=0.0, fields=f)
    rho = sim.fields["ecm"].reshape(-1)
    c = sim.fields["crosslink"].reshape(-1)
    e = sim.fields["stiffness"].reshape(-1)
    want = np.array([law(r, x) if r > 0 else 0.0 for r, x in zip(rho, c, strict=True)])
    err = float(np.max(np.abs(e - want) / np.maximum(want, 1e-300)))
    chk = Checks()
    chk.that("the test spans cross-linked and plain matrix", bool((c > 0).any() and (c == 0)
                                                                     .any()))
    k = int(np.argmax(np.where(c > 0, rho, -1.0)))
    chk.rel("a cross-linked voxel at the highest density", float(e[k]),
            law(float(rho[k]), 0.6), ROUND_OFF)  # fmt: skip
    return chk.result(0.0, err, ROUND_OFF, "relative error",
                      f"{e.size} voxels, ρ random in [0, 1] and 0 above, c 0.6 in a disc; "
                      "E_ref 0.4 kPa at ρ_ref 0.8, n 2.2, g 1.5; worst relative error")


@case("cross-linked matrix resists proteolysis as s (1 - r c)", MECHANISM,
      "Vater et al. 1979 Biochem J 181:639 (cross-linked collagen resists collagenase); exact "
      "solution of dm/dt = -s (1 - r c) k (V/h^3) m and dm/dt = -k e (1 - r c) m")
def resistance(quick: bool) -> Result:
    """One cell degrading a matrix of fixed cross-link fraction; a fixed MMP field too.

    No LOX here (c stays at 0.5): the pericellular voxel decays at ``s (1 − r c) k V / h³``
    and every voxel under the fixed MMP field at ``k e (1 − r c)``.
    """
    h, steps, c0, r, kp, kd, e0, m0 = 20.0, 20 if quick else 60, 0.5, 0.6, 0.01, 0.03, 0.2, 0.9
    f = fields(rho=m0, c0=c0)
    f["mmp"] = {"kind": "matrix", "initial": e0}
    res = {"field": "crosslink", "strength": r}
    sim = _cells(h, 1, steps, rate=0.0, fields=f,
                 processes=["matrix_degradation", "proteolysis", "crosslinking"],
                 cells={"proteolysis": {"rate_per_min": kp}},
                 proteolysis={"matrices": {"ecm": 1.0}, "resistance": {"ecm": res}},
                 matrix_degradation={"reactions": [
                     {"matrix": "ecm", "enzyme": "mmp", "rate_per_unit_per_min": kd,
                      "resistance": res}]})  # fmt: skip
    t = steps * 6.0
    vox = voxel_of_cells(sim)[0]
    flat = sim.fields["ecm"].reshape(-1)
    secreted = kd * e0 * (1 - r * c0)
    want = m0 * math.exp(-(secreted + (1 - r * c0) * kp * VOLUME / h**3) * t)
    got = float(flat[vox])
    chk = Checks()
    chk.rel("a voxel away from the cell (secreted MMP only)", float(flat[0]),
            m0 * math.exp(-secreted * t), ROUND_OFF)  # fmt: skip
    chk.bound("the cross-link fraction stays fixed (no LOX)",
              float(np.max(np.abs(sim.fields["crosslink"] - c0))), "<=", 0.0)
    return chk.result(want, got, ROUND_OFF * want, "ECM density",
                      f"h = 20 µm, {steps} steps of 6 min, c = 0.5, r = 0.6, MT1-MMP k = "
                      "0.01/min, secreted k e = 0.006/min; the cell's voxel")  # fmt: skip


@case("secreted lox cross-links every voxel as 1 - exp(-k e t)", MECHANISM,
      "exact solution of dc/dt = (k_e e + k V/h^3) (1 - c) with e held fixed")  # fmt: skip
def secreted(quick: bool) -> Result:
    """A fixed enzyme field (a matrix field: it neither diffuses nor decays) and one cell.

    Every voxel follows ``c = 1 − e^{−k_e e t}``; the cell's voxel adds its own rate:
    ``c = 1 − e^{−(k_e e + k V/h³) t}`` (the two parts compose exactly).
    """
    h, e0, ke = 20.0, 0.3, 0.01
    steps = 20 if quick else 80
    f = fields()
    f["lox"] = {"kind": "matrix", "initial": e0}
    sim = _cells(h, 1, steps, fields=f,
                 crosslinking=dict(LAW, enzyme="lox", rate_per_unit_per_min=ke))
    t = steps * 6.0
    flat = sim.fields["crosslink"].reshape(-1)
    vox = voxel_of_cells(sim)[0]
    want = -math.expm1(-(ke * e0 + K_LOX * VOLUME / h**3) * t)
    chk = Checks()
    chk.rel("a voxel without a cell", float(flat[0]), -math.expm1(-ke * e0 * t), ROUND_OFF)
    chk.that("every voxel without a cell equal",
             bool(np.all(np.delete(flat, vox) == flat[0])))  # fmt: skip
    return chk.result(want, float(flat[vox]), ROUND_OFF * want, "cross-link fraction",
                      f"h = 20 µm, {steps} steps of 6 min, k_e e = 0.003/min, cell k = "
                      "0.002/min; the cell's voxel")  # fmt: skip
