"""Force-driven matrix displacement: kernels against a plain-Python reference, engine, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.conftest import run_and_resume

import invasim
import invasim.processes.ecm  # noqa: F401  (registers the process)
import invasim.processes.matrix_displacement  # noqa: F401  (registers the process)
import invasim.processes.motility  # noqa: F401  (registers the process)
from invasim.errors import ConfigError
from invasim.physics import matrix_displacement as kern
from invasim.physics.motility import direction_view

V = 2494.0


# -- the kernels against a reference written out by hand ----------------------------------------
def reference(m, pos, rad, d, live, vol, k, h, shape, dim, s, dt, upper):
    """The module contract, one cell and one voxel at a time in plain Python (flat ``m``)."""
    nz, ny, nx = shape
    acc, order = {}, []
    for i in range(len(pos)):
        w = k[i] * vol[i] / h**3
        u = np.array(d[i][:dim], dtype=float)
        if not live[i] or w <= 0 or np.linalg.norm(u) == 0:
            continue
        u = u / np.linalg.norm(u)
        f = np.asarray(pos[i][:dim]) + rad[i] * u
        size = (nx, ny, nz)[:dim]
        if any(f[a] < 0 or f[a] >= size[a] * h for a in range(dim)):
            continue
        ijk = [int(math.floor(f[a] / h)) for a in range(dim)] + [0] * (3 - dim)
        v = (ijk[2] * ny + ijk[1]) * nx + ijk[0]
        ax = int(np.argmax(np.abs(u)))
        if v not in acc:
            acc[v] = [0.0, 0.0, 0.0]
            order.append(v)
        acc[v][ax] += w
    moved_all = 0.0
    for v in order:
        K = s * sum(acc[v])
        if not (K > 0 and m[v] > 0):
            continue
        out = m[v] * -math.expm1(-K * dt)
        ijk = [v % nx, (v // nx) % ny, v // (nx * ny)]
        moved = 0.0
        for a in range(dim):
            if acc[v][a] <= 0:
                continue
            share = out * (s * acc[v][a] / K) / (2 * (dim - 1))
            for b in range(dim):
                if b == a:
                    continue
                for sgn in (-1, 1):
                    q = list(ijk)
                    q[b] += sgn
                    if not 0 <= q[b] < (nx, ny, nz)[b]:
                        continue
                    nb = (q[2] * ny + q[1]) * nx + q[0]
                    add = max(0.0, min(share, upper - m[nb]))
                    m[nb] += add
                    moved += add
        m[v] -= moved
        moved_all += moved
    return moved_all


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("upper", [math.inf, 1.0])
def test_kernels_match_the_reference(dim, upper):
    rng = np.random.default_rng(7 + dim)
    h = 10.0
    shape = (6 if dim == 3 else 1, 7, 8)
    nz, ny, nx = shape
    n = 40
    ext = np.array([nx, ny, nz]) * h
    pos = rng.uniform(0, 1, (n, 3)) * ext
    if dim == 2:
        pos[:, 2] = 0.0
    rad = rng.uniform(3, 9, n)
    d = rng.normal(size=(n, 3))
    d[::7] = 0.0  # some without a direction
    live = rng.uniform(size=n) > 0.1
    vol = rng.uniform(1000, 3000, n)
    k = rng.uniform(0, 0.05, n)
    k[::5] = 0.0
    m0 = rng.uniform(0.3, 1.0, nz * ny * nx)
    want = m0.copy()
    moved_want = reference(want, pos, rad, d, live, vol, k, h, shape, dim, 0.7, 6.0, upper)
    acc = kern.scratch(m0.size)
    touched = np.empty(n, dtype=np.int64)
    nt = kern.accumulate(pos, rad, d, live, vol, k, 1 / h**3, nx, ny, nz, h, dim, acc, touched)
    got = m0.copy()
    moved = kern.displace(got, acc, touched, nt, 0.7, 6.0, upper, nx, ny, nz, dim)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
    assert moved == pytest.approx(moved_want, rel=1e-12) and moved > 0
    assert abs(got.sum() - m0.sum()) <= 1e-12 * m0.sum()
    assert got.max() <= max(upper, m0.max())
    kern.reset(acc, touched, nt)
    assert not acc.any()


def _one(pos, d, m0=0.5, upper=math.inf, shape=(1, 5, 5), dim=2, k=0.01, s=1.0, live=True):
    """One cell of radius 4 µm, volume h³ = 1000 µm³ (weight k), 10 µm voxels; the field after."""
    nz, ny, nx = shape
    m = np.full(nz * ny * nx, m0) if np.isscalar(m0) else np.asarray(m0, float).copy()
    acc = kern.scratch(m.size)
    touched = np.empty(1, dtype=np.int64)
    nt = kern.accumulate(np.array([pos], float), np.array([4.0]), np.array([d], float),
                         np.array([live]), np.array([1000.0]), np.array([k]), 1e-3, nx, ny, nz,
                         10.0, dim, acc, touched)  # fmt: skip
    moved = kern.displace(m, acc, touched, nt, s, 10.0, upper, nx, ny, nz, dim)
    return m.reshape(shape), moved


def test_the_path_axis_is_the_largest_component_and_the_sides_are_across_it():
    # direction (0.6, 0.8): the front (x 25 + 2.4, y 25 + 3.2) stays in voxel (2, 2); path
    # axis y, so the matrix goes to the x neighbours (2, 1) and (2, 3)
    m, _ = _one((25.0, 25.0, 0.0), (0.6, 0.8, 0.0))
    out = 0.5 * -math.expm1(-0.01 * 10.0)
    assert m[0, 2, 2] == pytest.approx(0.5 - out, rel=1e-14)
    assert m[0, 2, 1] == m[0, 2, 3] == pytest.approx(0.5 + out / 2, rel=1e-14)
    assert m[0, 1, 2] == m[0, 3, 2] == 0.5
    # a tie goes to the first axis (x): the sides are the y neighbours
    m, _ = _one((25.0, 25.0, 0.0), (1.0, 1.0, 0.0))
    assert m[0, 1, 2] > 0.5 and m[0, 2, 1] == 0.5


def test_nothing_moves_without_a_direction_dead_or_facing_out_of_the_domain():
    for kw in ({"d": (0.0, 0.0, 0.0)}, {"d": (1.0, 0.0, 0.0), "live": False},
               {"d": (-1.0, 0.0, 0.0), "pos": (2.0, 25.0, 0.0)},
               {"d": (1.0, 0.0, 0.0), "k": 0.0}, {"d": (1.0, 0.0, 0.0), "s": 0.0}):  # fmt: skip
        kw.setdefault("pos", (25.0, 25.0, 0.0))
        m, moved = _one(**kw)
        assert moved == 0.0 and np.all(m == 0.5), kw


def test_a_wall_and_a_cap_spill_the_matrix_back():
    # pushing +x along the bottom row: the neighbour below is outside, its half stays
    m, moved = _one((15.0, 5.0, 0.0), (1.0, 0.0, 0.0))
    out = 0.5 * -math.expm1(-0.1)
    assert m[0, 0, 1] == pytest.approx(0.5 - out / 2, rel=1e-14)
    assert m[0, 1, 1] == pytest.approx(0.5 + out / 2, rel=1e-14)
    assert moved == pytest.approx(out / 2, rel=1e-14)
    # a cap: the upper neighbour at the cap takes nothing, the lower one what fits
    m0 = np.full((1, 5, 5), 0.5)
    m0[0, 3, 2] = 1.0
    m0[0, 1, 2] = 0.99
    m, moved = _one((25.0, 25.0, 0.0), (1.0, 0.0, 0.0), m0=m0.reshape(-1), upper=1.0)
    assert m[0, 3, 2] == 1.0 and m[0, 1, 2] == 1.0
    assert m[0, 2, 2] == pytest.approx(0.5 - 0.01, rel=1e-12)
    assert moved == pytest.approx(0.01, rel=1e-12)
    assert m.sum() == pytest.approx(m0.sum(), rel=1e-15)


def test_two_cells_pushing_one_voxel_along_different_axes_share_it():
    # one pushes +x, one pushes +y into the same voxel (2, 2): the loss is for K = k1 + k2,
    # split K_a / K to the y (resp. x) neighbours
    pos = np.array([[25.0, 25.0, 0.0], [25.0, 25.0, 0.0]])
    d = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    k = np.array([0.01, 0.03])
    m = np.full(25, 0.5)
    acc = kern.scratch(25)
    touched = np.empty(2, dtype=np.int64)
    nt = kern.accumulate(pos, np.array([4.0, 4.0]), d, np.array([True, True]),
                         np.array([1000.0, 1000.0]), k, 1e-3, 5, 5, 1, 10.0, 2, acc, touched)
    assert nt == 1
    kern.displace(m, acc, touched, nt, 1.0, 10.0, math.inf, 5, 5, 1, 2)
    m = m.reshape(5, 5)
    out = 0.5 * -math.expm1(-0.4)
    assert m[2, 2] == pytest.approx(0.5 - out, rel=1e-14)
    assert m[1, 2] - 0.5 == pytest.approx(out * 0.25 / 2, rel=1e-12)  # x pushers -> y sides
    assert m[2, 1] - 0.5 == pytest.approx(out * 0.75 / 2, rel=1e-12)  # y pushers -> x sides


# -- the engine --------------------------------------------------------------------------------
def _scenario(rate=0.01, fields=None, table=None, interventions=None, rules=None, n_cells=3,
              speed=0.5, processes=("motility", "matrix_displacement"), extent=200.0):  # fmt: skip
    params = {
        "processes": list(processes), "dt_mechanics_min": 0.1,
        "fields": fields or {"ecm": {"kind": "matrix", "initial": 0.8, "upper": 1.0}},
        "cell_types": {"caf": {"motility": {"speed_um_per_min": speed,
                                            "persistence_time_min": 20.0},
                               "matrix_displacement": {"rate_per_min": rate}}},
        "initial": {"geometry": "ball", "n_cells": n_cells, "spacing_um": 20.0},
    }  # fmt: skip
    if table is not None:
        params["matrix_displacement"] = table
    if interventions is not None:
        params["interventions"] = interventions
    if rules is not None:
        params["rules"] = rules
    return {"name": "md", "model": "agents",
            "mesh": {"dim": 2, "extent_um": [extent, extent], "voxel_um": 10.0},
            "time": {"end_min": 36.0, "dt_min": 6.0, "output_interval_min": 12.0,
                     "checkpoint_interval_min": 12.0}, "params": params}  # fmt: skip


def _steps(sim, n):
    for _ in range(n):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


def test_the_engine_moves_ecm_by_default_and_counts_it():
    sim = invasim.Simulation(invasim.load_scenario(_scenario()), seed=1)
    before = sim.fields["ecm"].copy()
    _steps(sim, 5)
    moved = sim.model.metrics(sim.fields, sim.time_min)["matrix_displaced_ecm"]
    assert moved > 0
    assert sim.fields["ecm"].sum() == pytest.approx(before.sum(), rel=1e-13)
    assert sim.fields["ecm"].max() <= 1.0
    # the counter is the amount moved: half the L1 change at least (what left = what came)
    assert moved >= 0.5 * np.abs(sim.fields["ecm"] - before).sum() * 1000.0 * (1 - 1e-12)


def test_a_type_without_a_rate_does_nothing():
    sim = invasim.Simulation(invasim.load_scenario(_scenario(rate=0.0)), seed=1)
    before = sim.fields["ecm"].copy()
    _steps(sim, 3)
    assert np.array_equal(sim.fields["ecm"], before)
    assert sim.model.metrics(sim.fields, sim.time_min)["matrix_displaced_ecm"] == 0.0


def test_a_rock_inhibitor_scales_matrix_pushing():
    drug = {"kind": "drug", "drug": "rock_inhibitor", "effect": 0.75, "from_min": 6.0,
            "targets": ["matrix pushing"]}  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(_scenario(interventions=[drug])), seed=1)
    _steps(sim, 1)
    np.testing.assert_allclose(sim.model.state.behaviours.column("matrix pushing"), 0.01)
    _steps(sim, 1)
    np.testing.assert_allclose(sim.model.state.behaviours.column("matrix pushing"), 0.0025,
                               rtol=1e-12)  # fmt: skip


def test_a_rule_sets_matrix_pushing_from_confinement():
    """Confined cells push harder: a rule on the ecm process's ``matrix confinement``."""
    rule = {"cell_type": "caf", "signal": "matrix confinement", "direction": "increases",
            "behaviour": "matrix pushing", "saturation": 0.05, "half_max": 0.5,
            "hill_power": 4}  # fmt: skip
    fields = {"ecm": {"kind": "matrix", "initial": 1.2}}
    data = _scenario(fields=fields, rules=[rule],
                     processes=("motility", "ecm", "matrix_displacement"))
    data["params"]["cell_types"]["caf"]["ecm"] = {"nuclear_cross_section_um2": 50.0}
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    _steps(sim, 1)
    # pores 5/1.2 µm² < 5 µm² (10 % of 50): confinement 1, pushing 0.01 + 0.04 · 1/(1 + 0.5⁴)
    want = 0.01 + (0.05 - 0.01) / (1 + 0.5**4)
    np.testing.assert_allclose(sim.model.state.behaviours.column("matrix pushing"), want,
                               rtol=1e-12)  # fmt: skip


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    """The running totals live in the state's counters, so a checkpoint carries them."""
    sc = invasim.load_scenario(_scenario(n_cells=5))
    full, resumed = run_and_resume(sc, 3, tmp_path, until=30, end=36.0, keep=2, summary=False)
    np.testing.assert_array_equal(resumed.field("ecm"), full.field("ecm"))
    assert resumed.metrics.equals(full.metrics)
    assert full.metrics["matrix_displaced_ecm"].iloc[-1] > 0


# -- errors ------------------------------------------------------------------------------------
FIELDS = {
    "ecm": {"kind": "matrix", "initial": 1.0, "upper": 1.0},
    "fibre_x": {"kind": "matrix", "initial": 0.0, "lower": -1.0, "upper": 1.0},
    "mmp": {"unit": "1", "initial": 0.0, "boundary_value": 0.0},
}


@pytest.mark.parametrize(("table", "needles"), [
    ({"fields": {"collagen": 1.0}},
     ["params.matrix_displacement.fields names 'collagen', which is not a field",
      "ecm, fibre_x, mmp"]),
    ({"fields": {"mmp": 1.0}}, ["'mmp', a diffusing field", "kind = 'matrix'"]),
    ({"fields": {"fibre_x": 1.0}}, ["'fibre_x', whose lower = -1", "lower must be 0"]),
    ({"fields": {"ecm": -1.0}}, ["susceptibilities must be finite and >= 0"]),
    ({"field": {"ecm": 1.0}}, ["field"]),
])  # fmt: skip
def test_bad_tables_are_one_line_config_errors(table, needles):
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_scenario(fields=FIELDS, table=table))
    msg = str(info.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg


def test_a_negative_rate_is_refused():
    with pytest.raises(ConfigError, match="matrix_displacement.rate_per_min"):
        invasim.load_scenario(_scenario(rate=-0.1))


def test_it_needs_motility():
    with pytest.raises(ConfigError, match="motility"):
        invasim.load_scenario(_scenario(processes=("matrix_displacement",)))


def test_direction_columns_exist_for_a_stationary_pushing_cell():
    sim = invasim.Simulation(invasim.load_scenario(_scenario(speed=0.0)), seed=1)
    assert direction_view(sim.model.cells).shape == (3, 3)
