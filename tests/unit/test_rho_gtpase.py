"""The Rac/Rho switch and migration modes: kernels, steady states, the process in the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim.processes.rho_gtpase as rg
from invasim.biology.internal import integrate
from invasim.biology.rho_gtpase import (
    AMOEBOID,
    EPITHELIAL,
    MESENCHYMAL,
    RHO_GTPASE,
    EMTSwitch,
    RacRho,
    classify,
    diagram,
    folds,
    steady_states,
    window,
)
from invasim.errors import ConfigError
from invasim.verify.cases.rho_gtpase import (
    NOT_EPITHELIAL,
    RHO_HIGH,
    advance,
    by_id,
    modes,
    scenario,
    simulation,
)


# -- kernels ------------------------------------------------------------------------------------
def _numpy_rhs(y, u, p):
    """The equations of the module contract, written again in NumPy."""
    r, q, e = y
    br, bq, k, s = u
    rt, qt, n, d, kfb, ke, he, de = p
    return np.array([
        br * (rt - r) / (1 + (k * q) ** n) - d * r,
        bq * (qt - q) / (1 + r**n) - d * q,
        (s + kfb * e**he / (ke**he + e**he)) * (1 - e) - de * e,
    ])  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rhs_and_jacobian_match_numpy(seed):
    rng = np.random.default_rng(seed)
    y = rng.uniform([0.1, 0.1, 0.05], [2.9, 2.9, 0.95])
    u = rng.uniform([0.5, 0.5, 0.2, 0.0], [6.0, 6.0, 1.5, 0.01])
    p = np.array([3.0, 3.0, 3.0, 1.0, 2.5 / 720, 0.6, 6.0, 1 / 720])
    out = np.empty(3)
    RHO_GTPASE.rhs(y, u, p, out)
    np.testing.assert_allclose(out, _numpy_rhs(y, u, p), rtol=1e-13, atol=1e-15)
    jac = np.empty((3, 3))
    RHO_GTPASE.jac(y, u, p, jac)
    fd = np.empty((3, 3))
    for j in range(3):
        h = 1e-6
        yp, ym = y.copy(), y.copy()
        yp[j] += h
        ym[j] -= h
        fd[:, j] = (_numpy_rhs(yp, u, p) - _numpy_rhs(ym, u, p)) / (2 * h)
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-9)


def test_the_integrator_reaches_the_diagrams_states():
    """Cells at b_R = 3 from either side end on the two stable states (TR-BDF2, 200 min)."""
    ss = [s for s in steady_states(RacRho()) if s.stable]
    y = np.array([[2.5, 0.2, 0.0], [0.2, 2.5, 0.0]])
    u = np.tile([3.0, 3.0, 1.0, 0.0], (2, 1))
    p = np.tile(RHO_GTPASE.param_array(), (2, 1))
    integrate(RHO_GTPASE, y, 200.0, u, p, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(y[0, :2], [ss[1].rac, ss[1].rho], atol=1e-6)
    np.testing.assert_allclose(y[1, :2], [ss[0].rac, ss[0].rho], atol=1e-6)
    assert np.all(y[:, 2] == 0.0)  # no induction: e = 0 is a steady state


# -- steady states and folds -----------------------------------------------------------------------
def test_steady_states_at_the_reference_set():
    """Model reference §5: two stable states near (2.08, 0.70) and (0.70, 2.08), a saddle."""
    ss = steady_states(RacRho())
    assert [s.stable for s in ss] == [True, False, True]
    assert (ss[0].rac, ss[0].rho) == pytest.approx((0.70, 2.08), abs=0.005)
    assert (ss[2].rac, ss[2].rho) == pytest.approx((2.08, 0.70), abs=0.005)
    assert ss[1].rac == pytest.approx(ss[1].rho, rel=1e-9)  # the saddle on the diagonal
    for s in ss:  # each is a zero of the equations
        np.testing.assert_allclose(RacRho().rhs(s.rac, s.rho), 0.0, atol=1e-10)
    assert max(e.real for e in ss[1].eigenvalues) > 0 > min(e.real for e in ss[1].eigenvalues)


def test_folds_bound_the_window_and_the_count_of_stable_states():
    p = RacRho()
    lo, hi = window(p)
    assert (lo, hi) == pytest.approx((2.644718593, 3.416903268), abs=1e-8)
    for b, want in ((lo - 0.01, 1), (lo + 0.01, 2), (3.0, 2), (hi - 0.01, 2), (hi + 0.01, 1)):
        assert sum(s.stable for s in steady_states(p.with_(b_rac=b))) == want, b
    # R_T = ρ_T and b_ρ = 3: the b_ρ diagram at b_R = 3 is the mirror image
    assert window(p, "b_rho") == pytest.approx((lo, hi), abs=1e-10)
    # the folds are where the Jacobian is singular
    for f in folds(p):
        assert abs(np.linalg.det(p.with_(b_rac=f.value).jacobian(f.rac, f.rho))) < 1e-9


def test_monostable_below_the_totals_of_the_reference():
    """§5: with R_T = ρ_T = 2 the two-variable form is monostable for every b."""
    assert window(RacRho(rac_total=2.0, rho_total=2.0)) is None


def test_rock_inhibition_moves_the_window_down_and_closes_it():
    p = RacRho()
    w1, w9 = window(p), window(p.with_(rock=0.9))
    assert w9[0] < w1[0] and w9[1] < w1[1]
    assert window(p.with_(rock=0.5)) is None
    only = steady_states(p.with_(rock=0.5))
    assert len(only) == 1 and only[0].rac > only[0].rho  # Rac-high: mesenchymal


def test_diagram_branches_are_steady_and_their_stability_changes_at_the_folds():
    p = RacRho()
    d = diagram(p, upper=5.0)
    for v, r, q in zip(d.value[::50], d.rac[::50], d.rho[::50], strict=True):
        np.testing.assert_allclose(p.with_(b_rac=v).rhs(r, q), 0.0, atol=1e-9)
    flips = np.flatnonzero(np.diff(d.stable.astype(int)))
    assert len(flips) == 2
    for k, f in zip(flips, d.folds[::-1], strict=True):  # R decreasing: upper fold first
        assert abs(d.value[k] - f.value) < 1e-3


def test_emt_switch_folds_are_exact():
    """With k_fb = 2.5 d, K = 0.6, h = 6: S'(K) = 0 and S(K) = d/4 exactly (by hand)."""
    sw = EMTSwitch()
    (s1, e1), (s2, e2) = sw.folds()
    assert s1 == pytest.approx(0.25 * sw.decay, rel=1e-10) and e1 == pytest.approx(0.6, abs=1e-9)
    assert e2 < 0.5 < e1 and s2 == pytest.approx(0.4649 * sw.decay, rel=1e-3)
    inside = sw.steady_states(0.35 * sw.decay)
    assert [st for _, st in inside] == [True, False, True]
    assert inside[0][0] < 0.5 < inside[2][0]
    assert [st for _, st in sw.steady_states(0.0)] == [True]


def test_classify():
    rac = np.array([2.0, 0.5, 2.0, 0.5])
    rho = np.array([0.5, 2.0, 0.5, 2.0])
    emt = np.array([0.9, 0.9, 0.49, 0.5])
    np.testing.assert_array_equal(classify(rac, rho, emt),
                                  [MESENCHYMAL, AMOEBOID, EPITHELIAL, AMOEBOID])  # fmt: skip


# -- the process ---------------------------------------------------------------------------------
def test_columns_modes_and_the_stored_cell_table():
    sim = simulation(scenario({"tumor": {"rho_gtpase": {"b_rac_per_min": 2.0}},
                               "amo": {"rho_gtpase": {**NOT_EPITHELIAL, "b_rac_per_min": 2.0}}},
                              ("motility", "rho_gtpase"), n_cells=6))  # fmt: skip
    c = sim.model.cells
    c.type[3:] = 1
    c.internal("rac")[:] = math.nan  # re-initialised by type at the next step
    advance(sim, 2)
    frame = sim.model.snapshot_tables()["cells"]
    for col in ("rac", "rho", "emt", "mode", "rock_activity"):
        assert col in frame
    typ = frame["type"].to_numpy()
    assert np.all(frame["mode"][typ == 0] == EPITHELIAL)  # emt 0: epithelial, whatever Rac/Rho
    assert np.all(frame["mode"][typ == 1] == AMOEBOID)  # b_R = 2 below the window: Rho-high
    assert np.all(frame["rho"] > frame["rac"])
    m = sim.model.metrics(sim.fields, sim.time_min)
    assert m["frac_epithelial"] == pytest.approx(0.5) and m["frac_amoeboid"] == pytest.approx(0.5)


def test_mode_tables_write_the_motion_behaviours_with_rock_on_amoeboid_speed():
    ivs = [{"kind": "scale", "behaviour": "rock activity", "value": 0.8, "from_min": 0.0}]
    tumour = {"rho_gtpase": {**NOT_EPITHELIAL, "b_rac_per_min": 1.0,
                             "modes": {"amoeboid": {"migration speed": 5.0}},
                             "mode_scales": {"amoeboid": {"migration persistence time": 2.0}}}}
    sim = simulation(scenario({"tumor": tumour}, ("mechanics", "motility", "rho_gtpase"),
                              n_cells=4, interventions=ivs))  # fmt: skip
    advance(sim, 2)
    b = sim.model.behaviours
    assert np.all(modes(sim) == AMOEBOID)
    # speed 5 × κ (0.8, the κ of the last integration); persistence: default 3 min × 2
    np.testing.assert_allclose(b.column("migration speed"), 4.0, rtol=1e-12)
    np.testing.assert_allclose(b.column("migration persistence time"), 6.0, rtol=1e-12)
    np.testing.assert_allclose(b.column("cell-cell adhesion"), 0.1, rtol=1e-12)
    np.testing.assert_allclose(sim.model.cells.state("rock_activity"), 0.8)


def test_rules_read_the_signals_and_set_the_cues():
    rules = [{"cell_type": "tumor", "signal": "amoeboid mode", "direction": "increases",
              "behaviour": "migration bias", "saturation": 0.5, "half_max": 0.5,
              "hill_power": 1}]  # fmt: skip
    tumour = {"rho_gtpase": {**NOT_EPITHELIAL, "b_rac_per_min": 1.0}}
    sim = simulation(scenario({"tumor": tumour}, ("motility", "rho_gtpase"), n_cells=3,
                              rules=rules))  # fmt: skip
    advance(sim, 2)
    # signal 1 (amoeboid), Hill 1 at half-max 0.5: 0.5 × 1 / (0.5 + 1)
    np.testing.assert_allclose(sim.model.behaviours.column("migration bias"), 0.5 / 1.5)


def test_an_unknown_behaviour_in_a_mode_table_names_the_nearest():
    tumour = {"rho_gtpase": {"modes": {"amoeboid": {"migration sped": 5.0}}}}
    with pytest.raises(ConfigError, match="did you mean 'migration speed'") as exc:
        simulation(scenario({"tumor": tumour}, ("motility", "rho_gtpase")))
    assert "\n" not in str(exc.value)
    tumour = {"rho_gtpase": {"modes": {"amoeboid": {"cycle entry": 0.001}}}}
    with pytest.raises(ConfigError, match="'cycle entry' is not read by the listed processes"):
        simulation(scenario({"tumor": tumour}, ("motility", "rho_gtpase")))
    with pytest.raises(ConfigError, match="rho_gtpase"):
        simulation(scenario({"tumor": {"rho_gtpase": {"modes": {"blebbing": {}}}}}))


def test_without_motility_the_default_tables_are_dropped_silently():
    sim = simulation(scenario({"tumor": {}}, ("rho_gtpase",), n_cells=2))
    assert sim.model.processes[0].writes == ()
    advance(sim, 1)


def test_a_heritable_trait_shifts_b_rac_and_is_inherited():
    """An activating Rac1 mutation: trait rac_gain scales `rac activation` and mutates."""
    gain = {"initial": 1.0, "lower": 0.0, "upper": 3.0, "mutation_rate": 1.0,
            "mutation_step": 0.3, "scales": ["rac activation"]}  # fmt: skip
    tumour = {"rho_gtpase": {**NOT_EPITHELIAL, "initial_rac": RHO_HIGH[0],
                             "initial_rho": RHO_HIGH[1]},
              "cycle": {"model": "live", "rate_per_min": 0.01},
              "death": {"apoptosis_rate_per_min": 0.0}}  # fmt: skip
    sim = simulation(scenario({"tumor": tumour}, ("rho_gtpase", "volume", "death", "cycle",
                                                   "division"),
                              n_cells=20, traits={"rac_gain": gain}, extent=1000.0))  # fmt: skip
    advance(sim, 40)
    c = sim.model.cells
    g = c.trait("rac_gain")
    assert (c.generation > 0).sum() > 10 and np.ptp(g) > 0.2
    # layer 2: the cue is the type's b_R (3) times the cell's gain (refilled for these rows:
    # the matrix holds the rows of the last step's start, before division and sorting)
    sim.model.behaviours.fill(sim.model.state, "motion", sim.time_min)
    np.testing.assert_allclose(sim.model.behaviours.column("rac activation"), 3.0 * g)
    # cells whose inherited gain lifts b_R past the upper fold (3.417) are mesenchymal
    lo, hi = window(RacRho())
    young = c.time_in_phase > 60.0  # settled since their birth
    mode = modes(sim)
    assert np.all(mode[young & (3 * g > hi + 0.05)] == MESENCHYMAL)
    assert np.all(mode[young & (3 * g < lo - 0.05)] == AMOEBOID)
    # daughters copy the mother's Rac/Rho/EMT state (then it follows their own gain)
    names = c.names("internal")
    modes_at_division = c.division_modes("internal")
    assert all(modes_at_division[names.index(v)] == "copy" for v in ("rac", "rho", "emt"))


def test_cells_added_later_get_their_types_initial_state():
    ivs = [{"kind": "add_cells", "at_min": 6.0, "cell_type": "tumor",
            "region": {"shape": "ball", "centre_um": [300.0, 300.0], "radius_um": 20.0}}]
    tumour = {"rho_gtpase": {"initial_rac": 0.3, "initial_rho": 2.9, "initial_emt": 0.8,
                             "enabled": True}}  # fmt: skip
    sim = simulation(scenario({"tumor": tumour}, ("rho_gtpase",), n_cells=2, interventions=ivs))
    advance(sim, 1)
    n0 = sim.model.cells.n
    advance(sim, 1)
    c = sim.model.cells
    assert c.n > n0 and not np.isnan(c.internal("rac")).any()
    assert np.all(modes(sim) == AMOEBOID)


def test_a_disabled_type_is_left_alone():
    sim = simulation(scenario({"tumor": {"rho_gtpase": {"enabled": False,
                                                        "b_rac_per_min": 6.0}}},
                              ("motility", "rho_gtpase"), n_cells=3))  # fmt: skip
    advance(sim, 2)
    c = sim.model.cells
    np.testing.assert_allclose(c.internal("rac"), 2.0754)  # not integrated
    np.testing.assert_allclose(sim.model.behaviours.column("migration speed"), 0.0)


def test_the_same_seed_gives_the_same_run():
    def run():
        tumour = {"rho_gtpase": {**NOT_EPITHELIAL},
                  "motility": {"speed_um_per_min": 0.5}}  # fmt: skip
        rate = {"initial": {"distribution": "uniform", "lower": 2.0, "upper": 4.0},
                "sets": ["rac activation"]}  # fmt: skip
        sim = simulation(scenario({"tumor": tumour}, ("motility", "rho_gtpase"), n_cells=30,
                                  traits={"b": rate}), seed=3)  # fmt: skip
        advance(sim, 3)
        return by_id(sim, sim.model.cells.internal("rac")), by_id(sim, sim.model.cells.position)

    a, b = run(), run()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_cell_params_are_validated():
    with pytest.raises(ConfigError, match="initial_rac"):
        simulation(scenario({"tumor": {"rho_gtpase": {"initial_rac": 4.0}}}))
    with pytest.raises(ConfigError, match="b_rac_per_min"):
        simulation(scenario({"tumor": {"rho_gtpase": {"b_rac_per_min": -1.0}}}))


def test_registered_names():
    assert rg.RhoGTPase.order < 100  # before the life fill (see the module contract)
    from invasim.rules.dictionary import RuleDictionary

    d = RuleDictionary({}, ["tumor"])
    for name in ("rac activation", "rho activation", "rock activity", "emt induction"):
        assert d.behaviour(name).name == name
    for name in ("active rac", "active rho", "emt state", "amoeboid mode"):
        assert d.signal(name).name == name


def test_each_fill_writes_only_its_own_phase():
    """A life behaviour (apoptosis) is written in the life fill; the motion columns that a
    rule replaced (layer 4, from the type's value) are not rewritten by the life fill."""
    rules = [{"cell_type": "tumor", "signal": "amoeboid mode", "direction": "increases",
              "behaviour": "migration speed", "saturation": 9.0, "half_max": 0.5,
              "hill_power": 1}]  # fmt: skip
    tumour = {"rho_gtpase": {**NOT_EPITHELIAL, "b_rac_per_min": 1.0,
                             "modes": {"amoeboid": {"apoptosis": 0.0}}},
              "death": {"apoptosis_rate_per_min": 1e-3}}  # fmt: skip
    sim = simulation(scenario({"tumor": tumour}, ("motility", "rho_gtpase", "death"),
                              n_cells=4, rules=rules))  # fmt: skip
    advance(sim, 2)
    b = sim.model.behaviours
    assert np.all(modes(sim) == AMOEBOID)
    np.testing.assert_allclose(b.column("apoptosis"), 0.0)  # the mode's, in the life fill
    # the rule: type's 0 + (9 − 0) · 1/(0.5 + 1), not the mode table's 4 µm/min
    np.testing.assert_allclose(b.column("migration speed"), 6.0)
