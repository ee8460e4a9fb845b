"""Unit tests of the stochastic body model: organs, circulation, colonies, patient."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy.integrate import quad

from invasim.body import BodyParams, Organ, default_organs, one_organ, simulate_patient
from invasim.body.circulation import absorbing_shares, pass_survival, sample_fates
from invasim.body.colonies import birth_death, gompertz_flow, poisson, seeding_integral
from invasim.body.experiments import injection
from invasim.body.organs import (
    arterial_shares,
    check_organs,
    entry_vector,
    organ_index,
    route_matrix,
)
from invasim.errors import ConfigError
from invasim.models.iwata import IwataParams, colony_size


# -- organs and routing --------------------------------------------------------------------------
def test_route_rows_sum_to_one_and_follow_the_anatomy():
    organs = default_organs()
    r = route_matrix(organs)
    np.testing.assert_allclose(r.sum(axis=1), 1.0)
    names = [o.name for o in organs]
    i = names.index
    assert r[i("gut"), i("liver")] == 1.0  # portal vein
    assert r[i("liver"), i("lungs")] == 1.0  # venous return
    assert r[i("lymph_node"), i("lungs")] == 1.0  # thoracic duct
    np.testing.assert_allclose(r[i("lungs")], arterial_shares(organs))
    assert r[i("lungs"), i("lungs")] == 0.0  # the lungs take no arterial share
    # ICRP 89 shares of the model reference (the 7.5 % remainder is "other")
    shares = {o.name: o.flow_share for o in organs}
    assert shares["kidneys"] == 0.19 and shares["brain"] == 0.12 and shares["gut"] == 0.19
    assert math.isclose(sum(shares.values()), 1.0)


def test_entry_vectors():
    organs = default_organs()
    names = [o.name for o in organs]
    assert entry_vector(organs, "gut")[names.index("liver")] == 1.0
    assert entry_vector(organs, "breast")[names.index("lungs")] == 1.0
    e = entry_vector(organs, "breast", lymph_fraction=0.25)
    assert e[names.index("lymph_node")] == 0.25 and e[names.index("lungs")] == 0.75


@pytest.mark.parametrize("organs, word", [
    ([], "at least one"),
    ([Organ(name="a", flow_share=1, drains_to="arterial")] * 2, "duplicate"),
    ([Organ(name="a", flow_share=1, drains_to="kidney")], "drains_to"),
    ([Organ(name="a", flow_share=0, drains_to="arterial")], "flow_share"),
    ([Organ(name="a", flow_share=1, drains_to="arterial", dormant_prob=0.8, start_prob=0.3)],
     "at most 1"),
])  # fmt: skip
def test_bad_tables_raise_one_line(organs, word):
    with pytest.raises(ConfigError, match=word) as exc:
        check_organs(organs)
    assert "\n" not in str(exc.value)


def test_unknown_organ_names_the_allowed():
    with pytest.raises(ConfigError, match="allowed"):
        organ_index(default_organs(), "spleen")
    with pytest.raises(ConfigError, match="primary"):
        simulate_patient(BodyParams(primary_site="spleen"), 0, 10.0)


# -- circulation ---------------------------------------------------------------------------------
def test_absorbing_shares_conserve_probability():
    organs = default_organs()
    r = route_matrix(organs)
    p = np.array([o.arrest_prob for o in organs])
    a, dead = absorbing_shares(entry_vector(organs, "breast"), r, p, 0.5, 90.0)
    assert np.all(a >= 0) and 0 < dead < 1
    assert math.isclose(a.sum() + dead, 1.0, rel_tol=1e-12)
    # no death: everything arrests; first-pass arrest from arterial blood = flow shares
    a, dead = absorbing_shares(arterial_shares(organs), r, np.ones(len(organs)), 0.5, math.inf)
    np.testing.assert_allclose(a, arterial_shares(organs), atol=1e-14)
    assert dead == 0.0
    with pytest.raises(ValueError, match="never ends"):
        absorbing_shares(np.array([1.0]), np.array([[1.0]]), np.array([0.0]), 0.5, math.inf)


def test_pass_survival_is_the_half_life():
    assert math.isclose(pass_survival(90.0, 90.0), 0.5)
    assert pass_survival(0.5, math.inf) == 1.0


def test_sampler_is_a_pure_function_of_the_ids():
    organs = default_organs()
    r = route_matrix(organs)
    p = np.array([o.arrest_prob for o in organs])
    e = entry_vector(organs, "breast", 0.1)
    ids = np.arange(500)
    o1, t1 = sample_fates(1, ids, e, r, p)
    o2, t2 = sample_fates(1, ids[::-1], e, r, p)  # order does not matter
    np.testing.assert_array_equal(o1, o2[::-1])
    np.testing.assert_array_equal(t1, t2[::-1])
    o3, _ = sample_fates(2, ids, e, r, p)
    assert np.any(o1 != o3)
    assert np.all((o1 >= -1) & (o1 < len(organs)))


# -- colonies -----------------------------------------------------------------------------------
def test_gompertz_flow_matches_the_closed_form():
    ip = IwataParams()
    lnb = math.log(ip.b_cells)
    x = 1.0
    for _ in range(100):
        x = gompertz_flow(x, ip.a_per_day, lnb, 10.0)
    assert math.isclose(x, float(colony_size(1000.0, ip)), rel_tol=1e-12)


def test_seeding_integral_matches_quadrature():
    ip = IwataParams()
    lnb = math.log(ip.b_cells)
    # Simpson's error ~ (α a ln(b/x) Δ)^4 / 2880 relative
    for a, x0, dt, tol in ((0.00286, 1.0, 1.0, 1e-8), (0.00286, 1e6, 5.0, 1e-7),
                           (0.01, 1.0, 1.0, 1e-6), (0.01, 1e9, 1.0, 1e-8)):  # fmt: skip
        exact = quad(lambda s, a=a, x0=x0: gompertz_flow(x0, a, lnb, s) ** 0.663, 0.0, dt,
                     epsabs=0, epsrel=1e-13)[0]  # fmt: skip
        assert math.isclose(seeding_integral(x0, a, lnb, 0.663, dt), exact, rel_tol=tol)


def test_birth_death_above_the_switch_is_the_flow():
    lnb = math.log(7.3e10)
    x, integ, ctr = birth_death(5.0, 0.0, 1.0, 0.5, 0.00286, lnb, 0.663, 1.0, 0, 0, 0)
    assert ctr == 0 and math.isclose(x, gompertz_flow(5.0, 0.00286, lnb, 1.0))
    assert math.isclose(integ, seeding_integral(5.0, 0.00286, lnb, 0.663, 1.0))
    # below the switch: integer sizes, and an extinct colony stays extinct
    x, _, ctr = birth_death(3.0, 0.0, 5.0, 0.5, 0.00286, lnb, 0.663, 1e3, 0, 1, 0)
    assert ctr > 0 and x == round(x) and x >= 0
    assert birth_death(0.0, 0.0, 5.0, 0.5, 0.00286, lnb, 0.663, 1e3, 0, 1, 0)[0] == 0.0


@pytest.mark.parametrize("mu", [0.0, 0.7, 4.0, 30.0, 2e4])
def test_poisson_moments(mu):
    n = 4000
    draws = np.empty(n)
    k = 0
    for i in range(n):
        draws[i], k = poisson(mu, 1, 2, 3, 73, k)
    if mu == 0.0:
        assert np.all(draws == 0)
        return
    se = math.sqrt(mu / n)
    assert abs(draws.mean() - mu) < 4.5 * se
    assert abs(draws.var() / mu - 1.0) < 4.5 * math.sqrt(2.0 / n) + 1.0 / mu


# -- the patient ---------------------------------------------------------------------------------
def test_patient_is_reproducible_and_reports_outcomes():
    p = BodyParams()
    r1 = simulate_patient(p, 11, 2000.0)
    r2 = simulate_patient(p, 11, 2000.0)
    assert r1.t_death_days == r2.t_death_days and r1.cause == r2.cause
    np.testing.assert_array_equal(r1.sizes, r2.sizes)
    r3 = simulate_patient(p, 12, 2000.0)
    assert r3.n_started != r1.n_started or not np.array_equal(r3.sizes, r1.sizes)
    tab = r1.burden
    assert list(tab.columns[:2]) == ["t_days", "primary"] and "lungs" in tab and "total" in tab
    organ_cols = [o.name for o in p.organs]
    np.testing.assert_allclose(tab[organ_cols].sum(axis=1), tab.total, rtol=1e-12)
    assert np.all(np.diff(tab.t_days) > 0)
    if r1.died:
        assert r1.cause.endswith("failure") or r1.cause == "lethal burden"
        assert r1.t_death_days == tab.t_days.iloc[-1]
    assert r1.n_metastases() == len(r1.sizes) and r1.n_metastases(1e8) <= r1.n_metastases()
    assert set(r1.detectable) <= {365.0, 730.0, 1825.0, 3650.0}
    dist = r1.size_distribution()
    assert dist["all"].iloc[0] == r1.n_metastases() and np.all(np.diff(dist["all"]) <= 0)
    np.testing.assert_array_equal(dist[organ_cols].sum(axis=1), dist["all"])


def test_patient_dies_of_the_first_failing_organ():
    organs = default_organs()
    for o in organs:
        if o.name == "breast":
            o.vital, o.failure_cells = True, 1e9
    r = simulate_patient(BodyParams(organs=organs), 0, 3650.0)
    assert r.died and r.cause == "breast failure"  # the primary's site fails at 1e9 cells
    assert math.isclose(r.t_death_days, math.ceil(-math.log(1 - math.log(1e9) / math.log(7.3e10))
                                                  / 0.00286), abs_tol=1.0)  # fmt: skip


def test_iwata_limit_has_no_extinction_and_only_one_organ():
    p = BodyParams(organs=one_organ(), primary_site="body", lymph_fraction=0.0,
                   competent_fraction=1.0, cluster_fraction=0.0, switch_cells=1.0,
                   ctc_half_life_min=math.inf, shed_per_day=5.3e-8)  # fmt: skip
    r = simulate_patient(p, 3, 1095.0)
    assert r.n_started == r.n_metastases() > 0 and r.n_dormant == 0
    assert np.all(r.sizes >= 1.0)


def test_one_patient_is_fast():
    p = BodyParams()
    simulate_patient(p, 0, 30.0)  # compile
    times = []
    for s in range(5):
        t0 = time.perf_counter()
        simulate_patient(p, s, 3650.0)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 1.0, times


def test_injection_fractions_are_ordered():
    res = injection(BodyParams(), 5000, 30.0, seed=1)
    assert 0 < res.macro <= res.micro <= res.extravasated <= res.arrested <= 1 or res.macro == 0
    assert res.dormant <= res.extravasated
