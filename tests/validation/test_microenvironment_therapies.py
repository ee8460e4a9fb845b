"""Chemotherapy and the signal blockers (TGF-beta, CSF-1R): the verify cases and the errors."""

from __future__ import annotations

import pytest

from invasim.config import load_scenario
from invasim.errors import ConfigError
from invasim.simulation import Simulation
from invasim.verify.cases import therapies
from invasim.verify.pairs import scenario_data


@pytest.mark.parametrize("case", [therapies.chemotherapy, therapies.signal_blockade],
                         ids=lambda c: c.name)
def test_therapy_case(case):
    r = case.run(quick=False)
    assert r.passed, (r.detail, r.checks)


def _with_drug(drug: dict, fields=None):
    data = scenario_data(["death"], {"tum": {}}, fields=fields)
    data["params"]["interventions"] = [{"kind": "drug", "effect": 0.5, **drug}]
    return data


@pytest.mark.parametrize(
    "drug, fields, words",
    [({"drug": "tgfb_blockade"}, None, ["tgfb_blockade acts on the tgfb field"]),
     ({"drug": "csf1r_inhibitor", "signals": ["csf-1"]}, None, ["signals names 'csf-1'"]),
     ({"drug": "chemotherapy", "targets": ["apoptosis"]}, None, ["takes no targets"]),
     ({"drug": "interferon"}, None, ["drug 'interferon' is unknown", "chemotherapy"])],
)
def test_drug_errors_name_what_is_wrong(drug, fields, words):
    with pytest.raises(ConfigError) as e:
        Simulation(load_scenario(_with_drug(drug, fields)), seed=1)
    msg = str(e.value)
    for w in words:
        assert w in msg, msg


def test_chemotherapy_needs_the_death_process():
    data = scenario_data(["cycle", "division"], {"tum": {}})
    data["params"]["interventions"] = [{"kind": "drug", "drug": "chemotherapy", "effect": 0.5}]
    with pytest.raises(ConfigError) as e:
        Simulation(load_scenario(data), seed=1)
    assert "chemotherapy acts on apoptosis" in str(e.value)
