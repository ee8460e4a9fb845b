"""The simulation loop, the run directory, resume and branch, on a tiny stand-in model.

The stand-in model lives here (not in the package) so that these tests check the engine alone.
"""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

import invasim
from invasim.errors import InvasimError, RunDirError
from invasim.io import atomic, rundir
from invasim.models.base import REGISTRY, FieldSpec, Model


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = Field(0.01, description="relaxation rate [1/min]", gt=0)
    forcing: float = Field(0.0, description="amplitude of a fixed spatial forcing [1/min]", ge=0)


class _Relax(Model):
    """du/dt = rate (1 - u) + forcing sin(k): random initial field, deterministic steps."""

    name = "test-relax"
    title = "test model"
    Params = _Params
    metric_names = ("front_um", "tumor_mass")

    def field_specs(self):
        return [FieldSpec("u", "1", "test field")]

    def initial_fields(self, rng):
        return {"u": rng.random(self.mesh.array_shape)}

    def step(self, fields, t_min):
        u = fields["u"]
        u += self.dt * self.params.rate * (1.0 - u)
        if self.params.forcing:
            u += self.dt * self.params.forcing * np.sin(np.arange(u.size)).reshape(u.shape)

    def metrics(self, fields, t_min):
        return {"front_um": float(fields["u"].mean()), "tumor_mass": float(fields["u"].sum())}


@pytest.fixture(autouse=True)
def _registered():
    REGISTRY[_Relax.name] = _Relax
    yield
    REGISTRY.pop(_Relax.name, None)


def _scenario(**time):
    t = {"end_min": 100.0, "dt_min": 1.0, "output_interval_min": 10.0,
         "checkpoint_interval_min": 20.0, **time}
    return invasim.load_scenario(
        {"name": "relax", "model": "test-relax",
         "mesh": {"dim": 2, "extent_um": [200.0, 100.0], "voxel_um": 10.0},
         "time": t, "params": {"forcing": 0.001}}
    )


def test_run_records_at_output_interval_and_checkpoints(tmp_path):
    run = invasim.Simulation(_scenario(), seed=5).run(out=tmp_path / "r", progress=False)
    assert run.status == "completed"
    np.testing.assert_allclose(run.times, np.arange(0, 101, 10.0))
    assert list(run.metrics["time_min"]) == list(np.arange(0, 101, 10))
    assert run.checkpoint_times == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    assert run.field("u", 50).shape == (10, 20)
    assert run.mesh.shape == (10, 20)
    ds = run.fields()
    assert ds["u"].dims == ("time", "y", "x")
    np.testing.assert_array_equal(ds["u"].sel(time=50.0).values, run.field("u", 50))


def test_same_seed_same_run_other_seed_differs(tmp_path):
    a = invasim.Simulation(_scenario(), seed=1).run(out=tmp_path / "a", progress=False)
    b = invasim.Simulation(_scenario(), seed=1).run(out=tmp_path / "b", progress=False)
    c = invasim.Simulation(_scenario(), seed=2).run(out=tmp_path / "c", progress=False)
    np.testing.assert_array_equal(a.field("u"), b.field("u"))
    assert not np.array_equal(a.field("u"), c.field("u"))


def test_resume_equals_uninterrupted(tmp_path):
    full = invasim.Simulation(_scenario(), seed=9).run(out=tmp_path / "full", progress=False)
    part = invasim.Simulation(_scenario(), seed=9).run(
        until=57, out=tmp_path / "part", progress=False
    )
    # simulate a crash after the checkpoint at t = 40: drop later checkpoints, mark running
    for p in rundir.list_checkpoints(part.path)[3:]:
        p.unlink()
    meta = json.loads((part.path / "run.json").read_text())
    meta.update(status="running", end_min=100.0)
    (part.path / "run.json").write_text(json.dumps(meta))
    resumed = invasim.Simulation.resume(part.path, progress=False)
    assert resumed.status == "completed"
    np.testing.assert_array_equal(resumed.field("u"), full.field("u"))
    assert resumed.metrics.equals(full.metrics)
    np.testing.assert_array_equal(resumed.times, full.times)
    assert resumed.meta["resumed_at_min"] == [40.0]


def test_resume_of_finished_run_needs_later_until(tmp_path):
    run = invasim.Simulation(_scenario(), seed=1).run(out=tmp_path / "r", progress=False)
    with pytest.raises(RunDirError, match="already reached"):
        invasim.Simulation.resume(run.path, progress=False)
    longer = invasim.Simulation.resume(run.path, until=150, progress=False)
    assert longer.times[-1] == 150.0


def test_branch_changes_parameters_from_a_checkpoint(tmp_path):
    parent = invasim.Simulation(_scenario(), seed=1).run(out=tmp_path / "p", progress=False)
    sim = invasim.Simulation.branch(parent.path, 40.0, ["params.rate=0.05"])
    assert sim.time_min == 40.0
    child = sim.run(out=tmp_path / "c", progress=False)
    assert child.times[0] == 40.0
    np.testing.assert_array_equal(child.field("u", 40), parent.field("u", 40))
    assert not np.array_equal(child.field("u"), parent.field("u"))
    assert child.meta["branched_from"]["time_min"] == 40.0
    with pytest.raises(InvasimError, match="keep the model and the mesh"):
        invasim.Simulation.branch(parent.path, 40.0, ["mesh.voxel_um=20.0"])


def test_unknown_field_and_time_are_clear_errors(tmp_path):
    run = invasim.Simulation(_scenario(), seed=1).run(out=tmp_path / "r", progress=False)
    with pytest.raises(RunDirError, match="unknown field 'v'; this run has u"):
        run.field("v", 0)
    with pytest.raises(RunDirError, match="no snapshot at t = 55"):
        run.field("u", 55)


def test_non_finite_state_fails_the_run_with_status(tmp_path):
    sc = _scenario()
    sim = invasim.Simulation(sc, seed=1)
    sim.fields["u"][0, 0, 0] = np.nan
    with pytest.raises(InvasimError, match="non-finite"):
        sim.run(out=tmp_path / "r", progress=False)
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    assert meta["status"] == "failed"


def test_atomic_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def boom(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(RunDirError, match="disk full"):
        atomic.write_atomic(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_out_dir_rules(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "x").write_text("1")
    with pytest.raises(RunDirError, match="not empty"):
        rundir.prepare_out_dir(d, overwrite=False)
    rundir.prepare_out_dir(d, overwrite=True)
    assert list(d.iterdir()) == []


class _Walkers(_Relax):
    """State beyond the fields: points that random-walk (seeded by (seed, step)) and a table."""

    name = "test-walkers"

    def initial_fields(self, rng):
        self.xy = rng.random((5, 2))
        self.steps = np.zeros(1, dtype=np.int64)
        return super().initial_fields(rng)

    def step(self, fields, t_min):
        super().step(fields, t_min)
        self.steps[0] += 1
        kick = np.random.default_rng([self.seed, int(self.steps[0])]).normal(size=self.xy.shape)
        self.xy = self.xy + 0.1 * kick

    def extra_state(self):
        return {"xy": self.xy, "steps": self.steps}

    def restore_extra_state(self, arrays):
        self.xy, self.steps = arrays["xy"].copy(), arrays["steps"].copy()

    def snapshot_tables(self):
        import pandas as pd

        return {"cells": pd.DataFrame({"x": self.xy[:, 0], "y": self.xy[:, 1]})}


def test_extra_state_and_tables_resume_exactly(tmp_path):
    REGISTRY[_Walkers.name] = _Walkers
    try:
        data = {"name": "walk", "model": "test-walkers",
                "mesh": {"dim": 1, "extent_um": [100.0], "voxel_um": 10.0},
                "time": {"end_min": 60.0, "dt_min": 1.0, "output_interval_min": 10.0,
                         "checkpoint_interval_min": 20.0}}
        sc = invasim.load_scenario(data)
        full = invasim.Simulation(sc, seed=3).run(out=tmp_path / "full", progress=False)
        part = invasim.Simulation(sc, seed=3).run(until=30, out=tmp_path / "p", progress=False)
        assert part.cells(30).shape == (5, 3)
        resumed = invasim.Simulation.resume(part.path, until=60, progress=False)
        for t in full.times:
            assert resumed.cells(t).equals(full.cells(t))
        assert not full.cells(0).equals(full.cells(60))
        with pytest.raises(RunDirError, match="no 'immune' snapshots"):
            full.table("immune")
    finally:
        REGISTRY.pop(_Walkers.name, None)
