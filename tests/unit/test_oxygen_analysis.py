"""invasim.analysis.oxygen against independent computations.

The exact piecewise solution is checked against a fine radial finite-volume solve of the same
ODE (second order, the layer edges on cell faces), and against the closed form of a fully
consuming disc (plain I0/I1, no scaled functions); the wall radius against the long-strip
limit ``2b/π`` and finite-difference Laplace solves on the square and the cube; the packing
uptake against lattice counts from :mod:`invasim.core.initial`; the median death oxygen against
PhysiCell's necrosis law (:mod:`invasim.biology.death`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from scipy.special import i0, i1

from invasim.analysis.oxygen import (
    RadialOxygen,
    box_wall_radius,
    median_death_oxygen,
    necrotic_radius,
    packing_uptake,
)
from invasim.biology.death import necrosis_rate_o2
from invasim.core.initial import ball

D, K, U_WALL = 1.0e5, 0.1, 38.0


def _fv(dim, edges, rates, u_wall, n_per_layer):
    """Finite volumes on [0, R_w]: uniform within each layer; returns centres and values."""
    faces = np.unique(np.concatenate(
        [np.linspace(a, b, n_per_layer + 1) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ))  # fmt: skip
    c = 0.5 * (faces[1:] + faces[:-1])
    lam = np.select([c < e for e in edges[1:]], rates)
    area = faces ** (dim - 1)
    vol = (faces[1:] ** dim - faces[:-1] ** dim) / dim
    n = c.size
    t = D * area[1:-1] / np.diff(c)  # transmissibility of the inner faces
    main = lam * vol
    main[:-1] += t
    main[1:] += t
    t_wall = D * area[-1] / (faces[-1] - c[-1])
    main[-1] += t_wall
    A = sp.diags([main, -t, -t], [0, 1, -1], shape=(n, n), format="csc")
    b = np.zeros(n)
    b[-1] = t_wall * u_wall
    return c, spl.spsolve(A, b)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("core_decay", [True, False])
@pytest.mark.parametrize("rn_frac", [0.0, 0.4, 1.0])
def test_profile_matches_finite_volumes(dim, core_decay, rn_frac):
    R, Rw = 450.0, 860.0
    lam = packing_uptake(10.0, 2494.0, 16.0, dim, 20.0)
    Rn = rn_frac * R
    sol = RadialOxygen(dim, R, Rn, D, lam, K, U_WALL, Rw, core_decay=core_decay)
    edges = [0.0, Rn, R, Rw] if Rn > 0 else [0.0, R, Rw]
    rates = [K if core_decay else 0.0, lam + K, K] if Rn > 0 else [lam + K, K]
    if Rn == R:
        edges, rates = [0.0, R, Rw], [K if core_decay else 0.0, K]
    errs = []
    for n in (400, 800):
        c, u = _fv(dim, edges, rates, U_WALL, n)
        errs.append(np.max(np.abs(u - sol(c))) / U_WALL)
    # second order: the error falls ~4× per halving, and is small
    assert errs[1] < 2e-5, errs
    assert errs[0] / errs[1] > 3.0, errs
    # flux continuity at the layer edges (the exact gradient on both sides)
    for r in (Rn, R):
        if 0 < r:
            g = sol.gradient(np.array([r * (1 - 1e-9), r * (1 + 1e-9)]))
            assert abs(g[0] - g[1]) <= 1e-8 * max(abs(g).max(), U_WALL / R)
    assert sol(Rw) == pytest.approx(U_WALL, rel=1e-12)


def test_fully_consuming_disc_closed_form():
    # u = A I0(r/L) inside; outside only diffusion (no decay): u(Rw) = A [I0(x) + x I1(x) ln(Rw/R)]
    R, Rw, lam = 300.0, 700.0, 5.0
    L = math.sqrt(D / lam)
    x = R / L
    A = U_WALL / (i0(x) + x * i1(x) * math.log(Rw / R))
    sol = RadialOxygen(2, R, 0.0, D, lam, 0.0, U_WALL, Rw)
    r_in = np.linspace(0.0, R, 7)
    r_out = np.linspace(R, Rw, 7)
    assert np.allclose(sol(r_in), A * i0(r_in / L), rtol=1e-12)
    assert np.allclose(sol(r_out), A * (i0(x) + x * i1(x) * np.log(r_out / R)), rtol=1e-12)


def test_large_radius_no_overflow():
    # R / L ~ 100: the scaled basis keeps every coefficient finite; the interior is ~0
    sol = RadialOxygen(3, 5000.0, 2000.0, D, 400.0, K, U_WALL, 6000.0)
    r = np.linspace(0, 6000.0, 50)
    u = sol(r)
    assert np.all(np.isfinite(u)) and u.min() >= 0 and sol(6000.0) == pytest.approx(U_WALL)


def _fd_wall_radius(dim, n):
    """Harmonic extension of ln|x - x0| (2-D) / 1/|x - x0| (3-D) on a unit box, by 2nd-order FD."""
    h = 1.0 / n
    x = np.arange(1, n) * h
    m = n - 1
    T = sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])
    eye = sp.identity(m)
    if dim == 2:
        A = (sp.kron(T, eye) + sp.kron(eye, T)).tocsr()
        g = lambda d2: 0.5 * np.log(d2)  # noqa: E731
    else:
        A = (sp.kron(sp.kron(T, eye), eye) + sp.kron(sp.kron(eye, T), eye)
             + sp.kron(sp.kron(eye, eye), T)).tocsr()  # fmt: skip
        g = lambda d2: 1.0 / np.sqrt(d2)  # noqa: E731
    b = np.zeros((m,) * dim)
    grids = np.meshgrid(*([x] * (dim - 1)), indexing="ij")
    d2_face = sum((q - 0.5) ** 2 for q in grids) + 0.25
    for ax in range(dim):
        for end in (0, -1):
            idx = [slice(None)] * dim
            idx[ax] = end
            b[tuple(idx)] += g(d2_face)
    if dim == 2:
        u = spl.spsolve(A.tocsc(), b.ravel())
    else:
        u, info = spl.cg(A, b.ravel(), rtol=1e-11, maxiter=4000)
        assert info == 0
    centre = u.reshape((m,) * dim)[(m // 2,) * dim]
    return math.exp(centre) if dim == 2 else 1.0 / centre


@pytest.mark.parametrize("dim,coarse", [(2, 40), (3, 16)])
def test_wall_radius_matches_finite_differences(dim, coarse):
    # Richardson extrapolation of two second-order FD solves on the unit square / cube
    f1, f2 = _fd_wall_radius(dim, coarse), _fd_wall_radius(dim, 2 * coarse)
    ref = f2 + (f2 - f1) / 3.0
    side = 880.0
    got = box_wall_radius([side] * dim) / side
    assert abs(got - ref) < 0.1 * abs(f2 - f1) + 2e-5, (got, ref, f1, f2)
    assert abs(got - f2) < abs(got - f1)


def test_wall_radius_limits_and_symmetry():
    # a long strip of width b: the conformal radius of the strip's mid-line, 2b/π
    assert box_wall_radius([40000.0, 1000.0]) == pytest.approx(2000.0 / math.pi, rel=1e-9)
    # a thin 3-D slab of thickness c: the images ±c, ±2c, ... of alternating sign give
    # 1/R_w = Σ_{n≠0} (-1)^(n+1) / (|n| c) = 2 ln 2 / c
    assert box_wall_radius([1000.0, 1000.0, 100.0]) == pytest.approx(50.0 / math.log(2.0))
    # mirror images of an off-centre point give the same radius; off-centre shrinks it
    a = box_wall_radius([1000.0, 800.0], [300.0, 350.0])
    b = box_wall_radius([1000.0, 800.0], [700.0, 450.0])
    assert a == pytest.approx(b, rel=1e-10)
    assert a < box_wall_radius([1000.0, 800.0])
    # the modes default converges: more modes change nothing
    assert box_wall_radius([900.0, 700.0, 800.0]) == pytest.approx(
        box_wall_radius([900.0, 700.0, 800.0], modes=80), rel=1e-10
    )


@pytest.mark.parametrize("dim", [2, 3])
def test_packing_uptake_matches_lattice_density(dim):
    s, q, V, h = 16.0, 10.0, 2494.0, 20.0
    R = 400.0
    pos = ball(dim, s, [0.0] * dim, radius=R)
    r_in = 0.8 * R  # count well inside the ragged edge
    n_in = np.sum(np.linalg.norm(pos, axis=1) <= r_in)
    size = math.pi * r_in**2 if dim == 2 else 4.0 / 3.0 * math.pi * r_in**3
    density = n_in / size  # cells per µm² (2-D) or µm³ (3-D)
    expect = q * V * density / (h if dim == 2 else 1.0)
    assert packing_uptake(q, V, s, dim, h if dim == 2 else None) == pytest.approx(expect, rel=0.01)


def test_median_death_oxygen_round_trip():
    for T in (300.0, 1440.0, 5000.0):
        u = median_death_oxygen(T)
        assert 2.5 <= u < 5.0
        assert float(necrosis_rate_o2(u)) * T == pytest.approx(math.log(2.0), rel=1e-12)
    # a faster necrosis: the same u_star at a proportionally shorter time
    assert median_death_oxygen(144.0, 10.0 / 360.0) == pytest.approx(median_death_oxygen(1440.0))
    with pytest.raises(ValueError):
        median_death_oxygen(200.0)  # 200/360 < ln 2: not even the maximal rate kills half


@pytest.mark.parametrize("dim", [2, 3])
def test_necrotic_radius_round_trip_and_limits(dim):
    lam = packing_uptake(10.0, 2494.0, 16.0, dim, 20.0)
    kw = dict(dim=dim, diffusion_um2_per_min=D, uptake_per_min=lam, decay_per_min=K,
              wall_value=U_WALL)  # fmt: skip
    R, Rw = 450.0, 860.0
    rn = necrotic_radius(4.6, radius_um=R, wall_radius_um=Rw, **kw)
    assert 0 < rn < R
    sol = RadialOxygen(radius_um=R, necrotic_radius_um=rn, wall_radius_um=Rw, **kw)
    assert float(sol(rn)) == pytest.approx(4.6, rel=1e-8)
    # the fully consuming ball at R_n is below u_star at its centre: it must have a core
    full = RadialOxygen(radius_um=R, necrotic_radius_um=0.0, wall_radius_um=Rw, **kw)
    assert float(full(0.0)) < 4.6
    # a higher threshold gives a larger core; a small spheroid none; a tiny far field all core
    assert necrotic_radius(5.0, radius_um=R, wall_radius_um=Rw, **kw) > rn
    assert necrotic_radius(4.6, radius_um=60.0, wall_radius_um=Rw, **kw) == 0.0
    kw["wall_value"] = 1.0
    assert necrotic_radius(4.6, radius_um=R, wall_radius_um=Rw, **kw) == R
