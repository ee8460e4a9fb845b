"""Spring attachments (PhysiCell's dynamic springs): the rules around the springs.

The rates and the spring are the verify cases of :mod:`invasim.verify.cases.attachments`
(``invasim verify -k attachments``), which give the setup and the binomial margins; the
per-cell mechanics behaviours are cases of :mod:`invasim.verify.cases.mechanics`. The rules
below (maximum per cell, release at division and removal, attack springs, resume) are checked
here only, on the same isolated pairs (:mod:`invasim.verify.pairs`).
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import run_and_resume

import invasim
from invasim.core.cells import Cells
from invasim.processes import attachments as att
from invasim.verify.cases import attachments as springs
from invasim.verify.cases.attachments import FREE
from invasim.verify.cases.attachments import types as _types
from invasim.verify.pairs import advance as _run
from invasim.verify.pairs import pairs as _pairs
from invasim.verify.pairs import sim as _sim


@pytest.mark.parametrize(
    "case",
    [springs.attach_rate, springs.attach_affinity, springs.detach_rate, springs.spring],
    ids=lambda c: c.name,
)
def test_attachment_rates_and_spring(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)


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

