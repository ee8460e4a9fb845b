"""Unit tests of invasim.agents.generators: shapes, values, seeds, random fields, files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invasim.agents.generators import (
    Ball,
    FileInput,
    GaussianRandomField,
    Layer,
    Uniform,
    parse_generator,
)
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError

MESH2 = Mesh.from_extent([200.0, 100.0], 5.0)  # (ny, nx) = (20, 40)
MESH3 = Mesh.from_extent([60.0, 50.0, 40.0], 5.0)  # (nz, ny, nx) = (8, 10, 12)
MESHES = [MESH2, MESH3]


def gen(value, **context):
    return parse_generator(value, "params.fields.f.initial", context or None)


def error_of(fn, *args) -> str:
    with pytest.raises(ConfigError) as info:
        fn(*args)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def check_array(a: np.ndarray, mesh: Mesh) -> None:
    assert a.shape == mesh.array_shape and a.dtype == np.float64 and a.flags.c_contiguous
    assert np.all(np.isfinite(a))


# -- uniform, layer, ball ------------------------------------------------------------------------
@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_uniform_from_number_and_table(mesh):
    for value in (2.5, 2, {"kind": "uniform", "value": 2.5}):
        a = gen(value).generate(mesh, 0, "f")
        check_array(a, mesh)
        assert np.all(a == float(value if not isinstance(value, dict) else 2.5))


@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_sharp_layer_is_voxel_overlap_and_keeps_the_amount(mesh):
    cross = math.prod(e for a, e in enumerate(mesh.extent) if a != 1)  # area across y, µm^(d-1)
    # aligned with voxel faces: exactly value inside, background outside
    table = {"kind": "layer", "axis": "y", "lo_um": 20.0, "hi_um": 40.0, "value": 3.0}
    a = gen({**table, "background": 1.0}).generate(mesh, 0, "bm")
    check_array(a, mesh)
    y = mesh.centers("y")
    inside = (y > 20.0) & (y < 40.0)
    assert np.all(a[:, inside, :] == 3.0) and np.all(a[:, ~inside, :] == 1.0)
    # a membrane 1 µm thick on 5 µm voxels: 1/5 of one voxel row, the amount kept
    thin = Layer(axis="y", lo_um=21.0, hi_um=22.0, value=1.0).generate(mesh, 0, "bm")
    assert np.isclose(thin.max(), 1.0 / 5.0) and np.count_nonzero(thin[0]) == mesh.nx
    assert np.isclose(thin.sum() * mesh.voxel_volume, 1.0 * cross)


@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_smooth_layer_edge(mesh):
    a = Layer(kind="slab", axis="x", lo_um=10.0, hi_um=30.0, value=2.0, edge_um=10.0)
    x = mesh.centers("x")
    u = a.generate(mesh, 0, "s")[0, 0]
    check_array(a.generate(mesh, 0, "s"), mesh)
    # smoothstep of t = 1/2 + d/w: at x = 12.5 (d = 2.5, t = 3/4) 2 * 27/32
    assert np.isclose(u[x == 12.5][0], 2.0 * (3 * 0.75**2 - 2 * 0.75**3))
    assert np.isclose(u[x == 7.5][0], 2.0 * (3 * 0.25**2 - 2 * 0.25**3))
    assert np.all(u[(x >= 35.0)] == 0.0) and np.all(u[(x >= 15.0) & (x <= 25.0)] == 2.0)


@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_ball_sharp_and_smooth(mesh):
    centre = [m / 2 for m in mesh.extent]
    kind = "disc" if mesh.dim == 2 else "ball"
    table = {"kind": kind, "centre_um": centre, "radius_um": 12.0, "inside": 5.0, "outside": 1.0}
    sharp = gen(table).generate(mesh, 0, "b")
    check_array(sharp, mesh)
    grids = mesh.grids()[: mesh.dim]
    r2 = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True))
    r = np.broadcast_to(np.sqrt(r2), mesh.array_shape)
    assert np.all(sharp[r <= 12.0] == 5.0) and np.all(sharp[r > 12.0] == 1.0)
    smooth = Ball(centre_um=centre, radius_um=12.0, inside=5.0, edge_um=6.0).generate(mesh, 0, "b")
    assert np.all(smooth[r <= 9.0] == 5.0) and np.all(smooth[r >= 15.0] == 0.0)
    mid = (r > 9.0) & (r < 15.0)
    t = 0.5 + (12.0 - r[mid]) / 6.0
    assert np.allclose(smooth[mid], 5.0 * t * t * (3 - 2 * t))


def test_shape_problems_are_one_line_config_errors():
    msg = error_of(Layer(axis="z", lo_um=0.0, hi_um=1.0, value=1.0).generate, MESH2, 0, "bm")
    assert "field 'bm'" in msg and "axis = 'z'" in msg and "('x', 'y')" in msg
    msg = error_of(Ball(centre_um=[1.0, 2.0], radius_um=1.0, inside=1.0).generate, MESH3, 0, "b")
    assert "centre_um = [1.0, 2.0]" in msg and "3 coordinates (x, y, z)" in msg


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"mean": 1.0}, "needs kind = one of"),
        ({"kind": "gausian_random_field"}, "did you mean 'gaussian_random_field'?"),
        ({"kind": "gaussian_random_field", "mean": 0.0, "sd": 1.0, "correlation_um": 5.0},
         "unknown key 'sd' (did you mean 'std'?); allowed:"),
        ({"kind": "gaussian_random_field", "mean": 0.0, "std": 1.0}, "missing required key"),
        ({"kind": "gaussian_random_field", "mean": 0.0, "std": -1.0, "correlation_um": 5.0},
         "initial.std = -1.0: Input should be greater than or equal to 0"),
        ({"kind": "layer", "axis": "x", "lo_um": 5.0, "hi_um": 5.0, "value": 1.0},
         "initial.hi_um = 5.0: must exceed lo_um = 5"),
        ({"kind": "ball", "centre_um": [0.0, 0.0], "radius_um": 0.0, "inside": 1.0},
         "initial.radius_um = 0.0: Input should be greater than 0"),
        ({"kind": "uniform", "value": "3"}, "initial.value = \"3\""),
        (float("nan"), "expected a finite number"),
        (True, "expected a number or a generator table"),
        ("ecm.npy", "expected a number or a generator table"),
    ],
)
def test_bad_tables_give_one_line(value, expected):
    msg = error_of(gen, value)
    assert msg.startswith("params.fields.f.initial") and expected in msg, msg


def test_uniform_is_written_back_as_a_number():
    from pydantic import BaseModel

    from invasim.agents.generators import InitialValue

    class T(BaseModel):
        initial: InitialValue

    t = T.model_validate({"initial": 3})
    assert isinstance(t.initial, Uniform) and t.model_dump() == {"initial": 3.0}
    slab = {"kind": "slab", "axis": "x", "lo_um": 0.0, "hi_um": 1.0, "value": 2.0}
    d = T.model_validate({"initial": slab}).model_dump(mode="json")
    assert d["initial"]["kind"] == "slab" and T.model_validate(d).model_dump(mode="json") == d


# -- Gaussian random field -----------------------------------------------------------------------
def test_grf_deterministic_by_seed_and_name():
    g = GaussianRandomField(mean=0.5, std=0.1, correlation_um=10.0)
    for mesh in MESHES:
        a = g.generate(mesh, 7, "ecm")
        check_array(a, mesh)
        assert np.array_equal(a, g.generate(mesh, 7, "ecm"))
        for other in (g.generate(mesh, 8, "ecm"), g.generate(mesh, 7, "laminin")):
            assert np.corrcoef(a.ravel(), other.ravel())[0, 1] < 0.5
    # negative and huge seeds are taken modulo 2**64 (a scenario seed may be any integer)
    assert np.array_equal(g.generate(MESH2, -1, "x"), g.generate(MESH2, 2**64 - 1, "x"))


def test_grf_clipping_and_resolution():
    g = GaussianRandomField(mean=0.5, std=1.0, correlation_um=10.0, lower=0.0, upper=1.0)
    a = g.generate(MESH2, 1, "ecm")
    assert a.min() == 0.0 and a.max() == 1.0
    msg = error_of(GaussianRandomField(mean=0.0, std=1.0, correlation_um=4.0).generate, MESH2)
    assert "correlation_um = 4 is below the voxel side 5" in msg
    table = {"kind": "gaussian_random_field", "mean": 0.0, "std": 1.0, "correlation_um": 5.0}
    msg = error_of(gen, {**table, "lower": 1.0, "upper": 1.0})
    assert "initial.upper = 1.0: must exceed lower = 1" in msg


def _se_sum(ell: float, lag: int, dim: int, reach: int) -> float:
    """``sum_r [rho(r)^2 + rho(r + lag e_x) rho(r - lag e_x)]`` over the lattice (voxel units).

    Isserlis' theorem makes ``N Var(mean_i z_i z_{i+lag})`` tend to this sum for a stationary
    Gaussian field of correlation ``rho`` sampled at ``N`` voxels (boundary effects make the
    finite-window value slightly smaller, so the tolerance below is a little conservative).
    """
    r = np.arange(-reach, reach + 1, dtype=float)
    grids = np.meshgrid(*([r] * dim), indexing="ij", sparse=True)
    perp = sum(g**2 for g in grids[:-1]) if dim > 1 else 0.0
    x = grids[-1]
    rho = lambda d2: np.exp(-d2 / (2.0 * ell**2))  # noqa: E731
    pairs = rho(perp + (x + lag) ** 2) * rho(perp + (x - lag) ** 2)
    return float(np.sum(rho(perp + x**2) ** 2 + pairs))


@pytest.mark.parametrize(
    ("n", "dim", "ell", "m_fields"), [(512, 2, 3.0, 16), (64, 3, 2.0, 8)], ids=["2d", "3d"]
)
def test_grf_variance_and_correlation_match_the_gaussian_covariance(n, dim, ell, m_fields):
    # ell in voxels (h = 1 µm). The estimator of rho(lag) = E[z(x) z(x + lag)] (z standardised
    # by the stated mean and std) over M fields of N voxels has standard error
    # sqrt(S / (M N)), S = _se_sum (Isserlis): 2-D 0.37 %, 3-D 0.65 % at lag 0. We accept 4
    # standard errors (a false alarm once in ~16,000 seeds; the seeds here are fixed), about
    # 1.5 % and 2.6 %; a wrong length convention (1/e length, ell vs sqrt 2 ell) moves
    # rho(ell) from 0.607 to 0.37 or 0.78, a wrong normalisation the variance by >= 10 %.
    mesh = Mesh.from_extent([float(n)] * dim, 1.0)
    mean, std = 2.0, 0.5
    g = GaussianRandomField(mean=mean, std=std, correlation_um=ell)
    z = np.stack([(g.generate(mesh, s, "ecm") - mean) / std for s in range(m_fields)])
    assert abs(z.mean()) < 4 * math.sqrt((2 * math.pi * ell**2) ** (dim / 2) / z.size)
    for lag in (0, int(ell), int(2 * ell)):
        expected = math.exp(-(lag**2) / (2 * ell**2))
        n_pairs = z.size * (n - lag) / n
        se = math.sqrt(_se_sum(ell, lag, dim, int(8 * ell)) / n_pairs)
        for axis in range(4 - dim, 4):  # every mesh axis (array axes 1..3 after the field axis)
            a = np.moveaxis(z, axis, -1)
            est = float(np.mean(a[..., : n - lag] * a[..., lag:]))
            assert abs(est - expected) < 4 * se, (lag, axis, est, expected, se)
    # the tolerance is sized right: the field-to-field spread of the lag-0 estimate is
    # sqrt(M) times the standard error (within the spread's own sampling error, ~25 %)
    per_field = np.mean(z**2, axis=tuple(range(1, 4)))
    se0 = math.sqrt(_se_sum(ell, 0, dim, int(8 * ell)) / (z.size / m_fields))
    assert 0.5 * se0 < per_field.std(ddof=1) < 1.5 * se0


def test_grf_opposite_walls_are_uncorrelated():
    # a plain periodic FFT field would correlate column 0 with column n-1 like neighbours
    # (rho(h) = exp(-1/8) = 0.88 for ell = 2 h); padding leaves them ~independent
    mesh = Mesh.from_extent([256.0, 256.0], 1.0)
    g = GaussianRandomField(mean=0.0, std=1.0, correlation_um=2.0)
    z = np.stack([g.generate(mesh, s, "ecm")[0] for s in range(16)])
    se = math.sqrt(_se_sum(2.0, 0, 1, 20) / (16 * 256))
    for corr in ((z[:, :, 0] * z[:, :, -1]).mean(), (z[:, 0, :] * z[:, -1, :]).mean()):
        assert abs(corr) < 4 * se < 0.2


# -- files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_npy_and_npz_round_trip(tmp_path, mesh):
    rng = np.random.default_rng(0)
    data = rng.random(mesh.shape)
    np.save(tmp_path / "a.npy", data)
    np.save(tmp_path / "b.npy", data.reshape(mesh.array_shape))
    np.savez(tmp_path / "one.npz", ecm=data)
    np.savez(tmp_path / "two.npz", ecm=data, other=data * 2)
    tables = [{"path": "a.npy"}, {"path": "b.npy"}, {"path": "one.npz"}]
    for table in [*tables, {"path": "two.npz", "key": "other"}]:
        g = gen({"kind": "file", **table}, base_dir=str(tmp_path))
        a = g.generate(mesh, 0, "ecm")
        check_array(a, mesh)
        scale = 2.0 if table.get("key") == "other" else 1.0
        assert np.array_equal(mesh.view(a), data * scale)
    msg = error_of(gen({"kind": "file", "path": str(tmp_path / "two.npz")}).generate, mesh)
    assert "key = None names none of its arrays ['ecm', 'other']" in msg


def test_zarr_round_trip(tmp_path):
    zarr = pytest.importorskip("zarr")
    data = np.arange(MESH2.n_voxels, dtype=np.float32).reshape(MESH2.shape)
    zarr.save_array(str(tmp_path / "a.zarr"), data)
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("ecm", data=data * 2)
    a = gen({"kind": "file", "path": str(tmp_path / "a.zarr")}).generate(MESH2)
    table = {"kind": "file", "path": "g.zarr", "key": "ecm"}
    b = gen(table, base_dir=str(tmp_path)).generate(MESH2)
    check_array(a, MESH2)
    assert np.array_equal(MESH2.view(a), data) and np.array_equal(MESH2.view(b), 2 * data)


def test_png_grey_and_rgb_scaled_and_flipped(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    grey = np.random.default_rng(1).integers(0, 256, MESH2.shape, dtype=np.uint8)
    iio.imwrite(tmp_path / "g.png", grey)
    iio.imwrite(tmp_path / "rgb.png", np.stack([grey] * 3, axis=-1))
    iio.imwrite(tmp_path / "g16.png", grey.astype(np.uint16) * 257)
    expected = 0.2 + (0.9 - 0.2) * grey[::-1] / 255.0  # image row 0 is the top (largest y)
    for name in ("g.png", "rgb.png", "g16.png"):
        g = FileInput(path=str(tmp_path / name), lower=0.2, upper=0.9)
        a = g.generate(MESH2, 0, "ecm")
        check_array(a, MESH2)
        assert np.allclose(MESH2.view(a), expected, rtol=0, atol=1e-12), name
        assert g.bounds() == (0.2, 0.9)


def test_bad_files_give_one_line(tmp_path):
    np.save(tmp_path / "small.npy", np.zeros((3, 4)))
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    (tmp_path / "data.csv").write_text("1,2\n")
    np.save(tmp_path / "nan.npy", np.full(MESH2.shape, np.nan))
    cases = {
        "small.npy": "holds an array of shape (3, 4), the mesh needs (y, x) = (20, 40)",
        "junk.npy": "cannot read it",
        "junk.png": "cannot read it",
        "data.csv": "unknown file type",
        "nan.npy": "holds NaN or infinite values",
    }
    for name, expected in cases.items():
        g = gen({"kind": "file", "path": name}, base_dir=str(tmp_path))
        msg = error_of(g.generate, MESH2, 0, "ecm")
        assert msg.startswith("field 'ecm': initial: path = ") and expected in msg, msg
        assert g.check(MESH2) and expected in g.check(MESH2)[0]
    assert "no such file or directory" in error_of(gen, {"kind": "file", "path": "missing.npy"})
    msg = error_of(gen, {"kind": "file", "path": str(tmp_path / "small.npy"), "upper": 2.0})
    assert "lower/upper scale images only" in msg


def test_a_random_field_confined_to_a_slab_keeps_its_values_inside_it():
    from invasim.agents.generators import parse_generator

    mesh = Mesh(dim=2, n=(30, 20), h=10.0)
    table = {"kind": "gaussian_random_field", "mean": 0.5, "std": 0.1, "correlation_um": 20.0,
             "lower": 0.0, "upper": 1.0}  # fmt: skip
    free = parse_generator(table).generate(mesh, 3, "ecm")
    confined = parse_generator({**table, "within_axis": "y", "within_hi_um": 100.0,
                                "outside": 0.0}).generate(mesh, 3, "ecm")  # fmt: skip
    below = mesh.grids()[1][0, :, 0] <= 100.0  # voxel centres 5, 15, ..., 195 µm
    assert below.sum() == 10
    assert np.array_equal(confined[0, below], free[0, below])
    assert np.all(confined[0, ~below] == 0.0)
    assert parse_generator({**table, "within_axis": "y", "outside": 2.0}).bounds() == (0.0, 2.0)
    with pytest.raises(ConfigError, match="within_axis = 'z'"):
        parse_generator({**table, "within_axis": "z"}).generate(mesh, 3, "ecm")


def test_a_confined_random_field_reloads_from_json():
    import json

    from invasim.agents.generators import parse_generator

    g = parse_generator({"kind": "gaussian_random_field", "mean": 0.5, "std": 0.1,
                         "correlation_um": 20.0, "within_axis": "y", "within_hi_um": 100.0})
    data = json.loads(json.dumps(g.model_dump(mode="json")))
    data["within_lo_um"] = None  # run.json writes the open face (-inf) as null
    again = parse_generator(data)
    assert again.within_lo_um == -math.inf and again.within_hi_um == 100.0
