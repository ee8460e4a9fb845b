"""Internalised substrates (PhysiCell's ``track_internalized_substrates_in_each_agent``).

Conservation and the well-mixed voxel are the verify cases of
:mod:`invasim.verify.cases.internalized` (``invasim verify -k internalized``), which give the
tolerances. Checked here only:

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

from invasim.core.cells import APOPTOTIC, Cells
from invasim.verify.cases import internalized as intern
from invasim.verify.cases.internalized import H
from invasim.verify.cases.internalized import advance as _run
from invasim.verify.cases.internalized import sim as _sim


@pytest.mark.parametrize("case", [intern.conserved, intern.one_cell_closed_form],
                         ids=lambda c: c.name)
def test_internalized_substrates(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)


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
