"""Spring attachments (PhysiCell's dynamic springs) and the per-cell mechanics behaviours.

Setup: the isolated pairs of tests/validation/test_interactions.py (15 µm apart, within the
interaction reach 1.25 (r_i + r_j) ≈ 21 µm; 60 µm between pairs), nothing else running unless
named. Each mechanics step (0.1 min), cell ``i`` of an unattached pair attaches with
probability ``rate_i · affinity_i[t_j] · dt``; both cells of a pair try, so an unattached pair
stays so with probability ``(1 − p_a)(1 − p_b)`` per step. An attachment breaks from either
side with probability ``detachment rate · dt``. The fraction of pairs attached after ``k``
steps follows exactly.

Tolerances: counts over independent pairs are binomial, each checked within 4 standard
errors (a false alarm ~6e-5 per check), per seed, over three seeds. Spring motion and the
potentials are deterministic and checked to round-off against their closed forms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.conftest import run_and_resume
from tests.validation.test_interactions import DT_MECH, PHENO, _pairs, _run, _sim

import invasim
from invasim.core.cells import Cells
from invasim.physics.mechanics import MechanicsParams, compute_velocities
from invasim.physics.neighbors import CellList
from invasim.processes import attachments as att

STEPS_PER_PHENO = round(PHENO / DT_MECH)
FREE = {"repulsion_um_per_min": 0.0, "adhesion_um_per_min": 0.0,
        "wall_repulsion_um_per_min": 0.0}  # fmt: skip


def _binomial_ok(count, n, p):
    return abs(count - n * p) < 4 * math.sqrt(n * p * (1 - p)) + 1e-9


def _attached_pairs(cells):
    """Pairs holding their attachment (links never leave a pair: 60 µm between pairs)."""
    held = (att.partner_rows(cells) >= 0).sum(axis=1)
    assert held.max(initial=0) <= 1
    return int(held.sum()) // 2


def _types(rate_a, rate_b, aff_ab=1.0, aff_ba=1.0, detach=0.0, mech=None):
    def one(rate, other, aff):
        return {"attachments": {"attachment_rate_per_min": rate,
                                "detachment_rate_per_min": detach},
                "mechanics": {"adhesive_affinity": {other: aff}, **(mech or {})}}  # fmt: skip

    return {"a": one(rate_a, "b", aff_ab), "b": one(rate_b, "a", aff_ba)}


# -- forming and breaking --------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pairs_attach_at_the_set_rate_from_both_sides(seed):
    rate, n = 0.01, 400
    sim = _sim(["mechanics", "attachments"], _types(rate, rate, mech=FREE), seed=seed)
    _pairs(sim, n)
    _run(sim, 2)
    k = 2 * STEPS_PER_PHENO
    p = 1.0 - (1.0 - rate * DT_MECH) ** (2 * k)
    assert _binomial_ok(_attached_pairs(sim.model.cells), n, p)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_affinity_to_the_partners_type_scales_the_attachment_rate(seed):
    # a attaches to b at affinity 0.5; b never to a (affinity 0): only a's draws count
    rate, n = 0.02, 400
    sim = _sim(["mechanics", "attachments"],
               _types(rate, rate, aff_ab=0.5, aff_ba=0.0, mech=FREE), seed=seed)  # fmt: skip
    _pairs(sim, n)
    _run(sim, 2)
    p = 1.0 - (1.0 - 0.5 * rate * DT_MECH) ** (2 * STEPS_PER_PHENO)
    assert _binomial_ok(_attached_pairs(sim.model.cells), n, p)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_attachments_break_at_the_set_rate_from_either_side(seed):
    det, n = 0.005, 400
    sim = _sim(["mechanics", "attachments"], _types(0.0, 0.0, detach=det, mech=FREE),
               seed=seed)  # fmt: skip
    c = _pairs(sim, n)
    rows = np.arange(0, 2 * n, 2)
    att.attach_pairs(c, rows, rows + 1, True)
    assert _attached_pairs(c) == n
    _run(sim, 2)
    p_keep = (1.0 - det * DT_MECH) ** (2 * 2 * STEPS_PER_PHENO)
    kept = _attached_pairs(sim.model.cells)
    assert _binomial_ok(kept, n, p_keep), (kept, n * p_keep)
    # symmetric: every listed partner lists its cell back
    part = att.partner_rows(sim.model.cells)
    for i, row in enumerate(part):
        for j in row[row >= 0]:
            assert i in part[j]


def test_no_cell_holds_more_than_its_maximum_and_full_partners_are_skipped():
    # a hub of type a (max 2) among three b cells (max 1 each) 15 µm away, 26 µm apart from
    # each other (out of each other's reach): the hub takes two, the third b none
    types = _types(10.0, 10.0, mech=FREE)
    types["a"]["attachments"]["max_attachments"] = 2
    types["b"]["attachments"]["max_attachments"] = 1
    sim = _sim(["mechanics", "attachments"], types)
    m = sim.model
    ang = np.arange(3) * 2 * np.pi / 3
    pos = np.zeros((4, 3))
    pos[0] = (300.0, 300.0, 0.0)
    pos[1:, 0] = 300.0 + 15.0 * np.cos(ang)
    pos[1:, 1] = 300.0 + 15.0 * np.sin(ang)
    c = Cells(2, capacity=16)
    c.add(4, position=pos, type=np.array([0, 1, 1, 1], dtype=np.int32),
          volume=np.full(4, 2494.0))  # fmt: skip
    m.cells = c
    for q in m.processes:
        q.setup(m.state)
    _run(sim, 1)
    held = (att.partner_rows(m.cells) >= 0).sum(axis=1)
    hub = m.cells.type == 0  # rows are re-sorted by the cell list
    assert held[hub].tolist() == [2]
    assert sorted(held[~hub]) == [0, 1, 1]


# -- the spring --------------------------------------------------------------------------------
@pytest.mark.parametrize(("k_a", "k_b", "aff_ab", "aff_ba"), [(0.01, 0.01, 1.0, 1.0),
                                                                (0.02, 0.005, 0.5, 2.0)])
def test_an_attached_pair_closes_at_the_effective_spring_constant(k_a, k_b, aff_ab, aff_ba):
    # no potentials: each cell moves at k_ab (x_j - x_i), so the gap shrinks by
    # (1 - 2 k_ab dt) per Euler step, k_ab = sqrt(k_a aff_a[b] k_b aff_b[a])
    types = _types(0.0, 0.0, aff_ab=aff_ab, aff_ba=aff_ba, mech=FREE)
    types["a"]["attachments"]["elastic_constant_per_min"] = k_a
    types["b"]["attachments"]["elastic_constant_per_min"] = k_b
    sim = _sim(["mechanics", "attachments"], types)
    sim.model.params.mechanics_scheme = "euler"
    c = _pairs(sim, 4, gap=15.0)
    rows = np.arange(0, 8, 2)
    att.attach_pairs(c, rows, rows + 1, True)
    _run(sim, 1)
    k_ab = math.sqrt(k_a * aff_ab * k_b * aff_ba)
    c = sim.model.cells
    pos = c.position[np.argsort(c.id)]  # rows are re-sorted by the cell list; ids are not
    gap = pos[1::2, 0] - pos[0::2, 0]
    expected = 15.0 * (1.0 - 2.0 * k_ab * DT_MECH) ** STEPS_PER_PHENO
    np.testing.assert_allclose(gap, expected, rtol=1e-12)


def test_a_division_releases_the_mothers_attachments():
    c = Cells(2, capacity=8)
    c.add(3, position=np.array([[0, 0, 0], [10, 0, 0], [20, 0, 0]], float),
          type=np.zeros(3, dtype=np.int32), volume=np.full(3, 2494.0))  # fmt: skip
    for k in range(3):
        c.add_state(f"{att.PREFIX}{k}", -1.0, "reset")
    att.attach_pairs(c, np.array([0, 1]), np.array([1, 2]), True)
    att.release(c, np.array([1]))
    assert (att.partner_rows(c) < 0).all()


def test_gone_partners_are_dropped():
    c = Cells(2, capacity=8)
    c.add(2, position=np.zeros((2, 3)), type=np.zeros(2, dtype=np.int32),
          volume=np.full(2, 2494.0))  # fmt: skip
    c.add_state(f"{att.PREFIX}0", -1.0, "reset")
    att.attach_pairs(c, np.array([0]), np.array([1]), True)
    c.remove(np.array([1]))
    assert (att.partner_rows(c) < 0).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_attack_holds_its_target_on_a_spring_until_it_ends(seed):
    # attack at a high rate, lasting 1 min on average: while attacking, the pair is attached
    types = {"t": {"attack": {"rates_per_min": {"v": 5.0}, "duration_min": 1.0},
                   "attachments": {"max_attachments": 0}, "mechanics": FREE},
             "v": {"attachments": {"max_attachments": 0}, "mechanics": FREE}}  # fmt: skip
    sim = _sim(["mechanics", "attachments", "attack", "damage"], types, seed=seed)
    c = _pairs(sim, 200)
    _run(sim, 1)
    c = sim.model.cells
    part = att.partner_rows(c)
    attackers = c.type == 0
    attacking = c.state("attack_target")[attackers] >= 0
    assert attacking.sum() > 20 and (~attacking).sum() > 5
    linked = (part[attackers] >= 0).any(axis=1)
    np.testing.assert_array_equal(linked, attacking)
    # each attacker's partner is its target
    held = part[attackers][linked, 0]
    np.testing.assert_array_equal(c.id[held], c.state("attack_target")[attackers][attacking])


# -- per-cell mechanics --------------------------------------------------------------------------
def _two(d, r=8.0, types=(0, 0), dim=2):
    c = Cells(dim, capacity=4)
    pos = np.array([[100.0, 100.0, 0.0], [100.0 + d, 100.0, 0.0]])
    c.add(2, position=pos, type=np.array(types, dtype=np.int32), volume=np.full(2, 2000.0))
    c.radius[:] = r
    return c


def _velocity(c, mp, extent=(400.0, 400.0), **kw):
    cl = CellList(extent, 60.0)
    cl.rebuild(c.position)
    compute_velocities(c, cl, mp, extent, **kw)
    return c.velocity.copy()


def test_a_per_cell_reach_sets_the_adhesion_range_and_keeps_repulsion():
    mp = MechanicsParams.single_type(repulsion=10.0, adhesion=0.4, s_rel=1.25, wall_repulsion=0)
    # 22 µm apart: beyond 1.25 × 16 = 20 µm, within 1.5 × 16 = 24 µm
    v = _velocity(_two(22.0), mp, reach=np.array([1.5, 1.5]))
    qa = 1.0 - 22.0 / 24.0
    assert v[0, 0] == pytest.approx(0.4 * qa * qa, rel=1e-12)  # pulled toward +x
    assert _velocity(_two(22.0), mp)[0, 0] == 0.0
    # a reach below 1 switches adhesion off but not the repulsion within r_i + r_j
    v = _velocity(_two(12.0), mp, reach=np.array([0.5, 0.5]))
    q = 1.0 - 12.0 / 16.0
    assert v[0, 0] == pytest.approx(-10.0 * q * q, rel=1e-12)
    # the same reach as the type's: bit for bit the per-type numbers
    np.testing.assert_array_equal(_velocity(_two(18.0), mp, reach=np.array([1.25, 1.25])),
                                  _velocity(_two(18.0), mp))  # fmt: skip


def test_per_cell_affinities_give_physicells_pair_adhesion():
    mp = MechanicsParams(np.zeros(2), np.full((2, 2), 0.4), 1.25, 0.0)
    c = _two(18.0, types=(0, 1))
    aff = np.array([[1.0, 0.5], [2.0, 1.0]])  # cell 0 → type 1: 0.5; cell 1 → type 0: 2.0
    a = np.array([0.4, 0.9])
    v = _velocity(c, mp, adhesion=a, affinity=aff)
    qa = 1.0 - 18.0 / 20.0
    expected = math.sqrt(0.4 * 0.5 * 0.9 * 2.0) * qa * qa
    assert v[0, 0] == pytest.approx(expected, rel=1e-12)
    assert v[1, 0] == pytest.approx(-expected, rel=1e-12)


@pytest.mark.parametrize("w", [3.0, 9.0, 11.0])
def test_wall_adhesion_pulls_within_the_reach_and_repulsion_pushes_within_the_radius(w):
    r, s, cw, ca = 8.0, 1.25, 100.0, 4.0
    mp = MechanicsParams.single_type(repulsion=0.0, adhesion=0.0, s_rel=s, wall_repulsion=cw,
                                     wall_adhesion=ca)  # fmt: skip
    c = Cells(2, capacity=2)
    c.add(1, position=np.array([[w, 200.0, 0.0]]), type=np.zeros(1, dtype=np.int32),
          volume=np.full(1, 2000.0))  # fmt: skip
    c.radius[:] = r
    expected = (cw * (1 - w / r) ** 2 if w < r else 0.0) - ca * (1 - w / (s * r)) ** 2 * (w < s * r)
    assert _velocity(c, mp)[0, 0] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # per cell: the same numbers from the arrays
    mp0 = MechanicsParams.single_type(repulsion=0.0, adhesion=0.0, s_rel=s, wall_repulsion=0)
    v = _velocity(c, mp0, wall_repulsion=np.array([cw]), wall_adhesion=np.array([ca]))
    assert v[0, 0] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_resume_with_attachments_equals_uninterrupted(tmp_path):
    data = {
        "name": "springs-resume", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 20.0},
        "time": {"end_min": 36.0, "dt_min": 6.0, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 6.0},
        "params": {
            "processes": ["mechanics", "motility", "attachments", "cycle", "division"],
            "cell_types": {"a": {"attachments": {"attachment_rate_per_min": 0.05,
                                                 "detachment_rate_per_min": 0.02,
                                                 "max_attachments": 3},
                                 "motility": {"speed_um_per_min": 0.5},
                                 "cycle": {"model": "live", "rate_per_min": 0.01}}},
            "initial": {"geometry": "ball", "n_cells": 60},
        },
    }  # fmt: skip
    full, resumed = run_and_resume(invasim.load_scenario(data), 4, tmp_path, until=18, end=36.0)
    assert full.metrics["attachments_mean"].iloc[-1] > 0.5
    assert full.metrics["n_cells"].iloc[-1] > 60  # divisions released their springs
    assert resumed.metrics.equals(full.metrics)
    for t in (24.0, 36.0):
        assert resumed.cells(t).equals(full.cells(t))


def test_a_type_whose_adhesion_reach_is_below_one_still_repels():
    # PhysiCell allows relative_maximum_adhesion_distance < 1: adhesion then reaches less far
    # than the repulsion (r_i + r_j ≈ 16.8 µm here). At 12 µm both push apart; with s = 0.5 no
    # adhesion holds them (reach 8.4 µm), with s = 1.0 it does: the pair ends further apart
    gaps = {}
    for s in (0.5, 1.0):
        mech = {"relative_max_adhesion_distance": s, "adhesion_um_per_min": 2.0}
        sim = _sim(["mechanics"], {"a": {"mechanics": mech}, "b": {"mechanics": mech}})
        _pairs(sim, 4, gap=12.0)
        _run(sim, 1)
        c = sim.model.cells
        pos = c.position[np.argsort(c.id)]
        gaps[s] = pos[1::2, 0] - pos[0::2, 0]
    assert np.all(gaps[0.5] > 12.0) and np.all(gaps[1.0] > 12.0)
    assert np.all(gaps[0.5] > gaps[1.0] + 0.1)
