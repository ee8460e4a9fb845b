"""The crosslinking process (LOX) and the optional resistance of proteolysis and MMP reactions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
import invasim.processes.crosslinking as xl
import invasim.processes.matrix_degradation  # noqa: F401
import invasim.processes.proteolysis  # noqa: F401
from invasim.agents.process import ORDER
from invasim.errors import ConfigError
from invasim.physics import crosslinking as kern
from invasim.physics import proteolysis as pkern
from invasim.verify.cases import crosslinking as cases
from invasim.verify.cases.proteolysis import run, scenario


def test_crosslink_kernel_is_exact_and_capped():
    c = np.array([0.0, 0.3, 0.95, 0.5])
    acc = np.array([0.01, 0.02, 1.0, 0.0])
    touched = np.array([0, 1, 2, 3], dtype=np.int64)
    added = kern.crosslink(c, acc, touched, 4, 6.0, 0.99)
    assert c[0] == pytest.approx(1 - math.exp(-0.06), rel=1e-15)
    assert c[1] == pytest.approx(1 - 0.7 * math.exp(-0.12), rel=1e-15)
    assert c[2] == 0.99  # capped at the field's upper
    assert c[3] == 0.5  # K = 0: untouched
    assert added == pytest.approx(c[0] + (c[1] - 0.3) + (0.99 - 0.95), rel=1e-14)


def test_stiffness_kernel_matches_the_law():
    rho = np.array([0.0, -0.1, 0.5, 1.0, 1.2])
    c = np.array([0.5, 0.5, 0.0, 1.0, 2.0])  # c clipped to 1
    out = np.empty(5)
    kern.stiffness(rho, c, 0.2, 1 / 0.8, 2.2, 1.5, out)
    want = [0.0, 0.0, 0.2 * (0.5 / 0.8) ** 2.2, 0.2 * (1 / 0.8) ** 2.2 * 2.5,
            0.2 * 1.5**2.2 * 2.5]  # fmt: skip
    np.testing.assert_allclose(out, want, rtol=1e-14)
    t = xl.CrosslinkingParams(reference_stiffness_kpa=0.2, reference_density=0.8)
    assert xl.stiffness_of(1.0, 1.0, t) == pytest.approx(want[3], rel=1e-14)


def test_defaults_order_and_names():
    t = xl.CrosslinkingParams()
    assert (t.field, t.stiffness_field, t.density_field) == ("crosslink", "stiffness", "ecm")
    assert t.reference_stiffness_kpa == 0.167 and t.density_exponent == 2.2
    assert xl.CrosslinkingCell().rate_per_min == 0.0
    assert ORDER["phenotype"]["proteolysis"] < xl.Crosslinking.order
    assert xl.Crosslinking.order < ORDER["phenotype"]["basement_membrane_breach"]


def _params(**table):
    cells = {"crosslinking": {"rate_per_min": 0.001}}
    return scenario(cases.fields(), ["crosslinking"], cells, crosslinking=table)


@pytest.mark.parametrize(("change", "words"), [
    ({"field": "nope"}, "params.crosslinking.field = 'nope' is not a field"),
    ({"density_field": "crosslink"}, "three different fields"),
    ({"density_field": "mmp"}, "must be a matrix field"),
    ({"enzyme": "loxx"}, "params.crosslinking.enzyme = 'loxx' is not a field"),
])  # fmt: skip
def test_bad_fields_are_one_line_errors(change, words):
    data = _params(**change)
    data["params"]["fields"]["mmp"] = {"unit": "1", "diffusion_um2_per_min": 10.0}
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        invasim.load_scenario(data)


def test_a_fraction_needs_upper_1_and_stiffness_no_relaxation():
    data = _params()
    data["params"]["fields"]["crosslink"]["upper"] = 2.0
    with pytest.raises(ConfigError, match="upper <= 1"):
        invasim.load_scenario(data)
    data = _params()
    data["params"]["fields"]["stiffness"]["relaxation_per_min"] = 0.1
    with pytest.raises(ConfigError, match="must not relax"):
        invasim.load_scenario(data)


def test_stiffness_written_at_setup_and_signal_reads_it():
    sim = run(_params(), 0)
    e0 = 0.167 * 0.9**2.2  # the default law at ρ = 0.9, c = 0
    np.testing.assert_allclose(sim.fields["stiffness"], e0, rtol=1e-14)
    proc = next(p for p in sim.model.processes if p.name == "crosslinking")
    state = sim.model.state
    np.testing.assert_allclose(proc.signal_values(state, xl.STIFFNESS, None), e0, rtol=1e-14)
    assert np.all(proc.signal_values(state, xl.FRACTION, None) == 0.0)


def test_dead_cells_and_zero_rate_do_nothing():
    data = scenario(cases.fields(), ["crosslinking"], {}, crosslinking={})
    sim = run(data, 3)
    assert float(sim.fields["crosslink"].max()) == 0.0


def test_react_without_resistance_is_bitwise_react():
    rng = np.random.default_rng(3)
    m = rng.uniform(0.2, 0.9, 50)
    prod = np.zeros(50)
    acc_k = np.where(rng.uniform(size=50) < 0.5, rng.uniform(0, 0.05, 50), 0.0)
    acc_d = np.where(rng.uniform(size=50) < 0.5, rng.uniform(0, 0.01, 50), 0.0)
    touched = np.flatnonzero((acc_k > 0) | (acc_d > 0)).astype(np.int64)
    nt = touched.size
    m1, p1, m2, p2 = m.copy(), prod.copy(), m.copy(), prod.copy()
    a = pkern.react(m1, p1, acc_k, acc_d, touched, nt, 0.7, True, 6.0, 1.0, 1.0)
    b = pkern.react_resisted(m2, p2, acc_k, acc_d, touched, nt, 0.7, True, 6.0, 1.0, 1.0,
                             pkern.empty(), 0.9)  # fmt: skip
    assert a == b
    assert np.array_equal(m1, m2) and np.array_equal(p1, p2)
    # with a resistance of strength 1 at c = 1 nothing is degraded (only deposited)
    m3 = m.copy()
    pkern.react_resisted(m3, pkern.empty(), acc_k, np.zeros(50), touched, nt, 0.7, False, 6.0,
                         1.0, 1.0, np.ones(50), 1.0)  # fmt: skip
    assert np.array_equal(m3, m)


def test_resistance_names_a_degraded_matrix_and_a_field():
    fields = cases.fields()
    cells = {"proteolysis": {"rate_per_min": 0.01}}
    data = scenario(fields, ["proteolysis"], cells, proteolysis={
        "matrices": {"ecm": 1.0}, "resistance": {"crosslink": {"field": "ecm", "strength": 1}}})
    with pytest.raises(ConfigError, match="resistance names 'crosslink', which is not in"):
        invasim.load_scenario(data)
    data = scenario(fields, ["proteolysis"], cells, proteolysis={
        "matrices": {"ecm": 1.0}, "resistance": {"ecm": {"field": "nope", "strength": 1}}})
    with pytest.raises(ConfigError, match=r"resistance.ecm.field = 'nope' is not a field"):
        invasim.load_scenario(data)
    data = scenario(fields, ["matrix_degradation"], {}, matrix_degradation={"reactions": [
        {"matrix": "ecm", "enzyme": "crosslink", "rate_per_unit_per_min": 0.1,
         "resistance": {"field": "nope", "strength": 0.5}}]})  # fmt: skip
    with pytest.raises(ConfigError, match=r"reactions\[0\].resistance.field = 'nope'"):
        invasim.load_scenario(data)
    data = scenario(fields, ["proteolysis"], cells, proteolysis={
        "matrices": {"ecm": 1.0}, "resistance": {"ecm": {"field": "crosslink",
                                                         "strength": 1.5}}})  # fmt: skip
    with pytest.raises(ConfigError, match="strength"):
        invasim.load_scenario(data)


def test_matrix_degradation_resistance_at_c_zero_is_unchanged():
    """A resistance whose field is 0 everywhere gives the same bits as none."""
    fields = cases.fields()
    fields["mmp"] = {"kind": "matrix", "initial": 0.3}
    react = {"matrix": "ecm", "enzyme": "mmp", "rate_per_unit_per_min": 0.05}
    a = run(scenario(fields, ["matrix_degradation"], matrix_degradation={"reactions": [react]}),
            5)  # fmt: skip
    res = dict(react, resistance={"field": "crosslink", "strength": 0.7})
    b = run(scenario(fields, ["matrix_degradation"], matrix_degradation={"reactions": [res]}), 5)
    assert np.array_equal(a.fields["ecm"], b.fields["ecm"])
    assert float(a.fields["ecm"].max()) < 0.9


@pytest.mark.parametrize("c", [cases.one_cell, cases.two_cells, cases.stiffness_law,
                               cases.resistance, cases.secreted], ids=lambda c: c.name)  # fmt: skip
def test_cases_quick(c):
    r = c.run(quick=True)
    assert r.passed, (r.detail, r.checks)
