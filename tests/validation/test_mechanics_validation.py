"""Mechanics against what the potentials predict: equilibria, relaxation, walls, determinism.

The validations are the verify cases of :mod:`invasim.verify.cases.mechanics` (``invasim
verify -k mechanics``), which give the tolerances; the determinism checks (threads, resume)
are here only.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from invasim.core.cells import Cells
from invasim.physics.mechanics import Mechanics
from invasim.verify.cases import mechanics as mech
from invasim.verify.cases.mechanics import PHYSICELL, compressed_cluster


@pytest.mark.parametrize(
    "case",
    [mech.pair_equilibrium, mech.per_cell_strengths, mech.cluster_relaxes, mech.walls,
     mech.stable_dt, mech.per_cell_reach, mech.per_cell_affinity, mech.wall_forces],
    ids=lambda c: c.name,
)  # fmt: skip
def test_mechanics_validation(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
@pytest.mark.parametrize("dim", [2, 3])
def test_identical_on_one_and_two_threads(dim):
    results = []
    old = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            c, extent = compressed_cluster(dim, n_side=12 if dim == 2 else 6)
            m = Mechanics(PHYSICELL, extent, parallel=True)
            for step in range(60):
                if step % 20 == 0:
                    m.sort(c)
                m.step(c, 0.1)
            results.append(c.to_dict())
    finally:
        numba.set_num_threads(old)
    for k in ("id", "position", "velocity", "velocity_prev"):
        assert np.array_equal(results[0][k], results[1][k]), k


def test_resumed_run_equals_uninterrupted():
    c, extent = compressed_cluster(3, n_side=5)
    m = Mechanics(PHYSICELL, extent)
    for _ in range(30):
        m.step(c, 0.1)
    saved = c.to_dict()
    for _ in range(30):
        m.step(c, 0.1)
    resumed = Cells.from_dict(saved)
    m2 = Mechanics(PHYSICELL, extent)
    for _ in range(30):
        m2.step(resumed, 0.1)
    for k in ("position", "velocity", "velocity_prev"):
        assert np.array_equal(getattr(c, k), getattr(resumed, k)), k
