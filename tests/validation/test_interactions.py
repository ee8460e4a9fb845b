"""PhysiCell's cell interactions: phagocytosis, attack and damage, fusion, debris, dead signals.

Setup: isolated pairs of cells 15 µm apart (in contact: the interaction reach is
1.25 (r_i + r_j) ≈ 21 µm), 60 µm between pairs, nothing else running unless named. Each
mechanics step (0.1 min) a pair event happens with probability ``rate · dt`` (PhysiCell), so
the fraction of pairs in which it has happened after ``k`` steps is ``1 − (1 − rate dt)^k``,
exact for this discrete process.

Tolerances: counts over independent pairs are binomial; each is checked within 4 standard
errors (a false alarm has probability ~6e-5 per check), per seed, over three seeds. Damage,
volumes and positions are deterministic given the events and are checked to round-off.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
from invasim.core.cells import APOPTOTIC, NECROTIC, Cells
from invasim.processes.damage import advance_damage

DT_MECH = 0.1
PHENO = 6.0


def _data(processes, types, rules=None, fields=None):
    params = {"processes": list(processes), "cell_types": types,
              "initial": {"geometry": "ball", "n_cells": 0}}  # fmt: skip
    if rules:
        params["rules"] = rules
    if fields:
        params["fields"] = fields
    return {
        "name": "interactions-test", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [2400.0, 2400.0], "voxel_um": 40.0},
        "time": {"end_min": 600.0, "dt_min": PHENO, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 600.0},
        "params": params,
    }  # fmt: skip


def _sim(processes, types, seed=1, **kw):
    return invasim.Simulation(invasim.load_scenario(_data(processes, types, **kw)), seed=seed)


def _pairs(sim, n, kinds=(0, 1), second_dead=0, gap=15.0):
    """``n`` pairs: rows ``2a`` of type ``kinds[0]``, ``2a + 1`` of ``kinds[1]``."""
    m = sim.model
    side = int(math.ceil(math.sqrt(n)))
    pos = np.zeros((2 * n, 3))
    for a in range(n):
        x, y = 60.0 + 60.0 * (a % side), 60.0 + 60.0 * (a // side)
        pos[2 * a] = (x, y, 0.0)
        pos[2 * a + 1] = (x + gap, y, 0.0)
    c = Cells(2, capacity=4 * n)
    types = np.tile(np.array(kinds, dtype=np.int32), n)
    c.add(2 * n, position=pos, type=types, volume=np.full(2 * n, 2494.0))
    c.dead[1::2] = second_dead
    m.cells = c
    for q in m.processes:
        q.setup(m.state)
    return c


def _run(sim, steps):
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


def _binomial_ok(count, n, p):
    return abs(count - n * p) < 4 * math.sqrt(n * p * (1 - p)) + 1e-9


STILL = {"death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 1e6}}


# -- phagocytosis --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_phagocytosis_of_apoptotic_cells_happens_at_the_set_rate(seed):
    rate, n, steps = 0.01, 500, 10  # 10 phenotype steps = 600 mechanics steps
    sim = _sim(["phagocytosis", "death"],
               {"mac": {"phagocytosis": {"apoptotic_rate_per_min": rate}, **STILL},
                "tum": STILL}, seed=seed)  # fmt: skip
    _pairs(sim, n, second_dead=APOPTOTIC)
    _run(sim, steps)
    c = sim.model.cells
    eaten = 2 * n - c.n
    p = 1.0 - (1.0 - rate * DT_MECH) ** (steps * PHENO / DT_MECH)
    assert _binomial_ok(eaten, n, p), (eaten, n * p)
    # every engulfed volume went into its phagocyte (volume conserved; no volume process)
    assert c.volume.sum() == pytest.approx(2 * n * 2494.0, rel=1e-12)
    fat = c.volume[c.type == 0] > 2494.0 + 1
    assert fat.sum() == eaten
    assert sim.model.metrics(sim.fields, sim.time_min)["phagocytosed_total"] == eaten


def test_phagocytosis_chooses_by_death_kind_and_live_type():
    n, steps = 400, 5
    types = {"mac": {"phagocytosis": {"necrotic_rate_per_min": 0.0,
                                      "apoptotic_rate_per_min": 0.05,
                                      "live_rates_per_min": {"prey": 0.02}}, **STILL},
             "prey": STILL, "other": STILL}  # fmt: skip
    k = steps * PHENO / DT_MECH
    sim = _sim(["phagocytosis", "death"], types)
    _pairs(sim, n, second_dead=NECROTIC)
    _run(sim, steps)
    assert sim.model.cells.n == 2 * n  # necrotic rate 0: none eaten
    sim = _sim(["phagocytosis", "death"], types)
    _pairs(sim, n, kinds=(0, 1))  # live prey
    _run(sim, steps)
    eaten = 2 * n - sim.model.cells.n
    assert _binomial_ok(eaten, n, 1 - (1 - 0.02 * DT_MECH) ** k), eaten
    sim = _sim(["phagocytosis", "death"], types)
    _pairs(sim, n, kinds=(0, 2))  # live, but a type it does not eat
    _run(sim, steps)
    assert sim.model.cells.n == 2 * n


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
def test_attack_accumulates_damage_linearly_at_the_set_rate():
    # attack starts in the first mechanics step (rate · dt = 1) and never ends (duration 1e9)
    rate = 0.37
    sim = _sim(["attack", "damage", "death"],
               {"T": {"attack": {"rates_per_min": {"tum": 1.0 / DT_MECH},
                                 "damage_rate_per_min": rate, "duration_min": 1e9}, **STILL},
                "tum": STILL})  # fmt: skip
    c = _pairs(sim, 50)
    _run(sim, 3)
    t = 3 * PHENO
    c = sim.model.cells
    damage = c.state("damage")[1::2]
    assert np.allclose(damage, rate * t, rtol=1e-9)
    assert np.allclose(c.state("total_attack_time")[1::2], t, rtol=1e-9)
    assert np.allclose(c.state("damage_delivered")[0::2], rate * t, rtol=1e-9)
    assert np.all(c.state("damage")[0::2] == 0)  # attackers are not damaged


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_attacks_start_at_rate_times_immunogenicity(seed):
    rate, immuno, n, steps = 0.02, 0.5, 500, 5
    sim = _sim(["attack", "damage", "death"],
               {"T": {"attack": {"rates_per_min": {"tum": rate}}, **STILL},
                "tum": {"attack": {"immunogenicity": {"T": immuno}}, **STILL}}, seed=seed)
    _pairs(sim, n)
    _run(sim, steps)
    hit = int(np.sum(sim.model.cells.state("damage")[1::2] > 0))
    p = 1 - (1 - rate * immuno * DT_MECH) ** (steps * PHENO / DT_MECH)
    assert _binomial_ok(hit, n, p), (hit, n * p)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_attacks_last_the_set_duration_on_average(seed):
    # per mechanics step an idle attacker starts with q = rate·dt (and attacks in that step),
    # an attack ends after its step with p = dt/D: a two-state Markov chain whose expected
    # time under attack is summed exactly below; the pairs are independent, so the mean over
    # pairs is checked within 4 standard errors of the sample
    rate, duration, n, steps = 0.5, 2.0, 300, 10
    sim = _sim(["attack", "damage", "death"],
               {"T": {"attack": {"rates_per_min": {"tum": rate},
                                 "duration_min": duration}, **STILL},
                "tum": STILL}, seed=seed)  # fmt: skip
    _pairs(sim, n)
    _run(sim, steps)
    attacked = sim.model.cells.state("total_attack_time")[1::2]
    q, p = rate * DT_MECH, DT_MECH / duration
    on, expected = 0.0, 0.0  # P(attacking at the step's start), expected attacked time
    for _ in range(int(round(steps * PHENO / DT_MECH))):
        hit = on + (1 - on) * q
        expected += DT_MECH * hit
        on = hit * (1 - p)
    se = attacked.std(ddof=1) / math.sqrt(n)
    assert abs(attacked.mean() - expected) < 4 * se, (attacked.mean(), expected, se)
    # the expected share of time under attack is far from 0 and 1: the check discriminates
    assert 0.3 < expected / (steps * PHENO) < 0.7


def test_damage_repair_is_backward_euler_and_relaxes_to_rate_over_repair():
    r, k, dt = 0.3, 0.05, PHENO
    d = np.zeros(1)
    for _ in range(400):
        advance_damage(d, np.array([r]), np.array([k]), dt)
    assert d[0] == pytest.approx(r / k, rel=1e-9)  # steady state r/k
    d = np.array([2.0])
    advance_damage(d, np.array([r]), np.array([k]), dt)
    assert d[0] == pytest.approx((2.0 + r * dt) / (1 + k * dt), rel=1e-15)


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


# -- fusion --------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fusion_at_the_set_rate_conserves_volume_and_centre(seed):
    rate, n, steps = 0.005, 400, 5
    sim = _sim(["fusion", "volume"], {"a": {"fusion": {"rates_per_min": {"a": rate}}}},
               seed=seed)  # fmt: skip
    c0 = _pairs(sim, n, kinds=(0, 0))
    centres = 0.5 * (c0.position[0::2] + c0.position[1::2])
    _run(sim, steps)
    c = sim.model.cells
    fused = 2 * n - c.n
    # each cell of a pair may start it: the pair fuses with probability 1 − (1 − r dt)² per step
    p = 1 - (1 - rate * DT_MECH) ** (2 * steps * PHENO / DT_MECH)
    assert _binomial_ok(fused, n, p), (fused, n * p)
    big = c.state("nuclei") == 2
    assert big.sum() == fused
    # a fused cell sits at its pair's centre (equal volumes) and relaxes to twice the volume
    for x in c.position[big]:
        assert np.min(np.linalg.norm(centres - x, axis=1)) < 1e-9
    assert np.allclose(c.volume[big], 2 * 2494.0)
    assert np.allclose(c.volume[~big], 2494.0)


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


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_asymmetric_division_sends_daughters_to_the_named_types(seed):
    n = 1000
    sim = _sim(["cycle", "division"],
               {"stem": {"division": {"asymmetric": {"prog": 0.3, "diff": 0.2}}},
                "prog": {}, "diff": {}}, seed=seed)  # fmt: skip
    c = _pairs(sim, n // 2, kinds=(0, 0), gap=30.0)
    state = sim.model.state
    state.behaviours.fill(state, "life", 0.0)
    division = next(q for q in sim.model.processes if q.name == "division")
    state.dividing = np.arange(n, dtype=np.int64)
    division.step(state, PHENO)
    c = state.cells
    assert c.n == 2 * n and np.all(c.type[:n] == 0)  # daughters A keep the type
    born = c.type[n:]
    for t, p in ((1, 0.3), (2, 0.2)):
        assert _binomial_ok(int(np.sum(born == t)), n, p), (t, np.sum(born == t))
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
