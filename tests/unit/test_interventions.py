"""Interventions: drugs on behaviours, resection, added cells and boluses, on schedule."""

from __future__ import annotations

import json

import numpy as np
import pytest

import invasim
from invasim.core import initial
from invasim.errors import ConfigError
from invasim.io import rundir

CENTRE = [200.0, 200.0]


def _data(interventions, **params):
    p = {
        "dt_diffusion_min": 0.01,
        "cell_types": {
            "tumor": {"cycle": {"model": "live", "rate_per_min": 0.01},
                      "death": {"apoptosis_rate_per_min": 0.0}},
            "stroma": {"cycle": {"model": "live", "rate_per_min": 0.0},
                       "death": {"apoptosis_rate_per_min": 0.0}},
        },
        "initial": {"geometry": "ball", "n_cells": 100},
        "interventions": interventions,
    }  # fmt: skip
    p.update(params)
    return {
        "name": "interventions-test",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 40.0},
        "time": {"end_min": 60.0, "dt_min": 6.0, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 12.0},
        "params": p,
    }  # fmt: skip


def _run(data, tmp_path, name="run"):
    return invasim.Simulation(invasim.load_scenario(data), seed=2).run(
        out=tmp_path / name, progress=False
    )


def test_a_drug_on_apoptosis_kills_only_inside_its_window(tmp_path):
    drug = {"kind": "set", "behaviour": "apoptosis", "value": 10.0, "cell_type": "tumor",
            "from_min": 24.0, "until_min": 36.0, "label": "cytotoxic"}  # fmt: skip
    run = _run(_data([drug]), tmp_path)
    m = run.metrics.set_index("time_min")
    dead = m["n_apoptotic"] + m["n_necrotic"]
    assert dead.loc[:24.0].max() == 0  # nobody dies before the drug
    # 1 - exp(-10 * 6) = 1: every live tumour cell dies in the first step of the window
    assert m.loc[30.0, "n_tumor"] == 0 and dead.loc[30.0] > 100
    # after the window the rate is 0 again: no new deaths (the dead stay 516 min)
    assert dead.loc[36.0:].max() == dead.loc[30.0]


def test_scale_zero_on_cycle_entry_stops_division_in_one_type(tmp_path):
    stop = {"kind": "scale", "behaviour": "cycle entry", "value": 0.0, "from_min": 12.0}
    run = _run(_data([stop]), tmp_path)
    n = run.metrics.set_index("time_min")["n_cells"]
    cells12 = run.cells(12.0)
    # a cell in a later phase may still finish its cycle, but none enters one: phase-0 cells
    # at 12 min stay so; with the 'live' model (one phase) nobody divides after 12 min
    assert n.loc[12.0] > n.loc[0.0] and (n.loc[12.0:] == n.loc[12.0]).all()
    assert len(cells12) == n.loc[12.0]


def test_resection_removes_the_cells_in_the_region_at_its_time(tmp_path):
    cut = {"kind": "remove", "at_min": 18.0, "region": {"shape": "ball", "centre_um": CENTRE,
                                                       "radius_um": 60.0}}  # fmt: skip
    data = _data([cut])
    data["params"]["cell_types"]["tumor"]["cycle"]["rate_per_min"] = 0.0
    run = _run(data, tmp_path)
    before, after = run.cells(12.0), run.cells(24.0)
    d_before = np.hypot(before["x"] - 200.0, before["y"] - 200.0)
    d_after = np.hypot(after["x"] - 200.0, after["y"] - 200.0)
    assert (d_before < 55).sum() > 20 and (d_after < 55).sum() == 0
    # the cells outside survived (they only move by mechanics)
    assert len(after) == len(before) - (d_before <= 60.0).sum()


def test_added_cells_and_a_bolus(tmp_path):
    events = [
        {"kind": "add_cells", "at_min": 12.0, "cell_type": "stroma",
         "region": {"shape": "box", "lo_um": [20.0, 20.0], "hi_um": [80.0, 80.0]}},
        {"kind": "bolus", "at_min": 12.0, "field": "drug", "value": 5.0,
         "region": {"shape": "box", "lo_um": [300.0, 300.0], "hi_um": [400.0, 400.0]}},
        {"kind": "bolus", "at_min": 12.0, "field": "drug", "value": 0.5},
    ]  # fmt: skip
    fields = {"oxygen": {"kind": "diffusing"}, "drug": {"kind": "matrix", "unit": "µM"}}
    sim = invasim.Simulation(invasim.load_scenario(_data(events, fields=fields)), seed=2)
    for _ in range(2):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    n0 = sim.model.cells.n
    sim.model.step(sim.fields, sim.time_min)  # the step starting at 12 min
    c = sim.model.cells
    stroma = c.type == 1
    lattice = initial.layer(2, 16.0, [20.0, 20.0], [80.0, 80.0])  # the default spacing
    assert stroma.sum() == len(lattice) >= 16
    assert c.n >= n0 + len(lattice)
    # a matrix does not diffuse: 5.5 at the voxel centres in [300, 400]², 0.5 elsewhere
    drug = sim.fields["drug"][0]
    assert np.all(drug[-3:, -3:] == 5.5) and drug[0, 0] == 0.5  # centres 300, 340, 380
    assert (drug == 5.5).sum() == 9


@pytest.mark.parametrize(
    "event, needle",
    [
        ({"kind": "scale", "behaviour": "flying speed", "value": 1.0}, "speed' is not read"),
        ({"kind": "set", "behaviour": "apoptosis", "value": 1.0, "cell_type": "ghost"}, "'ghost'"),
        ({"kind": "bolus", "at_min": 7.0, "field": "oxygen", "value": 1.0}, "whole number"),
        ({"kind": "bolus", "at_min": 6.0, "field": "glucose", "value": 1.0}, "not a field"),
        ({"kind": "remove", "at_min": 6.0, "region": {"shape": "ball", "centre_um": [1.0],
                                                      "radius_um": 5.0}}, "2 coordinates"),
        ({"kind": "set", "behaviour": "apoptosis", "value": 1.0, "from_min": 10.0,
          "until_min": 5.0}, "until_min"),
        ({"kind": "resect", "at_min": 6.0}, "kind"),
    ],
)  # fmt: skip
def test_bad_interventions_are_one_line_errors(event, needle):
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_data([event]))
    assert "\n" not in str(info.value) and needle in str(info.value)


def test_resume_across_interventions_equals_uninterrupted(tmp_path):
    events = [
        {"kind": "scale", "behaviour": "cycle entry", "value": 3.0, "from_min": 30.0},
        {"kind": "remove", "at_min": 36.0, "region": {"shape": "box", "lo_um": [0.0, 0.0],
                                                     "hi_um": [200.0, 400.0]}},
    ]  # fmt: skip
    sc = invasim.load_scenario(_data(events))
    full = invasim.Simulation(sc, seed=9).run(out=tmp_path / "full", progress=False)
    part = invasim.Simulation(sc, seed=9).run(until=42, out=tmp_path / "part", progress=False)
    for p in rundir.list_checkpoints(part.path)[3:]:  # keep 0, 12, 24: redo both events
        p.unlink()
    meta = json.loads((part.path / "run.json").read_text())
    meta.update(status="running", end_min=60.0)
    (part.path / "run.json").write_text(json.dumps(meta))
    resumed = invasim.Simulation.resume(part.path, progress=False)
    assert resumed.meta["resumed_at_min"] == [24.0]
    assert resumed.metrics.equals(full.metrics)
    for t in (36.0, 48.0, 60.0):
        assert resumed.cells(t).equals(full.cells(t))
    # the schedule is in run.json
    assert meta["scenario"]["params"]["interventions"][1]["kind"] == "remove"


def test_interventions_are_bands_on_the_metric_plots(tmp_path):
    from invasim.viz.common import intervention_bands
    from invasim.viz.summary import write_summary

    events = [
        {"kind": "scale", "behaviour": "cycle entry", "value": 0.5, "from_min": 12.0,
         "until_min": 30.0, "label": "cytostatic"},
        {"kind": "remove", "at_min": 36.0, "region": {"shape": "box", "lo_um": [0.0, 0.0],
                                                     "hi_um": [100.0, 400.0]}},
    ]  # fmt: skip
    run = _run(_data(events), tmp_path)
    assert intervention_bands(run) == [(12.0, 30.0, "cytostatic"), (36.0, 36.0, "remove")]
    path = write_summary(run)
    assert path.stat().st_size > 10_000


def test_a_field_intervention_changes_the_far_field_over_its_window():
    hypoxia = {"kind": "field", "field": "oxygen", "parameter": "boundary_value", "value": 5.0,
               "from_min": 12.0, "until_min": 36.0}  # fmt: skip
    faster = {"kind": "field", "field": "oxygen", "parameter": "decay_per_min", "mode": "scale",
              "value": 2.0, "from_min": 24.0}  # fmt: skip
    data = _data([hypoxia, faster])
    data["params"]["cell_types"]["tumor"]["cycle"]["rate_per_min"] = 0.0
    sim = invasim.Simulation(invasim.load_scenario(data), seed=2)
    diffusion = next(q for q in sim.model.processes if q.name == "diffusion")
    seen = {}
    for _ in range(8):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
        seen[sim.time_min] = (dict(diffusion.current["oxygen"]), sim.fields["oxygen"].mean())
    # the step ending at t started at t - 6: the window is judged at the step's start
    assert seen[12.0][0]["boundary_value"] == 38.0 and seen[18.0][0]["boundary_value"] == 5.0
    assert seen[36.0][0]["boundary_value"] == 5.0 and seen[42.0][0]["boundary_value"] == 38.0
    assert seen[24.0][0]["decay_per_min"] == 0.1 and seen[30.0][0]["decay_per_min"] == 0.2
    assert seen[48.0][0]["decay_per_min"] == 0.2  # open window
    assert seen[36.0][1] < 15.0 < seen[48.0][1]  # the far field fell to 5 mmHg, then back up


def test_a_field_intervention_is_checked_against_the_accuracy_limit():
    faster = {"kind": "field", "field": "oxygen", "parameter": "diffusion_um2_per_min",
              "mode": "scale", "value": 100.0}  # fmt: skip
    with pytest.raises(ConfigError, match="accuracy limit"):
        invasim.load_scenario(_data([faster]))
    with pytest.raises(ConfigError, match="not a diffusing field"):
        invasim.load_scenario(_data([{**faster, "field": "glucose"}]))


def test_a_drug_removes_its_effect_size_of_the_target_over_its_duration(tmp_path):
    # effect 1 on cycle entry: the 'live' model's only division route is closed from onset
    # to onset + duration, and open again after it
    drug = {"kind": "drug", "drug": "mmp_inhibitor", "targets": ["cycle entry"], "effect": 1.0,
            "from_min": 12.0, "duration_min": 24.0}  # fmt: skip
    run = _run(_data([drug]), tmp_path)
    n = run.metrics.set_index("time_min")["n_cells"]
    assert n.loc[12.0] > n.loc[0.0]
    assert (n.loc[12.0:36.0] == n.loc[12.0]).all()  # none divides inside the window
    assert n.loc[60.0] > n.loc[36.0]  # divisions resume after it


def test_a_half_effect_drug_halves_the_behaviour():
    from invasim.agents.interventions import Drug, behaviour_layer, enzyme_activity

    d = Drug(kind="drug", drug="rock_inhibitor", effect=0.5, from_min=6.0, until_min=12.0)
    assert d.target_behaviours({"rock activity", "apoptosis"}) == ["rock activity"]
    assert d.target_behaviours({"apoptosis"}) == []  # defaults not read are skipped

    class _Beh:
        names = ["rock activity", "apoptosis"]
        values = np.ones((3, 2))

        def column(self, name):
            return self.values[:, self.names.index(name)]

    class _State:
        step_start = 6.0
        cells = None

    beh = _Beh()
    behaviour_layer([d], ["tumor"])(_State(), beh, [0, 1], 6.0)
    assert np.all(beh.values[:, 0] == 0.5) and np.all(beh.values[:, 1] == 1.0)
    _State.step_start = 12.0  # the window is [6, 12): off at 12
    beh.values[:] = 1.0
    behaviour_layer([d], ["tumor"])(_State(), beh, [0, 1], 12.0)
    assert np.all(beh.values == 1.0)
    mmpi = Drug(kind="drug", drug="mmp_inhibitor", effect=0.8, from_min=0.0)
    # two MMP inhibitors multiply their remaining activities; a ROCK inhibitor does not act
    assert enzyme_activity([mmpi, mmpi, d], "mmp", 0.0) == pytest.approx(0.2 * 0.2)
    assert enzyme_activity([mmpi], "oxygen", 0.0) == 1.0


@pytest.mark.parametrize(
    "event, needle",
    [
        ({"kind": "drug", "drug": "aspirin", "effect": 0.5}, "'aspirin' is unknown"),
        ({"kind": "drug", "drug": "rock_inhibitor", "effect": 1.5}, "effect"),
        ({"kind": "drug", "drug": "rock_inhibitor", "effect": 0.5},
         "rock activity, matrix pushing, which no"),
        ({"kind": "drug", "drug": "mmp_inhibitor", "effect": 0.5, "targets": ["flying"]},
         "'flying', which the listed"),
        ({"kind": "drug", "drug": "mmp_inhibitor", "effect": 0.5, "enzyme_fields": ["mmp2"]},
         "'mmp2', which is not a diffusing field"),
        ({"kind": "drug", "drug": "rock_inhibitor", "effect": 0.5, "duration_min": 6.0,
          "until_min": 12.0}, "not both"),
    ],
)  # fmt: skip
def test_bad_drugs_are_one_line_errors(event, needle):
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_data([event]))
    assert "\n" not in str(info.value) and needle in str(info.value)
