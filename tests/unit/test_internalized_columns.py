"""Internalised substrates: the columns, the switch, the config errors and the signal.

The physics (conservation, the closed form, release, transfer) is in
tests/validation/test_internalized.py.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from tests.conftest import run_and_resume

import invasim
from invasim.biology.division import divide
from invasim.core.cells import Cells
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.physics.exchange import SecretionUptake
from invasim.processes.secretion import ensure_internalized_columns, internalized_column
from invasim.rules.evaluate import hill

O2 = internalized_column("oxygen")


def _data(track=True, rules=None, **tumor):
    types = {"tumor": {"secretion": {"uptake_per_min": {"oxygen": 10.0}},
                       "cycle": {"model": "live", "rate_per_min": 0.003,
                                 "oxygen_dependent": False},
                       "death": {"apoptosis_rate_per_min": 0.0,
                                 "necrosis_max_rate_per_min": 0.0}, **tumor}}  # fmt: skip
    params = {
        "processes": ["secretion", "diffusion", "mechanics", "volume", "death", "cycle",
                      "division"],
        "fields": {"oxygen": {"kind": "diffusing", "unit": "mmHg",
                              "diffusion_um2_per_min": 1e3, "decay_per_min": 0.1,
                              "initial": 38.0, "boundary": "dirichlet-voxels",
                              "boundary_value": 38.0}},
        "secretion": {"track_internalized": track},
        "cell_types": types,
        "initial": {"geometry": "ball", "n_cells": 40},
    }  # fmt: skip
    if rules:
        params["rules"] = rules
    return {
        "name": "internalized-unit", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [240.0, 240.0], "voxel_um": 20.0},
        "time": {"end_min": 60.0, "dt_min": 6.0, "output_interval_min": 12.0,
                 "checkpoint_interval_min": 12.0},
        "params": params,
    }  # fmt: skip


def _rule(half_max, saturation=0.05, signal="intracellular oxygen"):
    return {"cell_type": "tumor", "signal": signal, "direction": "increases",
            "behaviour": "apoptosis", "saturation": saturation, "half_max": half_max,
            "hill_power": 2.0}  # fmt: skip


def _run(sim, steps):
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


# -- the columns ---------------------------------------------------------------------------------
def test_columns_are_internal_split_at_division_and_follow_removal():
    c = Cells(2, capacity=2)
    c.add(4, position=np.zeros((4, 3)))
    cols = ensure_internalized_columns(c, ["oxygen", "drug"])
    assert ensure_internalized_columns(c, ["oxygen", "drug"]) == cols  # idempotent
    assert c.internal_names == [O2, "internalized:drug"]
    assert c.division_modes("internal") == ["split", "split"]
    c.internal(O2)[:] = [10.0, 20.0, 30.0, 40.0]
    c.internal("internalized:drug")[:] = [-1.0, 2.0, 3.0, 4.0]
    divide(c, np.array([0, 2]), seed=1, step=0)  # grows past the capacity too
    assert c.n == 6
    np.testing.assert_array_equal(c.internal(O2), [5.0, 20.0, 15.0, 40.0, 5.0, 15.0])
    assert c.internal("internalized:drug").sum() == 8.0  # the total is kept
    ids = c.id.copy()
    keep = c.internal(O2) != 20.0
    c.remove(~keep)
    np.testing.assert_array_equal(c.id, ids[keep])  # compaction keeps rows aligned
    np.testing.assert_array_equal(c.internal(O2), [5.0, 15.0, 40.0, 5.0, 15.0])
    back = Cells.from_dict(c.to_dict())
    np.testing.assert_array_equal(back.columns("internal"), c.columns("internal"))
    assert back.division_modes("internal") == ["split", "split"]
    assert O2 in c.to_frame().columns  # in every snapshot


def test_tracking_adds_a_column_per_diffusing_field_and_off_adds_none(monkeypatch):
    calls = []
    step, accumulate = SecretionUptake.step, SecretionUptake.step_accumulate

    def spy_step(self, u, dt, exchanged=None):
        calls.append("step" if exchanged is None else "step+exchanged")
        return step(self, u, dt, exchanged)

    def spy_accumulate(self, u, dt):
        calls.append("accumulate")
        return accumulate(self, u, dt)

    monkeypatch.setattr(SecretionUptake, "step", spy_step)
    monkeypatch.setattr(SecretionUptake, "step_accumulate", spy_accumulate)
    off = invasim.Simulation(invasim.load_scenario(_data(track=False)), seed=1)
    assert off.model.cells.internal_names == []
    _run(off, 1)
    assert set(calls) == {"step"}  # off: PhysiCell's update as before, no per-cell output
    proc = next(q for q in off.model.processes if q.name == "secretion")
    with pytest.raises(ConfigError, match="track_internalized = true"):
        proc.signal_values(off.model.state, "intracellular {substrate}", "oxygen")
    calls.clear()
    on = invasim.Simulation(invasim.load_scenario(_data()), seed=1)
    assert on.model.cells.internal_names == [O2]
    _run(on, 1)
    assert set(calls) == {"accumulate"}
    amounts = on.model.cells.internal(O2)
    assert (amounts > 0).all()  # every cell took some up
    # the fields and cells are the same with and without tracking, bit for bit
    np.testing.assert_array_equal(on.fields["oxygen"], off.fields["oxygen"])
    np.testing.assert_array_equal(on.model.cells.position, off.model.cells.position)


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("scheme", ["implicit", "exact"])
def test_accumulated_exchange_equals_the_per_step_one(scheme, parallel):
    """step_accumulate + take_exchanged: the same field bit for bit, the same amounts as the
    per-step ``exchanged`` summed (to round-off: 1e-12 of the amounts)."""
    mesh = Mesh(2, (6, 5), 20.0)
    rng = np.random.default_rng(3)
    n = 40
    pos = np.column_stack([rng.uniform(0, 120, n), rng.uniform(0, 100, n), np.zeros(n)])
    rates = dict(volume=rng.uniform(1e3, 4e3, n), secretion=rng.uniform(0, 2, n),
                 target=rng.uniform(0, 5, n), uptake=rng.uniform(0, 3, n),
                 export=rng.uniform(-50, 50, n))  # fmt: skip
    a, b = SecretionUptake(mesh, scheme), SecretionUptake(mesh, scheme, parallel=parallel)
    for x in (a, b):
        x.bind(pos, **rates)
    u_a, u_b = (np.full(mesh.array_shape, 2.0) for _ in range(2))
    total, out = np.zeros(n), np.empty(n)
    amounts = np.zeros((n, 3))[:, 1]  # a strided column, as the cells' internal columns
    for k, dt in enumerate([0.01, 0.01, 0.01, 0.02, 0.02, 0.01, 0.03, 0.03]):  # dt may change
        a.step(u_a, dt, out)
        total += out
        b.step_accumulate(u_b, dt)
        if k == 4:
            b.take_exchanged(amounts)  # taking midway changes nothing
    np.testing.assert_array_equal(u_b, u_a)
    with pytest.raises(RuntimeError, match="take_exchanged"):
        b.bind_positions(pos)  # pending amounts cannot be lost to a rebind
    b.take_exchanged(amounts)
    np.testing.assert_allclose(amounts, -total, rtol=0, atol=1e-12 * np.abs(total).max())
    b.bind_positions(pos)  # nothing pending now
    gained = (u_b - 2.0).sum() * 20.0**3
    assert -amounts.sum() == pytest.approx(gained, rel=1e-12)


def test_resume_equals_uninterrupted(tmp_path):
    sc = invasim.load_scenario(_data(rules=[_rule(1.5e6)]))
    full, resumed = run_and_resume(sc, 5, tmp_path, until=30, end=60.0, keep=3, summary=False)
    assert resumed.meta["resumed_at_min"] == [24.0]
    np.testing.assert_array_equal(resumed.field("oxygen"), full.field("oxygen"))
    for t in (36.0, 60.0):
        frame = full.cells(t)
        assert (frame[O2] > 0).all() and frame["dead"].any()  # the rule killed some
        assert resumed.cells(t).equals(frame)


# -- config errors -------------------------------------------------------------------------------
def _error(data):
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(data)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_config_errors_are_one_line():
    msg = _error(_data(track=False, rules=[_rule(1e4)]))
    assert "params.rules[0]: signal 'intracellular oxygen'" in msg
    assert "set [params.secretion] track_internalized = true" in msg
    msg = _error(_data(track=False, rules=[_rule(1e4, signal="internalized oxygen")]))
    assert "track_internalized = true" in msg  # PhysiCell's synonym too
    for key in ("fraction_released_at_death", "fraction_transferred_when_ingested"):
        data = _data(track=False)
        data["params"]["cell_types"]["tumor"]["secretion"][key] = {"oxygen": 0.5}
        assert f"params.cell_types.tumor.secretion.{key} is set" in _error(data)
        assert "track_internalized = true" in _error(data)
        for bad in (1.5, -0.1, float("nan")):
            data = _data()
            data["params"]["cell_types"]["tumor"]["secretion"][key] = {"oxygen": bad}
            assert f"{key} must lie in [0, 1]" in _error(data)
        data = _data()
        data["params"]["cell_types"]["tumor"]["secretion"][key] = {"oxgen": 0.5}
        assert "names unknown field(s) ['oxgen']" in _error(data)
    data = _data()
    data["params"]["secretion"]["track_internalized"] = "yes"
    assert "params.secretion.track_internalized" in _error(data)
    data = _data(rules=[_rule(1e4)])
    data["params"]["processes"].remove("secretion")
    del data["params"]["secretion"]
    for t in data["params"]["cell_types"].values():
        del t["secretion"]
    assert "not computed by the listed processes" in _error(data)


# -- the signal ----------------------------------------------------------------------------------
def test_a_rule_on_the_internal_amount_sets_the_behaviour_per_cell():
    half = 1.5e6  # about the median amount after two steps (field unit × µm³)
    sim = invasim.Simulation(invasim.load_scenario(_data(rules=[_rule(half)])), seed=3)
    _run(sim, 2)
    state, beh = sim.model.state, sim.model.behaviours
    beh.fill(state, "life", sim.time_min)
    live = state.cells.dead == 0  # dead cells keep 0: the rule does not apply to them
    amounts = state.cells.internal(O2)[live]
    assert live.sum() > 30 and amounts.std() > 0.2 * amounts.mean()  # cells differ
    expected = 0.05 * hill(amounts, half, 2.0)  # base apoptosis 0
    np.testing.assert_allclose(beh.column("apoptosis")[live], expected, rtol=1e-12, atol=0)
    assert expected.min() > 0.001 and expected.max() < 0.045  # on the curve, not saturated


@pytest.mark.parametrize("seed", [1, 2])
def test_the_rule_changes_the_outcome(seed):
    def dead(data):
        sim = invasim.Simulation(invasim.load_scenario(data), seed=seed)
        _run(sim, 4)
        return int((sim.model.cells.dead != 0).sum())

    base = _data(rules=[_rule(1.5e6)])
    assert dead(base) > 10  # apoptosis up to 0.05/min per cell over 24 min, of 40 cells
    inert = copy.deepcopy(base)
    inert["params"]["rules"] = [_rule(1e12)]  # same rule, amounts far below its half-max
    assert dead(inert) == 0
