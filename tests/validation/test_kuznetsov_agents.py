"""Kuznetsov et al. 1994 run by the agent engine's own processes in their well-mixed form.

The cases of :mod:`invasim.verify.cases.kuznetsov_agents` (their docstrings state the mapping,
the approximations and the margins); the full forms take minutes, so they are slow tests.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import kuznetsov_agents as ka


@pytest.mark.slow
@pytest.mark.parametrize("case", [ka.dormant_agents, ka.threshold_agents], ids=lambda c: c.name)
def test_kuznetsov_in_the_agent_engine(case):
    r = case.run(quick=False)
    assert r.passed, (r.detail, r.checks)


def test_the_agent_scenario_maps_every_ode_term():
    """The scenario's rates are the per-cell rates (no run): a unit check of the mapping."""
    from invasim.config import load_scenario
    from invasim.models.kuznetsov import KuznetsovParams
    from invasim.models.kuznetsov_stochastic import per_cell_rates

    p = KuznetsovParams()
    r = per_cell_rates(p, 1000.0)
    sc = load_scenario(ka.agent_scenario(p, 1000.0, 1440.0))
    params = sc.model_params
    eff, tum = params.cell_types["effector"], params.cell_types["tumor"]
    assert eff.cytotoxicity.kill_rates_per_min["tumor"] == r.kill_rate_per_pair_per_min
    assert eff.death.apoptosis_rate_per_min == r.effector_death_per_min
    assert tum.cycle.rate_per_min == r.tumour_division_per_min
    assert params.recruitment.sources[0].rate_per_min == r.recruitment_per_min
    assert params.cytotoxicity.contact == "well-mixed"
    rules = {(x.cell_type, x.behaviour): x for x in params.rule_set.table}
    div = rules[("effector", "cycle entry")]
    assert div.half_max == r.effector_division_half_count and div.hill_power == 1.0
    # the quadratic terms' Hill forms: initial slope = the ODE's coefficient
    crowd = rules[("tumor", "apoptosis")]
    assert crowd.saturation / crowd.half_max == pytest.approx(
        r.crowding_death_per_neighbour_per_min, rel=1e-12)
    inact = rules[("effector", "apoptosis")]
    slope = (inact.saturation - r.effector_death_per_min) / inact.half_max
    assert slope == pytest.approx(r.effector_exhaustion_per_encounter_per_min, rel=1e-12)
