"""Declared heritable traits in the engine: initial values, mutation, split, scaling behaviours."""

from __future__ import annotations

import numpy as np
import pytest

import invasim
from invasim.errors import ConfigError


def _data(traits, tumor=None, n_cells=60):
    ct = {"cycle": {"model": "live", "rate_per_min": 0.02},
          "death": {"apoptosis_rate_per_min": 0.0}}  # fmt: skip
    ct.update(tumor or {})
    return {
        "name": "traits-test",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [600.0, 600.0], "voxel_um": 40.0},
        "time": {"end_min": 120.0, "dt_min": 6.0, "output_interval_min": 60.0,
                 "checkpoint_interval_min": 120.0},
        "params": {"dt_diffusion_min": 0.01, "traits": traits, "cell_types": {"tumor": ct},
                   "initial": {"geometry": "ball", "n_cells": n_cells}},
    }  # fmt: skip


def _run(data, steps=20, seed=4):
    sim = invasim.Simulation(invasim.load_scenario(data), seed=seed)
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    return sim.model.cells


MMP = {"initial": {"distribution": "normal", "mu": 1.0, "sigma": 0.2, "lower": 0.0,
                   "upper": 2.0}, "lower": 0.0, "upper": 2.0}  # fmt: skip


def test_initial_values_follow_the_distribution_and_the_seed():
    a = invasim.Simulation(invasim.load_scenario(_data({"mmp": MMP}, n_cells=400)), seed=1)
    b = invasim.Simulation(invasim.load_scenario(_data({"mmp": MMP}, n_cells=400)), seed=1)
    c = invasim.Simulation(invasim.load_scenario(_data({"mmp": MMP}, n_cells=400)), seed=2)
    x = a.model.cells.trait("mmp")
    np.testing.assert_array_equal(x, b.model.cells.trait("mmp"))
    assert not np.array_equal(x, c.model.cells.trait("mmp"))
    assert 0.0 <= x.min() and x.max() <= 2.0
    # 400 draws: the mean within 4 standard errors (0.04) of 1, the sd within 20 % of 0.2
    assert abs(x.mean() - 1.0) < 4 * 0.2 / 20 and abs(x.std() - 0.2) < 0.04
    assert "mmp" in a.model.snapshot_tables()["cells"]


def test_without_mutation_every_cell_keeps_its_founders_value():
    cells = _run(_data({"mmp": MMP}))
    frame = cells.to_frame()
    assert (frame["generation"] > 0).sum() > 30  # divisions happened
    spread = frame.groupby("clone_id")["mmp"].agg(np.ptp)
    assert (spread == 0.0).all()


def test_with_mutation_daughters_drift_and_stay_in_bounds():
    cells = _run(_data({"mmp": {**MMP, "mutation_rate": 1.0, "mutation_step": 0.1}}))
    frame = cells.to_frame()
    spread = frame[frame["generation"] > 0].groupby("clone_id")["mmp"].agg(np.ptp)
    assert (spread > 0.0).mean() > 0.5
    assert frame["mmp"].between(0.0, 2.0).all()
    # the motility direction is bookkeeping, not a trait: never mutated (no column here)
    assert "motility_dx" not in frame


def test_a_split_trait_is_conserved_by_division():
    cells0 = _run(_data({"protein": {"initial": 1.0, "inheritance": "split", "lower": 0.0}}),
                  steps=0)  # fmt: skip
    cells = _run(_data({"protein": {"initial": 1.0, "inheritance": "split", "lower": 0.0}}))
    assert cells.n > cells0.n + 30  # no deaths: every cell is a founder's descendant
    np.testing.assert_allclose(cells.trait("protein").sum(), cells0.trait("protein").sum(),
                               rtol=1e-12)  # fmt: skip
    assert cells.trait("protein").min() < 1.0


def test_a_trait_scales_a_behaviour_per_cell():
    traits = {"motile": {**MMP, "scales": ["migration speed"]}}
    data = _data(traits, tumor={"motility": {"speed_um_per_min": 0.5}})
    sim = invasim.Simulation(invasim.load_scenario(data), seed=3)
    sim.model.behaviours.fill(sim.model.state, "motion", 0.0)  # as at a step's start
    c = sim.model.cells
    speed = sim.model.behaviours.column("migration speed")
    np.testing.assert_array_equal(speed, 0.5 * c.trait("motile"))
    assert np.ptp(speed) > 0.1


@pytest.mark.parametrize(
    "traits, needle",
    [
        ({"motile": {"scales": ["flying speed"]}}, "scales names 'flying speed'"),
        ({"id": {}}, "reserved"),
        ({"mmp": {"initial": 3.0, "upper": 2.0}}, "outside the bounds"),
        ({"mmp": {"mutation_rate": 1.5}}, "mutation_rate"),
    ],
)
def test_bad_traits_are_one_line_errors(traits, needle):
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_data(traits))
    assert "\n" not in str(info.value) and needle in str(info.value)


def _two_types(traits):
    data = _data(traits, tumor={"motility": {"speed_um_per_min": 0.5}})
    p = data["params"]
    p["cell_types"]["stroma"] = {**p["cell_types"]["tumor"],
                                 "motility": {"speed_um_per_min": 0.2}}  # fmt: skip
    p["initial"] = {"geometry": "random", "n_per_type": {"tumor": 200, "stroma": 200}}
    return data


def test_a_trait_sets_a_behaviour_in_its_cell_types_only():
    # PhysiCell's initial parameter distributions: the behaviour of the initial cells of one
    # type is drawn; other types keep theirs
    speed = {"initial": {"distribution": "uniform", "lower": 1.0, "upper": 2.0},
             "sets": ["migration speed"], "cell_types": ["tumor"]}  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(_two_types({"speed": speed})), seed=3)
    sim.model.behaviours.fill(sim.model.state, "motion", 0.0)
    c = sim.model.cells
    col = sim.model.behaviours.column("migration speed")
    tumor = c.type == 0
    np.testing.assert_array_equal(col[tumor], c.trait("speed")[tumor])
    assert col[tumor].min() >= 1.0 and col[tumor].max() <= 2.0 and np.ptp(col[tumor]) > 0.5
    assert np.all(col[~tumor] == 0.2)
    # a uniform on [1, 2] over 200 cells: mean 1.5 within 4 standard errors (sd 1/sqrt(12))
    assert abs(col[tumor].mean() - 1.5) < 4 * (1 / np.sqrt(12)) / np.sqrt(tumor.sum())


def test_a_scaling_trait_restricted_to_a_type_leaves_the_others():
    scale = {**MMP, "scales": ["migration speed"], "cell_types": ["stroma"]}
    sim = invasim.Simulation(invasim.load_scenario(_two_types({"s": scale})), seed=2)
    sim.model.behaviours.fill(sim.model.state, "motion", 0.0)
    c = sim.model.cells
    col = sim.model.behaviours.column("migration speed")
    stroma = c.type == 1
    np.testing.assert_array_equal(col[stroma], 0.2 * c.trait("s")[stroma])
    assert np.all(col[~stroma] == 0.5)


def test_a_trait_naming_an_unknown_cell_type_is_a_one_line_error():
    bad = {"initial": 1.0, "sets": ["migration speed"], "cell_types": ["tumour"]}
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_two_types({"fast": bad}))
    assert "\n" not in str(info.value) and "cell_types names 'tumour'" in str(info.value)


def test_the_initial_volumes_of_a_type_follow_their_distribution():
    data = _two_types({})
    data["params"]["cell_types"]["tumor"]["volume"] = {
        "initial_um3": {"distribution": "uniform", "lower": 1500.0, "upper": 2500.0}}
    sim = invasim.Simulation(invasim.load_scenario(data), seed=5)
    c = sim.model.cells
    tumor = c.type == 0
    v = c.volume[tumor]
    assert v.min() >= 1500.0 and v.max() <= 2500.0
    # uniform: mean 2000 within 4 standard errors over 200 cells
    assert abs(v.mean() - 2000.0) < 4 * (1000.0 / np.sqrt(12)) / np.sqrt(v.size)
    assert np.all(c.volume[~tumor] == 2494.0)
    np.testing.assert_allclose(c.radius[tumor], (3 * v / (4 * np.pi)) ** (1 / 3), rtol=1e-12)
    again = invasim.Simulation(invasim.load_scenario(data), seed=5).model.cells
    np.testing.assert_array_equal(again.volume, c.volume)


def test_the_cells_table_gives_per_cell_initial_values(tmp_path):
    # PhysiCell's cells.csv v2: extra columns set each cell's volume and behaviours; a blank
    # entry keeps the default
    table = tmp_path / "cells.csv"
    table.write_text("x,y,z,type,volume,speed\n"
                     "100,100,0,tumor,2000,1.5\n"
                     "140,100,0,tumor,,0.25\n"
                     "180,100,0,stroma,3000,\n"
                     "220,100,0,tumor,1800,\n")  # fmt: skip
    speed = {"initial": float("nan"), "sets": ["migration speed"]}
    data = _two_types({"speed": speed})
    data["params"]["initial"] = {"geometry": "table", "path": str(table),
                                 "columns": {"volume": "volume", "speed": "speed"}}
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    sim.model.behaviours.fill(sim.model.state, "motion", 0.0)
    c = sim.model.cells
    by_id = np.argsort(c.id)
    np.testing.assert_array_equal(c.volume[by_id], [2000.0, 2494.0, 3000.0, 1800.0])
    col = sim.model.behaviours.column("migration speed")[by_id]
    np.testing.assert_array_equal(col, [1.5, 0.25, 0.2, 0.5])  # blanks: the type's value


def test_a_table_column_must_target_volume_or_a_trait(tmp_path):
    table = tmp_path / "cells.csv"
    table.write_text("x,y,z,type,speed\n100,100,0,tumor,1.5\n")
    data = _two_types({})
    data["params"]["initial"] = {"geometry": "table", "path": str(table),
                                 "columns": {"speed": "speed"}}
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(data)
    assert "\n" not in str(info.value) and "neither 'volume' nor a trait" in str(info.value)
