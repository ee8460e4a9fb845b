"""Division into free space (Anderson 2005/2006's lattice rule), opt-in per cell type."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import invasim
import invasim.processes.division  # noqa: F401  (registers the process)
from invasim.biology.division import DIVISION_SEPARATION, divide
from invasim.core.cells import Cells
from invasim.errors import ConfigError
from invasim.physics.free_space import free_space_directions

R = 8.41271055  # radius of a 2494 µm³ cell, µm
EXTENT = (200.0, 200.0)


def _ring(gap: int | None = None, spacing: float = 16.0) -> Cells:
    """A cell at (100, 100) and a hexagonal ring of six at ``spacing``, one left out (``gap``)."""
    c = Cells(2)
    ang = np.arange(6) * np.pi / 3
    keep = [k for k in range(6) if k != gap]
    pos = np.zeros((1 + len(keep), 3))
    pos[:, :2] = 100.0
    pos[1:, 0] += spacing * np.cos(ang[keep])
    pos[1:, 1] += spacing * np.sin(ang[keep])
    c.add(pos.shape[0], position=pos)
    return c


def _free(c, rows, tries=64, clearance=0.9, dead=False, seed=1, step=3):
    return free_space_directions(c, np.asarray(rows), seed, step, EXTENT, np.array([tries]),
                                 np.array([clearance]), np.array([dead]),
                                 DIVISION_SEPARATION)  # fmt: skip


def test_a_fully_surrounded_cell_finds_no_free_direction():
    found, d = _free(_ring(), [0])
    assert not found[0] and np.all(d == 0.0)


def test_a_cell_with_one_free_side_divides_into_it_and_stays_put():
    c = _ring(gap=0)  # the neighbour at +x is missing
    found, d = _free(c, [0])
    assert found[0]
    # the daughter's centre 1.5 r along d; a neighbour 60° away at 16 µm leaves a window of
    # about ±30° around +x (0.9 (r_d + r) = 13.6 µm clearance)
    assert abs(np.degrees(np.arctan2(d[0, 1], d[0, 0]))) < 35.0
    x0 = c.position[0].copy()
    born = divide(c, np.array([0]), 1, 3, placed=found, directions=d)
    np.testing.assert_array_equal(c.position[0], x0)  # daughter A: the mother's site
    b = c.position[born.start]
    np.testing.assert_allclose(b, x0 + DIVISION_SEPARATION * R * d[0], rtol=1e-7)
    others = c.position[1 : born.start]
    r_d = R * 2 ** (-1 / 3)
    assert np.linalg.norm(others - b, axis=1).min() >= 0.9 * (r_d + R)


def test_dead_cells_block_only_when_asked():
    c = _ring()
    c.dead[1:] = 1
    assert _free(c, [0])[0][0]
    assert not _free(c, [0], dead=True)[0][0]


def test_two_mothers_do_not_fill_the_same_hole():
    # two cells 30 µm apart with a single free site between them (on the line) and nothing
    # else: whoever goes first (lower id) may take it, the other must avoid her daughter
    c = Cells(2)
    pos = np.array([[85.0, 100.0, 0.0], [115.0, 100.0, 0.0]])
    c.add(2, position=pos)
    found, d = _free(c, [0, 1], tries=64)
    assert found.all()
    b = pos[:, :2] + DIVISION_SEPARATION * R * d[:, :2]
    r_d = R * 2 ** (-1 / 3)
    assert np.linalg.norm(b[0] - b[1]) >= 0.9 * 2 * r_d
    # the result depends on the ids, not on the rows' order
    c.permute(np.array([1, 0]))
    f2, d2 = _free(c, [1, 0], tries=64)
    np.testing.assert_array_equal(d2, d)
    f3, d3 = _free(c, [0, 1], tries=64)
    np.testing.assert_array_equal(d3[::-1], d)


def test_the_domain_walls_are_not_free():
    c = Cells(2)
    c.add(1, position=np.array([[0.5, 0.5, 0.0]]))
    found, d = _free(c, [0], tries=64)
    assert found[0] and d[0, 0] > 0.0 and d[0, 1] > 0.0  # only the quadrant inside


# -- in the engine -----------------------------------------------------------------------------
def _scenario(free_space=None, end=240.0, processes=("cycle", "division")):
    div = {} if free_space is None else {"free_space": free_space}
    return {
        "name": "free-space-check",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 40.0},
        "time": {"end_min": end, "dt_min": 6.0, "output_interval_min": end,
                 "checkpoint_interval_min": end},
        "params": {
            "processes": list(processes),
            "fields": {},
            "cell_types": {"tumor": {
                "cycle": {"model": "flow_cytometry_separated", "oxygen_dependent": False,
                          "durations_min": [30.0, 30.0, 30.0, 12.0]},
                "division": div}},
            "initial": {"geometry": "ball", "n_cells": 37, "spacing_um": 16.0},
        },
    }  # fmt: skip


def _sim(data, seed=2):
    return invasim.Simulation(invasim.load_scenario(data), seed=seed)


def _steps(sim, n):
    for _ in range(n):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


def test_in_a_packed_ball_only_the_rim_divides_and_the_held_wait_in_m_phase():
    sim = _sim(_scenario({"tries": 8, "clearance": 0.9}))
    c = sim.model.cells
    centre = c.position[:, :2].mean(axis=0)
    inner_ids = c.id[np.linalg.norm(c.position[:, :2] - centre, axis=1) < 40.0]  # 3 rings in
    assert inner_ids.size == 19
    _steps(sim, 40)
    c = sim.model.cells
    assert c.n > 60  # the rim divided
    inner = np.isin(c.id, inner_ids)
    assert inner.sum() == 19  # no inner cell divided (a division gives both daughters new ids)
    # they went round their cycle and are held in M (phase 3) or back in it
    assert (c.phase[inner] == 3).sum() >= 15
    # without mechanics the placed daughters keep their clearance from every other cell
    x = c.position[:, :2]
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(d, np.inf)
    pairs = c.radius[:, None] + c.radius[None]
    assert (d / pairs).min() >= 0.9 * 2 ** (-1 / 3) - 1e-9  # daughters A and B: 1.5 r apart


def test_off_by_default_is_bit_for_bit_the_old_division():
    assert _sim(_scenario()).model.params.cell_types["tumor"].division.free_space is None
    # divide() with no mother placed is the old symmetric division, bit for bit (the golden
    # regression tests check whole scenarios)
    a, b = _ring(), _ring()
    divide(a, np.arange(7), 4, 9)
    divide(b, np.arange(7), 4, 9, placed=np.zeros(7, bool), directions=np.ones((7, 3)))
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    sim = _sim(_scenario())  # and the inner cells divide when pushing is allowed
    ids0 = sim.model.cells.id.copy()
    _steps(sim, 40)
    assert np.isin(ids0, sim.model.cells.id).sum() < 5


@pytest.mark.parametrize("bad, needle", [
    ({"tries": 0}, "tries"), ({"clearance": 1.5}, "clearance"), ({"tris": 3}, "tris"),
])  # fmt: skip
def test_bad_free_space_keys_are_config_errors(bad, needle):
    with pytest.raises(ConfigError, match=needle):
        invasim.load_scenario(_scenario(bad))


SCRIPT = """
import invasim, numpy as np, sys
sys.path.insert(0, {here!r})
from test_division_free_space import _scenario, _sim, _steps
sim = _sim(_scenario({{"tries": 8, "clearance": 0.9}}, processes=("cycle", "division",
                     "mechanics", "contacts")))
_steps(sim, 30)
c = sim.model.cells
np.save({out!r}, np.concatenate([c.position[:, :2].ravel(), c.id.astype(float)]))
"""


def test_reproducible_across_thread_counts(tmp_path):
    here = os.path.dirname(__file__)
    res = []
    for threads in (1, 2):
        out = str(tmp_path / f"t{threads}.npy")
        env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
        subprocess.run([sys.executable, "-c", SCRIPT.format(here=here, out=out)], env=env,
                       check=True, timeout=300)  # fmt: skip
        res.append(np.load(out))
    assert res[0].size > 3 * 37
    assert res[0].tobytes() == res[1].tobytes()
