"""The ECM process: speed factors, fibre reading and writing, haptotaxis, checks, signals."""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
import invasim.processes.ecm as ecm_process
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.physics import ecm as kern
from invasim.physics.exchange import VoxelBins


def _table(mode="none", nuclear=70.0, lo=0.0, opt=0.5, hi=1.0, half=0.05, power=2.0, **kw):
    return kern.TypeTable([kern.MODES.index(mode)], [lo], [opt], [hi], [half], [power],
                          [nuclear], **kw)  # fmt: skip


# -- speed factors ------------------------------------------------------------------------------
def test_steric_factor_is_linear_in_pore_area_and_zero_below_the_nuclear_limit():
    a1, an = 5.0, 70.0
    rho = np.array([0.02, 0.05, 1 / 14, 0.1, 0.2, 0.4, 0.6, 0.7, 5 / 7, 0.8, 1.0])
    _, s = kern.speed_factors(rho, np.zeros(rho.size, dtype=int), _table(nuclear=an), a1)
    pore = a1 / rho
    expected = np.clip((pore - 0.1 * an) / (0.9 * an), 0.0, 1.0)
    np.testing.assert_allclose(s, expected, rtol=0, atol=1e-14)
    assert np.all(s[pore >= an] == 1.0) and np.all(s[pore <= 0.1 * an] == 0.0)
    # no nuclear cross-section: no hindrance at any density
    _, s0 = kern.speed_factors(rho, np.zeros(rho.size, dtype=int), _table(nuclear=0.0), a1)
    assert np.all(s0 == 1.0)


def test_traction_triangle_and_hill():
    rho = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.2])
    t, _ = kern.speed_factors(rho, np.zeros(8, dtype=int), _table("triangle", 0.0), 5.0)
    np.testing.assert_allclose(t, [0, 0.2, 0.5, 1, 0.5, 0.2, 0, 0], atol=1e-14)
    t, _ = kern.speed_factors(rho, np.zeros(8, dtype=int), _table("hill", 0.0, half=0.25,
                                                                 power=2.0), 5.0)  # fmt: skip
    np.testing.assert_allclose(t, rho**2 / (0.25**2 + rho**2), atol=1e-14)


# -- the velocity kernel ------------------------------------------------------------------------
def _one_voxel_call(d, f, a, follow, speed=1.0, rho=0.5, mode="none", nuclear=0.0, v0=(0, 0, 0),
                    dead=0, hapto=None, dim=2):  # fmt: skip
    mesh = Mesh(dim, (1,) * dim, 20.0)
    shape = mesh.array_shape
    pos = np.full((1, 3), 10.0)
    vel = np.array([v0], dtype=np.float64)
    direction = np.array([d], dtype=np.float64)
    vel += speed * direction * (dead == 0)  # what motility added
    fields = tuple(np.full(shape, x) for x in f[:dim])
    vm, vox = np.zeros((4, 3)), np.zeros(4, dtype=np.int64)
    kern.ecm_velocity_kernel(
        pos, np.full(1, 8.0), vel, direction, np.array([dead], np.int8), np.zeros(1, np.int32),
        np.array([speed]), np.array([follow]), hapto, np.full(shape, rho),
        np.full(shape, a), fields, _table(mode, nuclear), 5.0, mesh, vm, vox,
    )  # fmt: skip
    return vel[0], vm[0]


@pytest.mark.parametrize("dim", [2, 3])
def test_fibre_reading_matches_metzcar_decomposition(dim):
    rng = np.random.default_rng(4)
    for _ in range(50):
        d = rng.normal(size=3)
        f = rng.normal(size=3) * rng.uniform(0.2, 3.0)  # any length: only the direction counts
        if dim == 2:
            d[2] = f[2] = 0.0
        d /= np.linalg.norm(d)
        a, s = rng.uniform(), rng.uniform()
        vel, vm = _one_voxel_call(d, f, a, s, speed=0.7, dim=dim)
        fh = f / np.linalg.norm(f)
        c2 = d @ fh
        perp = d - c2 * fh
        c1 = np.linalg.norm(perp)
        gamma = s * a
        ref = (1 - gamma) * c1 * (perp / c1) + c2 * fh  # Metzcar et al. (2025)
        np.testing.assert_allclose(vm, 0.7 * ref, atol=1e-12)
        np.testing.assert_allclose(vel, 0.7 * ref, atol=1e-12)
        assert np.linalg.norm(ref) <= 1 + 1e-12


def test_full_following_of_aligned_fibres_moves_along_them_at_speed_cos():
    # gamma = 1: the cell moves along the fibres at speed |d.f|; across them it stops
    vel, _ = _one_voxel_call([math.cos(0.3), math.sin(0.3), 0], [1, 0, 0], 1.0, 1.0)
    np.testing.assert_allclose(vel, [math.cos(0.3), 0, 0], atol=1e-12)
    vel, _ = _one_voxel_call([0, 1, 0], [1, 0, 0], 1.0, 1.0)
    np.testing.assert_allclose(vel, [0, 0, 0], atol=1e-12)
    # fibres are unsigned: -f reads the same
    vel2, _ = _one_voxel_call([math.cos(0.3), math.sin(0.3), 0], [-1, 0, 0], 1.0, 1.0)
    np.testing.assert_allclose(vel2, [math.cos(0.3), 0, 0], atol=1e-12)


def test_passive_velocity_untouched_and_dead_or_still_cells_skipped():
    passive = (0.3, -0.2, 0.0)
    # speed factor 0 (triangle at zero density): only the passive part is left
    vel, _ = _one_voxel_call([1, 0, 0], [1, 0, 0], 0.0, 0.0, rho=0.0, mode="triangle",
                             v0=passive)  # fmt: skip
    np.testing.assert_allclose(vel, passive, atol=1e-15)
    vel, vm = _one_voxel_call([1, 0, 0], [0, 1, 0], 1.0, 1.0, v0=passive, dead=1)
    np.testing.assert_allclose(vel, passive, atol=0)
    np.testing.assert_allclose(vm, 0.0, atol=0)
    vel, vm = _one_voxel_call([1, 0, 0], [0, 1, 0], 1.0, 1.0, speed=0.0, v0=passive)
    np.testing.assert_allclose(vel, passive, atol=0)


def test_haptotaxis_drift_on_a_linear_gradient():
    mesh = Mesh(2, (10, 10), 20.0)
    x = (np.arange(10) + 0.5) * 20.0
    slope = 0.002  # 1/µm
    rho = np.ascontiguousarray(np.broadcast_to(0.1 + slope * x, mesh.array_shape))
    pos = np.array([[95.0, 95.0, 0.0]])
    d = np.array([[0.0, 1.0, 0.0]])
    vel = d.copy() * 0.5
    vm, vox = np.zeros((1, 3)), np.zeros(1, dtype=np.int64)
    chi = 30.0
    kern.ecm_velocity_kernel(pos, np.full(1, 8.0), vel, d, np.zeros(1, np.int8),
                             np.zeros(1, np.int32), np.array([0.5]), None, np.array([chi]),
                             rho, None, None, _table("none", 0.0), 5.0, mesh, vm,
                             vox)  # fmt: skip
    np.testing.assert_allclose(vel[0], [chi * slope, 0.5, 0.0], atol=1e-12)


# -- remodelling --------------------------------------------------------------------------------
def test_remodelling_exact_per_micrometre_and_unsigned_turn():
    shape = (1, 1, 1)
    aniso = np.full(shape, 0.2)
    fx, fy = np.full(shape, -1.0), np.full(shape, 0.0)  # fibres along x, stored as -x
    th = 0.4
    u = np.array([math.cos(th), math.sin(th), 0.0])
    vm = np.array([0.5 * u])
    vox = np.zeros(1, dtype=np.int64)
    rf, ra, dt = 4.0, 0.004, 0.1
    kern.remodel_kernel(np.zeros(1, np.int8), np.zeros(1, np.int32), vm, vox, np.array([rf]),
                        np.array([ra]), np.full(shape, 0.5), aniso, (fx, fy), _table(), dt, 2)
    ell = 0.5 * dt
    assert aniso[0, 0, 0] == pytest.approx(1 - 0.8 * math.exp(-ra * ell), abs=1e-15)
    k = 1 - math.exp(-rf * 0.8 * ell)
    ref = np.array([1.0, 0.0]) + k * (u[:2] - [1.0, 0.0])  # f flipped to +x first
    ref /= np.linalg.norm(ref)
    np.testing.assert_allclose([fx[0, 0, 0], fy[0, 0, 0]], ref, atol=1e-14)
    # a long path aligns the fibres with it and the anisotropy tends to 1
    for _ in range(2000):
        kern.remodel_kernel(np.zeros(1, np.int8), np.zeros(1, np.int32), vm, vox,
                            np.array([rf]), np.array([ra]), np.full(shape, 0.5), aniso,
                            (fx, fy), _table(), dt, 2)  # fmt: skip
    np.testing.assert_allclose([fx[0, 0, 0], fy[0, 0, 0]], u[:2], atol=1e-6)
    assert aniso[0, 0, 0] > 0.3


def test_zero_orientation_takes_the_path_and_density_relaxes_to_target():
    shape = (1, 1, 1)
    fx, fy, aniso, rho = (np.zeros(shape) for _ in range(4))
    rho[...] = 0.9
    vm = np.array([[0.0, -0.3, 0.0]])
    tab = _table(target=[0.4], relax=[0.05])
    kern.remodel_kernel(np.zeros(1, np.int8), np.zeros(1, np.int32), vm,
                        np.zeros(1, np.int64), np.array([1.0]), None, rho, aniso, (fx, fy),
                        tab, 0.1, 2)  # fmt: skip
    assert (fx[0, 0, 0], fy[0, 0, 0]) == (0.0, -1.0)
    assert rho[0, 0, 0] == pytest.approx(0.4 + 0.5 * math.exp(-0.05 * 0.1), abs=1e-15)


# -- the process in the engine ------------------------------------------------------------------
def _data(ecm=None, fields=None, cells=None, processes=("mechanics", "motility", "ecm"), n=20):
    f = {"ecm": {"kind": "matrix", "initial": 0.3, "upper": 1.0}}
    f.update(fields or {})
    tumor = {"motility": {"speed_um_per_min": 0.5, "persistence_time_min": 5.0},
             "ecm": {"speed_density": "triangle"}}  # fmt: skip
    tumor.update(cells or {})
    return {
        "name": "ecm-test", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [300.0, 300.0], "voxel_um": 20.0},
        "time": {"end_min": 12.0, "dt_min": 6.0, "output_interval_min": 12.0,
                 "checkpoint_interval_min": 12.0},
        "params": {"processes": list(processes), "fields": f, "ecm": ecm or {},
                   "cell_types": {"tumor": tumor}, "initial": {"geometry": "ball", "n_cells": n}},
    }  # fmt: skip


FIBRES = {
    "aniso": {"kind": "matrix", "initial": 0.0, "upper": 1.0},
    "fx": {"kind": "matrix", "initial": 0.0, "lower": -1.0, "upper": 1.0},
    "fy": {"kind": "matrix", "initial": 0.0, "lower": -1.0, "upper": 1.0},
}


@pytest.mark.parametrize(
    "ecm, fields, cells, needle",
    [
        ({"density_field": "collagen"}, None, None, "'collagen' is not a field"),
        ({"density_field": "oxygen"}, {"oxygen": {}}, None, "must be kind = 'matrix'"),
        ({"anisotropy_field": "aniso"}, FIBRES, None, "go together"),
        ({"anisotropy_field": "aniso", "fibre_fields": ["fx"]}, FIBRES, None, "give 2 fields"),
        ({}, None, {"ecm": {"fibre_following": 1.0}}, "fibre_following needs fibres"),
        ({}, None, {"ecm": {"speed_density": "triangle", "density_optimum": 1.5}}, "triangle"),
    ],
)
def test_bad_scenarios_rejected(ecm, fields, cells, needle):
    with pytest.raises(ConfigError, match=needle):
        invasim.load_scenario(_data(ecm, fields, cells))


def test_needs_motility():
    with pytest.raises(ConfigError, match="needs 'motility'"):
        invasim.load_scenario(_data(processes=("mechanics", "ecm")))


def _fibre_sim(seed=5, **cells):
    ecm = {"anisotropy_field": "aniso", "fibre_fields": ["fx", "fy"]}
    cfg = {"ecm": {"speed_density": "triangle", **cells}}
    return invasim.Simulation(invasim.load_scenario(_data(ecm, FIBRES, cfg)), seed=seed)


def _advance(sim, steps):
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


def test_random_initial_fibres_are_unit_and_keyed_by_seed():
    a, b, c = _fibre_sim(5), _fibre_sim(5), _fibre_sim(6)
    norm = np.hypot(a.fields["fx"], a.fields["fy"])
    np.testing.assert_allclose(norm, 1.0, atol=1e-12)
    assert np.array_equal(a.fields["fx"], b.fields["fx"])
    assert not np.array_equal(a.fields["fx"], c.fields["fx"])
    # the angles are spread over the circle (not one direction)
    ang = np.arctan2(a.fields["fy"], a.fields["fx"]).ravel()
    assert np.histogram(ang, bins=4, range=(-np.pi, np.pi))[0].min() > 0.15 * ang.size


def test_writers_raise_anisotropy_and_signals_read_it():
    sim = _fibre_sim(fibre_realignment_per_um=4.0, anisotropy_increase_per_um=0.01,
                     fibre_following=1.0, bias_from_anisotropy=True)  # fmt: skip
    _advance(sim, 2)
    assert sim.fields["aniso"].max() > 0.002  # slow: speed factor 0.6 x 0.15 at ρ = 0.3
    norm = np.hypot(sim.fields["fx"], sim.fields["fy"])
    np.testing.assert_allclose(norm, 1.0, atol=1e-12)
    model = sim.model
    proc = next(q for q in model.processes if q.name == "ecm")
    a = proc.signal_values(model.state, "ecm anisotropy", None)
    np.testing.assert_allclose(a, model.state.field_at_cells("aniso"))
    # Metzcar's followers: migration bias = fibre following x anisotropy at the cell
    model.behaviours.fill(model.state, "motion", sim.time_min)
    np.testing.assert_allclose(model.behaviours.column("migration bias"), np.clip(a, 0, 1))
    rho = proc.signal_values(model.state, "ecm density", None)
    np.testing.assert_allclose(rho, 0.3)
    conf = proc.signal_values(model.state, "matrix confinement", None)
    # pore 5/0.3 = 16.7 µm² against the tumour default 70: S = (16.7 - 7) / 63
    np.testing.assert_allclose(conf, 1 - (5 / 0.3 - 7) / 63, atol=1e-12)


def test_rule_on_matrix_confinement_is_accepted():
    data = _data()
    data["params"]["rules"] = [{
        "cell_type": "tumor", "signal": "matrix confinement", "direction": "decreases",
        "behaviour": "migration persistence time", "saturation": 0.0, "half_max": 0.5,
        "hill_power": 2,
    }]  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    _advance(sim, 1)


def test_checkpoint_resume_equals_uninterrupted(tmp_path):
    from tests.conftest import run_and_resume

    data = _data({"anisotropy_field": "aniso", "fibre_fields": ["fx", "fy"]}, FIBRES,
                 {"ecm": {"speed_density": "triangle", "fibre_realignment_per_um": 4.0,
                          "anisotropy_increase_per_um": 0.01, "fibre_following": 0.5}})  # fmt: skip
    data["time"].update(end_min=24.0, checkpoint_interval_min=6.0, output_interval_min=6.0)
    full, resumed = run_and_resume(invasim.load_scenario(data), 3, tmp_path, until=12.0,
                                   end=24.0, summary=False)  # fmt: skip
    for name in ("ecm", "aniso", "fx", "fy"):
        np.testing.assert_array_equal(resumed.field(name), full.field(name))
    assert resumed.cells(24.0).equals(full.cells(24.0))
    assert full.field("aniso").max() > 0


def test_registered_names():
    assert ecm_process.EcmProcess.order == 22
    from invasim.rules.dictionary import behaviour_templates, signal_templates

    sig = {t.name for t in signal_templates()}
    beh = {t.name for t in behaviour_templates()}
    assert {"ecm density", "matrix confinement", "ecm anisotropy"} <= sig
    assert {"haptotactic response", "fibre following", "fibre realignment rate",
            "fibre anisotropy rate"} <= beh  # fmt: skip


@pytest.mark.parametrize("dim", [2, 3])
def test_voxel_grouped_remodelling_gives_the_serial_bits(dim):
    # many cells share few voxels, so the order of updates within a voxel matters
    rng = np.random.default_rng(7)
    n, shape = 400, ((1, 6, 6) if dim == 2 else (4, 4, 4))
    vox = rng.integers(0, int(np.prod(shape)), n).astype(np.int64)
    dead = (rng.random(n) < 0.1).astype(np.int8)
    ctype = rng.integers(0, 2, n)
    vm = rng.normal(size=(n, 3))
    r_f, r_a = rng.random(n) * 4.0, rng.random(n) * 0.01
    r_f[::5] = 0.0
    table = kern.TypeTable([0, 0], [0.0] * 2, [0.5] * 2, [1.0] * 2, [0.05] * 2, [2.0] * 2,
                           [70.0] * 2, target=[0.5, 0.3], relax=[0.0, 0.2])  # fmt: skip

    def fields():
        g = np.random.default_rng(3)
        return (g.random(shape), g.random(shape), [g.normal(size=shape) for _ in range(dim)])

    out = []
    # serial; grouped here; grouped by shared bins of all the cells (dead ones included)
    whole = VoxelBins(vox, int(np.prod(shape)))
    for parallel, bins in ((False, None), (True, None), (True, whole)):
        rho, aniso, fibres = fields()
        kern.remodel_kernel(dead, ctype, vm, vox, r_f, r_a, rho, aniso, fibres, table, 0.1,
                            dim, parallel=parallel, bins=bins)  # fmt: skip
        out.append((rho, aniso, *fibres))
    for other in out[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(out[0], other, strict=True))
    assert not np.array_equal(out[0][1], fields()[1])  # the pass changed the anisotropy
