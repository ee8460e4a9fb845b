"""The three continuum models: parameters, checks, initial state, metrics, determinism."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from pydantic import ValidationError

from invasim.config.loader import load_scenario
from invasim.core.mesh import Mesh
from invasim.models import REGISTRY, get_model
from invasim.models import anderson_chaplain as ac
from invasim.models import gatenby_gawlinski as gg
from invasim.models.continuum import PARALLEL_MIN_VOXELS, logistic_exact

NAMES = ("fisher-kpp", "gatenby-gawlinski", "anderson-chaplain")

# small meshes and steps every model accepts (check() returns no problem)
SMALL = {
    "fisher-kpp": ({"D_um2_per_min": 100.0, "r_per_min": 0.01}, Mesh(2, (40, 3), 10.0), 1.0),
    "gatenby-gawlinski": ({"initial": {"size_um": 400.0}}, Mesh(2, (60, 3), 50.0), 50.0),
    "anderson-chaplain": ({}, Mesh(2, (24, 20), 200.0), 50.0),
}


@pytest.fixture(autouse=True)
def _one_thread():
    # 1-D/tiny arrays gain nothing from threads, and results do not depend on the count
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def _model(name: str, overrides: dict | None = None, mesh: Mesh | None = None, dt=None):
    params, small_mesh, small_dt = SMALL[name]
    cls = get_model(name)
    p = cls.Params.model_validate({**params, **(overrides or {})})
    return cls(p, mesh or small_mesh, dt or small_dt)


def _run(model, steps: int, seed: int = 0) -> dict[str, np.ndarray]:
    fields = model.initial_fields(np.random.default_rng(seed))
    for k in range(steps):
        model.step(fields, k * model.dt)
    return fields


# -- registry and interface --------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_registered_with_required_metrics(name):
    cls = REGISTRY[name]
    assert cls.name == name and cls.title and cls.references
    assert {"front_um", "tumor_mass"} <= set(cls.metric_names)
    if name == "gatenby-gawlinski":
        assert "gap_um" in cls.metric_names


@pytest.mark.parametrize("name", NAMES)
def test_every_param_has_a_description_with_a_unit_or_source(name):
    def walk(schema):
        for key, field in schema.model_fields.items():
            assert field.description, f"{name}: params.{key} lacks a description"
            sub = field.annotation
            if isinstance(sub, type) and hasattr(sub, "model_fields"):
                walk(sub)

    walk(REGISTRY[name].Params)


@pytest.mark.parametrize("name", NAMES)
def test_fields_metrics_and_shapes(name):
    m = _model(name)
    fields = m.initial_fields(np.random.default_rng(0))
    assert [s.name for s in m.field_specs()] == list(fields)
    for arr in fields.values():
        assert arr.shape == m.mesh.array_shape and arr.dtype == np.float64
        assert arr.flags.c_contiguous
    m.step(fields, 0.0)
    met = m.metrics(fields, m.dt)
    assert list(met) == list(m.metric_names)
    assert all(math.isfinite(v) for v in met.values())


# -- parameter validation ----------------------------------------------------------------------
BAD = [
    ("fisher-kpp", {"D_um2_per_min": -1.0}),
    ("fisher-kpp", {"r_per_min": 0.0}),
    ("fisher-kpp", {"front_threshold": 1.0}),
    ("fisher-kpp", {"initial": {"geometry": "spherical"}}),
    ("fisher-kpp", {"initial": {"density": 1.5}}),
    ("fisher-kpp", {"scheme": "rk4"}),
    ("fisher-kpp", {"D": 1.0}),  # unknown key
    ("gatenby-gawlinski", {"delta1": -0.5}),
    ("gatenby-gawlinski", {"Delta2": 0.0}),
    ("gatenby-gawlinski", {"time_scale_min": 0.0}),
    ("gatenby-gawlinski", {"gap_threshold": 0.0}),
    ("gatenby-gawlinski", {"initial": {"size_um": -3.0}}),
    ("gatenby-gawlinski", {"initial": {"radius_um": 3.0}}),
    ("anderson-chaplain", {"gamma": -0.005}),
    ("anderson-chaplain", {"phi": 0.0}),
    ("anderson-chaplain", {"initial": {"epsilon": 0.0}}),
    ("anderson-chaplain", {"initial": {"ecm_heterogeneity": 2.0}}),
    ("anderson-chaplain", {"length_scale_um": -1.0}),
]


@pytest.mark.parametrize(("name", "bad"), BAD)
def test_bad_params_are_rejected(name, bad):
    with pytest.raises(ValidationError):
        REGISTRY[name].Params.model_validate(bad, strict=True)


@pytest.mark.parametrize("name", NAMES)
def test_defaults_validate_strictly_and_ints_pass_as_floats(name):
    cls = REGISTRY[name]
    cls.Params.model_validate({}, strict=True)
    key = {"fisher-kpp": "K", "gatenby-gawlinski": "delta1", "anderson-chaplain": "eta"}[name]
    assert getattr(cls.Params.model_validate({key: 2}, strict=True), key) == 2.0


def test_set_override_reaches_the_model_params():
    sc = load_scenario("gatenby-gawlinski", ["params.delta1=0.5", "params.initial.size_um=2000"])
    assert sc.model_params.delta1 == 0.5
    assert sc.model_params.initial.size_um == 2000.0
    sc = load_scenario("anderson-chaplain", ["params.gamma=0"])
    assert sc.model_params.gamma == 0.0


# -- checks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_builtin_scenario_passes_check_and_small_setups_too(name):
    sc = load_scenario(name)  # raises if check() objects
    assert sc.model == name
    params, mesh, dt = SMALL[name]
    cls = REGISTRY[name]
    assert cls.check(cls.Params.model_validate(params), mesh, dt) == []


@pytest.mark.parametrize(
    ("name", "dt", "needle"),
    [
        ("fisher-kpp", 5.0, "lod-cn accuracy limit"),  # D dt / h² = 5 > 1
        ("fisher-kpp", 0.5, None),
        ("gatenby-gawlinski", 500.0, "accuracy limit"),  # δ3 r1 dt = 2.1 > 0.5
        ("anderson-chaplain", 5000.0, "accuracy limit"),  # D_n dt / h² = 0.75, η dt/τ = 3
    ],
)
def test_check_rejects_too_large_dt(name, dt, needle):
    params, mesh, _ = SMALL[name]
    cls = REGISTRY[name]
    problems = cls.check(cls.Params.model_validate(params), mesh, dt)
    if needle is None:
        assert problems == []
    else:
        assert problems and all(p.startswith("time.dt_min = ") for p in problems)
        assert any(needle in p for p in problems)


def test_check_explicit_scheme_reports_stability_limit():
    cls = REGISTRY["fisher-kpp"]
    p = cls.Params.model_validate({"D_um2_per_min": 100.0, "r_per_min": 1e-4, "scheme": "explicit"})
    mesh = Mesh(1, (50,), 10.0)
    assert cls.check(p, mesh, 0.4) == []
    (msg,) = cls.check(p, mesh, 0.6)
    assert "explicit stability limit 0.5 min" in msg


@pytest.mark.parametrize(
    ("name", "params", "voxel"),
    [
        ("fisher-kpp", {"D_um2_per_min": 100.0, "r_per_min": 0.01}, 60.0),  # width 100 µm
        ("gatenby-gawlinski", {}, 100.0),  # tumour front width 141 µm
        ("anderson-chaplain", {}, 400.0),  # initial cluster width 1000 µm
    ],
)
def test_check_rejects_too_coarse_mesh(name, params, voxel):
    cls = REGISTRY[name]
    problems = cls.check(cls.Params.model_validate(params), Mesh(1, (20,), voxel), 1e-3)
    assert len(problems) == 1 and problems[0].startswith(f"mesh.voxel_um = {voxel:g}")


# -- kinetics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("a", [-3.0, -1e-12, 0.0, 1e-12, 0.7, 40.0])
@pytest.mark.parametrize("u0", [0.0, 0.2, 1.0, 1.7])
def test_logistic_exact_matches_closed_form(a, u0):
    b, t = 0.9, 0.8
    if abs(a) < 1e-9:
        expected = u0 / (1 + b * u0 * t)
    else:
        expected = u0 * math.exp(a * t) / (1 + b * u0 * (math.exp(a * t) - 1) / a)
    assert logistic_exact(u0, a, b, t) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_fisher_growth_without_diffusion_is_exact_logistic():
    # uniform field: diffusion does nothing, the split step is the exact logistic solution
    m = _model("fisher-kpp", {"K": 2.0})
    fields = {"n": np.full(m.mesh.array_shape, 0.1)}
    for k in range(50):
        m.step(fields, k * m.dt)
    r, t, K = 0.01, 50 * m.dt, 2.0
    expected = K * 0.1 * math.exp(r * t) / (K + 0.1 * (math.exp(r * t) - 1))
    np.testing.assert_allclose(fields["n"], expected, rtol=1e-13)


def test_gatenby_gawlinski_kinetics_without_tumour_keep_normal_tissue():
    m = _model("gatenby-gawlinski")
    fields = {k: np.full(m.mesh.array_shape, v) for k, v in (("N", 1.0), ("T", 0.0), ("L", 0.0))}
    for k in range(20):
        m.step(fields, k * m.dt)
    np.testing.assert_array_equal(fields["N"], 1.0)
    np.testing.assert_array_equal(fields["L"], 0.0)


def test_gatenby_gawlinski_uniform_acid_relaxes_and_kills_normal_tissue_exactly():
    # T = 1 uniform: L -> 1 as 1 - exp(-δ3 r1 t); N follows dN/dt = r1 N (1 - N - δ1 L)
    m = _model("gatenby-gawlinski", {"delta1": 2.0})
    shape = m.mesh.array_shape
    fields = {"N": np.full(shape, 1.0), "T": np.full(shape, 1.0), "L": np.zeros(shape)}
    steps = 40
    for k in range(steps):
        m.step(fields, k * m.dt)
    p = m.params
    k3 = p.delta3 * p.r1_per_min
    np.testing.assert_allclose(fields["L"], 1 - math.exp(-k3 * steps * m.dt), rtol=1e-12)
    np.testing.assert_allclose(fields["T"], 1.0, rtol=1e-14)
    # reference for N: fine explicit RK4 of the same ODE
    n, t, h = 1.0, 0.0, m.dt / 200
    r1 = p.r1_per_min

    def rhs(t, n):
        return r1 * n * (1 - n - 2.0 * (1 - math.exp(-k3 * t)))

    for _ in range(steps * 200):
        k1 = rhs(t, n)
        k2 = rhs(t + h / 2, n + h / 2 * k1)
        k3_ = rhs(t + h / 2, n + h / 2 * k2)
        k4 = rhs(t + h, n + h * k3_)
        n += h / 6 * (k1 + 2 * k2 + 2 * k3_ + k4)
        t += h
    # Strang splitting of the frozen-coefficient kinetics is second order: 1e-4 relative at
    # δ3 r1 dt = 0.21
    np.testing.assert_allclose(fields["N"], n, rtol=1e-4)


def test_anderson_chaplain_conserves_cells_and_degrades_ecm_exactly():
    m = _model("anderson-chaplain")
    fields = _run(m, 30)
    n0 = m.initial_fields(np.random.default_rng(0))["n"]
    # taxis and diffusion are conservative finite volumes; the kinetics do not touch n
    assert fields["n"].sum() == pytest.approx(n0.sum(), rel=1e-12)
    assert fields["n"].min() >= 0.0 and fields["f"].min() >= 0.0 and fields["c"].min() >= 0.0
    # no cells, uniform MDE m0: f = f0 exp(-η m0 t) exactly (β = 0 keeps m constant)
    shape = m.mesh.array_shape
    f = {"n": np.zeros(shape), "f": np.ones(shape), "m": np.full(shape, 0.3), "c": np.ones(shape)}
    for k in range(10):
        m.step(f, k * m.dt)
    eta = m.params.rate(m.params.eta)
    np.testing.assert_allclose(f["f"], math.exp(-eta * 0.3 * 10 * m.dt), rtol=1e-12)


def test_anderson_chaplain_heterogeneous_ecm_follows_the_seed():
    m = _model("anderson-chaplain", {"initial": {"ecm_heterogeneity": 0.3}})
    a = m.initial_fields(np.random.default_rng(1))["f"]
    b = m.initial_fields(np.random.default_rng(1))["f"]
    c = m.initial_fields(np.random.default_rng(2))["f"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0.0 and 0.1 < a.std() < 0.6


# -- determinism and statelessness -------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_two_runs_are_bit_identical(name):
    overrides = {"initial": {"ecm_heterogeneity": 0.3}} if name == "anderson-chaplain" else {}
    a = _run(_model(name, overrides), 15, seed=3)
    b = _run(_model(name, overrides), 15, seed=3)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("name", NAMES)
def test_resume_from_copied_fields_equals_uninterrupted(name):
    # a model keeps no state between steps beyond the fields: a run restored from a
    # checkpoint (fresh arrays, fresh model) continues bit-identically
    m = _model(name)
    straight = _run(m, 20)
    first = _run(_model(name), 10)
    restored = {k: v.copy() for k, v in first.items()}
    m2 = _model(name)
    for k in range(10, 20):
        m2.step(restored, k * m2.dt)
    for k in straight:
        np.testing.assert_array_equal(straight[k], restored[k])


@pytest.mark.parametrize("name", NAMES)
def test_builtin_scenario_steps(name):
    # every built-in scenario runs a few steps with a fixed seed and stays finite
    sc = load_scenario(name)
    cls = REGISTRY[name]
    m = cls(sc.model_params, sc.build_mesh(), sc.time.dt_min)
    fields = _run(m, 3, seed=1)
    assert all(np.isfinite(v).all() for v in fields.values())
    assert all(math.isfinite(v) for v in m.metrics(fields, 3 * m.dt).values())


@pytest.mark.parametrize("name", ["gatenby-gawlinski", "anderson-chaplain"])
def test_parallel_kinetics_equal_serial_and_thread_count_does_not_matter(name):
    # meshes above PARALLEL_MIN_VOXELS take the parallel kinetics path; elementwise kernels and
    # the solvers' per-line loops make the result independent of the thread count
    mesh = Mesh(2, (200, 200), 60.0 if name == "gatenby-gawlinski" else 50.0)
    runs = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        model = _model(
            name,
            {"initial": {"geometry": "radial", "size_um": 3000.0}}
            if name == "gatenby-gawlinski"
            else {},
            mesh=mesh,
        )
        runs.append(_run(model, 3, seed=5))
    assert mesh.n_voxels >= PARALLEL_MIN_VOXELS
    for k in runs[0]:
        np.testing.assert_array_equal(runs[0][k], runs[1][k])


def test_parallel_and_serial_kinetics_kernels_agree():
    rng = np.random.default_rng(0)
    a = [rng.random(5000) for _ in range(3)]
    b = [v.copy() for v in a]
    args = (1e-4, 1.0, 0.3, 12.5, 70.0, 50.0, True)
    gg._reactions_range(*a, *args, 0, 5000)
    gg._reactions_parallel(*b, *args, 7)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    a = [rng.random(5000) for _ in range(4)]
    b = [v.copy() for v in a]
    args = (6e-6, 1e-6, 6e-4, 1e-5, 3e-5, 3.4e-5, 1.5e-6, 50.0, False)
    ac._kinetics_range(*a, *args, 0, 5000)
    ac._kinetics_parallel(*b, *args, 7)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
