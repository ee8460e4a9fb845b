"""Vessels and intravasation: geometry, the rate's factors, clusters, events, checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim.processes.intravasation as intr
import invasim.processes.vessels as ves
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.physics import intravasation as k
from invasim.verify.cases import intravasation as cases


def test_segment_distance():
    assert k.segment_distance(0.0, 3.0, 0.0, -5.0, 0.0, 0.0, 5.0, 0.0, 0.0) == pytest.approx(3.0)
    # beyond an end: distance to the end point
    assert k.segment_distance(8.0, 4.0, 0.0, -5.0, 0.0, 0.0, 5.0, 0.0, 0.0) == pytest.approx(5.0)
    # a point-like segment
    assert k.segment_distance(3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0) == pytest.approx(5.0)


def test_paint_2d_and_3d():
    mesh = Mesh(2, (10, 10), 10.0)
    f = np.zeros(mesh.array_shape)
    segs = np.array([[50.0, 0.0, 0.0, 50.0, 100.0, 0.0, 5.0, k.BLOOD],
                     [0.0, 20.0, 0.0, 100.0, 20.0, 0.0, 1.0, k.LYMPH]])  # fmt: skip
    ves.paint(f, segs, mesh)
    # the blood vessel at x = 50 covers the voxel columns centred at 45 and 55 (distance 5)
    assert set(np.flatnonzero(f[0, 0] == k.BLOOD)) == {4, 5}
    # a lymph vessel thinner than a voxel still marks the voxels its axis passes through
    # (y = 20, on a face: the row above it); painted after the blood one, it wins where they
    # cross
    assert np.all(f[0, 2, :] == k.LYMPH) and not np.any(f[0, 1, :] == k.LYMPH)
    # a thin diagonal vessel: a connected line of voxels (each step to a face neighbour)
    d = np.zeros(mesh.array_shape)
    ves.paint(d, np.array([[3.0, 7.0, 0.0, 97.0, 61.0, 0.0, 0.5, k.BLOOD]]), mesh)
    j, i = np.nonzero(d[0])
    assert d[0, 0, 0] == 1 and d[0, 6, 9] == 1 and len(i) >= 10 + 6 - 1
    assert set(np.unique(f)) == {0.0, 1.0, 2.0}
    mesh3 = Mesh(3, (6, 6, 6), 10.0)
    g = np.zeros(mesh3.array_shape)
    ves.paint(g, np.array([[30.0, 30.0, 0.0, 30.0, 30.0, 60.0, 8.0, k.BLOOD]]), mesh3)
    # a vessel along z through (30, 30): the four voxel columns around it, every z
    assert g.sum() == 4 * 6 and np.all(g[:, 2:4, 2:4] == 1.0)


def _params(**extra):
    return ves.VesselsParams.model_validate(extra)


def test_random_segments_are_seed_stable_and_at_density():
    t = _params(random=[{"density_per_mm2": 50.0, "length_um": 80.0, "kind": "lymph"}])
    a = ves.segments(t, (400.0, 500.0), seed=3)
    assert a.shape == (round(50.0 * 0.4 * 0.5), 8)
    assert np.array_equal(a, ves.segments(t, (400.0, 500.0), seed=3))
    assert not np.array_equal(a, ves.segments(t, (400.0, 500.0), seed=4))
    length = np.linalg.norm(a[:, 3:6] - a[:, 0:3], axis=1)
    assert np.allclose(length, 80.0) and np.all(a[:, 2] == 0) and np.all(a[:, 7] == k.LYMPH)
    t3 = _params(random=[{"density_per_mm3": 1000.0, "length_um": 50.0}])
    b = ves.segments(t3, (100.0, 100.0, 100.0), seed=1)
    assert b.shape == (1, 8) and np.linalg.norm(b[0, 3:6] - b[0, :3]) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        _params(random=[{"length_um": 50.0}])


def test_explicit_segments_come_first():
    t = _params(segments=[{"from": [1.0, 2.0], "to": [3.0, 4.0], "radius_um": 6.0,
                           "kind": "lymph"}])  # fmt: skip
    assert ves.segments(t, (100.0, 100.0), 0).tolist() == [[1, 2, 0, 3, 4, 0, 6, 2]]


def test_touching_and_helpers():
    segs = np.array([[0.0, 0.0, 0.0, 100.0, 0.0, 0.0, 5.0, k.LYMPH]])
    pos = np.array([[50.0, 13.0, 0.0], [50.0, 13.1, 0.0], [50.0, -10.0, 0.0]])
    radius = np.full(3, 8.0)
    kind, seg = np.zeros(3, np.int64), np.zeros(3, np.int64)
    k.touching(pos, radius, segs, kind, seg)
    assert kind.tolist() == [k.LYMPH, 0, k.LYMPH] and seg.tolist() == [0, -1, 0]
    dead = np.array([0, 0, 1], np.int8)
    ctype = np.array([0, 1, 1], np.int32)
    assert k.count_within(pos, dead, ctype, 1, 0, 1.0) == 1  # the dead helper does not count
    assert k.count_within(pos, dead, ctype, 1, 0, 0.05) == 0
    assert k.count_within(pos, dead, ctype, -1, 0, 100.0) == 0


def test_the_factors_multiply_the_rate():
    mode_f = np.array([0.1, 1.0, 2.0])
    kind_f = np.array([1.0, 1.0, 3.0])
    base = np.full(6, 0.02)
    mode = np.array([0, 1, 2, -1, 2, 2], np.int64)
    mmp = np.array([0.0, 0.0, 0.0, 0.0, 0.01, 0.0])
    tam = np.array([0, 0, 0, 0, 0, 3], np.int64)
    kind = np.array([1, 1, 2, 1, 1, 0], np.int64)
    lam = k.rates(base, mode, mmp, tam, kind, mode_f, 2.0, 0.01, 9.0, 1.0, kind_f)
    expected = [0.02 * 0.1, 0.02, 0.02 * 2.0 * 3.0, 0.02, 0.02 * 2.0 * (1.0 + 2.0 * 0.5), 0.0]
    assert lam == pytest.approx(expected, rel=1e-12)
    # TAM: 1 + 9 n/(n + 1)
    lam = k.rates(base[:1], mode[3:4], mmp[:1], np.array([3]), kind[:1], mode_f, 0.0, 0.01, 9.0,
                  1.0, kind_f)  # fmt: skip
    assert lam[0] == pytest.approx(0.02 * (1.0 + 9.0 * 3.0 / 4.0))


def test_the_process_reads_mode_proteolysis_and_helpers():
    data = cases._scenario(["vessels", "intravasation"], 6.0, {"rate_per_min": 0.02},
                           {"helper_type": "tam", "max_cluster_cells": 1})  # fmt: skip
    data["params"]["cell_types"]["tam"] = {"intravasation": {"rate_per_min": 0.0}}
    y = cases.Y_VESSEL + cases.R_VESSEL + 8.0
    sim = cases.simulation(data, 1, lambda r: np.array([[100.0, y], [300.0, y], [500.0, y],
                                                         [700.0, y + 40.0]]))  # fmt: skip
    s = sim.model.state
    vol = sim.model.params.cell_types["tam"].volume.volume_um3
    s.add_cells(np.array([[300.0, y + 15.0]]), 1, vol)  # a TAM beside the second cell
    s.cells.add_state("mode", math.nan)
    s.cells.state("mode")[:4] = [0.0, 1.0, 2.0, math.nan]
    s.moved()
    sim.model.behaviours.fill(s, "life", 0.0)
    q = cases.process(sim)
    lam, kind, _ = q.rates(s)
    f_tam = 1.0 + 9.0 * 1.0 / 2.0
    assert lam == pytest.approx([0.02 * 0.1, 0.02 * 1.0 * f_tam, 0.02 * 2.0, 0.0, 0.0])
    assert kind.tolist() == [1, 1, 1, 0, 0]


def _step_until_gone(sim, steps):
    for _ in range(steps):
        cases.advance(sim, 1)
        if not sim.model.state.cells.n:
            return


def test_events_table_and_cells_table():
    data = cases._scenario(["vessels", "intravasation"], 60.0, {"rate_per_min": 1.0},
                           {"max_cluster_cells": 2})  # fmt: skip
    data["params"]["traits"] = {"aggr": {"initial": 0.5}}
    sim = cases.simulation(data, 2, lambda r: cases._chain(r))
    _step_until_gone(sim, 10)
    tabs = cases.process(sim).tables(sim.model.state)
    ev, cells = tabs["intravasation_events"], tabs["intravasated_cells"]
    assert list(ev["size"]) == [2]  # the first two of the chain; the rest never touch
    assert len(cells) == 2 and set(cells["event"]) == {0}
    assert ev["vessel_kind"].iloc[0] == "blood" and ev["leader_id"].iloc[0] in set(cells["id"])
    assert list(cells["aggr"]) == [0.5, 0.5] and ev["mean_aggr"].iloc[0] == 0.5
    assert sim.model.state.cells.n == 3
    m = sim.model.metrics(sim.fields, sim.time_min)
    assert m["intravasated_cells"] == 2 and m["intravasation_events"] == 1


def test_empty_tables_have_columns():
    data = cases._scenario(["vessels", "intravasation"], 6.0)
    sim = cases.simulation(data, 1)
    tabs = cases.process(sim).tables(sim.model.state)
    assert "size" in tabs["intravasation_events"].columns and tabs["intravasated_cells"].empty


def test_a_lymph_vessel_and_the_vessel_field():
    data = cases._scenario(["vessels", "intravasation"], 60.0, {"rate_per_min": 1.0},
                           vessels={"segments": [{"from": [0.0, 100.0], "to": [1000.0, 100.0],
                                                  "kind": "lymph"}]})  # fmt: skip
    sim = cases.simulation(data, 1, lambda r: cases._row(3, -0.5, r))
    assert set(np.unique(sim.fields["vessels"])) == {0.0, 2.0}
    _step_until_gone(sim, 5)
    ev = cases.process(sim).tables(sim.model.state)["intravasation_events"]
    assert set(ev["vessel_kind"]) == {"lymph"} and ev["size"].sum() == 3


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        (lambda p: p["vessels"].update(field="nope"), "params.vessels.field"),
        (lambda p: p["intravasation"].update(helper_type="mac"),
         "params.intravasation.helper_type"),
        (lambda p: p["vessels"]["segments"][0].update({"from": [0.0, 1.0, 2.0]}),
         "params.vessels.segments[0].from"),
        (lambda p: p["intravasation"].update(mode_factors={"fast": 2.0}),
         "params.intravasation.mode_factors.fast"),
        (lambda p: p["vessels"].update(supply=[{"field": "vessels", "value": 1.0}]),
         "params.vessels.supply[0].field"),
        (lambda p: p["fields"]["vessels"].update(upper=1.0), "params.vessels.field"),
    ],
)
def test_bad_input_names_the_key(patch, words):
    import invasim

    data = cases._scenario(["vessels", "intravasation"], 6.0)
    patch(data["params"])
    with pytest.raises(ConfigError, match=re_escape(words)):
        invasim.load_scenario(data)


def re_escape(s: str) -> str:
    import re

    return re.escape(s)


def test_order_places():
    from invasim.agents.process import ORDER

    assert ORDER["phenotype"]["intravasation"] == intr.Intravasation.order == 170
    assert ORDER["diffusion"]["vessels"] == ves.Vessels.order == 14


def test_checkpoint_arrays_round_trip():
    data = cases._scenario(["vessels", "intravasation"], 60.0, {"rate_per_min": 1.0})
    sim = cases.simulation(data, 1, lambda r: cases._row(3, -0.5, r))
    _step_until_gone(sim, 5)
    q = cases.process(sim)
    arrays = q.checkpoint_arrays()
    fresh = cases.simulation(data, 1)
    p = cases.process(fresh)
    p.restore_arrays(arrays)
    a, b = q.tables(sim.model.state), p.tables(fresh.model.state)
    for name in a:
        assert a[name].equals(b[name])
    p.restore_arrays({})  # an older checkpoint: nothing to restore, nothing lost
    assert len(p.tables(fresh.model.state)["intravasation_events"]) == 3


def test_the_demo_scenario_loads_and_steps():
    from importlib.resources import files

    import invasim

    path = files("invasim.config") / "scenarios" / "vessels-demo.toml"
    sim = invasim.Simulation(invasim.load_scenario(str(path)), seed=1)
    assert set(np.unique(sim.fields["vessels"])) == {0.0, 1.0, 2.0}
    cases.advance(sim, 1)
    o = sim.fields["oxygen"][0].mean(axis=0)
    assert o[20] > o[5]  # the capillary column (x = 405 µm) is richer than the far left


def test_segments_dump_with_the_scenario_keys():
    t = _params(segments=[{"from": [1.0, 2.0], "to": [3.0, 4.0]}])
    d = t.model_dump(mode="json")
    assert set(d["segments"][0]) == {"from", "to", "radius_um", "kind"}
    assert ves.VesselsParams.model_validate(d) == t


def test_three_d_cells_at_a_vessel_leave():
    data = cases._scenario(["vessels", "intravasation"], 60.0, {"rate_per_min": 1.0},
                           vessels={"segments": [{"from": [0.0, 100.0, 50.0],
                                                  "to": [200.0, 100.0, 50.0]}]},
                           extent=(200.0, 200.0, 100.0))  # fmt: skip
    data["mesh"]["dim"] = 3
    y = cases.Y_VESSEL + cases.R_VESSEL + 8.0
    sim = cases.simulation(data, 1, lambda r: np.array([[50.0, y, 50.0], [150.0, y, 80.0]]))
    assert set(np.unique(sim.fields["vessels"])) == {0.0, 1.0}
    _step_until_gone(sim, 5)
    # the first touches the vessel and leaves; the second is 30 µm off its axis in z
    assert sim.model.state.cells.n == 1 and sim.model.state.cells.position[0, 2] == 80.0


def test_points_on_vessels_sit_just_outside_the_wall():
    segs = np.array([[0.0, 100.0, 0.0, 200.0, 100.0, 0.0, 5.0, k.BLOOD],
                     [50.0, 50.0, 50.0, 50.0, 50.0, 150.0, 10.0, k.BLOOD]])  # fmt: skip
    rng = np.random.default_rng(0)
    u = rng.random((400, 3))
    p2 = ves.points_on_vessels(segs[:1], 2, 8.0, u)
    assert np.allclose(np.abs(p2[:, 1] - 100.0), 13.0) and np.all(p2[:, 2] == 0.0)
    assert 0.4 < np.mean(p2[:, 1] > 100.0) < 0.6  # both sides
    p3 = ves.points_on_vessels(segs[1:], 3, 8.0, u)
    assert np.allclose(np.hypot(p3[:, 0] - 50.0, p3[:, 1] - 50.0), 18.0)
    # segments picked by length: the 200-µm one twice as often as the 100-µm one
    both = ves.points_on_vessels(segs, 3, 8.0, u)
    on_first = np.isclose(np.hypot(both[:, 1] - 100.0, both[:, 2]), 13.0)
    assert 0.58 < np.mean(on_first) < 0.75


def test_vessel_recruitment_adds_cells_at_the_vessels():
    data = cases._scenario(["vessels", "vessel_recruitment"], 60.0)
    data["params"]["cell_types"]["tcell"] = {}
    data["params"]["vessel_recruitment"] = {
        "sources": [{"cell_type": "tcell", "kind": "blood", "rate_per_min": 0.5, "max_cells": 20}]}
    sim = cases.simulation(data, 3)
    n0 = sim.model.state.cells.n
    cases.advance(sim, 10)
    c = sim.model.state.cells
    new = c.type[: c.n] == 1
    assert 0 < new.sum() <= 20 and c.n - n0 == new.sum()
    r = c.radius[: c.n][new]
    assert np.allclose(np.abs(c.position[: c.n][new, 1] - cases.Y_VESSEL), cases.R_VESSEL + r,
                       atol=1e-6)  # fmt: skip
    m = sim.model.metrics(sim.fields, sim.time_min)
    assert m["vessel_recruited_total"] == new.sum()
    import invasim

    data["params"]["vessel_recruitment"]["sources"][0]["cell_type"] = "nk"
    with pytest.raises(ConfigError, match=re_escape("params.vessel_recruitment.sources[0]")):
        invasim.load_scenario(data)
