"""Iwata–Kawasaki–Shigesada body model: Gompertz flow, Laplace kernel, solver, registered model."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.integrate import quad

import invasim.models.iwata as iw
from invasim.core.mesh import Mesh
from invasim.models.base import REGISTRY

P = iw.IwataParams()
ONE_VOXEL = Mesh.from_extent([1.0], 1.0)


def test_defaults_are_the_published_values():
    assert (P.a_per_day, P.b_cells, P.m_per_cell_day, P.alpha) == (0.00286, 7.3e10, 5.3e-8, 0.663)
    assert P.detect_cells == 1.0e8
    assert P.gamma == pytest.approx(0.663 * math.log(7.3e10))


def test_every_param_has_unit_and_source():
    for name, field in iw.IwataParams.model_fields.items():
        assert "[" in field.description and "]" in field.description, name
        assert "Iwata" in field.description or "Del Monte" in field.description, name


@pytest.mark.parametrize(("key", "value"), [("a_per_day", 0.0), ("b_cells", 1.0),
                                            ("m_per_cell_day", -1.0), ("alpha", 1.5),
                                            ("detect_cells", 0.5)])  # fmt: skip
def test_params_reject_bad_values(key, value):
    with pytest.raises(ValidationError, match=key):
        iw.IwataParams(**{key: value})


def test_params_reject_unknown_keys():
    with pytest.raises(ValidationError, match="extra"):
        iw.IwataParams(q=1.0)


def test_gompertz_flow_is_exact():
    # X(0) = 1, X -> b, and dX/dτ = a X ln(b/X) (central differences, by hand)
    assert iw.colony_size(0.0, P) == 1.0
    assert iw.colony_size(1e5, P) == pytest.approx(P.b_cells, rel=1e-12)
    for tau in (10.0, 300.0, 1500.0):
        h = 1e-3
        d = (iw.colony_size(tau + h, P) - iw.colony_size(tau - h, P)) / (2 * h)
        x = iw.colony_size(tau, P)
        assert d == pytest.approx(P.a_per_day * x * math.log(P.b_cells / x), rel=1e-7)
    ages = np.array([0.0, 1.0, 100.0, 1000.0, 3000.0])
    assert iw.age_at_size(iw.colony_size(ages, P), P) == pytest.approx(ages, abs=1e-8)
    assert iw.age_at_size(P.b_cells, P) == np.inf and iw.age_at_size(0.5, P) == 0.0
    assert iw.primary_size(654.0, P) == iw.colony_size(654.0, P)


def test_seeding_kernel():
    assert iw.seeding_kernel(0.0, P) == pytest.approx(P.m_per_cell_day)
    x = iw.colony_size(800.0, P)
    assert iw.seeding_kernel(800.0, P) == pytest.approx(P.m_per_cell_day * x**P.alpha, rel=1e-12)


@pytest.mark.parametrize("z", [0.002, 0.0058, 0.03, 0.2])
def test_laplace_kernel_against_quadrature(z):
    # ∫_0^∞ K(τ) e^(-zτ) dτ by adaptive quadrature (independent of the series)
    val, err = quad(lambda t: float(iw.seeding_kernel(t, P)) * math.exp(-z * t), 0.0, np.inf,
                    limit=500, epsabs=0.0, epsrel=1e-11)  # fmt: skip
    assert iw.laplace_kernel(z, P).real == pytest.approx(val, rel=1e-8)


def test_laplace_kernel_equals_the_papers_dirichlet_form():
    # (m/a) e^γ Σ (-γ)^n / (n! (s+n)) at a complex point. The alternating series cancels: its
    # largest terms are ~4e8 times its sum, so double precision leaves it ~1e-7 accurate (the
    # Kummer form agrees with a quadrature to 1e-12 in test_laplace_kernel_against_quadrature)
    z = 0.01 + 0.004j
    s, g = z / P.a_per_day, P.gamma
    terms = [(-g) ** n / (math.factorial(n) * (s + n)) for n in range(150)]
    paper = (P.m_per_cell_day / P.a_per_day) * math.exp(g) * sum(terms)
    assert iw.laplace_kernel(z, P) == pytest.approx(paper, rel=1e-6)


def test_malthusian_rate_and_derivative():
    z0 = iw.malthusian_rate(P)
    assert iw.laplace_kernel(z0, P).real == pytest.approx(1.0, abs=1e-12)
    assert 0.005 < z0 < 0.0065  # doubling time of the colony count ~ 120 days
    h = 1e-7
    fd = (iw.laplace_kernel(z0 + h, P).real - iw.laplace_kernel(z0 - h, P).real) / (2 * h)
    assert iw.laplace_kernel_derivative(z0, P) == pytest.approx(fd, rel=1e-6)


def test_early_count_is_the_primarys_seeding():
    # before metastases seed, N(t) ≈ ∫_0^t K: the primary's own seeding (second generation
    # is of order N² and small at one year)
    sol = iw.solve(P, 365.0, 1.0)
    primary_only, _ = quad(lambda t: float(iw.seeding_kernel(t, P)), 0.0, 365.0, epsrel=1e-12)
    assert sol.births[0] == P.m_per_cell_day
    n = sol.n_metastases(365.0)
    assert primary_only < n < 1.1 * primary_only


def test_solver_is_second_order():
    exact = iw.analytic_count(2000.0, P)
    errs = [abs(iw.solve(P, 2000.0, dt).n_metastases(2000.0) / exact - 1) for dt in (2, 1, 0.5)]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert orders == pytest.approx([2.0, 2.0], abs=0.15)
    b = [iw.solve(P, 2000.0, dt).burden_cells(2000.0) for dt in (2.0, 1.0, 0.5, 0.25)]
    d = np.abs(np.diff(b))
    assert np.log2(d[:-1] / d[1:]) == pytest.approx([2.0, 2.0], abs=0.15)


def test_size_distribution_reads():
    sol = iw.solve(P, 2000.0, 1.0)
    xs = np.array([1.0, 1e4, 1e8, 1e10])
    n = sol.n_at_least(xs, 2000.0)
    assert n[0] == pytest.approx(sol.n_metastases(2000.0), rel=1e-12)
    assert np.all(np.diff(n) < 0)
    assert sol.n_detectable(2000.0) == pytest.approx(n[2])
    assert sol.n_at_least(P.b_cells, 2000.0) == 0.0
    # a colony needs τ(1e8) days to be detectable: none before
    assert sol.n_at_least(1e8, float(iw.age_at_size(1e8, P)) - 1.0) == 0.0
    with pytest.raises(ValueError, match="past"):
        sol.n_metastases(2001.0)
    with pytest.raises(ValueError, match="whole number"):
        iw.solve(P, 10.5, 1.0)


def test_ten_year_solve_is_fast():
    iw.solve(P, 10.0, 1.0)  # compile / load the cache
    t0 = time.perf_counter()
    iw.solve(P, 3650.0, 1.0)
    assert time.perf_counter() - t0 < 0.5


def test_model_is_registered_and_checks():
    assert REGISTRY["iwata"] is iw.Iwata
    assert iw.Iwata.check(P, ONE_VOXEL, 1440.0) == []
    probs = iw.Iwata.check(P, Mesh.from_extent([4.0], 1.0), 10 * 1440.0)
    assert len(probs) == 2 and "one voxel" in probs[0] and "time.dt_min" in probs[1]


def _stepped(model, fields, n):
    for k in range(n):
        model.step(fields, k * model.dt)


def test_model_steps_match_solve_and_resume_exactly():
    m = iw.Iwata(P, ONE_VOXEL, 1440.0)
    f = m.initial_fields(np.random.default_rng(0))
    assert float(f["primary"].flat[0]) == 1.0 and float(f["metastases"].flat[0]) == 0.0
    _stepped(m, f, 1500)  # crosses the history's first growth (1024)
    sol = iw.solve(P, 1500.0, 1.0)
    assert np.array_equal(m.solution().births, sol.births)
    met = m.metrics(f, 1500 * 1440.0)
    assert met["n_metastases"] == pytest.approx(sol.n_metastases(1500.0), rel=1e-13)
    assert met["burden_cells"] == pytest.approx(sol.burden_cells(1500.0), rel=1e-13)
    assert met["n_detectable"] == sol.n_detectable(1500.0)
    assert float(f["burden"].flat[0]) == pytest.approx(met["burden_cells"], rel=1e-13)
    table = m.snapshot_tables()["size_distribution"]
    assert list(table.columns) == ["size_cells", "n_at_least"] and len(table) == 11
    # checkpoint after 700 steps, restore into a fresh model, continue: bit-identical
    a = iw.Iwata(P, ONE_VOXEL, 1440.0)
    fa = a.initial_fields(None)
    _stepped(a, fa, 700)
    b = iw.Iwata(P, ONE_VOXEL, 1440.0)
    b.restore_extra_state(a.extra_state())
    fb = {k: v.copy() for k, v in fa.items()}
    for k in range(700, 1500):
        b.step(fb, k * 1440.0)
    assert np.array_equal(b.solution().births, sol.births)
    assert b.metrics(fb, 0.0) == m.metrics(f, 0.0)


def test_scenario_runs(tmp_path):
    from invasim import Simulation, load_scenario

    sc = load_scenario("iwata-hcc", ["time.end_min=525600.0"])  # one year
    run = Simulation(sc).run(out=tmp_path / "run", progress=False)
    last = run.metrics.iloc[-1]
    sol = iw.solve(P, 365.0, 1.0)
    # metrics.csv keeps 10 significant digits
    assert last["n_metastases"] == pytest.approx(sol.n_metastases(365.0), rel=1e-9)
    assert last["primary_cells"] == pytest.approx(float(iw.primary_size(365.0, P)), rel=1e-9)
    assert list(run.metrics.columns)[1:] == list(iw.Iwata.metric_names)


def test_characteristic_roots_and_series():
    roots = iw.characteristic_roots(P)
    assert roots[0] == pytest.approx(iw.malthusian_rate(P), rel=1e-12)
    assert np.all(np.abs(iw.laplace_kernel(roots, P) - 1.0) < 1e-12)
    assert np.all(np.diff(roots.real) < 0) and np.all(roots.imag >= 0)
    # only z0 and one complex pair grow
    assert np.sum(roots.real > 0) == 2 and roots[1].imag > 0
    ts = np.array([365.0, 1000.0, 2000.0])
    assert iw.series_count(ts, P, roots) == pytest.approx(iw.talbot_count(ts, P), rel=1e-9)
    # at t = 0 the truncated series is meaningless: analytic_count switches to Talbot there
    assert iw.analytic_count(0.0, P) == 0.0
    assert iw.analytic_count(30.0, P) == pytest.approx(iw.talbot_count(30.0, P), rel=0)
