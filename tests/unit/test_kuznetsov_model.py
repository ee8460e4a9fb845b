"""Kuznetsov tumour–immune model: vector field, Jacobian, steady states, per-cell form, model."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

import invasim.models.kuznetsov as kz
import invasim.models.kuznetsov_stochastic as kzs
from invasim.models.kuznetsov import KuznetsovParams

P = KuznetsovParams()


def test_defaults_are_the_published_values_and_dimensionless_groups():
    assert P.values() == (1.3e4, 0.1245, 2.019e7, 3.422e-10, 0.0412, 0.18, 2.0e-9, 1.101e-7)
    g = P.dimensionless()
    # hand-computed from the definitions (x = E/1e6, y = T/1e6, time n 1e6 t)
    assert g["sigma"] == pytest.approx(1.3e4 / (1.101e-7 * 1e12))
    assert g["alpha"] == pytest.approx(0.18 / 0.1101)
    assert g["mu"] == pytest.approx(3.422e-10 / 1.101e-7)


def test_every_param_has_unit_and_source():
    for name, field in kz.KuznetsovModelParams.model_fields.items():
        assert "[" in field.description and "]" in field.description, name
        assert "Kuznetsov" in field.description or "BioModels" in field.description, name


@pytest.mark.parametrize(("key", "value"), [("d_per_day", 0.0), ("a_per_day", -1.0),
                                            ("s_cells_per_day", -5.0), ("g_cells", 0.0)])
def test_params_reject_bad_values(key, value):
    with pytest.raises(ValidationError, match=key):
        KuznetsovParams(**{key: value})


def test_params_reject_unknown_keys():
    with pytest.raises(ValidationError, match="extra"):
        KuznetsovParams(q_per_day=1.0)


def test_rhs_vanishes_at_every_equilibrium():
    qs = kz.equilibria(P)
    assert [q.role for q in qs] == ["tumour-free", "dormant", "saddle", "escape"]
    for q in qs:
        dE, dT = kz.rhs(q.E, q.T, P)
        # compare with the size of the terms that cancel
        s, p, g, m, d, a, b, n = P.values()
        assert abs(dE) <= 1e-9 * (s + d * q.E + m * q.E * q.T)
        assert abs(dT) <= 1e-9 * max(a * q.T, 1.0)


def test_tumour_free_state_is_s_over_d_and_a_saddle():
    q = kz.equilibria(P)[0]
    assert q.E == pytest.approx(1.3e4 / 0.0412) and q.T == 0.0
    # eigenvalues -d and a - n s/d, by hand
    want = sorted([-0.0412, 0.18 - 1.101e-7 * 1.3e4 / 0.0412])
    assert [z.real for z in q.eigenvalues] == pytest.approx(want)
    assert q.label == "saddle"


def test_cubic_roots_satisfy_the_cubic():
    coef = kz.tumour_cubic(P)
    for q in kz.equilibria(P)[1:]:
        y = q.T / 1e6
        assert abs(np.polyval(coef, y)) <= 1e-9 * np.polyval(np.abs(coef), abs(y))


@pytest.mark.parametrize("point", [(3e5, 1e6), (1.6e6, 8e6), (7e5, 3e8), (2e5, 4e8), (1e4, 1e3)])
def test_jacobian_matches_finite_differences(point):
    E, T = point
    J = kz.jacobian(E, T, P)
    fd = np.empty((2, 2))
    for j, h in enumerate((np.array([1e-4 * E, 0.0]), np.array([0.0, 1e-4 * T]))):
        up = np.array(kz.rhs(E + h[0], T + h[1], P))
        dn = np.array(kz.rhs(E - h[0], T - h[1], P))
        fd[:, j] = (up - dn) / (2 * h[j])
    assert np.allclose(J, fd, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize(
    ("lam", "label"),
    [((-1, -2), "stable node"), ((-1 + 1j, -1 - 1j), "stable focus"), ((-1, 2), "saddle"),
     ((1, 2), "unstable node"), ((1 + 1j, 1 - 1j), "unstable focus"), ((0, -1), "non-hyperbolic")],
)
def test_stability_labels(lam, label):
    assert kz.stability_label(np.array(lam, dtype=complex)) == label


@pytest.mark.parametrize("role", ["dormant", "escape"])
def test_settled_boxes_lie_inside_their_basins(role):
    # outcome() stops once within SETTLED_REL of a stable state: from the corners of a box
    # twice that size the ODE must still converge to the same state
    q = kz.equilibrium(P, role)
    r = 2 * kz.SETTLED_REL
    for fe in (1 - r, 1 + r):
        for ft in (1 - r, 1 + r):
            tr = kz.integrate(P, fe * q.E, ft * q.T, 8000.0)
            assert tr.T[-1] == pytest.approx(q.T, rel=1e-4)


def test_separatrix_bracket_must_hold_both_outcomes():
    with pytest.raises(ValueError, match="bracket"):
        kz.separatrix_T0(P, bracket=(1e3, 1e6))


def test_separatrix_is_below_saddle_and_outcomes_either_side():
    T0 = kz.separatrix_T0(P, rtol=1e-4)
    assert 1e7 < T0 < kz.equilibrium(P, "saddle").T
    assert kz.outcome(P, P.E_tumour_free, 0.95 * T0) == "dormant"
    assert kz.outcome(P, P.E_tumour_free, 1.05 * T0) == "escape"


def test_no_bistability_raises():
    # strong killing: no escape state
    strong = KuznetsovParams(n_per_cell_day=1e-5)
    with pytest.raises(ValueError, match="escape"):
        kz.equilibrium(strong, "escape")


# -- per-cell form ----------------------------------------------------------------------------
@pytest.mark.parametrize("omega", [1.0, 1e3, 1e4])
@pytest.mark.parametrize("state", [(3e5, 5e6), (1.6e6, 8e6), (2e5, 4e8)])
def test_per_cell_drift_is_the_ode(omega, state):
    # the expected change of the counts per minute, times Ω and 1440 min/day, is the ODE's rhs
    E, T = state
    r = kzs.per_cell_rates(P, omega)
    e, tau = E / omega, T / omega
    div = r.effector_division_max_per_min * tau / (r.effector_division_half_count + tau)
    de = r.recruitment_per_min + e * (div - r.effector_exhaustion_per_encounter_per_min * tau
                                      - r.effector_death_per_min)  # fmt: skip
    dtau = tau * (r.tumour_division_per_min - r.crowding_death_per_neighbour_per_min * tau
                  - r.kill_rate_per_pair_per_min * e)  # fmt: skip
    want = kz.rhs(E, T, P)
    assert de * omega * 1440 == pytest.approx(want[0], rel=1e-12, abs=1e-6)
    assert dtau * omega * 1440 == pytest.approx(want[1], rel=1e-12, abs=1e-6)


def test_per_cell_rates_names_and_units():
    r = kzs.per_cell_rates(P, 1e3)
    assert r.recruitment_per_min == pytest.approx(13.0 / 1440)
    assert r.kill_rate_per_pair_per_min == pytest.approx(1.101e-7 * 1e3 / 1440)
    assert r.effector_division_half_count == pytest.approx(2.019e4)
    with pytest.raises(ValueError, match="omega"):
        kzs.per_cell_rates(P, 0.0)


def test_stochastic_run_is_reproducible_by_seed():
    a = kzs.simulate_well_mixed(P, 3.2e5, 5e6, 50, omega=1e3, seed=7)
    b = kzs.simulate_well_mixed(P, 3.2e5, 5e6, 50, omega=1e3, seed=7)
    c = kzs.simulate_well_mixed(P, 3.2e5, 5e6, 50, omega=1e3, seed=8)
    assert np.array_equal(a.T, b.T) and np.array_equal(a.E, b.E)
    assert not np.array_equal(a.T, c.T)
    assert a.t_days[0] == 0 and a.t_days[-1] == pytest.approx(50) and len(a.t_days) == 51
    assert a.E[0] == 3.2e5 and a.T[0] == 5e6
    assert np.all(a.E >= 0) and np.all(a.T >= 0)
    assert np.all(np.mod(a.T, 1e3) == 0)  # whole individuals of Ω cells


def test_stochastic_run_stops_at_escape():
    run = kzs.simulate_well_mixed(P, P.E_tumour_free, 3e8, 800, omega=1e3, seed=1, stop_at_T=3.6e8)
    assert run.stopped_early and run.T[-1] >= 3.6e8 and run.t_days[-1] < 800


def test_stochastic_run_checks_its_clock():
    with pytest.raises(ValueError, match="multiple"):
        kzs.simulate_well_mixed(P, 1e5, 1e5, 1, dt_min=7.0, record_every_min=60.0)


def test_stochastic_early_growth_follows_the_ode():
    # 12 runs over 10 days from BioModels' start: mean T within 3 % of the ODE (the relative
    # standard error over 12 runs of 5000 individuals is well under 1 %)
    ode = kz.integrate(P, 3.2e5, 5e6, 10.0)
    Ts = [kzs.simulate_well_mixed(P, 3.2e5, 5e6, 10, omega=1e3, seed=k, dt_min=30.0).T[-1]
          for k in range(12)]  # fmt: skip
    assert np.mean(Ts) == pytest.approx(ode.T[-1], rel=0.03)


# -- the registered model ---------------------------------------------------------------------
def test_registered_model_runs_the_ode():
    import invasim
    from invasim.models import get_model

    assert get_model("kuznetsov") is kz.Kuznetsov
    sc = invasim.load_scenario("kuznetsov", ["time.end_min=14400"])
    sim = invasim.Simulation(sc, seed=0)
    for _ in range(10):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    m = sim.metrics()
    ode = kz.integrate(P, 3.2e5, 5e6, 10.0)
    assert m["T_cells"] == pytest.approx(ode.T[-1], rel=1e-7)
    assert m["E_cells"] == pytest.approx(ode.E[-1], rel=1e-7)


def test_model_wants_one_voxel():
    from invasim.core.mesh import Mesh

    msgs = kz.Kuznetsov.check(kz.KuznetsovModelParams(), Mesh.from_extent([4.0], 1.0), 1440.0)
    assert len(msgs) == 1 and "one voxel" in msgs[0] and "\n" not in msgs[0]


def test_scenario_override_errors_name_the_key():
    import invasim
    from invasim.errors import ConfigError

    with pytest.raises(ConfigError, match="params.d_per_day"):
        invasim.load_scenario("kuznetsov", ["params.d_per_day=-1"])
