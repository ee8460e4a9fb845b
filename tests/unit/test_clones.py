"""Clones founded at mutation, the lineage table, its storage, and traits acting on behaviours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import invasim
from invasim.biology.clones import Lineage, lineage_problems, load_clones
from invasim.biology.division import divide, mutation_events
from invasim.core.cells import Cells
from invasim.verify.cases.evolution import DT, scenario, steps

MUT = {"initial": 1.0, "lower": 0.0, "upper": 2.0, "mutation_rate": 0.3, "mutation_step": 0.1}


def _sim(traits, new_clones=True, n_cells=20, seed=3, end=120.0, output=None):
    data = scenario(traits, n_cells, end, output_min=output, new_clones=new_clones)
    return invasim.Simulation(invasim.load_scenario(data), seed=seed)


# -- division: which daughters mutate ----------------------------------------------------------
def test_mutation_events_are_the_mutations_divide_applies():
    cells = Cells(2, traits={"a": 1.0, "b": 1.0, "c": 1.0})
    cells.add(400, position=np.zeros((400, 3)))
    sd, rate = np.array([0.1, 0.2, 0.0]), np.array([0.3, 0.5, 0.9])
    born = divide(cells, np.arange(400), seed=5, step=7, trait_sd=sd, mutation_rate=rate)
    rows = np.concatenate([np.arange(400), np.arange(born.start, born.stop)])
    ev = mutation_events(cells.id[rows], 5, 7, sd, rate)
    changed = cells.traits[rows] != 1.0
    np.testing.assert_array_equal(ev, changed)
    assert not ev[:, 2].any()  # a zero step never mutates, whatever its rate
    assert 0.2 < ev[:, 0].mean() < 0.4 and 0.4 < ev[:, 1].mean() < 0.6


# -- clones in the engine ----------------------------------------------------------------------
def test_off_by_default_clone_ids_and_cells_are_as_before():
    on, off = _sim({"mmp": {**MUT, "mutation_rate": 0.0}}), _sim({"mmp": MUT}, new_clones=False)
    assert off.model.params.division.new_clone_on_mutation is False
    steps(off, 20)
    assert getattr(off.model.state, "lineage", None) is None
    assert "clones" not in off.model.snapshot_tables()
    assert not any(k.startswith("clones__") for k in off.model.extra_state())
    assert off.model.cells.clone_id.max() < 20  # only the founders' ids
    # with the option on but nothing mutating, the cells are bit for bit those without it
    ref = _sim({"mmp": {**MUT, "mutation_rate": 0.0}}, new_clones=False)
    steps(on, 20)
    steps(ref, 20)
    a, b = on.model.cells.to_frame(), ref.model.cells.to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert len(on.model.state.lineage) == 20


def test_every_mutated_daughter_founds_a_clone_child_of_its_mothers():
    sim = _sim({"mmp": {**MUT, "mutation_rate": 1.0}})
    steps(sim, 20)
    c = sim.model.cells
    born = c.generation > 0
    assert born.sum() > 50
    # rate 1: every daughter founds its own clone, and its mother's clone is the mother's id
    np.testing.assert_array_equal(c.clone_id[born], c.id[born])
    lin = sim.model.state.lineage.to_frame().set_index("clone_id")
    rows = lin.loc[c.id[born]]
    np.testing.assert_array_equal(rows["parent_clone_id"], c.parent_id[born])
    np.testing.assert_array_equal(rows["founder_generation"], c.generation[born])
    assert lineage_problems(sim.model.state.lineage.to_frame()) == []


def test_founder_traits_are_the_daughters_after_mutation():
    sim = _sim({"mmp": MUT})
    sim.model.step(sim.fields, sim.time_min)
    steps(sim, 10)
    c, lin = sim.model.cells, sim.model.state.lineage.to_frame()
    new = lin[lin["parent_clone_id"] >= 0]
    assert len(new) > 3
    founders = np.isin(c.id, new["clone_id"])  # founders still alive and undivided
    by_id = new.set_index("clone_id")
    np.testing.assert_array_equal(by_id.loc[c.id[founders], "founder_mmp"],
                                  c.trait("mmp")[founders])  # fmt: skip
    assert (by_id["founder_mmp"] != 1.0).all()
    assert (new["born_min"] > 0).all() and (new["born_min"] % DT == 0).all()


def test_clones_are_deterministic_and_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    traits = {"mmp": MUT}
    whole = _sim(traits, end=96.0, output=24.0).run(out=tmp_path / "a", progress=False,
                                                   summary=False)  # fmt: skip
    _sim(traits, end=96.0, output=24.0).run(until=48.0, out=tmp_path / "b", progress=False,
                                           summary=False)  # fmt: skip
    resumed = invasim.Simulation.resume(tmp_path / "b", until=96.0, progress=False)
    a, b = load_clones(whole), load_clones(resumed)
    assert len(a) > 25
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(whole.cells(), resumed.cells())
    # the table of an earlier snapshot is a prefix of the last one's
    early = load_clones(whole, 48.0)
    pd.testing.assert_frame_equal(early, a.iloc[: len(early)])


def test_the_checkpoint_keeps_the_lineage():
    sim = _sim({"mmp": MUT})
    steps(sim, 15)
    arrays = sim.model.extra_state()
    other = _sim({"mmp": MUT})
    other.model.restore_extra_state(arrays)
    pd.testing.assert_frame_equal(other.model.state.lineage.to_frame(),
                                  sim.model.state.lineage.to_frame())  # fmt: skip
    steps(sim, 5)
    other.step_index = sim.step_index - 5
    steps(other, 5)
    pd.testing.assert_frame_equal(other.model.state.lineage.to_frame(),
                                  sim.model.state.lineage.to_frame())  # fmt: skip


def test_load_clones_of_a_run_without_a_table_lists_the_roots(tmp_path):
    run = _sim({"mmp": MUT}, new_clones=False, end=24.0, output=12.0).run(
        out=tmp_path, progress=False, summary=False)  # fmt: skip
    lin = load_clones(run)
    assert sorted(lin["clone_id"]) == list(range(20))
    assert (lin["parent_clone_id"] == -1).all() and (lin["born_min"] == 0.0).all()


# -- the table -----------------------------------------------------------------------------------
def _lineage():
    cells = Cells(2, traits={"a": 0.5})
    cells.add(3)
    lin = Lineage(cells.trait_names)
    lin.register_roots(cells, 0.0)
    divide(cells, np.array([1]), 1, 1)
    cells.trait("a")[3] = 0.7
    lin.found(cells, np.array([3]), np.array([1]), 6.0)
    return cells, lin


def test_lineage_roots_founding_and_round_trips():
    cells, lin = _lineage()
    f = lin.to_frame()
    assert list(f.columns) == ["clone_id", "parent_clone_id", "born_min", "founder_id",
                               "founder_generation", "founder_a"]  # fmt: skip
    assert f["clone_id"].tolist() == [0, 1, 2, 4] and f["parent_clone_id"].tolist()[-1] == 1
    assert cells.clone_id[3] == cells.id[3] == 4 and f["founder_a"].tolist()[-1] == 0.7
    assert lin.register_roots(cells, 12.0) == 0  # nothing new
    for back in (Lineage.from_arrays(lin.to_arrays()), Lineage.from_frame(f.assign(time_min=1))):
        pd.testing.assert_frame_equal(back.to_frame(), f)
    with pytest.raises(ValueError, match="parent clone"):
        lin.found(cells, np.array([0]), np.array([99]), 6.0)
    cells.add(2, clone_id=[7, 7])  # cells added later (an intervention): one root, born now
    assert lin.register_roots(cells, 12.0) == 1
    assert lin.to_frame().iloc[-1][["clone_id", "parent_clone_id", "born_min"]].tolist() == [
        7, -1, 12.0]  # fmt: skip


def test_lineage_problems_finds_missing_late_and_duplicate_parents():
    _, lin = _lineage()
    f = lin.to_frame()
    assert lineage_problems(f) == []
    bad = f.copy()
    bad.loc[3, "parent_clone_id"] = 42
    assert "not in the table" in lineage_problems(bad)[0]
    bad = f.copy()
    bad.loc[1, "born_min"] = 10.0
    assert "older than its parent" in lineage_problems(bad)[0]
    bad = pd.concat([f, f.iloc[[0]]], ignore_index=True)
    assert "not unique" in lineage_problems(bad)[0]
    bad = f.iloc[[3, 0, 1, 2]].reset_index(drop=True)
    assert "listed after it" in lineage_problems(bad)[0]


# -- traits act on the behaviours that matter for evolution -----------------------------------
SPREAD = {"distribution": "uniform", "lower": 0.5, "upper": 1.5}
BEHAVIOURS = {  # trait -> the behaviour it scales (Anderson et al. 2006's phenotypes)
    "mmp_expression": "mmp secretion",
    "proliferation": "cycle entry",
    "adhesion": "cell-cell adhesion",
    "motility": "migration speed",
    "o2_consumption": "oxygen uptake",
}


def _behaviour_scenario():
    traits = {name: {"initial": SPREAD, "lower": 0.0, "upper": 3.0, "mutation_rate": 0.5,
                     "mutation_step": 0.2, "scales": [b]} for name, b in BEHAVIOURS.items()}
    traits["mmp_rate"] = {"initial": SPREAD, "lower": 0.0, "upper": 3.0, "sets": ["mmp secretion"],
                          "mutation_rate": 0.5, "mutation_step": 0.2, "cell_types": ["tumor"]}
    diffusing = {"kind": "diffusing", "diffusion_um2_per_min": 1000.0, "decay_per_min": 0.1,
                 "initial": 38.0}
    tumor = {
        "cycle": {"model": "live", "rate_per_min": 0.02, "oxygen_dependent": False},
        "motility": {"speed_um_per_min": 0.5},
        "mechanics": {"adhesion_um_per_min": 0.4},
        "secretion": {"uptake_per_min": {"oxygen": 10.0}, "secretion_per_min": {"mmp": 0.3},
                      "secretion_target": {"mmp": 1.0}},
    }
    data = scenario({}, 40, 60.0)
    data["params"].update(processes=["secretion", "diffusion", "mechanics", "motility", "cycle",
                                     "division"], traits=traits,
                          fields={"oxygen": dict(diffusing), "mmp": {**diffusing, "initial": 0.0}},
                          cell_types={"tumor": tumor}, dt_diffusion_min=0.05)  # fmt: skip
    return data


def _check_behaviours(sim, base):
    state, beh = sim.model.state, sim.model.behaviours
    beh.fill(state, "motion", sim.time_min)
    beh.fill(state, "life", sim.time_min)
    c = state.cells
    for trait, behaviour in BEHAVIOURS.items():
        want = base[behaviour] * c.trait(trait)
        if behaviour == "mmp secretion":  # set by mmp_rate (sets come after scales)
            want = c.trait("mmp_rate")
        np.testing.assert_allclose(beh.column(behaviour), want, rtol=1e-12, err_msg=behaviour)
        assert np.ptp(beh.column(behaviour)) > 0.1 * base[behaviour]


def test_heritable_traits_scale_or_set_the_evolving_behaviours():
    sim = invasim.Simulation(invasim.load_scenario(_behaviour_scenario()), seed=2)
    base = {"mmp secretion": 0.3, "cycle entry": 0.02, "cell-cell adhesion": 0.4,
            "migration speed": 0.5, "oxygen uptake": 10.0}  # fmt: skip
    _check_behaviours(sim, base)
    steps(sim, 6)  # divisions with mutation: the daughters' behaviours follow their traits
    c = sim.model.cells
    assert (c.generation > 0).sum() > 5 and len(sim.model.state.lineage) > 40
    _check_behaviours(sim, base)


def test_initial_cells_may_share_one_founding_clone():
    import invasim as iv

    sc = iv.load_scenario("spheroid-2d", ["time.end_min=6", "params.initial.radius_um=40",
                                          'params.initial.clones="one"'])  # fmt: skip
    c = iv.Simulation(sc, seed=1).model.cells
    # one clone: the first placed cell's (id 0; rows are later sorted in space)
    assert c.n > 5 and np.all(c.clone_id == 0) and 0 in c.id
    c2 = iv.Simulation(iv.load_scenario("spheroid-2d", ["time.end_min=6",
                       "params.initial.radius_um=40"]), seed=1).model.cells  # fmt: skip
    assert np.array_equal(c2.clone_id, c2.id)  # the default: each founds its own
