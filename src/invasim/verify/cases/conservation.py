"""Mass conservation of the field operators under closed (no-flux) walls, in 1-D, 2-D and 3-D.

Total mass is ``sum(u) h^dim``. Every operator moves mass only through faces, each face flux
leaving one voxel exactly as it enters the other, so the only drift is the round-off of the
updates: ~1e-16 relative per step, a few 1e-15 over the runs below. 1e-12 leaves three orders
of magnitude for round-off and fails on any flux through a wall or any unpaired face flux
(which move mass at the 1e-3 level or more on these random fields).

Contract:
    * Cases (quick and full forms are the same, well under a second each):
      ``diffusion conserves mass at no-flux walls``, ``diffusion with decay loses mass as
      exp(-k t)``, ``taxis conserves mass``, ``nonlinear diffusion conserves mass``; each runs
      every mesh of :data:`MESHES` (and every scheme) and reports the largest drift.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.core.mesh import Mesh
from invasim.physics.diffusion import Diffusion, explicit_dt_limit
from invasim.physics.transport import nonlinear_diffusion_step, taxis_step
from invasim.verify import Checks, Result, case

SOURCE = "exact: fluxes through faces only, closed walls"
REL = 1e-12
MESHES = (Mesh(1, (67,), 20.0), Mesh(2, (37, 29), 20.0), Mesh(3, (17, 13, 11), 20.0))
SCHEMES = ("lod-be", "lod-cn", "explicit")


def mass(u: np.ndarray, mesh: Mesh) -> float:
    """Total mass ``sum(u) h^dim``."""
    return float(u.sum()) * mesh.voxel_volume


def random_field(mesh: Mesh, seed: int) -> np.ndarray:
    """Random values in [0, 1), a third of them zeroed: sharp, one-voxel features."""
    u = np.random.default_rng(seed).random(mesh.array_shape)
    u[u < 0.3] = 0.0  # sharp, one-voxel features: the walls and the fluxes get exercised
    return u


def _result(chk: Checks, drifts: list[tuple[float, str]], what: str) -> Result:
    worst, where = max(drifts)
    return chk.result(0.0, worst, REL, "relative",
                      f"largest |{what}| / initial mass over {len(drifts)} runs ({where}); "
                      "bound: round-off")  # fmt: skip


@case("diffusion conserves mass at no-flux walls", "diffusion", SOURCE)
def diffusion_conserves(quick: bool) -> Result:
    """50 steps of each scheme on random fields in 1-, 2- and 3-D: mass to 1e-12."""
    chk, drifts = Checks(), []
    for mesh in MESHES:
        for scheme in SCHEMES:
            u = random_field(mesh, 0)
            m0 = mass(u, mesh)
            D = 1e5
            dt = explicit_dt_limit(mesh, D) if scheme == "explicit" else 0.01  # r = 2.5 (LODs)
            d = Diffusion(mesh, D, 0.0, dt, scheme=scheme)
            for _ in range(50):
                d.step(u)
            where = f"{mesh.dim}-D {scheme}"
            drifts.append((abs(mass(u, mesh) - m0) / m0, where))
            chk.near(f"relative drift, {where}", drifts[-1][0], 0.0, REL)
            chk.bound(f"sd after / before, {where}", u.std() / random_field(mesh, 0).std(), "<",
                      0.5)  # it did diffuse  # fmt: skip
    return _result(chk, drifts, "mass drift")


@case("diffusion with decay loses mass as exp(-k t)", "diffusion", SOURCE)
def diffusion_decays(quick: bool) -> Result:
    """With decay k, d(mass)/dt = −k mass exactly, and each scheme applies exp(−k dt) exactly."""
    chk, drifts = Checks(), []
    for mesh in MESHES:
        for scheme in SCHEMES:
            u = random_field(mesh, 1)
            m0 = mass(u, mesh)
            D, k = 1e3, 0.1
            dt = explicit_dt_limit(mesh, D) if scheme == "explicit" else 0.1
            d = Diffusion(mesh, D, k, dt, scheme=scheme)
            for _ in range(50):
                d.step(u)
            expected = m0 * math.exp(-k * 50 * dt)
            where = f"{mesh.dim}-D {scheme}"
            drifts.append((abs(mass(u, mesh) - expected) / m0, where))
            chk.near(f"relative error, {where}", drifts[-1][0], 0.0, REL)
    return _result(chk, drifts, "mass - m0 exp(-k t)")


@case("taxis conserves mass", "transport", SOURCE)
def taxis_conserves(quick: bool) -> Result:
    """Five sub-stepped taxis steps up a random potential: mass to 1e-12, no negative value."""
    chk, drifts = Checks(), []
    for mesh in MESHES:
        u = random_field(mesh, 2)
        s = 5.0 * np.random.default_rng(3).random(mesh.array_shape)
        m0 = mass(u, mesh)
        n = 0
        for _ in range(5):
            n += taxis_step(u, 200.0, s, mesh, 0.5)
        where = f"{mesh.dim}-D"
        chk.bound(f"sub-steps, {where}", n, ">", 5)  # sub-stepping was involved
        drifts.append((abs(mass(u, mesh) - m0) / m0, where))
        chk.near(f"relative drift, {where}", drifts[-1][0], 0.0, REL)
        chk.bound(f"min u, {where}", float(u.min()), ">=", 0.0)
    return _result(chk, drifts, "mass drift")


@case("nonlinear diffusion conserves mass", "transport", SOURCE)
def nonlinear_diffusion_conserves(quick: bool) -> Result:
    """Five sub-stepped steps with a coefficient zero in places: mass to 1e-12, u >= 0."""
    chk, drifts = Checks(), []
    for mesh in MESHES:
        u = random_field(mesh, 4)
        coef = 1e3 * random_field(mesh, 5)  # zero in places: closed faces inside the domain too
        m0 = mass(u, mesh)
        n = 0
        for _ in range(5):
            n += nonlinear_diffusion_step(u, coef, mesh, 0.5)
        where = f"{mesh.dim}-D"
        chk.bound(f"sub-steps, {where}", n, ">", 5)
        drifts.append((abs(mass(u, mesh) - m0) / m0, where))
        chk.near(f"relative drift, {where}", drifts[-1][0], 0.0, REL)
        chk.bound(f"min u, {where}", float(u.min()), ">=", 0.0)
    return _result(chk, drifts, "mass drift")
