"""Unit tests of invasim.physics.exchange: binning, sources/sinks, mass balance, sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invasim.core.mesh import Mesh
from invasim.physics.exchange import (
    SecretionUptake,
    bin_kernel,
    sample_gradients,
    sample_values,
    voxel_of,
)

MESHES = [Mesh(1, (9,), 20.0), Mesh(2, (7, 5), 20.0), Mesh(3, (6, 5, 4), 20.0)]


def random_cells(mesh, n, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.zeros((n, 3))
    for a in range(mesh.dim):
        pos[:, a] = rng.uniform(0, mesh.extent[a], n)
    return pos


@pytest.mark.parametrize("mesh", MESHES, ids=lambda m: f"{m.dim}d")
def test_voxel_of_and_binning(mesh):
    pos = random_cells(mesh, 300)
    vox = voxel_of(pos, mesh)
    x, y, z = mesh.grids()
    cx = np.broadcast_to(x, mesh.array_shape).ravel()[vox]
    assert np.all(np.abs(cx - pos[:, 0]) <= mesh.h / 2 + 1e-12)
    if mesh.dim > 1:
        cy = np.broadcast_to(y, mesh.array_shape).ravel()[vox]
        assert np.all(np.abs(cy - pos[:, 1]) <= mesh.h / 2 + 1e-12)
    # outside the box: clipped to the nearest wall voxel
    out = voxel_of(np.array([[-5.0, -5.0, -5.0], [1e6, 1e6, 1e6]]), mesh)
    assert out[0] == 0 and out[1] == mesh.n_voxels - 1
    order, occ, start = bin_kernel(vox, mesh.n_voxels)
    assert np.array_equal(order, np.argsort(vox, kind="stable"))
    assert np.array_equal(occ, np.unique(vox))
    assert np.array_equal(np.diff(start), np.bincount(vox)[occ])


def test_single_cell_matches_physicell_update():
    mesh = Mesh(3, (4, 4, 4), 20.0)
    u = mesh.zeros() + 3.0
    vc, vv, dt, s, T, q = 2494.0, 8000.0, 0.01, 2.0, 10.0, 5.0
    su = SecretionUptake(mesh)
    su.bind(np.array([[30.0, 30.0, 30.0]]), np.array([vc]), s, T, q, export=4.0)
    su.step(u, dt)
    c = vc / vv
    expect = (3.0 + dt * s * T * c + dt * 4.0 / vv) / (1 + dt * (s + q) * c)
    assert u[1, 1, 1] == pytest.approx(expect, rel=1e-15)
    assert np.count_nonzero(u != 3.0) == 1


def test_exact_scheme_solves_the_ode():
    mesh = Mesh(2, (3, 3), 10.0)
    su = SecretionUptake(mesh, scheme="exact")
    su.bind(np.array([[15.0, 15.0, 0.0], [16.0, 14.0, 0.0]]), np.array([500.0, 300.0]),
            [0.5, 0.0], [4.0, 0.0], [0.0, 2.0])  # fmt: skip
    u = mesh.zeros() + 1.0
    dt = 0.7
    su.step(u, dt)
    A = 0.5 * 4.0 * 500.0 / 1000.0
    B = (0.5 * 500.0 + 2.0 * 300.0) / 1000.0
    expect = A / B + (1.0 - A / B) * math.exp(-B * dt)
    assert u[0, 1, 1] == pytest.approx(expect, rel=1e-14)


@pytest.mark.parametrize("scheme", ["implicit", "exact"])
@pytest.mark.parametrize("mesh", MESHES, ids=lambda m: f"{m.dim}d")
def test_mass_balance_per_step(mesh, scheme):
    n = 400  # several cells per voxel
    rng = np.random.default_rng(1)
    su = SecretionUptake(mesh, scheme=scheme)
    su.bind(random_cells(mesh, n), rng.uniform(1000, 3000, n), rng.uniform(0, 1, n),
            rng.uniform(0, 20, n), rng.uniform(0, 10, n), rng.normal(0, 100, n))  # fmt: skip
    u = rng.uniform(0, 10, mesh.array_shape)
    before = u.copy()
    ex = np.empty(n)
    su.step(u, 0.05, exchanged=ex)
    change = (u - before).sum() * su.voxel_volume
    assert change == pytest.approx(ex.sum(), rel=1e-12, abs=1e-9)
    # per voxel too
    per_voxel = np.bincount(su.voxel, weights=ex, minlength=mesh.n_voxels)
    assert np.allclose((u - before).ravel() * su.voxel_volume, per_voxel, rtol=1e-10, atol=1e-9)


def test_parallel_equals_serial_bitwise():
    mesh = Mesh(2, (50, 50), 10.0)
    n = 20000
    rng = np.random.default_rng(2)
    args = (random_cells(mesh, n), rng.uniform(1000, 3000, n), rng.uniform(0, 1, n),
            rng.uniform(0, 20, n), rng.uniform(0, 10, n))  # fmt: skip
    out = []
    for par in (False, True):
        su = SecretionUptake(mesh, parallel=par)
        su.bind(*args)
        u = np.full(mesh.array_shape, 5.0)
        ex = np.empty(n)
        for _ in range(3):
            su.step(u, 0.01, exchanged=ex)
        out.append((u, ex))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])


def test_bad_inputs():
    mesh = Mesh(2, (3, 3), 10.0)
    with pytest.raises(ValueError):
        SecretionUptake(mesh, scheme="nope")
    su = SecretionUptake(mesh)
    with pytest.raises(ValueError):
        su.bind(np.zeros((1, 3)), np.ones(1), -1.0, 0.0, 0.0)
    su.bind(np.zeros((1, 3)), np.ones(1), 1.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        su.step(np.zeros((3, 3)), 0.1)
    su.step(mesh.zeros(), 0.1)  # empty tissue is fine
    SecretionUptake(mesh).step(mesh.zeros(), 0.1)


@pytest.mark.parametrize("mesh", MESHES, ids=lambda m: f"{m.dim}d")
def test_sampling(mesh):
    x, y, z = mesh.grids()
    g = np.array([0.3, -0.2, 0.7])[: mesh.dim]
    lin = np.broadcast_to(1.0 + g[0] * x + (g[1] * y if mesh.dim > 1 else 0)
                          + (g[2] * z if mesh.dim > 2 else 0), mesh.array_shape).copy()  # fmt: skip
    pos = random_cells(mesh, 200, seed=4)
    vox = voxel_of(pos, mesh)
    assert np.array_equal(sample_values(lin, vox), lin.ravel()[vox])
    grad = sample_gradients(lin, mesh, vox)
    expect = np.zeros(3)
    expect[: mesh.dim] = g
    assert np.allclose(grad, expect, atol=1e-12)  # exact for a linear field, walls included
    # quadratic along x: central differences exact inside, one-sided at the walls
    quad = np.broadcast_to(x**2, mesh.array_shape).copy()
    grad = sample_gradients(quad, mesh, vox)
    i = vox % mesh.nx
    xc = (i + 0.5) * mesh.h
    inner = (i > 0) & (i < mesh.nx - 1)
    assert np.allclose(grad[inner, 0], 2 * xc[inner])
    assert np.allclose(grad[i == 0, 0], 2 * mesh.h)  # (x1² - x0²)/h = 2h at x0 = h/2
    assert np.all(grad[:, mesh.dim :] == 0)


@pytest.mark.parametrize("scheme", ["implicit", "exact"])
def test_mass_balance_tiny_and_zero_rates(scheme):
    mesh = Mesh(2, (4, 4), 20.0)
    pos = random_cells(mesh, 50, seed=3)
    rates = np.r_[np.zeros(25), np.full(25, 1e-9)]
    su = SecretionUptake(mesh, scheme=scheme)
    su.bind(pos, np.full(50, 2000.0), rates, 30.0, rates[::-1], export=np.full(50, 3.0))
    u = np.full(mesh.array_shape, 7.0)
    ex = np.empty(50)
    su.step(u, 0.5, exchanged=ex)
    assert (u - 7.0).sum() * su.voxel_volume == pytest.approx(ex.sum(), rel=1e-12)
    assert ex.sum() == pytest.approx(50 * 3.0 * 0.5, rel=1e-4)
