"""Mass conservation of the field operators under closed (no-flux) walls, in 1-D, 2-D and 3-D.

Total mass is ``sum(u) h^dim``. Every operator moves mass only through faces, each face flux
leaving one voxel exactly as it enters the other, so the only drift is the round-off of the
updates: ~1e-16 relative per step, a few 1e-15 over the runs below. 1e-12 leaves three orders
of magnitude for round-off and fails on any flux through a wall or any unpaired face flux
(which move mass at the 1e-3 level or more on these random fields).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from invasim.core.mesh import Mesh
from invasim.physics.diffusion import Diffusion, explicit_dt_limit
from invasim.physics.transport import nonlinear_diffusion_step, taxis_step

REL = 1e-12
MESHES = [Mesh(1, (67,), 20.0), Mesh(2, (37, 29), 20.0), Mesh(3, (17, 13, 11), 20.0)]
IDS = ["1d", "2d", "3d"]


def mass(u: np.ndarray, mesh: Mesh) -> float:
    return float(u.sum()) * mesh.voxel_volume


def random_field(mesh: Mesh, seed: int) -> np.ndarray:
    u = np.random.default_rng(seed).random(mesh.array_shape)
    u[u < 0.3] = 0.0  # sharp, one-voxel features: the walls and the fluxes get exercised
    return u


@pytest.mark.parametrize("mesh", MESHES, ids=IDS)
@pytest.mark.parametrize("scheme", ["lod-be", "lod-cn", "explicit"])
def test_diffusion_conserves_mass(mesh, scheme):
    u = random_field(mesh, 0)
    m0 = mass(u, mesh)
    D = 1e5
    dt = explicit_dt_limit(mesh, D) if scheme == "explicit" else 0.01  # r = 2.5 for the LODs
    d = Diffusion(mesh, D, 0.0, dt, scheme=scheme)
    for _ in range(50):
        d.step(u)
    assert abs(mass(u, mesh) - m0) <= REL * m0
    assert u.std() < 0.5 * random_field(mesh, 0).std()  # it did diffuse


@pytest.mark.parametrize("mesh", MESHES, ids=IDS)
@pytest.mark.parametrize("scheme", ["lod-be", "lod-cn", "explicit"])
def test_diffusion_mass_decays_exactly(mesh, scheme):
    # with decay k, d(mass)/dt = -k mass exactly, and the scheme applies exp(-k dt) exactly
    u = random_field(mesh, 1)
    m0 = mass(u, mesh)
    D, k = 1e3, 0.1
    dt = explicit_dt_limit(mesh, D) if scheme == "explicit" else 0.1
    d = Diffusion(mesh, D, k, dt, scheme=scheme)
    for _ in range(50):
        d.step(u)
    expected = m0 * math.exp(-k * 50 * dt)
    assert abs(mass(u, mesh) - expected) <= REL * m0


@pytest.mark.parametrize("mesh", MESHES, ids=IDS)
def test_taxis_conserves_mass(mesh):
    u = random_field(mesh, 2)
    s = 5.0 * np.random.default_rng(3).random(mesh.array_shape)
    m0 = mass(u, mesh)
    n = 0
    for _ in range(5):
        n += taxis_step(u, 200.0, s, mesh, 0.5)
    assert n > 5  # sub-stepping was involved
    assert abs(mass(u, mesh) - m0) <= REL * m0
    assert u.min() >= 0.0


@pytest.mark.parametrize("mesh", MESHES, ids=IDS)
def test_nonlinear_diffusion_conserves_mass(mesh):
    u = random_field(mesh, 4)
    coef = 1e3 * random_field(mesh, 5)  # zero in places: closed faces inside the domain too
    m0 = mass(u, mesh)
    n = 0
    for _ in range(5):
        n += nonlinear_diffusion_step(u, coef, mesh, 0.5)
    assert n > 5
    assert abs(mass(u, mesh) - m0) <= REL * m0
    assert u.min() >= 0.0
