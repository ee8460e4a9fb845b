"""Front, gap and mass helpers on hand-made profiles (invasim.analysis.fronts)."""

from __future__ import annotations

import numpy as np
import pytest

from invasim.analysis.fronts import domain_center, front_position, gap_width, mass
from invasim.core.mesh import Mesh

H = 10.0


def _mesh(dim: int, nx: int = 100, other: int = 4) -> Mesh:
    return Mesh(dim=dim, n=(nx,) + (other,) * (dim - 1), h=H)


def _planar(mesh: Mesh, profile) -> np.ndarray:
    """A field that depends on x only, broadcast to the internal shape."""
    x, _, _ = mesh.grids()
    return np.ascontiguousarray(np.broadcast_to(profile(x), mesh.array_shape), dtype=float)


# -- planar fronts -----------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("threshold", [0.1, 0.37, 0.5, 0.9])
def test_planar_front_is_exact_on_a_linear_ramp(dim, threshold):
    # u = 1 - x/600 at the voxel centres: linear interpolation between centres is exact
    mesh = _mesh(dim)
    u = _planar(mesh, lambda x: np.clip(1.0 - x / 600.0, 0.0, 1.0))
    assert front_position(u, mesh, threshold) == pytest.approx(600.0 * (1 - threshold), abs=1e-9)


def test_planar_front_takes_the_deepest_row_or_the_mean():
    mesh = _mesh(2, nx=100, other=3)
    x, _, _ = mesh.grids()
    depth = np.array([300.0, 450.0, 600.0])[None, :, None]  # per row
    u = np.ascontiguousarray(np.clip(1.0 - x / depth, 0.0, 1.0) + 0 * x, dtype=float)
    u = np.ascontiguousarray(np.broadcast_to(u, mesh.array_shape))
    assert front_position(u, mesh, 0.5) == pytest.approx(300.0, abs=1e-9)
    assert front_position(u, mesh, 0.5, reduce="mean") == pytest.approx(225.0, abs=1e-9)


def test_planar_front_uses_the_last_crossing_and_edge_cases():
    mesh = _mesh(1, nx=50)
    u = mesh.zeros()
    u[0, 0, :10] = 1.0
    u[0, 0, 20] = 0.8  # a detached island further out: it counts (deepest invasion)
    assert front_position(u, mesh, 0.5) == pytest.approx(20.5 * H + H * 0.3 / 0.8)
    assert front_position(mesh.zeros(), mesh, 0.5) == 0.0
    full = np.ones(mesh.array_shape)
    assert front_position(full, mesh, 0.5) == pytest.approx(49.5 * H)


# -- radial fronts -----------------------------------------------------------------------------
def test_radial_front_is_exact_in_1d():
    mesh = _mesh(1, nx=101)
    cx = domain_center(mesh)[0]
    u = _planar(mesh, lambda x: np.clip(1.0 - np.abs(x - cx) / 300.0, 0.0, 1.0))
    assert front_position(u, mesh, 0.25, "radial") == pytest.approx(225.0, abs=1e-9)


@pytest.mark.parametrize("dim", [2, 3])
def test_radial_front_of_a_cone(dim):
    # u = 1 - r/R; along the axis rows the interpolation is exact, elsewhere it differs by a
    # second-order term; the maximum over crossings is within 0.05 h of R (1 - threshold)
    n = 61 if dim == 2 else 41
    mesh = Mesh(dim=dim, n=(n,) * dim, h=H)
    x, y, z = mesh.grids()
    cx, cy, cz = domain_center(mesh)
    r = np.sqrt((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2)
    u = np.ascontiguousarray(np.broadcast_to(np.clip(1 - r / 250.0, 0, 1), mesh.array_shape))
    assert front_position(u, mesh, 0.5, "radial") == pytest.approx(125.0, abs=0.05 * H)
    assert front_position(mesh.zeros(), mesh, 0.5, "radial") == 0.0


def test_unknown_geometry_is_rejected():
    mesh = _mesh(1)
    with pytest.raises(ValueError, match="geometry"):
        front_position(mesh.zeros(), mesh, 0.5, "spherical")


# -- gaps --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("threshold", [0.1, 0.3])
def test_planar_gap_on_constructed_profile(dim, threshold):
    # tumour ramps down over [a, a+w], normal tissue ramps up over [b, b+w]: both crossings lie
    # inside a ramp, so gap = (b + θ w) - (a + (1 - θ) w) exactly
    a, b, w = 200.0, 500.0, 100.0
    mesh = _mesh(dim)
    t = _planar(mesh, lambda x: np.clip((a + w - x) / w, 0, 1))
    n = _planar(mesh, lambda x: np.clip((x - b) / w, 0, 1))
    expected = (b + threshold * w) - (a + (1 - threshold) * w)
    assert gap_width(t, n, mesh, threshold) == pytest.approx(expected, abs=1e-9)


def test_no_gap_when_tissues_overlap_or_no_tumour():
    mesh = _mesh(1)
    t = _planar(mesh, lambda x: np.clip((300 - x) / 100, 0, 1))
    coexist = _planar(mesh, lambda x: 0.5 + 0 * x)  # N = 1 - δ1 everywhere, δ1 = 0.5
    assert gap_width(t, coexist, mesh, 0.1) == 0.0
    touching = _planar(mesh, lambda x: np.clip((x - 200) / 100, 0, 1))  # overlaps the tumour
    assert gap_width(t, touching, mesh, 0.1) == 0.0
    assert gap_width(mesh.zeros(), touching, mesh, 0.1) == 0.0


def test_gap_reaching_the_wall_is_a_lower_bound():
    mesh = _mesh(1, nx=100)
    t = _planar(mesh, lambda x: np.clip((300 - x) / 100, 0, 1))
    # no normal tissue anywhere: the gap runs to the last voxel centre
    assert gap_width(t, mesh.zeros(), mesh, 0.5) == pytest.approx(995.0 - 250.0)


def test_radial_gap_in_1d_matches_the_construction():
    mesh = _mesh(1, nx=201)
    cx = domain_center(mesh)[0]
    t = _planar(mesh, lambda x: np.clip((300 - np.abs(x - cx)) / 100, 0, 1))
    n = _planar(mesh, lambda x: np.clip((np.abs(x - cx) - 600) / 100, 0, 1))
    assert gap_width(t, n, mesh, 0.2, "radial") == pytest.approx(620.0 - 280.0, abs=1e-9)
    assert gap_width(t, np.ones(mesh.array_shape), mesh, 0.2, "radial") == 0.0


# -- mass --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_mass_is_sum_times_voxel_volume(dim):
    mesh = _mesh(dim, nx=7, other=3)
    u = np.arange(mesh.n_voxels, dtype=float).reshape(mesh.array_shape)
    assert mass(u, mesh) == pytest.approx(u.sum() * H**dim)
