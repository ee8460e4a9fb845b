"""Immune cells: contact killing (PD-1/PD-L1, exhaustion) and recruitment.

The rate laws are the verify cases of :mod:`invasim.verify.cases.immune` (``invasim verify -k
cytotoxicity``, ``-k recruitment``), which state the setup and the binomial/Poisson margins;
the errors, signals and reproducibility below are checked here only.
"""

from __future__ import annotations

import numpy as np
import pytest

from invasim.config import load_scenario
from invasim.errors import ConfigError
from invasim.simulation import Simulation
from invasim.verify.cases import immune
from invasim.verify.pairs import STILL, advance, pairs, scenario_data


@pytest.mark.parametrize(
    "case",
    [immune.kill_rate, immune.pdl1_kills, immune.anti_pd1, immune.exhausted_after_kills,
     immune.checkpoint_exhaustion, immune.recruitment_rate, immune.lymphocyte_pores],
    ids=lambda c: c.name,
)
def test_immune_case(case):
    r = case.run(quick=False)
    assert r.passed, (r.detail, r.checks)


@pytest.mark.slow
def test_checkpoint_blockade_direction():
    r = immune.checkpoint_blockade.run(quick=False)
    assert r.passed, (r.detail, r.checks)


def _recruit_data(**source):
    data = scenario_data(["recruitment"], {"ctl": {}})
    data["params"]["recruitment"] = {"sources": [{"cell_type": "ctl", "rate_per_min": 0.5,
                                                  **source}]}
    return data


@pytest.mark.parametrize(
    "source, words",
    [({"cell_type": "nk"}, ["cell_type 'nk'", "cell types: ctl"]),
     ({"faces": ["z-"]}, ["faces", "x-, x+, y-, y+"]),
     ({"signal_field": "cxcl9", "max_fold": 1.0}, ["signal_field 'cxcl9'", "fields: oxygen"]),
     ({"faces": ["w+"]}, ["faces"])],
)
def test_recruitment_config_errors_name_the_key(source, words):
    with pytest.raises(ConfigError) as e:
        Simulation(load_scenario(_recruit_data(**source)), seed=1)
    msg = str(e.value)
    assert "\n" not in msg.strip()
    for w in words:
        assert w in msg


def test_kill_rate_names_a_cell_type():
    data = scenario_data(["cytotoxicity", "death"],
                         {"ctl": {"cytotoxicity": {"kill_rates_per_min": {"tumour": 0.1}},
                                  **STILL}, "tum": STILL})
    with pytest.raises(ConfigError) as e:
        Simulation(load_scenario(data), seed=1)
    assert "kill_rates_per_min names 'tumour'" in str(e.value)


def _killing(seed, threads=None):
    data = scenario_data(["cytotoxicity", "death"],
                         {"ctl": {"cytotoxicity": {"kill_rates_per_min": {"tum": 0.01},
                                                   "pd1_expression": 1.0,
                                                   "exhaustion_per_kill": 0.5}, **STILL},
                          "tum": {"cytotoxicity": {"pdl1_expression": 0.3}, **STILL}})
    s = Simulation(load_scenario(data), seed=seed)
    pairs(s, 200)
    advance(s, 10)
    c = s.model.cells
    return c.id.copy(), c.dead.copy(), c.state("exhaustion").copy()


def test_killing_is_reproducible_by_seed_and_differs_between_seeds():
    a, b, c = _killing(3), _killing(3), _killing(4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])


def test_signals_drive_rules_exhausted_killers_slow_down():
    """A rule on the ``exhaustion`` signal: exhausted killers stop migrating."""
    rules = [{"cell_type": "ctl", "signal": "exhaustion", "direction": "decreases",
              "behaviour": "migration speed", "saturation": 0.0, "half_max": 0.5,
              "hill_power": 4}]
    data = scenario_data(["cytotoxicity", "death", "motility"],
                         {"ctl": {"cytotoxicity": {"kill_rates_per_min": {"tum": 50.0},
                                                   "exhaustion_per_kill": 1.0},
                                  "motility": {"speed_um_per_min": 1.0}, **STILL},
                          "tum": STILL}, rules=rules)
    s = Simulation(load_scenario(data), seed=1)
    pairs(s, 20)
    advance(s, 2)
    m = s.model
    beh = m.state.behaviours
    killers = m.cells.type == 0
    assert (m.cells.state("exhaustion")[killers] == 1.0).all()
    assert beh.column("migration speed")[killers].max() < 0.1


def test_well_mixed_killer_reaches_targets_anywhere_in_the_window():
    """contact = "well-mixed": a killer 2 mm from its targets kills them all (k dt ≫ 1).

    Within a step its kills follow the exact law of its hazard, so it is not capped at one.
    """
    data = scenario_data(["cytotoxicity", "death"],
                         {"ctl": {"cytotoxicity": {"kill_rates_per_min": {"tum": 50.0}},
                                  **STILL}, "tum": STILL})
    data["params"]["cytotoxicity"] = {"contact": "well-mixed"}
    s = Simulation(load_scenario(data), seed=1)
    m = s.model
    from invasim.core.cells import Cells

    c = Cells(2, capacity=16)
    pos = np.array([[100.0, 100.0], [2100.0, 2100.0], [2200.0, 2100.0], [2100.0, 2200.0]])
    c.add(4, position=pos, type=np.array([0, 1, 1, 1], dtype=np.int32),
          volume=np.full(4, 2494.0))
    m.cells = c
    for q in m.processes:
        q.setup(m.state)
    advance(s, 1)
    cells = m.cells
    assert int(np.count_nonzero((cells.type == 1) & (cells.dead != 0))) == 3
    assert float(cells.state("kills")[cells.type == 0][0]) == 3.0
    # the default (neighbours) kills none of them: they are out of reach
    data["params"]["cytotoxicity"] = {"contact": "neighbours"}
    s = Simulation(load_scenario(data), seed=1)
    c2 = Cells(2, capacity=16)
    c2.add(4, position=pos, type=np.array([0, 1, 1, 1], dtype=np.int32),
           volume=np.full(4, 2494.0))
    s.model.cells = c2
    for q in s.model.processes:
        q.setup(s.model.state)
    advance(s, 2)
    assert int(np.count_nonzero(s.model.cells.dead != 0)) == 0


def test_live_count_signal_is_the_windows_count_for_every_cell():
    """A rule on ``live tum count`` (Hill power 1): every cell reads the window's count."""
    rules = [{"cell_type": "ctl", "signal": "live tum count", "direction": "increases",
              "behaviour": "apoptosis", "saturation": 1e-3, "half_max": 3.0,
              "hill_power": 1.0}]
    data = scenario_data(["death"], {"ctl": {"death": {"apoptosis_rate_per_min": 0.0,
                                                       "apoptosis_duration_min": 1e6}},
                                     "tum": STILL}, rules=rules)
    s = Simulation(load_scenario(data), seed=1)
    pairs(s, 3)  # 3 ctl, 3 tum
    m = s.model
    m.cells.dead[1] = 1  # one tumour cell dead: 2 live
    m.behaviours.fill(m.state, "life", 0.0)
    col = m.state.behaviours.column("apoptosis")[m.cells.type == 0]
    np.testing.assert_allclose(col, 1e-3 * 2.0 / (2.0 + 3.0), rtol=1e-12)
