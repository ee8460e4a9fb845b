"""Readouts as registered functions of a snapshot: known answers, and live == stored bit for bit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import invasim
from invasim.analysis import readouts as rd
from invasim.analysis.snapshot import Snapshot, stored_type_names
from invasim.config import load_scenario
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError, RunDirError

GOLDEN = Path(__file__).parents[1] / "data" / "golden"
AGENT_METRICS = ["n_cells", "tumor_radius_um", "n_apoptotic", "n_necrotic", "necrotic_fraction",
                 "oxygen_min", "pressure_max"]  # fmt: skip
#: the pathology readouts (analysis.pathology; tested in test_pathology.py) and the fields at
#: the front (analysis.front_band, one per field: <field>_at_front; test_front_band.py)
PATHOLOGY = {r.name for r in rd.REGISTRY.values() if r.func.__module__.endswith(".pathology")}
PATHOLOGY |= {"oxygen_at_front"}


def core(names) -> list[str]:
    """``names`` without the pathology readouts."""
    return [n for n in names if n not in PATHOLOGY]


def mesh(dim: int) -> Mesh:
    return Mesh(dim=dim, n=(10,) * dim, h=20.0)


def frame(pos: np.ndarray, dead=None, types=None, **extra) -> pd.DataFrame:
    """A cell table as stored: ``x, y[, z]`` from ``pos`` ``[n, dim]``."""
    n, dim = pos.shape
    cols = {"id": np.arange(n, dtype=np.int64),
            "type": np.zeros(n, np.int32) if types is None else np.asarray(types, np.int32),
            "dead": np.zeros(n, np.int8) if dead is None else np.asarray(dead, np.int8)}
    cols |= {a: pos[:, k].astype(float) for k, a in enumerate("xyz"[:dim])}
    cols |= {"radius": np.full(n, 8.4), "volume": np.full(n, 2494.0)}
    return pd.DataFrame(cols | extra)


def snap(cells, dim=2, fields=None, names=("tumor",)) -> Snapshot:
    return Snapshot(12.0, mesh(dim), fields or {}, cells, list(names))


def shell(dim: int, radius: float, centre: float = 100.0, n: int = 24) -> np.ndarray:
    """Points at ``radius`` from ``centre`` (a ring in 2-D, a symmetric set on a sphere in 3-D)."""
    a = 2 * np.pi * np.arange(n) / n
    ring = np.c_[np.cos(a), np.sin(a)]
    if dim == 3:
        ring = np.r_[np.c_[ring, np.zeros(n)], [[0, 0, 1], [0, 0, -1]]]
    return centre + radius * ring


# -- each readout on a hand-made snapshot ------------------------------------------------------
@pytest.mark.parametrize("dim", [2, 3])
def test_a_shell_of_live_cells_has_its_radius(dim):
    pos = shell(dim, 70.0)
    assert rd.compute(snap(frame(pos), dim))["tumor_radius_um"] == pytest.approx(70.0, abs=1e-9)
    # dead cells at the centre move neither the centre of mass nor the 95th percentile
    core = np.full((5, dim), 100.0)
    cells = frame(np.r_[pos, core], dead=[0] * len(pos) + [2] * 5)
    v = rd.compute(snap(cells, dim))
    assert v["tumor_radius_um"] == pytest.approx(70.0, abs=1e-9)
    # dead cells off-centre shift the centre of mass of all cells
    cells = frame(np.r_[pos, core + 50.0], dead=[0] * len(pos) + [1] * 5)
    assert rd.compute(snap(cells, dim))["tumor_radius_um"] > 70.0


def test_counts_fraction_and_per_type_counts():
    pos = np.arange(12.0).reshape(6, 2)
    cells = frame(pos, dead=[0, 0, 1, 2, 2, 0], types=[0, 1, 0, 0, 1, 1])
    v = rd.compute(snap(cells, names=("tumor", "stroma")))
    assert v["n_cells"] == 3.0 and v["n_apoptotic"] == 1.0 and v["n_necrotic"] == 2.0
    assert v["necrotic_fraction"] == 2 / 6
    assert (v["n_tumor"], v["n_stroma"]) == (1.0, 2.0)
    assert all(type(x) is float for x in v.values())
    # the order of the agent model's metrics.csv, pressure_max left out (no pressure column)
    assert core(v) == [m for m in AGENT_METRICS if m != "pressure_max"] + ["n_tumor", "n_stroma"]


def test_no_cells_gives_zeros():
    cells = frame(np.zeros((0, 3)), pressure=np.zeros(0))
    v = rd.compute(snap(cells, 3, names=("tumor", "stroma")))
    assert v["n_cells"] == v["tumor_radius_um"] == v["necrotic_fraction"] == 0.0
    assert v["pressure_max"] == 0.0 and v["n_tumor"] == v["n_stroma"] == 0.0
    assert math.isnan(v["oxygen_min"])  # no oxygen field


def test_oxygen_and_pressure():
    m = mesh(2)
    o2 = np.linspace(3.0, 38.0, m.n_voxels).reshape(m.array_shape)
    cells = frame(shell(2, 30.0), pressure=np.linspace(0.0, 1.25, 24))
    v = rd.compute(snap(cells, fields={"oxygen": o2}))
    assert v["oxygen_min"] == 3.0 and v["pressure_max"] == 1.25
    # a continuum snapshot: no cells, only the field readouts apply
    assert rd.compute(Snapshot(0.0, m, {"oxygen": o2})) == {"oxygen_min": 3.0}
    assert rd.available(Snapshot(0.0, m, {"tumor": o2})) == []


def test_names_order_families_and_errors():
    cells = frame(np.arange(8.0).reshape(4, 2), types=[0, 1, 1, 1])
    s = snap(cells, names=("tumor", "stroma"))
    assert list(rd.compute(s, ["n_stroma", "n_cells"])) == ["n_stroma", "n_cells"]
    assert rd.compute(s, ["n_<type>"]) == {"n_tumor": 1.0, "n_stroma": 3.0}
    with pytest.raises(ConfigError, match=r"unknown readout 'n_cell' \(did you mean 'n_cells'\?\); "
                                          r"allowed: n_cells, tumor_radius_um"):
        rd.compute(s, ["n_cell"])
    with pytest.raises(ConfigError, match="unknown readout 'n_immune'"):
        rd.compute(s, ["n_immune"])  # a family member naming no type of this snapshot
    with pytest.raises(ConfigError,
                       match="'pressure_max' does not apply to live; readouts there: n_cells"):
        rd.compute(s, ["pressure_max"])
    assert core(rd.available(s)) == [m for m in AGENT_METRICS if m != "pressure_max"] + [
        "n_tumor", "n_stroma"]


def test_the_registry_holds_name_unit_and_description():
    for name in AGENT_METRICS:
        r = rd.REGISTRY[name]
        assert r.name == name and r.description and isinstance(r.unit, str)
    assert "front_um" not in rd.REGISTRY  # the continuum models keep their own
    assert rd.unit_of("tumor_radius_um") == "µm" and rd.unit_of("oxygen_min") == "mmHg"
    assert rd.unit_of("n_tumor") == rd.unit_of("n_<type>") == "cells"
    assert rd.find("n_") is None and rd.unit_of("front_um") is None
    assert rd.description_of("n_stroma") == "live cells of each type"


def test_a_registered_readout_is_computed_and_can_be_asked_for():
    @rd.readout("test_mean_radius_um", "µm", "mean cell radius", rd.has_cells)
    def mean_radius(s):
        return float(s.cells["radius"].mean())

    try:
        s = snap(frame(shell(2, 10.0)))
        assert rd.compute(s)["test_mean_radius_um"] == pytest.approx(8.4)
        assert rd.compute(s, ["test_mean_radius_um"]) == {"test_mean_radius_um": 8.4}
    finally:
        rd.REGISTRY.pop("test_mean_radius_um")


def test_type_names_of_a_stored_run():
    assert stored_type_names({"cell_types": ["a", "b"]}) == ["a", "b"]
    assert stored_type_names({"scenario": {"params": {"cell_types": {"t": {}, "s": {}}}}}) == [
        "t", "s"]
    cells = frame(np.zeros((2, 2)), types=[0, 2])
    assert stored_type_names({}, cells) == ["type_0", "type_1", "type_2"]
    assert stored_type_names({}) == []


# -- the same function live and stored ---------------------------------------------------------
def same_bits(a: float, b: float) -> bool:
    return np.float64(a).tobytes() == np.float64(b).tobytes()


@pytest.fixture(scope="module")
def live_and_stored(tmp_path_factory):
    """A short spheroid-2d run; the model's metrics and a live snapshot at each output."""
    sets = ["time.output_interval_min=6.0", "time.end_min=24.0"]
    sim = invasim.Simulation(load_scenario("spheroid-2d", sets), seed=1)
    live: dict[float, tuple[dict, Snapshot | None]] = {}
    model_metrics = sim.metrics

    def capture():
        m = model_metrics()
        model = sim.model
        state = getattr(model, "state", model)  # the engine's state, or the model itself
        s = None
        if hasattr(state, "cells") and hasattr(state, "pressure"):
            cells = state.cells.to_frame().assign(pressure=state.pressure.copy())
            s = Snapshot(sim.time_min, sim.mesh, {k: v.copy() for k, v in sim.fields.items()},
                         cells, list(model.type_names))
        live[sim.time_min] = (m, s)
        return m

    sim.metrics = capture
    run = sim.run(out=tmp_path_factory.mktemp("readouts") / "run", progress=False)
    return run, live


def test_stored_snapshot_gives_the_metrics_bits(live_and_stored):
    run, live = live_and_stored
    assert [float(t) for t in run.times] == sorted(live) == [0.0, 6.0, 12.0, 18.0, 24.0]
    csv = run.metrics
    for k, t in enumerate(run.times):
        snap = Snapshot.from_run(run, t)
        stored = rd.compute(snap)
        model, live_snap = live[float(t)]
        shared = [n for n in stored if n in model]
        # every metric of the model is recomputed, but front_um (a duplicate) and, where the
        # stored cell table has no pressure column, pressure_max
        left = {"front_um"} | ({"pressure_max"} if "pressure" not in snap.cells else set())
        assert shared == [m for m in model if m not in left]
        for name in shared:  # bit for bit with the model's values, and metrics.csv's text
            assert same_bits(stored[name], model[name]), (t, name, stored[name], model[name])
            assert f"{stored[name]:.10g}" == f"{csv[name].iloc[k]:.10g}", (t, name)
        if live_snap is not None:  # the live snapshot, with pressure: every metric but front_um
            now = rd.compute(live_snap)
            assert core(now) == [m for m in model if m != "front_um"]
            assert all(same_bits(now[n], model[n]) for n in core(now)), t
    assert csv["n_apoptotic"].iloc[-1] > 0  # the run exercised the dead-cell paths


def test_table_recomputes_every_snapshot(live_and_stored):
    run, _ = live_and_stored
    tab = rd.table(run)
    assert list(tab["time_min"]) == list(run.times)
    assert list(tab.columns) == ["time_min", *rd.available(Snapshot.from_run(run))]
    pd.testing.assert_frame_equal(tab[["time_min", "n_cells"]],
                                  run.metrics[["time_min", "n_cells"]], check_dtype=False)
    two = rd.table(run, ["n_tumor", "oxygen_min"], times=[12.0])
    assert list(two.columns) == ["time_min", "n_tumor", "oxygen_min"] and len(two) == 1
    with pytest.raises(RunDirError, match="no snapshot at t = 100 min"):
        rd.table(run, times=[100.0])


@pytest.mark.parametrize("case", ["2d_plain", "2d_rules", "3d_life"])
def test_frozen_runs_final_metrics(case):
    """The readouts of each frozen run's final cells and fields are its last metrics row."""
    z = np.load(GOLDEN / f"{case}.npz")
    cells = pd.DataFrame({k[6:]: z[k] for k in z.files if k.startswith("cells/")})
    o2 = z["field/oxygen"]
    m = Mesh(dim=o2.ndim, n=tuple(reversed(o2.shape)), h=20.0)
    v = rd.compute(Snapshot(0.0, m, {"oxygen": o2.reshape(m.array_shape)}, cells, ["tumor"]))
    for name, value in v.items():
        if name in PATHOLOGY:
            continue
        assert f"{value:.10g}" == f"{z[f'metric/{name}'][-1]:.10g}", (case, name)
