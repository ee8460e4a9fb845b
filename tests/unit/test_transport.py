"""Unit tests of invasim.physics.transport against plain NumPy references."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from invasim.core.mesh import Mesh
from invasim.physics.transport import nonlinear_diffusion_step, taxis_dt_limit, taxis_step

# Reference and kernel evaluate the same face fluxes in float64 with a different summation
# order; on O(1) data the difference is a few ulp, so 1e-13 only fails on a real mistake.
TOL = 1e-13

MESHES = [Mesh(1, (11,), 10.0), Mesh(2, (9, 7), 10.0), Mesh(3, (5, 4, 6), 10.0)]
IDS = ["1d", "2d", "3d"]


def _faces(a: np.ndarray, axis: int) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis] = slice(0, -1)
    hi[axis] = slice(1, None)
    return tuple(lo), tuple(hi)


def taxis_reference(u, chi, s, h, dt, n):
    for _ in range(n):
        du = np.zeros_like(u)
        for axis in range(3):
            if u.shape[axis] == 1:
                continue
            lo, hi = _faces(u, axis)
            v = chi * (s[hi] - s[lo]) / h  # face velocity, µm/min
            flux = np.where(v > 0, v * u[lo], v * u[hi]) * (dt / n) / h  # per voxel content
            du[lo] -= flux
            du[hi] += flux
        u = u + du
    return u


def nonlinear_reference(u, c, h, dt, n):
    for _ in range(n):
        du = np.zeros_like(u)
        for axis in range(3):
            if u.shape[axis] == 1:
                continue
            lo, hi = _faces(u, axis)
            flux = 0.5 * (c[lo] + c[hi]) * (u[lo] - u[hi]) * (dt / n) / h**2
            du[lo] -= flux
            du[hi] += flux
        u = u + du
    return u


@pytest.mark.parametrize("mesh", MESHES, ids=IDS)
@pytest.mark.parametrize("chi", [50.0, -30.0, 3e3])  # sub-steps: 1-2, 1, 21-65
def test_taxis_matches_numpy(mesh, chi):
    rng = np.random.default_rng(0)
    u = rng.random(mesh.array_shape)
    s = rng.random(mesh.array_shape)
    dt = 0.4
    n_expected = max(1, math.ceil(dt / taxis_dt_limit(chi, s, mesh)))
    ref = taxis_reference(u.copy(), chi, s, mesh.h, dt, n_expected)
    n = taxis_step(u, chi, s, mesh, dt)
    assert n == n_expected
    np.testing.assert_allclose(u, ref, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("mesh", MESHES, ids=IDS)
def test_taxis_huge_chi_stays_non_negative(mesh):
    rng = np.random.default_rng(1)
    u = rng.random(mesh.array_shape)
    u[u < 0.5] = 0.0  # empty voxels next to full ones: the hardest case for positivity
    s = 10.0 * rng.random(mesh.array_shape)
    mass = u.sum()
    n_expected = math.ceil(1.0 / taxis_dt_limit(1e4, s, mesh))
    n = taxis_step(u, 1e4, s, mesh, 1.0)
    # one step at this chi would have CFL ~ 1e3: sub-stepping must have kicked in
    assert n == n_expected > 500
    assert u.min() >= 0.0
    assert abs(u.sum() - mass) <= 1e-12 * mass


def test_taxis_dt_limit_and_trivial_cases():
    mesh = Mesh(2, (4, 3), 20.0)
    s = mesh.zeros()
    s[0, 1, 2] = 2.0  # largest neighbour difference 2
    assert taxis_dt_limit(5.0, s, mesh) == pytest.approx(400.0 / (2 * 2 * 5.0 * 2.0))
    assert taxis_dt_limit(0.0, s, mesh) == math.inf
    assert taxis_dt_limit(5.0, mesh.zeros(), mesh) == math.inf
    u = np.random.default_rng(2).random(mesh.array_shape)
    u0 = u.copy()
    assert taxis_step(u, 5.0, mesh.zeros(), mesh, 3.0) == 1
    assert np.array_equal(u, u0)
    # exactly at the limit: a single step
    assert taxis_step(u, 5.0, s, mesh, taxis_dt_limit(5.0, s, mesh)) == 1
    with pytest.raises(ValueError):
        taxis_step(u, 5.0, s, mesh, 0.0)
    with pytest.raises(ValueError):
        taxis_step(u[:, :2], 5.0, s, mesh, 0.1)


@pytest.mark.parametrize("mesh", MESHES, ids=IDS)
@pytest.mark.parametrize("dt", [0.05, 3.0])
def test_nonlinear_diffusion_matches_numpy(mesh, dt):
    rng = np.random.default_rng(3)
    u = rng.random(mesh.array_shape)
    c = 100.0 * rng.random(mesh.array_shape)
    n_expected = max(1, math.ceil(dt / (mesh.h**2 / (2 * mesh.dim * c.max()))))
    ref = nonlinear_reference(u.copy(), c, mesh.h, dt, n_expected)
    work = np.empty_like(u)
    n = nonlinear_diffusion_step(u, c, mesh, dt, work=work)
    assert n == n_expected
    np.testing.assert_allclose(u, ref, rtol=TOL, atol=TOL)
    assert u.min() >= 0.0


def test_nonlinear_diffusion_rejects_negative_coef():
    mesh = Mesh(2, (4, 4), 10.0)
    c = np.ones(mesh.array_shape)
    c[0, 1, 1] = -1e-3
    with pytest.raises(ValueError, match="non-negative"):
        nonlinear_diffusion_step(mesh.zeros(), c, mesh, 0.1)
    u = np.random.default_rng(4).random(mesh.array_shape)
    u0 = u.copy()
    assert nonlinear_diffusion_step(u, mesh.zeros(), mesh, 1.0) == 1
    assert np.array_equal(u, u0)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_bit_identical_across_thread_counts():
    mesh = Mesh(3, (13, 11, 9), 10.0)
    rng = np.random.default_rng(5)
    u0 = rng.random(mesh.array_shape)
    s = rng.random(mesh.array_shape)
    c = 50.0 * rng.random(mesh.array_shape)

    def run():
        u = u0.copy()
        taxis_step(u, 300.0, s, mesh, 0.5)
        nonlinear_diffusion_step(u, c, mesh, 0.5)
        return u

    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = run()
        numba.set_num_threads(2)
        b = run()
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(a, b)
