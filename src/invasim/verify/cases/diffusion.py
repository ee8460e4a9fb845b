"""Convergence of the diffusion schemes against the exact diffusing, decaying Gaussian.

The exact solution of ``u_t = D lap u - k u`` from ``exp(-|x - c|^2 / (2 s0^2))`` is
``(s0^2 / s^2)^(dim/2) exp(-|x - c|^2 / (2 s^2)) exp(-k t)`` with ``s^2 = s0^2 + 2 D t``.
The Gaussian sits in the domain centre and the walls are 8.5 s0 away (6 standard deviations at
the end time), so what the walls do is below 1e-7 of the peak, far under every error measured.
Errors are relative discrete L2 norms; orders come from three resolutions (two ratios).

Contract:
    * Cases: ``diffusion lod-be second order in space``, ``diffusion lod-cn second order in
      space and time``, ``diffusion lod-be first order in time``, ``diffusion lod-cn second
      order in time``, ``diffusion lod-be accuracy limit``, ``diffusion lod-cn accuracy limit
      keeps a spike non-negative``. Quick and full forms are the same (1-, 2- and 3-D, under
      a second each).
"""

from __future__ import annotations

import math

import numpy as np

from invasim.core.mesh import Mesh
from invasim.physics.diffusion import (
    ACCURACY_R_MAX,
    CN_R_MAX_DIRICHLET,
    Boundary,
    Diffusion,
)
from invasim.verify import Checks, Result, case

MECHANISM = "diffusion"
SOURCE = "exact solution: the diffusing, decaying Gaussian"
D = 1.0  # µm²/min (the problem is scale-free; units kept for the reader)
DECAY = 0.5  # 1/min
S0 = 1.0  # µm
T = 0.5  # min: the variance doubles
#: voxels per s0; 3-D uses a 1.5 ratio to stay small (78^3 at the finest)
RESOLUTIONS = {1: [2, 4, 8], 2: [2, 4, 8], 3: [2, 3, 4.5]}


def gaussian(mesh: Mesh, t: float, s0: float = S0) -> np.ndarray:
    """The exact solution at ``t``."""
    s2 = s0**2 + 2 * D * t
    x, y, z = mesh.grids()
    c = [e / 2 for e in mesh.extent]
    r2 = (x - c[0]) ** 2
    if mesh.dim > 1:
        r2 = r2 + (y - c[1]) ** 2
    if mesh.dim > 2:
        r2 = r2 + (z - c[2]) ** 2
    return (s0**2 / s2) ** (mesh.dim / 2) * np.exp(-r2 / (2 * s2)) * math.exp(-DECAY * t)


def centred_mesh(dim: int, h: float, s0: float = S0) -> Mesh:
    """A cube with the walls 8.5 s0 from its centre."""
    n = 2 * math.ceil(8.5 * s0 / h)
    return Mesh(dim, (n,) * dim, h)


def run(mesh: Mesh, scheme: str, dt: float, steps: int, s0: float = S0) -> np.ndarray:
    """``steps`` steps of ``scheme`` from the Gaussian."""
    u = gaussian(mesh, 0.0, s0)
    d = Diffusion(mesh, D, DECAY, dt, scheme=scheme)
    for _ in range(steps):
        d.step(u)
    return u


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    """Relative discrete L2 distance."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def error_vs_exact(dim: int, per_sigma: float, scheme: str, dt_of_h) -> float:
    """Relative L2 error at T on a mesh of ``per_sigma`` voxels per s0."""
    h = S0 / per_sigma
    mesh = centred_mesh(dim, h)
    steps = math.ceil(T / dt_of_h(h) - 1e-9)
    return rel_l2(run(mesh, scheme, T / steps, steps), gaussian(mesh, T))


def orders(errors: list[float], resolutions: list[float]) -> list[float]:
    """Observed orders between successive resolutions."""
    return [
        math.log(errors[i] / errors[i + 1]) / math.log(resolutions[i + 1] / resolutions[i])
        for i in range(len(errors) - 1)
    ]


def _orders_result(chk: Checks, found: list[tuple[float, str]], want: float, tol: float,
                   detail: str) -> Result:  # fmt: skip
    for p, where in found:
        chk.near(f"order, {where}", p, want, tol)
    p, where = max(found, key=lambda f: abs(f[0] - want))
    return chk.result(want, p, tol, "", f"{detail}; reported: the order furthest from "
                                        f"{want:g} ({where}) of {len(found)}")  # fmt: skip


@case("diffusion lod-be second order in space", MECHANISM, SOURCE)
def lod_be_space(quick: bool) -> Result:
    """Backward-Euler LOD with dt ∝ h²: second order in 1-, 2- and 3-D."""
    # r = D dt / h^2 = 0.25 fixed: the O(dt) time error is O(h^2) too, so the total is O(h^2).
    # Measured orders 1.96-2.00; [1.8, 2.2] leaves room for pre-asymptotic drift only (a
    # first-order flaw, e.g. a wrong wall or decay factor, gives <= 1.2).
    chk, found = Checks(), []
    for dim in (1, 2, 3):
        res = RESOLUTIONS[dim]
        errs = [error_vs_exact(dim, p, "lod-be", lambda h: 0.25 * h * h / D) for p in res]
        chk.bound(f"finest error, {dim}-D", errs[-1], "<", 7e-3)  # measured 1.0e-3 to 6.1e-3
        found += [(p, f"{dim}-D, step {i + 1}") for i, p in enumerate(orders(errs, res))]
    return _orders_result(chk, found, 2.0, 0.2, "dt = 0.25 h²/D, 3 resolutions per dim")


@case("diffusion lod-cn second order in space and time", MECHANISM, SOURCE)
def lod_cn_space(quick: bool) -> Result:
    """Crank–Nicolson LOD with dt ∝ h: second order overall in 1-, 2- and 3-D."""
    # dt = 0.25 h s0 / D: time and space both second order, so O(h^2) overall; measured
    # 2.01-2.05. Backward Euler at the same dt would show order 1.
    chk, found = Checks(), []
    for dim in (1, 2, 3):
        res = RESOLUTIONS[dim]
        errs = [error_vs_exact(dim, p, "lod-cn", lambda h: 0.25 * h * S0 / D) for p in res]
        found += [(p, f"{dim}-D, step {i + 1}") for i, p in enumerate(orders(errs, res))]
    return _orders_result(chk, found, 2.0, 0.15, "dt = 0.25 h s0/D, 3 resolutions per dim")


def _time_order(scheme: str, order: float) -> Result:
    # Fixed 2-D mesh, dt halved twice; error against a same-mesh run at a 16x smaller dt than
    # the finest, so only the time error is measured. Measured: BE 0.95-0.98, CN 2.01.
    mesh = centred_mesh(2, S0 / 4)
    ref = run(mesh, "lod-cn", T / 320, 320)
    errs = [rel_l2(run(mesh, scheme, T / n, n), ref) for n in (5, 10, 20)]
    found = [(p, f"dt halving {i + 1}") for i, p in enumerate(orders(errs, [1, 2, 4]))]
    return _orders_result(Checks(), found, order, 0.1,
                          "2-D, 4 voxels per s0, 5/10/20 steps vs 320 (time error only)")


@case("diffusion lod-be first order in time", MECHANISM, SOURCE)
def lod_be_time(quick: bool) -> Result:
    """Backward-Euler LOD on a fixed mesh: first order in dt."""
    return _time_order("lod-be", 1.0)


@case("diffusion lod-cn second order in time", MECHANISM, SOURCE)
def lod_cn_time(quick: bool) -> Result:
    """Crank–Nicolson LOD on a fixed mesh: second order in dt."""
    return _time_order("lod-cn", 2.0)


def time_over_space_error(dim: int, scheme: str, r: float) -> float:
    """||u_dt - u_(dt->0)|| / ||u_(dt->0) - exact|| for a Gaussian of s0 = 3 h."""
    h = 1.0
    s0 = 3.0 * h
    mesh = centred_mesh(dim, h, s0)
    t_double = s0**2 / (2 * D)
    dt = r * h * h / D
    steps = math.ceil(t_double / dt - 1e-9)
    fine = steps * math.ceil(r / 0.02)  # reference at r <= 0.02, same end time
    u = run(mesh, scheme, dt, steps, s0)
    ref = run(mesh, "lod-cn", steps * dt / fine, fine, s0)
    t_end = steps * dt
    exact = gaussian(mesh, t_end, s0)
    return float(np.linalg.norm(u - ref) / np.linalg.norm(ref - exact))


@case("diffusion lod-be accuracy limit", MECHANISM,
      "invasim's criterion: time error at most the spatial error")
def lod_be_limit(quick: bool) -> Result:
    """At ACCURACY_R_MAX["lod-be"] the time error is at most the spatial one; at 2× above."""
    # the criterion behind ACCURACY_R_MAX["lod-be"]: at the limit the time error is at most the
    # spatial error (measured 0.87), at twice the limit it is well above it (measured 1.73).
    r = ACCURACY_R_MAX["lod-be"]
    chk = Checks()
    at = [time_over_space_error(dim, "lod-be", r) for dim in (1, 2)]
    for dim, v in zip((1, 2), at, strict=True):
        chk.bound(f"time/space error at the limit, {dim}-D", v, "<=", 1.0)
        chk.bound(f"time/space error at 2x the limit, {dim}-D",
                  time_over_space_error(dim, "lod-be", 2 * r), ">", 1.3)  # fmt: skip
    return chk.result(1.0, max(at), unit="", relation="<=",
                      detail=f"time/space error ratio at r = {r:g} (largest of 1-D, 2-D)")


def spike_min(dim: int, r: float, boundary: Boundary, at_wall: bool) -> float:
    """Smallest value over 20 lod-cn steps from a unit one-voxel spike (0 elsewhere)."""
    mesh = Mesh(dim, (15,) * dim, 1.0)
    u = mesh.zeros()
    k = 0 if at_wall else 7
    u[(0,) * (3 - dim) + (k,) * dim] = 1.0
    d = Diffusion(mesh, D, 0.0, r / D, boundary, "lod-cn")
    worst = 0.0
    for _ in range(20):
        d.step(u)
        worst = min(worst, float(u.min()))
    return worst


@case("diffusion lod-cn accuracy limit keeps a spike non-negative", MECHANISM,
      "invasim's criterion: non-negative step matrices")
def lod_cn_limit(quick: bool) -> Result:
    """At the limits a one-voxel spike stays >= 0; at twice them it rings below zero."""
    # At the limits the step's matrices are all non-negative, so the minimum must be exactly
    # >= 0; at twice the limits the spike rings below zero (measured -1.2 % to -28 % of the
    # peak; 1e-3 is far above round-off), which shows the limits are not far from tight.
    r = ACCURACY_R_MAX["lod-cn"]
    rd = CN_R_MAX_DIRICHLET
    chk, mins = Checks(), []
    for dim in (1, 2, 3):
        for what, rr, b, wall in (("interior", r, Boundary(), False),
                                  ("no-flux wall", r, Boundary(), True),
                                  ("dirichlet wall", rd, Boundary("dirichlet", 0.0), True)):
            v = spike_min(dim, rr, b, wall)
            mins.append(v)
            chk.bound(f"min at the limit, {dim}-D {what}", v, ">=", 0.0)
        chk.bound(f"min at 2x the limit, {dim}-D interior",
                  spike_min(dim, 2 * r, Boundary(), False), "<", -1e-3)  # fmt: skip
        chk.bound(f"min at 2x the limit, {dim}-D dirichlet wall",
                  spike_min(dim, 2 * rd, Boundary("dirichlet", 0.0), True), "<", -1e-3)
        # and at its limit Crank–Nicolson is accurate for smooth data: time error well under
        # the spatial one (measured 0.25)
        if dim < 3:
            chk.bound(f"time/space error at the limit, {dim}-D",
                      time_over_space_error(dim, "lod-cn", r), "<", 0.5)  # fmt: skip
    return chk.result(0.0, min(mins), unit="", relation=">=",
                      detail=f"smallest value of a unit spike over 20 steps at r = {r:g} "
                             f"(dirichlet wall: {rd:g}), 1-, 2-, 3-D")  # fmt: skip
