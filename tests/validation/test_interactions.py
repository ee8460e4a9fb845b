"""PhysiCell's cell interactions: phagocytosis, attack and damage, fusion, debris, dead signals.

The rate and transfer validations are the verify cases of
:mod:`invasim.verify.cases.interactions` (``invasim verify -k phagocytosis``, ``-k attack``
...), which give the setup and the binomial margins; the behaviours, signals and errors below
are checked here only, on the same isolated pairs (:mod:`invasim.verify.pairs`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
from invasim.core.cells import APOPTOTIC, NECROTIC, Cells
from invasim.verify.cases import interactions as inter
from invasim.verify.pairs import DT_MECH, PHENO, STILL
from invasim.verify.pairs import advance as _run
from invasim.verify.pairs import pairs as _pairs
from invasim.verify.pairs import scenario_data as _data
from invasim.verify.pairs import sim as _sim


@pytest.mark.parametrize(
    "case",
    [inter.phagocytosis_rate, inter.phagocytosis_choice, inter.attack_damage,
     inter.attack_immunogenicity, inter.attack_duration, inter.damage_repair, inter.fusion_rate,
     inter.asymmetric_division],
    ids=lambda c: c.name,
)  # fmt: skip
def test_interaction_rates(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)


# -- phagocytosis --------------------------------------------------------------------------------
def test_a_phagocyte_eats_at_most_one_cell_per_step():
    # one phagocyte between two apoptotic cells, rate 1/dt: it eats one per mechanics step
    sim = _sim(["phagocytosis", "death"],
               {"mac": {"phagocytosis": {"apoptotic_rate_per_min": 1.0 / DT_MECH}, **STILL},
                "tum": STILL})  # fmt: skip
    c = Cells(2, capacity=8)
    c.add(3, position=np.array([[500.0, 500, 0], [485, 500, 0], [515, 500, 0]]),
          type=np.array([0, 1, 1], dtype=np.int32), volume=np.full(3, 2494.0))  # fmt: skip
    c.dead[1:] = APOPTOTIC
    sim.model.cells = c
    state = sim.model.state
    proc = next(q for q in sim.model.processes if q.name == "phagocytosis")
    state.behaviours.fill(state, "motion", 0.0)
    state.mech_step = 0
    proc.step(state, DT_MECH)
    assert state.cells.n == 2
    state.mech_step = 1
    proc.step(state, DT_MECH)
    assert state.cells.n == 1 and state.cells.volume[0] == pytest.approx(3 * 2494.0)


# -- attack and damage ---------------------------------------------------------------------------
def test_damage_raises_death_through_a_rule():
    rules = [{"cell_type": "tum", "signal": "damage", "direction": "increases",
              "behaviour": "apoptosis", "saturation": 10.0, "half_max": 1.0,
              "hill_power": 8}]  # fmt: skip
    sim = _sim(["attack", "damage", "death"],
               {"T": {"attack": {"rates_per_min": {"tum": 1.0 / DT_MECH}, "duration_min": 1e9},
                      **STILL}, "tum": STILL}, rules=rules)  # fmt: skip
    _pairs(sim, 100)
    _run(sim, 2)  # damage 12 by the first fill: apoptosis ~10/min, all die
    c = sim.model.cells
    assert np.all(c.dead[c.type == 1] == APOPTOTIC)
    assert np.all(c.state("attack_target")[c.type == 0] == -1)  # attacks on the dead end


# -- debris and dead-cell signals ----------------------------------------------------------------
def test_dead_cells_secrete_debris_and_take_up_a_tenth():
    fields = {"debris": {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 1.0,
                         "decay_per_min": 0.0, "initial": 0.0},
              "oxygen": {"kind": "diffusing", "unit": "mmHg", "diffusion_um2_per_min": 1e5,
                         "decay_per_min": 0.1, "initial": 38.0}}  # fmt: skip
    types = {"tum": {"secretion": {"uptake_per_min": {"oxygen": 10.0},
                                   "apoptotic_secretion_per_min": {"debris": 0.02},
                                   "necrotic_secretion_per_min": {"debris": 0.05}},
                     **STILL}}  # fmt: skip
    sim = _sim(["secretion", "diffusion", "death"], types, fields=fields)
    c = _pairs(sim, 3, kinds=(0, 0))
    c.dead[:] = [0, APOPTOTIC, 0, NECROTIC, 0, 0]
    state = sim.model.state
    state.behaviours.fill(state, "motion", 0.0)
    b = state.behaviours
    assert list(b.column("debris secretion")) == [0, 0.02, 0, 0.05, 0, 0]
    assert list(b.column("oxygen uptake")) == pytest.approx([10, 1, 10, 1, 10, 10])
    _run(sim, 1)
    assert sim.fields["debris"].sum() > 0


def test_time_since_death_and_dead_contact_signals():
    rules = [
        {"cell_type": "tum", "signal": "time since death", "direction": "increases",
         "behaviour": "apoptosis", "saturation": 1.0, "half_max": 1.0, "hill_power": 1,
         "applies_to_dead": True},
        {"cell_type": "mac", "signal": "contact with apoptotic cell", "direction": "increases",
         "behaviour": "migration speed", "saturation": 1.0, "half_max": 0.5, "hill_power": 1},
        {"cell_type": "mac", "signal": "contact with BM", "direction": "increases",
         "behaviour": "migration persistence time", "saturation": 9.0, "half_max": 0.5,
         "hill_power": 1},
    ]  # fmt: skip
    sim = _sim(["death", "motility", "contacts"],
               {"mac": STILL, "tum": {"death": {"apoptosis_rate_per_min": 1.0,
                                                "apoptosis_duration_min": 1e6}}},
               rules=rules)  # fmt: skip
    _pairs(sim, 4, gap=12.0)
    _run(sim, 2)
    state = sim.model.state
    death = next(q for q in sim.model.processes if q.name == "death")
    since = death.signal_values(state, "time since death", None)
    c = state.cells
    assert np.all(since[c.type == 1] == pytest.approx(PHENO))  # died in the first step
    assert np.all(since[c.type == 0] == 0)
    contacts = next(q for q in sim.model.processes if q.name == "contacts")
    apo = contacts.signal_values(state, "contact with apoptotic cell", None)
    assert np.all(apo[c.type == 0] == 1) and np.all(apo[c.type == 1] == 0)
    assert np.all(contacts.signal_values(state, "contact with necrotic cell", None) == 0)
    wall = contacts.signal_values(state, "contact with wall", None)
    assert not wall.any()
    c.position[0, 0] = 3.0  # closer to the wall than its radius
    state.moved()
    assert contacts.signal_values(state, "contact with wall", None)[0] == 1


def test_custom_data_is_a_signal_and_a_behaviour_under_physicell_names():
    rules = [
        {"cell_type": "a", "signal": "time", "direction": "increases", "behaviour": "custom:GFP",
         "saturation": 5.0, "half_max": 1e-9, "hill_power": 1},
        {"cell_type": "a", "signal": "custom: GFP", "direction": "increases",
         "behaviour": "migration speed", "saturation": 2.0, "half_max": 1.0, "hill_power": 1},
        {"cell_type": "b", "signal": "custom 1", "direction": "decreases",
         "behaviour": "migration speed", "saturation": 0.0, "half_max": 1.0, "hill_power": 1},
    ]  # fmt: skip
    data = _data(["custom_data", "motility"],
                 {"a": {"custom_data": {"values": {"GFP": 0.5}}},
                  "b": {"custom_data": {"values": {"sample": 3.0}},
                        "motility": {"speed_um_per_min": 0.8}}}, rules=rules)  # fmt: skip
    data["params"]["custom_data"] = {"variables": {"GFP": "AU", "sample": "dimensionless"}}
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    _pairs(sim, 2)
    state = sim.model.state
    b = state.behaviours
    # the rule sets GFP = 5 from t > 0 (the fill at t = 6); the cells keep it when they sense
    _run(sim, 2)
    c = state.cells
    assert np.allclose(c.state("custom:GFP")[0::2], 5.0)
    assert np.allclose(c.state("custom:sample")[1::2], 3.0)
    state.behaviours.fill(state, "motion", 12.0)
    b = state.behaviours
    assert np.allclose(b.column("migration speed")[0::2], 2.0 * 5.0 / 6.0)  # reads GFP = 5
    s0 = b.type_values("migration speed")[1]
    assert s0 > 0 and np.allclose(b.column("migration speed")[1::2], s0 * (1 - 3.0 / 4.0))
    bad = dict(data)
    bad["params"] = {**data["params"], "rules": [{**rules[0], "behaviour": "custom:RFP"}]}
    with pytest.raises(invasim.errors.ConfigError, match="did you mean 'custom:GFP'"):
        invasim.load_scenario(bad)


def test_asymmetric_division_probabilities_must_sum_to_at_most_one():
    with pytest.raises(invasim.errors.ConfigError, match="sum to more than 1"):
        _sim(["cycle", "division"],
             {"stem": {"division": {"asymmetric": {"prog": 0.7, "diff": 0.4}}},
              "prog": {}, "diff": {}})  # fmt: skip


def test_adhesive_affinities_set_the_pair_adhesion_as_physicell():
    from invasim.processes.mechanics import mechanics_params

    sim = _sim(["mechanics"],
               {"a": {"mechanics": {"adhesion_um_per_min": 0.4,
                                    "adhesive_affinity": {"b": 0.25}}},
                "b": {"mechanics": {"adhesion_um_per_min": 0.9,
                                    "adhesive_affinity": {"a": 0.5}}}})  # fmt: skip
    adh = mechanics_params(sim.model.params).adhesion
    # PhysiCell's Cell::add_potentials: sqrt(a_i aff_i[j] · a_j aff_j[i])
    assert adh[0, 1] == adh[1, 0] == pytest.approx(math.sqrt(0.4 * 0.25 * 0.9 * 0.5))
    assert adh[0, 0] == pytest.approx(0.4) and adh[1, 1] == pytest.approx(0.9)
    with pytest.raises(invasim.errors.ConfigError, match="'c', which is not a cell type"):
        _sim(["mechanics"], {"a": {"mechanics": {"adhesive_affinity": {"c": 1.0}}}})


def test_oxygen_independent_cycle_entry_and_necrosis_for_imported_projects():
    fields = {"oxygen": {"kind": "diffusing", "unit": "mmHg", "diffusion_um2_per_min": 1e5,
                         "decay_per_min": 0.1, "initial": 1.0}}  # fmt: skip
    types = {"dep": {}, "const": {"cycle": {"model": "live", "rate_per_min": 0.002,
                                            "oxygen_dependent": False},
                                  "death": {"necrosis_oxygen_dependent": False,
                                            "necrosis_max_rate_per_min": 0.003}}}
    types["dep"] = {"cycle": {"model": "live", "rate_per_min": 0.002}}
    sim = _sim(["cycle", "division", "death"], types, fields=fields)
    _pairs(sim, 2)
    state = sim.model.state
    state.behaviours.fill(state, "life", 0.0)
    b = state.behaviours
    # at 1 mmHg: PhysiCell's O2-based model stops cycling and maximises necrosis; a constant
    # rate keeps its value
    assert list(b.column("cycle entry")) == [0.0, 0.002, 0.0, 0.002]
    assert b.column("necrosis")[1] == 0.003
    assert b.column("necrosis")[0] == pytest.approx(1.0 / 360.0)


def test_contacts_within_adhesion_reach_count_as_physicell_neighbours():
    # two cells 18 µm apart: no overlap (2 r = 16.8 µm) but within 1.25 · 2 r = 21 µm
    types = {"a": STILL, "b": STILL}
    rules = [{"cell_type": "a", "signal": "contact with b", "direction": "increases",
              "behaviour": "migration speed", "saturation": 1.0, "half_max": 0.5,
              "hill_power": 1}]  # fmt: skip
    for contact, expected in (("overlap", 0.0), ("adhesion", 1.0)):
        data = _data(["contacts", "motility", "death"], types, rules=rules)
        data["params"]["contacts"] = {"contact": contact}
        sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
        _pairs(sim, 3, kinds=(0, 1), gap=18.0)
        state = sim.model.state
        proc = next(q for q in sim.model.processes if q.name == "contacts")
        proc.step(state, PHENO)
        got = proc.signal_values(state, "contact with {cell_type}", "b")
        assert np.all(got[0::2] == expected) and np.all(got[1::2] == 0.0), (contact, got)


def test_cycle_takes_physicells_per_phase_fixed_durations():
    from invasim.processes.cycle import CycleCell

    model = CycleCell(model="flow_cytometry_separated",
                      fixed_durations=[False, True, True, True]).cycle_model()
    assert model.fixed == (False, True, True, True)
    with pytest.raises(ValueError, match="one flag, or 4"):
        CycleCell(model="flow_cytometry_separated", fixed_durations=[True, False])


@pytest.mark.parametrize("process, table", [
    ("attack", {"rates_per_min": {"ghost": 0.1}}),
    ("attack", {"immunogenicity": {"ghost": 0.5}}),
    ("phagocytosis", {"live_rates_per_min": {"ghost": 0.1}}),
    ("fusion", {"rates_per_min": {"ghost": 0.1}}),
])  # fmt: skip
def test_interaction_tables_name_existing_cell_types(process, table):
    processes = [process, "damage"] if process == "attack" else [process]
    with pytest.raises(invasim.errors.ConfigError, match=f"{process}.*'ghost', which is not"):
        _sim(processes, {"a": {process: table}})
