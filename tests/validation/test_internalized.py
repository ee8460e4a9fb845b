"""Internalised substrates (PhysiCell's ``track_internalized_substrates_in_each_agent``).

What is checked, with the tolerance and why:

* Conservation: in a closed box (no-flux walls, no decay) the field integral ``Σ u h³`` plus
  the cells' amounts is constant while the cells take up, secrete, export, move and divide.
  Each diffusion step moves amounts between a voxel and its cells with a few float operations
  per cell (relative round-off ~1e-16 each); over the 3000 diffusion steps below the drift,
  relative to the amounts in play, is measured at 4e-14 to 3e-13. 1e-11 leaves a factor 40 for
  round-off; a missing net-export term (tried: 2e-3), a wrong sign or a voxel volume off by
  h^dim/h³ moves amounts at the 1e-3 level or more.
* One cell in a one-voxel domain (well mixed: no diffusion can matter): the voxel obeys
  ``du/dt = r (σ (T − u) − λ u) + e / V_v``, ``r = V_c / V_v``, and the cell holds
  ``I = V_v (u0 − u)``. The ``exact`` scheme integrates it exactly, so ``I(t)`` equals the
  closed form to round-off (1e-12 relative); the ``implicit`` scheme (PhysiCell's) equals its
  own discrete solution ``u_k = u* + (u0 − u*) (1 + r (σ + λ) dt)^(−k)`` to round-off and the
  closed form within its first-order error (checked below the analytic bound).
* Release at removal: a removed dead cell puts ``fraction_released_at_death`` of each amount
  into its voxel (to round-off); a dead cell not yet removed releases nothing (PhysiCell
  releases in ``delete_cell``).
* Phagocytosis and fusion: deterministic given which pairs met, so checked per pair to
  round-off, over three seeds (the events are random).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
from invasim.core.cells import APOPTOTIC, Cells

H = 20.0
PHENO = 6.0


def _data(types, processes, dim=2, extent=200.0, h=H, fields=None, scheme="implicit", **params):
    fields = fields or {
        "oxygen": {"kind": "diffusing", "unit": "mmHg", "diffusion_um2_per_min": 2000.0,
                   "decay_per_min": 0.0, "initial": 38.0, "boundary": "no-flux"},
        "signal": {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 500.0,
                   "decay_per_min": 0.0, "initial": 0.2, "boundary": "no-flux"},
    }  # fmt: skip
    if "diffusion" in processes:
        params["diffusion"] = {"accuracy_check": False}
    return {
        "name": "internalized-test", "model": "agents",
        "mesh": {"dim": dim, "extent_um": [extent] * dim, "voxel_um": h},
        "time": {"end_min": 60.0, "dt_min": PHENO, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 60.0},
        "params": {"processes": processes, "fields": fields, "cell_types": types,
                   "secretion": {"track_internalized": True, "scheme": scheme},
                   "initial": {"geometry": "ball", "n_cells": 0}, **params},
    }  # fmt: skip


def _sim(*args, seed=1, **kw):
    return invasim.Simulation(invasim.load_scenario(_data(*args, **kw)), seed=seed)


def _run(sim, steps):
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


def _amount(sim, field):
    return sim.model.cells.internal(f"internalized:{field}")


def _integral(sim, field):
    return float(sim.fields[field].sum()) * H**3  # V_v = h³ in every dimension (exchange)


# -- conservation --------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("scheme", ["implicit", "exact"])
def test_field_plus_internal_amounts_is_conserved(dim, scheme):
    types = {"tumor": {
        "secretion": {"uptake_per_min": {"oxygen": 1.0, "signal": 0.5},
                      "secretion_per_min": {"signal": 2.0}, "secretion_target": {"signal": 1.0},
                      "net_export": {"signal": 3.0, "oxygen": -50.0}},
        "cycle": {"model": "live", "rate_per_min": 0.02, "oxygen_dependent": False},
        "motility": {"speed_um_per_min": 1.0, "persistence_time_min": 5.0},
        "death": {"apoptosis_rate_per_min": 0.0}}}  # fmt: skip
    processes = ["secretion", "diffusion", "mechanics", "motility", "volume", "cycle",
                 "division", "death"]  # fmt: skip
    extent = 200.0 if dim == 2 else 120.0
    data = _data(types, processes, dim=dim, extent=extent, scheme=scheme)
    data["params"]["initial"] = {"geometry": "ball", "n_cells": 30}
    sim = invasim.Simulation(invasim.load_scenario(data), seed=4)
    n0 = sim.model.cells.n
    before = {f: _integral(sim, f) + _amount(sim, f).sum() for f in ("oxygen", "signal")}
    _run(sim, 5)  # 5 phenotype steps = 3000 diffusion steps
    assert sim.model.cells.n > n0  # divisions happened (amounts split)
    for f in ("oxygen", "signal"):
        moved = np.abs(_amount(sim, f)).sum()
        assert moved > 1e-3 * abs(_integral(sim, f))  # the cells do hold a share
        after = _integral(sim, f) + _amount(sim, f).sum()
        scale = abs(_integral(sim, f)) + moved
        assert abs(after - before[f]) <= 1e-11 * scale, (f, after - before[f], scale)


# -- one cell in a well-mixed voxel ----------------------------------------------------------------
def _one_cell(scheme, sec, tgt, upt, exp):
    h = 40.0
    types = {"a": {"secretion": {"uptake_per_min": {"s": upt}, "secretion_per_min": {"s": sec},
                                 "secretion_target": {"s": tgt}, "net_export": {"s": exp}}}}
    fields = {"s": {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 0.0,
                    "decay_per_min": 0.0, "initial": 2.0, "boundary": "no-flux"}}  # fmt: skip
    data = _data(types, ["secretion"], extent=h, h=h, fields=fields, scheme=scheme)
    data["params"]["dt_diffusion_min"] = 0.05
    data["params"]["dt_mechanics_min"] = 0.5
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    c = Cells(2, capacity=4)
    c.add(1, position=[[h / 2, h / 2, 0.0]], type=[0], volume=[2494.0])
    sim.model.cells = c
    for q in sim.model.processes:
        q.setup(sim.model.state)
    return sim, h**3, 2494.0


@pytest.mark.parametrize(
    ("sec", "tgt", "upt", "exp"),
    [(0.0, 0.0, 0.7, 0.0), (1.5, 5.0, 0.7, 0.0), (0.0, 0.0, 0.7, 2000.0)],
    ids=["uptake", "secretion+uptake", "uptake+export"],
)
def test_one_cell_in_a_mixed_voxel_follows_the_closed_form(sec, tgt, upt, exp):
    steps = 10  # 60 min, 1200 diffusion steps of 0.05 min
    sim, vv, vc = _one_cell("exact", sec, tgt, upt, exp)
    r, u0 = vc / vv, 2.0
    k = r * (sec + upt)
    u_inf = (r * sec * tgt + exp / vv) / k
    for step in range(1, steps + 1):
        _run(sim, 1)
        t = step * PHENO
        u = u_inf + (u0 - u_inf) * math.exp(-k * t)
        expected = vv * (u0 - u)
        assert _amount(sim, "s")[0] == pytest.approx(expected, rel=1e-12, abs=1e-9 * vv)
        assert sim.fields["s"][0, 0, 0] == pytest.approx(u, rel=1e-12)

    # PhysiCell's implicit step: its own discrete solution to round-off, the closed form
    # within its first-order error |(1 + x)^-n - e^-nx| <= n x² / 2 (x = k dt)
    sim, vv, vc = _one_cell("implicit", sec, tgt, upt, exp)
    dt, n = 0.05, int(round(steps * PHENO / 0.05))
    _run(sim, steps)
    u_disc = u_inf + (u0 - u_inf) * (1.0 + k * dt) ** (-n)
    assert _amount(sim, "s")[0] == pytest.approx(vv * (u0 - u_disc), rel=1e-11)
    u_exact = u_inf + (u0 - u_inf) * math.exp(-k * n * dt)
    bound = vv * abs(u0 - u_inf) * n * (k * dt) ** 2 / 2
    assert abs(_amount(sim, "s")[0] - vv * (u0 - u_exact)) <= bound
    assert abs(_amount(sim, "s")[0] - vv * (u0 - u_exact)) > 0  # the two schemes do differ


# -- release at removal -------------------------------------------------------------------------
def test_removed_dead_cells_release_their_fraction_into_their_voxel():
    fractions = {"oxygen": 0.25, "signal": 1.0}
    zero = {"uptake_per_min": {"oxygen": 0.0}}
    types = {
        "a": {"secretion": {**zero, "fraction_released_at_death": fractions},
              "death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 6.0}},
        "b": {"secretion": zero,  # default fraction 0: nothing back
              "death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 6.0}},
        "slow": {"secretion": {**zero, "fraction_released_at_death": fractions},
                 "death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 1e6}},
    }  # fmt: skip
    sim = _sim(types, ["secretion", "death"])  # no diffusion: the voxels keep what they get
    rng = np.random.default_rng(0)
    n = 30
    pos = np.column_stack([rng.uniform(5, 195, n), rng.uniform(5, 195, n), np.zeros(n)])
    c = Cells(2, capacity=64)
    types_ = np.arange(n, dtype=np.int32) % 3
    c.add(n, position=pos, type=types_, volume=np.full(n, 2494.0))
    c.dead[:] = APOPTOTIC  # dead already: removed at the end of the first step (type a, b)
    m = sim.model
    m.cells = c
    for q in m.processes:
        q.setup(m.state)
    amounts = {f: rng.uniform(1e3, 1e5, n) for f in fractions}
    for f, a in amounts.items():
        c.internal(f"internalized:{f}")[:] = a
    u0 = {f: sim.fields[f].copy() for f in fractions}
    ids = c.id.copy()
    _run(sim, 1)
    c = m.cells
    assert sorted(c.id.tolist()) == ids[types_ == 2].tolist()  # a and b removed, slow kept
    vox = (pos[:, 1] // H).astype(int) * 10 + (pos[:, 0] // H).astype(int)
    for f, frac in fractions.items():
        expected = u0[f].reshape(-1).copy()
        gone = types_ == 0
        np.add.at(expected, vox[gone], frac * amounts[f][gone] / H**3)
        np.testing.assert_allclose(sim.fields[f].reshape(-1), expected, rtol=1e-13, atol=0)
        assert (sim.fields[f].reshape(-1) != u0[f].reshape(-1)).any()
        # the dead cells still there (type slow) kept theirs: PhysiCell releases at deletion
        order = np.argsort(c.id)
        np.testing.assert_array_equal(c.internal(f"internalized:{f}")[order],
                                      amounts[f][types_ == 2])  # fmt: skip


# -- phagocytosis and fusion --------------------------------------------------------------------
STILL = {"death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 1e6}}
NO_UPTAKE = {"secretion": {"uptake_per_min": {"oxygen": 0.0}}}


def _pairs(sim, n, dead_prey):
    m = sim.model
    side = int(math.ceil(math.sqrt(n)))
    pos = np.zeros((2 * n, 3))
    for a in range(n):
        x, y = 30.0 + 60.0 * (a % side), 30.0 + 60.0 * (a // side)
        pos[2 * a] = (x, y, 0.0)
        pos[2 * a + 1] = (x + 15.0, y, 0.0)
    c = Cells(2, capacity=4 * n)
    c.add(2 * n, position=pos, type=np.tile(np.array([0, 1], dtype=np.int32), n),
          volume=np.full(2 * n, 2494.0))  # fmt: skip
    c.dead[1::2] = dead_prey
    m.cells = c
    for q in m.processes:
        q.setup(m.state)
    rng = np.random.default_rng(7)
    amounts = {}
    for f in ("oxygen", "signal"):
        amounts[f] = rng.uniform(1.0, 100.0, 2 * n)
        c.internal(f"internalized:{f}")[:] = amounts[f]
    return amounts


def _check_pairs(sim, n, amounts, fraction):
    """Each survivor of pair ``a`` (id ``2a``) holds its own plus ``fraction`` of its prey's."""
    c = sim.model.cells
    alive = set(c.id.tolist())
    eaten = 0
    for f in amounts:
        col = dict(zip(c.id.tolist(), c.internal(f"internalized:{f}").tolist(), strict=True))
        for a in range(n):
            own, prey = amounts[f][2 * a], amounts[f][2 * a + 1]
            if 2 * a + 1 in alive:
                assert col[2 * a] == own and col[2 * a + 1] == prey
            else:
                eaten += f == "oxygen"
                assert col[2 * a] == pytest.approx(own + fraction[f] * prey, rel=1e-15)
    return eaten


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_phagocytosis_transfers_the_prey_types_fraction(seed):
    n, frac = 200, {"oxygen": 0.3, "signal": 1.0}
    types = {"mac": {"phagocytosis": {"apoptotic_rate_per_min": 0.01}, **STILL, **NO_UPTAKE,
                     "secretion": {"uptake_per_min": {"oxygen": 0.0},
                                   "fraction_transferred_when_ingested": {"oxygen": 0.9}}},
             "prey": {**STILL, "secretion": {"uptake_per_min": {"oxygen": 0.0},
                                             "fraction_transferred_when_ingested":
                                             {"oxygen": 0.3}}}}  # fmt: skip
    sim = _sim(types, ["secretion", "phagocytosis", "death"], extent=1200.0, seed=seed)
    amounts = _pairs(sim, n, APOPTOTIC)
    _run(sim, 3)
    eaten = _check_pairs(sim, n, amounts, frac)  # the prey's fraction (0.3), not the eater's
    assert 20 < eaten < n  # about n (1 - (1 - 0.001)^180) = 33
    assert sim.model.metrics(sim.fields, sim.time_min)["phagocytosed_total"] == eaten


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fusion_moves_every_amount(seed):
    n = 200
    types = {"a": {"fusion": {"rates_per_min": {"b": 0.01}}, **STILL, **NO_UPTAKE},
             "b": {**STILL, "secretion": {"uptake_per_min": {"oxygen": 0.0},
                                          "fraction_transferred_when_ingested":
                                          {"oxygen": 0.3}}}}  # fmt: skip
    sim = _sim(types, ["secretion", "fusion", "volume", "death"], extent=1200.0, seed=seed)
    amounts = _pairs(sim, n, 0)
    _run(sim, 3)
    fused = _check_pairs(sim, n, amounts, {"oxygen": 1.0, "signal": 1.0})  # no fraction
    assert 20 < fused < n
