"""Behaviour rules in the agent model: validation, effects on cell life, resume equality."""

from __future__ import annotations

import json

import numpy as np
import pytest

import invasim
from invasim.errors import ConfigError
from invasim.io import rundir
from invasim.models.spheroid import AgentParams


def _rule(signal, direction, behaviour, saturation, half_max, hill_power=4.0, **kw):
    return {
        "cell_type": "tumor",
        "signal": signal,
        "direction": direction,
        "behaviour": behaviour,
        "saturation": saturation,
        "half_max": half_max,
        "hill_power": hill_power,
        **kw,
    }


def _data(rules=None, end=60.0, **tumor):
    """A small, fast 2-D scenario: a fast live cycle, no death, a fixed seed."""
    ct = {"cycle": "live", "cycle_rate_per_min": 0.01, "apoptosis_rate_per_min": 0.0}
    ct.update(tumor)
    params = {
        "dt_diffusion_min": 0.01,
        "dt_mechanics_min": 0.1,
        "cell_types": {"tumor": ct},
        "initial": {"geometry": "ball", "n_cells": 60},
    }
    if rules is not None:
        params["rules"] = rules
    return {
        "name": "agents-rules-test",
        "model": "agents",
        "seed": 5,
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 40.0},
        "time": {
            "end_min": end,
            "dt_min": 6.0,
            "output_interval_min": 12.0,
            "checkpoint_interval_min": 12.0,
        },
        "params": params,
    }


def _final_cells(data, steps=10):
    sim = invasim.Simulation(invasim.load_scenario(data), seed=5)
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    return sim.model.cells


def test_no_rules_means_no_rule_set():
    assert AgentParams().rule_set is None
    assert invasim.load_scenario(_data()).model_params.rule_set is None


def test_oxygen_decreases_cycle_entry_lowers_proliferation():
    free = _final_cells(_data())
    ruled = _final_cells(_data([_rule("oxygen", "decreases", "cycle entry", 0.0, 10.0)]))
    born_free = free.next_id - 60
    born_ruled = ruled.next_id - 60
    assert born_free > 20
    # oxygen ~38 mmHg >> half-max 10: entry falls to ~1/200 of its base
    assert born_ruled < 0.2 * born_free


def test_pressure_rule_is_contact_inhibition():
    # cells packed at the default spacing have pressures around 0.3-0.5 in 2-D
    free = _final_cells(_data())
    inhibited = _final_cells(_data([_rule("pressure", "decreases", "cycle entry", 0.0, 0.05)]))
    born_free = free.next_id - 60
    born_inhibited = inhibited.next_id - 60
    assert born_inhibited < 0.5 * born_free
    # an isolated cell (pressure 0) still divides at its full rate
    lone = _data([_rule("pressure", "decreases", "cycle entry", 0.0, 0.05)])
    lone["params"]["initial"] = {"geometry": "ball", "n_cells": 1}
    lone = _final_cells(lone, steps=6)
    assert lone.next_id >= 2


def test_apoptosis_and_uptake_rules_apply():
    data = _data(
        [
            _rule("time", "increases", "apoptosis", 0.05, 6.0),
            _rule("oxygen", "increases", "oxygen uptake", 0.0, 1.0),
        ],
        cycle_rate_per_min=0.0,
    )
    cells = _final_cells(data, steps=4)
    assert np.count_nonzero(cells.dead) > 20
    free = invasim.Simulation(invasim.load_scenario(_data(cycle_rate_per_min=0.0)), seed=5)
    ruled = invasim.Simulation(invasim.load_scenario(data), seed=5)
    for sim in (free, ruled):
        sim.model.step(sim.fields, sim.time_min)
    # the rule drives oxygen uptake towards 0 (oxygen >> half-max): far less oxygen consumed
    used_free = 38.0 - free.fields["oxygen"].min()
    used_ruled = 38.0 - ruled.fields["oxygen"].min()
    assert used_ruled < 0.2 * used_free


@pytest.mark.parametrize(
    ("rules", "needles"),
    [
        ([_rule("oxgen", "decreases", "cycle entry", 0.0, 10.0)], ["params.rules[0]", "oxygen"]),
        (
            [
                _rule("oxygen", "decreases", "cycle entry", 0.0, 10.0),
                _rule("oxygen", "increases", "cycle entry", 0.01, 10.0),
            ],
            ["params.rules[1]", "params.rules[0]", "conflicts"],
        ),
        (
            [_rule("oxygen", "decreases", "cell-cell adhesion", 0.0, 10.0)],
            ["params.rules[0]", "not applied by the agent model"],
        ),
        (
            [_rule("contact with tumor", "decreases", "cycle entry", 0.0, 1.0)],
            ["params.rules[0]", "not computed by the agent model"],
        ),
        ("no-such-rules.csv", ["params.rules", "cannot read rules file"]),
    ],
)
def test_rule_errors_are_one_line_config_errors(rules, needles):
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_data(rules))
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("scenario: ")
    for needle in needles:
        assert needle in msg


def test_cycle_entry_rule_needs_a_positive_base_rate():
    with pytest.raises(ConfigError, match="base rate 0"):
        invasim.load_scenario(
            _data([_rule("oxygen", "decreases", "cycle entry", 0.0, 10.0)], cycle_rate_per_min=0)
        )


def test_csv_rules_resolve_beside_the_scenario_file(tmp_path):
    (tmp_path / "cell_rules.csv").write_text(
        "tumor,oxygen,decreases,cycle entry,0,10,4,0\ntumor,pressure,decreases,apoptosis,0,1,2,0\n"
    )
    data = _data("cell_rules.csv")
    lines = ['name = "csv-rules"', 'model = "agents"']
    for section in ("mesh", "time", "params"):
        lines.append(f"[{section}]")
        for k, v in data[section].items():
            if not isinstance(v, dict):
                lines.append(f"{k} = {json.dumps(v)}")
    lines += ["[params.cell_types.tumor]", 'cycle = "live"', "cycle_rate_per_min = 0.01"]
    lines += ["[params.initial]", 'geometry = "ball"', "n_cells = 10"]
    path = tmp_path / "scenario.toml"
    path.write_text("\n".join(lines) + "\n")
    sc = invasim.load_scenario(path)
    rs = sc.model_params.rule_set
    assert len(rs.table) == 2 and rs.governs("cycle entry") and rs.governs("apoptosis")
    assert sc.model_params.rules == str(tmp_path / "cell_rules.csv")


def test_resume_equals_uninterrupted_with_rules(tmp_path):
    rules = [
        _rule("oxygen", "decreases", "cycle entry", 0.001, 30.0),
        _rule("pressure", "increases", "apoptosis", 0.01, 0.5),
        _rule("oxygen", "decreases", "migration speed", 0.2, 30.0),
        _rule("volume", "increases", "oxygen uptake", 20.0, 2500.0),
    ]
    sc = invasim.load_scenario(_data(rules, speed_um_per_min=0.5, persistence_time_min=5.0))
    full = invasim.Simulation(sc, seed=9).run(out=tmp_path / "full", progress=False)
    part = invasim.Simulation(sc, seed=9).run(until=42, out=tmp_path / "part", progress=False)
    for p in rundir.list_checkpoints(part.path)[4:]:
        p.unlink()
    meta = json.loads((part.path / "run.json").read_text())
    meta.update(status="running", end_min=60.0)
    (part.path / "run.json").write_text(json.dumps(meta))
    resumed = invasim.Simulation.resume(part.path, progress=False)
    assert resumed.meta["resumed_at_min"] == [36.0]
    np.testing.assert_array_equal(resumed.field("oxygen"), full.field("oxygen"))
    assert resumed.metrics.equals(full.metrics)
    for t in (48.0, 60.0):
        assert resumed.cells(t).equals(full.cells(t))
