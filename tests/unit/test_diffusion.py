"""Unit tests of invasim.physics.diffusion against dense NumPy/SciPy references."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
import scipy.linalg

from invasim.core.mesh import Mesh
from invasim.physics import _kernels as K
from invasim.physics.diffusion import (
    ACCURACY_R_MAX,
    CN_R_MAX_DIRICHLET,
    FACES,
    Boundary,
    Diffusion,
    accuracy_dt_limit,
    explicit_dt_limit,
)

# Every comparison below is between two evaluations of the same linear algebra in float64 on
# O(1) data with condition numbers < 10, so 1e-13 (about 500 ulp) separates round-off from any
# real mistake (a wrong coefficient changes results at the 1e-3 level or more).
TOL = 1e-13

MESHES = [
    Mesh(1, (7,), 10.0),
    Mesh(2, (13, 9), 10.0),  # 13 lines of 9: one 8-line block plus remainder lines
    Mesh(3, (5, 6, 7), 10.0),
    Mesh(2, (1, 5), 10.0),  # an existing axis one voxel thick
    Mesh(2, (300, 3), 10.0),  # strided sweep with more than one strip of columns
]
BOUNDARIES = [Boundary(), Boundary("dirichlet", 3.0)]


def lap_1d(n: int, dirichlet: bool) -> tuple[np.ndarray, np.ndarray]:
    """Dense 1-D Laplacian (times h^2) with mirror or Dirichlet ghosts, and its wall source."""
    L = np.zeros((n, n))
    for i in range(n):
        for j in (i - 1, i + 1):
            if 0 <= j < n:
                L[i, j] = 1.0
                L[i, i] -= 1.0
    src = np.zeros(n)
    if dirichlet:  # ghost 2g - u: one more -u on the diagonal, +2g on the right-hand side
        for i in {0, n - 1}:
            L[i, i] -= 2.0 if n > 1 else 4.0
            src[i] = 2.0 if n > 1 else 4.0
    return L, src


def lod_reference(u, mesh, D, decay, dt, bc, theta):
    """Decay, then one dense theta-scheme solve per axis (x, y, z)."""
    v = u * math.exp(-decay * dt)
    r = D * dt / mesh.h**2
    for ax in range(mesh.dim):
        n = mesh.n[ax]
        if n == 1 and bc.kind == "no-flux":
            continue
        L, src = lap_1d(n, bc.kind == "dirichlet")
        A = np.eye(n) - theta * r * L
        B = np.eye(n) + (1 - theta) * r * L
        w = np.moveaxis(v, 2 - ax, -1)
        rhs = w @ B.T + r * bc.value * src
        sol = np.linalg.solve(A, rhs.reshape(-1, n).T).T.reshape(rhs.shape)
        v = np.ascontiguousarray(np.moveaxis(sol, -1, 2 - ax))
    return v


def explicit_reference(u, mesh, D, decay, dt, bc):
    mode = "edge"
    pad = [(1, 1) if 2 - a < mesh.dim else (0, 0) for a in range(3)]
    p = np.pad(u, pad, mode=mode)
    if bc.kind == "dirichlet":
        # replace the mirror ghosts by 2g - u_edge
        for a in range(3):
            if pad[a] == (0, 0):
                continue
            sl_lo = [slice(None)] * 3
            sl_lo[a] = 0
            sl_hi = [slice(None)] * 3
            sl_hi[a] = -1
            p[tuple(sl_lo)] = 2 * bc.value - p[tuple(sl_lo)]
            p[tuple(sl_hi)] = 2 * bc.value - p[tuple(sl_hi)]
    lap = np.zeros_like(u)
    core = tuple(slice(1, -1) if pr == (1, 1) else slice(None) for pr in pad)
    for a in range(3):
        if pad[a] == (0, 0):
            continue
        for s in (-1, 1):
            lap += np.roll(p, s, axis=a)[core] - u
    return math.exp(-decay * dt) * (u + D * dt / mesh.h**2 * lap)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 50])
def test_thomas_matches_solve_banded(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        a = rng.uniform(0.0, 3.0)
        b = 2 * a + rng.uniform(0.1, 2.0, n)  # diagonally dominant, like every LOD matrix
        d = rng.normal(size=n)
        ab = np.zeros((3, n))
        ab[0, 1:] = -a
        ab[1] = b
        ab[2, :-1] = -a
        ref = scipy.linalg.solve_banded((1, 1), ab, d)
        m, g = K.thomas_factor(b, a)
        x = d.copy()
        K.thomas_solve(m, g, x)
        np.testing.assert_allclose(x, ref, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("mesh", MESHES, ids=lambda m: "x".join(map(str, m.n)))
@pytest.mark.parametrize("bc", BOUNDARIES, ids=lambda b: b.kind)
@pytest.mark.parametrize("scheme,theta", [("lod-be", 1.0), ("lod-cn", 0.5)])
def test_lod_step_matches_dense_reference(mesh, bc, scheme, theta):
    rng = np.random.default_rng(0)
    u = rng.random(mesh.array_shape)
    ref = lod_reference(u, mesh, 300.0, 0.2, 0.7, bc, theta)
    Diffusion(mesh, 300.0, 0.2, 0.7, bc, scheme).step(u)
    np.testing.assert_allclose(u, ref, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("mesh", MESHES[:4], ids=lambda m: "x".join(map(str, m.n)))
@pytest.mark.parametrize("bc", BOUNDARIES, ids=lambda b: b.kind)
def test_explicit_step_matches_numpy(mesh, bc):
    rng = np.random.default_rng(1)
    u = rng.random(mesh.array_shape)
    dt = 0.9 * explicit_dt_limit(mesh, 300.0)
    ref = explicit_reference(u, mesh, 300.0, 0.2, dt, bc)
    d = Diffusion(mesh, 300.0, 0.2, dt, bc, "explicit")
    d.step(u)
    np.testing.assert_allclose(u, ref, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("scheme", ["lod-be", "lod-cn", "explicit"])
def test_dirichlet_value_is_held(scheme):
    # from u = 0 the field must fill up to the wall value g everywhere (the only steady state
    # with g on every wall). The runs below cover >= 30 e-folds of the slowest mode (rate
    # D pi^2 (1/120^2 + 1/100^2) = 0.17/min), residual < 1e-12, so rtol 1e-9 fails only if the
    # held value is wrong.
    mesh = Mesh(2, (12, 10), 10.0)
    g = 2.5
    dt = 0.25 * explicit_dt_limit(mesh, 100.0) if scheme == "explicit" else 0.5
    d = Diffusion(mesh, 100.0, 0.0, dt, Boundary("dirichlet", g), scheme)
    u = mesh.zeros()
    for _ in range(4000 if scheme == "explicit" else 400):
        d.step(u)
    np.testing.assert_allclose(u, g, rtol=1e-9)
    # one step from 0: the voxels along the walls gain mass through them (no-flux would keep
    # them at 0) and nothing overshoots g
    u = mesh.zeros()
    d.step(u)
    assert u[0, 0, :].min() > 0.0 and u[0, :, 0].min() > 0.0 and u.max() < g


@pytest.mark.parametrize("scheme", ["lod-be", "lod-cn", "explicit"])
def test_decay_only_is_exact(scheme):
    mesh = Mesh(2, (6, 5), 10.0)
    u = np.random.default_rng(2).random(mesh.array_shape)
    ref = u * math.exp(-0.3 * 0.25)
    Diffusion(mesh, 0.0, 0.3, 0.25, scheme=scheme).step(u)
    np.testing.assert_allclose(u, ref, rtol=1e-15)


def _thread_run(fn, threads):
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return fn()
    finally:
        numba.set_num_threads(old)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
@pytest.mark.parametrize("scheme", ["lod-be", "lod-cn", "explicit"])
@pytest.mark.parametrize("n", [(37, 29), (19, 270), (9, 17, 13)])
def test_bit_identical_across_thread_counts(scheme, n):
    mesh = Mesh(len(n), n, 20.0)
    u0 = np.random.default_rng(3).random(mesh.array_shape)
    dt = 0.9 * explicit_dt_limit(mesh, 1e3) if scheme == "explicit" else 0.05

    def run():
        u = u0.copy()
        d = Diffusion(mesh, 1e3, 0.1, dt, Boundary("dirichlet", 0.3), scheme)
        for _ in range(5):
            d.step(u)
        return u

    assert np.array_equal(_thread_run(run, 1), _thread_run(run, 2))


def test_rejects_bad_input():
    mesh = Mesh(2, (8, 8), 20.0)
    lim = explicit_dt_limit(mesh, 1e3)
    assert lim == pytest.approx(400.0 / (4 * 1e3))
    with pytest.raises(ValueError, match="unstable"):
        Diffusion(mesh, 1e3, 0.0, 1.01 * lim, scheme="explicit")
    Diffusion(mesh, 1e3, 0.0, lim, scheme="explicit")  # exactly at the limit is allowed
    with pytest.raises(ValueError, match="unknown diffusion scheme"):
        Diffusion(mesh, 1e3, 0.0, 0.01, scheme="adi")
    with pytest.raises(ValueError, match="unknown diffusion scheme"):
        accuracy_dt_limit(mesh, 1e3, "adi")
    with pytest.raises(ValueError):
        Boundary("periodic")
    with pytest.raises(ValueError):
        Diffusion(mesh, -1.0, 0.0, 0.01)
    with pytest.raises(ValueError):
        Diffusion(mesh, 1.0, 0.0, 0.0)
    d = Diffusion(mesh, 1e3, 0.0, 0.01)
    with pytest.raises(ValueError, match="C-contiguous"):
        d.step(np.zeros((1, 8, 9)))
    with pytest.raises(ValueError, match="C-contiguous"):
        d.step(np.zeros((1, 8, 8), dtype=np.float32))


def test_dt_limits():
    mesh = Mesh(3, (4, 4, 4), 20.0)
    assert explicit_dt_limit(mesh, 0.0) == math.inf
    assert accuracy_dt_limit(mesh, 0.0, "lod-cn") == math.inf
    assert accuracy_dt_limit(mesh, 1e5, "explicit") == explicit_dt_limit(mesh, 1e5)
    for s in ("lod-be", "lod-cn"):
        lim = accuracy_dt_limit(mesh, 1e5, s, Boundary())
        assert lim == pytest.approx(ACCURACY_R_MAX[s] * 400 / 1e5)
    # Crank–Nicolson next to a Dirichlet wall (or an unknown wall) needs the tighter bound
    tight = CN_R_MAX_DIRICHLET * 400 / 1e5
    assert accuracy_dt_limit(mesh, 1e5, "lod-cn") == pytest.approx(tight)
    assert accuracy_dt_limit(mesh, 1e5, "lod-cn", Boundary("dirichlet", 1.0)) == pytest.approx(
        tight
    )
    assert accuracy_dt_limit(mesh, 1e5, "lod-be") == accuracy_dt_limit(
        mesh, 1e5, "lod-be", Boundary()
    )


@pytest.mark.parametrize("scheme", ["lod-be", "lod-cn"])
@pytest.mark.parametrize("bc", BOUNDARIES, ids=lambda b: b.kind)
def test_fused_xy_planes_equal_separate_sweeps(scheme, bc, monkeypatch):
    # 3-D meshes sweep x and y plane by plane; the result must not depend on that
    mesh = Mesh(3, (19, 21, 17), 10.0)
    u0 = np.random.default_rng(6).random(mesh.array_shape)
    results = []
    for min_planes in (1, 10**9):  # fused, then separate
        monkeypatch.setattr("invasim.physics.diffusion.FUSE_MIN_PLANES", min_planes)
        u = u0.copy()
        d = Diffusion(mesh, 300.0, 0.1, 0.5, bc, scheme)
        assert d._fuse_xy == (min_planes == 1)
        d.step(u)
        results.append(u)
    assert np.array_equal(results[0], results[1])


# -- BioFVM's per-face Dirichlet voxels ----------------------------------------------------------
def test_every_face_at_one_value_is_the_all_walls_condition_bit_for_bit():
    mesh = Mesh(3, (7, 6, 5), 20.0)
    u0 = np.random.default_rng(1).uniform(0, 5, mesh.array_shape)
    faces = tuple((f, 3.0) for f in FACES)
    out = []
    for bc in (Boundary("dirichlet-voxels", 3.0), Boundary("dirichlet-voxels", 3.0, faces)):
        u = u0.copy()
        d = Diffusion(mesh, 1e3, 0.1, 0.01, bc, "lod-be")
        for _ in range(20):
            d.step(u)
        out.append(u)
    np.testing.assert_array_equal(out[0], out[1])


def test_one_held_face_fills_a_closed_box_and_keeps_its_symmetry():
    # only xmin held at 10, the other walls closed, no decay: the field depends on x only
    # (to round-off), its xmin column is exactly 10, and it rises towards 10 everywhere
    mesh = Mesh(2, (12, 9), 20.0)
    u = np.zeros(mesh.array_shape)
    d = Diffusion(mesh, 1e3, 0.0, 0.05, Boundary("dirichlet-voxels", 0.0, (("xmin", 10.0),)),
                  "lod-be")  # fmt: skip
    previous = u.copy()
    for _ in range(2000):  # 100 min, about 4 relaxation times L²/(π²D/4) of the 240 µm box
        d.step(u)
        assert np.all(u >= previous - 1e-12)  # monotone filling
        previous = u.copy()
    assert np.all(u[0, :, 0] == 10.0)
    np.testing.assert_allclose(u[0], np.broadcast_to(u[0, :1, :], u[0].shape), rtol=0, atol=1e-12)
    assert u[0, 0, -1] > 9.0 and u[0, 0, -1] < 10.0


def test_per_face_values_are_checked():
    with pytest.raises(ValueError, match="dirichlet-voxels"):
        Boundary("dirichlet", 1.0, (("xmin", 1.0),))
    with pytest.raises(ValueError, match="unknown wall"):
        Boundary("dirichlet-voxels", 1.0, (("left", 1.0),))
    with pytest.raises(ValueError, match="do not exist in 2-D"):
        Diffusion(Mesh(2, (4, 4), 10.0), 1.0, 0.0, 0.1,
                  Boundary("dirichlet-voxels", 1.0, (("zmax", 1.0),)), "lod-be")  # fmt: skip
