"""The basement membrane: barrier kernel, daughters, rupture, readouts, tissue placement, config."""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
import invasim.processes.basement_membrane  # noqa: F401  (registers the processes)
from invasim.agents.placement import CellPlacement, group_cells
from invasim.core.cells import Cells
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.physics import basement_membrane as bmk
from invasim.physics.mechanics import move
from invasim.verify.cases import basement_membrane as cases


def _cells(pos, dim=2):
    pos = np.asarray(pos, dtype=np.float64)
    c = Cells(dim, capacity=max(4, len(pos)))
    c.add(len(pos), position=pos, type=np.zeros(len(pos), np.int32),
          volume=np.full(len(pos), 2494.0))  # fmt: skip
    return c


def _bm2(value=1.0, n=(10, 10), row=5):
    mesh = Mesh(2, n, 10.0)
    bm = np.zeros(mesh.array_shape)
    bm[0, row, :] = value
    return mesh, bm


def _step(c, bm, h, dt=0.1, scheme="ab2", dim=2, passable=0.25, impassable=0.5):
    removed = bmk.barrier_velocities(c.position, c.velocity, c.velocity_prev, dt,
                                     scheme == "ab2", dim, bm, h, 1.0, passable, impassable)
    move(c, dt, scheme)
    return removed


@pytest.mark.parametrize("scheme", ["ab2", "euler"])
@pytest.mark.parametrize("push", [0.5, 30.0, 1e4])  # up to 1000 µm per step: 100 voxels
def test_no_tunnelling_from_either_side_whatever_the_step(scheme, push):
    mesh, bm = _bm2(n=(10, 400))
    c = _cells([[25.0, 62.0, 0.0], [75.0, 48.0, 0.0]])
    for _ in range(50):
        c.velocity[:] = [[1.0, -push, 0.0], [-1.0, push, 0.0]]
        _step(c, bm, mesh.h, scheme=scheme)
    y = c.position[:, 1]
    assert y[0] >= 60.0 and y[0] - 60.0 < 1e-4  # pressed onto the top face, not through
    assert y[1] < 50.0 and 50.0 - y[1] < 1e-4  # from the stroma side: stopped at the bottom
    assert c.position[0, 0] > 25.0 and c.position[1, 0] < 75.0  # sliding along is free


def test_three_d_normal_is_z_and_lateral_motion_is_untouched():
    mesh = Mesh(3, (6, 6, 6), 10.0)
    bm = np.zeros(mesh.array_shape)
    bm[2] = 1.0  # z in [20, 30)
    c = _cells([[30.0, 30.0, 35.0]], dim=3)
    for _ in range(30):
        c.velocity[:] = [[0.3, -0.2, -20.0]]
        _step(c, bm, mesh.h, dim=3)
    assert 30.0 <= c.position[0, 2] < 30.0 + 1e-4
    # the lateral velocity kept its value exactly (only the clipped axis is changed)
    assert c.velocity[0, 0] == 0.3 and c.velocity[0, 1] == -0.2


def test_ab2_moves_exactly_to_the_clipped_displacement():
    mesh, bm = _bm2()
    c = _cells([[55.0, 61.0, 0.0]])
    c.velocity_prev[:] = [[0.0, 4.0, 0.0]]  # history pointing away from the BM
    c.velocity[:] = [[2.0, -10.0, 0.0]]
    w = 1.5 * c.velocity[0] - 0.5 * c.velocity_prev[0]
    removed = _step(c, bm, mesh.h)
    assert c.position[0, 0] == pytest.approx(55.0 + 0.1 * w[0], abs=1e-12)
    assert c.position[0, 1] == pytest.approx(60.0 + bmk.FACE_GAP * mesh.h, abs=1e-9)
    assert removed[0] == pytest.approx((0.1 * -w[1] - 1.0) / 0.1, rel=1e-9)


def test_partial_blocking_scales_the_move_beyond_the_face():
    mesh, bm = _bm2(value=0.375)  # integrity 0.375: φ = (0.375 − 0.25) / 0.25 = 0.5
    c = _cells([[55.0, 62.0, 0.0]])
    c.velocity[:] = [[0.0, -60.0, 0.0]]  # Euler: 6 µm down, 4 of them beyond the face
    _step(c, bm, mesh.h, scheme="euler")
    assert c.position[0, 1] == pytest.approx(62.0 - 2.0 - 0.5 * 4.0, abs=1e-12)
    assert bmk.blocking(0.6, 0.25, 0.5) == 1.0 and bmk.blocking(0.2, 0.25, 0.5) == 0.0


def test_degraded_voxel_lets_the_cell_through():
    mesh, bm = _bm2()
    bm[0, 5, 5] = 0.1  # a hole at x in [50, 60)
    c = _cells([[55.0, 62.0, 0.0], [25.0, 62.0, 0.0]])
    for _ in range(100):
        c.velocity[:] = [[0.0, -5.0, 0.0], [0.0, -5.0, 0.0]]
        _step(c, bm, mesh.h)
    assert c.position[0, 1] < 50.0 and c.position[1, 1] >= 60.0


def test_daughters_of_a_division_at_the_bm_stay_on_their_mothers_side():
    mesh, bm = _bm2()
    # mother at y = 61: daughters 6.3 µm either side along y -> one would sit in the BM voxel
    pos = np.array([[55.0, 67.3, 0.0], [55.0, 54.7, 0.0], [25.0, 69.0, 0.0], [25.0, 29.0, 0.0]])
    pairs = np.array([[0, 1], [2, 3]], dtype=np.int64)
    bmk.keep_daughters(pos, pairs, 2, bm, mesh.h, 1.0, 0.25, 0.5)
    assert pos[0, 1] == pytest.approx(67.3) and 60.0 <= pos[1, 1] < 60.0 + 1e-4
    # a stromal mother (y = 49): the daughter thrown 20 µm across the BM stops under it
    assert pos[3, 1] == 29.0 and 50.0 - 1e-4 < pos[2, 1] < 50.0
    # a degraded BM does not hold them
    pos2 = np.array([[55.0, 67.3, 0.0], [55.0, 54.7, 0.0]])
    bmk.keep_daughters(pos2, pairs[:1], 2, np.zeros_like(bm), mesh.h, 1.0, 0.25, 0.5)
    assert pos2[1, 1] == 54.7


def test_a_dividing_tissue_on_a_strong_bm_stays_above_it():
    # the CIS of the "weaker breaches earlier" case, no rupture: many divisions at the BM
    sim = cases.cis_run(1e6, 240.0)
    st = sim.model.state
    assert st.cells.generation.max() >= 1 and st.cells.n >= 25  # 15-18 cells at the start
    assert math.isnan(st.counters["bm_first_breach_min"])
    assert st.cells.position[:, 1].min() >= cases.BM_HI  # every centre still on top


def test_rupture_only_above_the_strength_and_weaker_when_degraded():
    mesh, bm = _bm2()
    bm[0, 5, 7] = 0.5  # a half-degraded voxel
    pos = np.array([[25.0, 65.0, 0.0], [75.0, 65.0, 0.0]])
    s, c = np.zeros(bm.size), np.zeros(bm.size)
    bmk.bm_load(pos, np.full(2, 8.41), np.array([1.5, 1.5]), 2, bm, mesh.h, s, c)
    # the cell at x = 25 loads voxels 1-3, the one at x = 75 voxels 6-8 (but not the others)
    assert np.flatnonzero(c.reshape(bm.shape)[0, 5]).tolist() == [1, 2, 3, 6, 7, 8]
    assert c.sum() == 6  # nothing outside the BM row (bm == 0 there)
    n = bmk.rupture(bm, s, c, 1.0, 2.0, 0.1, 6.0, True)
    # σ = 1.5 < 2 on intact voxels; the half-degraded voxel holds only 2 × 0.5 = 1 < 1.5
    assert n == 1 and bm[0, 5, 7] == pytest.approx(0.5 * math.exp(-0.1 * 0.5 * 6.0))
    assert np.all(bm[0, 5, [0, 1, 2, 3, 4, 5, 6, 8, 9]] == 1.0)


def test_breach_readouts_on_known_fields():
    mesh = Mesh(2, (20, 10), 10.0)
    a = np.zeros(mesh.array_shape)
    a[0, 4, :] = 0.5
    a[0, 5, :] = 0.5  # a BM straddling two voxels: column amount 10 µm
    a[0, 4:6, 3:8] = 0.2  # 5 columns at 40 %: breached
    a[0, 4, 12] = 0.0  # 50 % left in column 12: not breached (the threshold is strict)
    assert bmk.breached_extent(a, 10.0, mesh) == 50.0
    assert bmk.breached_length(a.reshape(mesh.shape), 10.0, mesh) == 50.0  # user-facing shape
    np.testing.assert_allclose(bmk.column_amounts(a, mesh)[[0, 3, 12]], [10.0, 4.0, 5.0])
    assert bmk.lowest_bm_voxel(a, mesh, 0.3)[0] == 4 and bmk.lowest_bm_voxel(a, mesh, 0.3)[3] == -1
    with pytest.raises(ValueError, match="reference_amount"):
        bmk.breached_columns(a, 0.0, mesh)


# -- the engine ---------------------------------------------------------------------------------
def _tissue(**params):
    data = cases._scenario(["mechanics", "basement_membrane", "contacts", "volume", "death",
                            "cycle", "division", "basement_membrane_breach"], 12.0)
    data["params"]["cell_types"] = {"epithelium": {}, "tumor": {}}
    data["params"]["initial"] = {"geometry": "groups", "groups": [
        {"geometry": "layer", "cell_type": "epithelium", "lo_um": [8.0, 118.0],
         "hi_um": [192.0, 150.0]},
        {"geometry": "layer", "cell_type": "tumor", "lo_um": [72.0, 118.0],
         "hi_um": [128.0, 150.0]},
    ]}  # fmt: skip
    data["params"].update(params)
    return data


def test_the_engine_runs_the_two_processes_and_reports_metrics():
    sim = invasim.Simulation(invasim.load_scenario(_tissue()), seed=2)
    names = sim.model.metric_names
    for k in ("bm_first_breach_min", "bm_integrity_min", "bm_cells_below",
              "bm_epithelium_below", "bm_tumor_below"):  # fmt: skip
        assert k in names
    for _ in range(2):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    m = sim.model.metrics(sim.fields, sim.time_min)
    assert math.isnan(m["bm_first_breach_min"]) and m["bm_integrity_min"] == 1.0
    assert m["bm_cells_below"] == 0.0
    st = sim.model.state
    assert st.counters["bm_id_mark"] == st.cells.next_id  # checkpointed with the counters
    q = next(p for p in sim.model.processes if p.name == "basement_membrane_breach")
    assert q.metrics(st)["bm_breached_um"] == 0.0 and math.isnan(q.metrics(st)["bm_breached_um2"])


@pytest.mark.parametrize("params, match", [
    ({"basement_membrane": {"field": "lamina"}}, "'lamina' is not a field"),
    ({"basement_membrane": {"passable_below": 0.6}}, "must not exceed impassable_above"),
    ({"basement_membrane_breach": {"field": "ecm"}}, "differs from"),
    ({"basement_membrane_breach": {"rupture_pressure": 1.0}, "processes": [
        "mechanics", "basement_membrane", "volume", "death", "cycle", "division",
        "basement_membrane_breach"]}, "needs the contacts process"),
    ({"processes": ["mechanics", "basement_membrane", "volume", "death", "cycle",
                    "division"]}, "but not basement_membrane_breach"),
])  # fmt: skip
def test_bad_configurations_are_one_line(params, match):
    data = _tissue(**params)
    data["params"]["fields"]["ecm"] = {"kind": "matrix", "initial": 0.5}
    with pytest.raises(ConfigError) as info:
        scenario = invasim.load_scenario(data)
        invasim.Simulation(scenario, seed=1)
    assert "\n" not in str(info.value) and match in str(info.value)


def test_a_diffusing_bm_field_is_refused():
    data = _tissue()
    data["params"]["fields"]["basement_membrane"] = {"kind": "diffusing", "unit": "1",
                                                    "initial": 1.0}  # fmt: skip
    with pytest.raises(ConfigError, match="must be a matrix field"):
        invasim.Simulation(invasim.load_scenario(data), seed=1)


# -- tissue placement ----------------------------------------------------------------------------
def test_groups_place_a_patch_inside_a_layer_without_overlaps():
    ini = CellPlacement(geometry="groups", groups=[
        {"geometry": "layer", "cell_type": "epithelium", "lo_um": [8.0, 118.0],
         "hi_um": [392.0, 165.0]},
        {"geometry": "ball", "cell_type": "tumor", "radius_um": 20.0, "center_um": [200.0, 140.0],
         "spacing_um": 15.0},
    ])  # fmt: skip
    pos, types = group_cells(ini.groups, ["epithelium", "tumor"], (400.0, 200.0), 2)
    layer = invasim.core.initial.layer(2, 16.0, [8.0, 118.0], [392.0, 165.0])
    ball = invasim.core.initial.ball(2, 15.0, [200.0, 140.0], radius=20.0)
    assert (types == 1).sum() == len(ball) and (types == 0).sum() < len(layer)
    np.testing.assert_array_equal(pos[types == 1], ball)  # the later group is placed as is
    d = np.linalg.norm(pos[types == 0][:, None, :2] - ball[None, :, :2], axis=2)
    assert d.min() >= 15.0 - 1e-9  # no epithelial cell closer than the patch's spacing
    # the earlier group keeps its order; nothing removed with replace_within_um = 0
    ini.groups[1].replace_within_um = 0.0
    pos0, types0 = group_cells(ini.groups, ["epithelium", "tumor"], (400.0, 200.0), 2)
    np.testing.assert_array_equal(pos0[types0 == 0], layer)


def test_group_placement_errors():
    with pytest.raises(ValueError, match="needs \\[\\[params.initial.groups\\]\\]"):
        CellPlacement(geometry="groups")
    with pytest.raises(ValueError, match="groups is for geometry = 'groups'"):
        CellPlacement(n_cells=3, groups=[{"geometry": "ball", "cell_type": "a", "n_cells": 1}])
    with pytest.raises(ValueError, match="exactly one of n_cells and radius_um"):
        CellPlacement(geometry="groups", groups=[{"geometry": "ball", "cell_type": "a"}])
    ini = CellPlacement(geometry="groups", groups=[
        {"geometry": "ball", "cell_type": "fibroblast", "n_cells": 1}])  # fmt: skip
    with pytest.raises(ValueError, match="'fibroblast' is not a cell type"):
        group_cells(ini.groups, ["tumor"], (100.0, 100.0), 2)


def _one_division(seed, fix=True, monkeypatch=None):
    types = {"tumor": {"cycle": {"oxygen_dependent": False, "durations_min": [6.0] * 4,
                                 "fixed_durations": True},
                       "death": {"necrosis_oxygen_dependent": False,
                                 "necrosis_max_rate_per_min": 0.0}}}  # fmt: skip
    data = cases._scenario(["mechanics", "basement_membrane", "contacts", "volume", "death",
                            "cycle", "division", "basement_membrane_breach"], 60.0,
                           cells={"geometry": "ball", "n_cells": 1, "center_um": [100.0, 111.0]},
                           types=types)  # fmt: skip
    if not fix:
        monkeypatch.setattr(invasim.processes.basement_membrane.BasementMembraneBreach,
                            "_keep_daughters", lambda self, state, bm: None)
    return cases._simulate(data, seed).model.state.cells.position[:, 1]


def test_daughters_born_against_the_bm_never_end_below_it(monkeypatch):
    seeds = range(1, 7)
    assert all(_one_division(s).min() >= cases.BM_HI for s in seeds)
    # without keeping them on their side, some daughter is pushed through the BM voxel
    assert any(_one_division(s, False, monkeypatch).min() < cases.BM_LO for s in seeds)
