"""PhysiCell-compatible numerics: BioFVM's Dirichlet voxels and PhysiCell's order of a step.

``dirichlet-voxels`` walls are checked against an independent implementation of BioFVM's 2-D
LOD step (``diffusion_decay_solver__constant_coefficients_LOD_2D``: a backward-Euler line solve
with closed ends per axis, the decay split ``λ dt / 2`` per sweep, the Dirichlet voxels reset
after each sweep), written here with ``scipy.linalg.solve_banded``. invasim applies the decay
as the exact factor ``exp(−λ dt)`` once per step instead: with the decay placed alike the two
agree to round-off; as BioFVM places it they differ by at most ``λ dt`` times the field's
range per step.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_banded

import invasim
from invasim.core.mesh import Mesh
from invasim.physics.diffusion import Boundary, Diffusion


def _biofvm_step(u, D, decay, dt, h, value, split_decay=True):
    """BioFVM's step; ``split_decay=False``: the decay as invasim applies it (a factor)."""
    n = u.shape[0]
    r = D * dt / h**2
    half = decay * dt / 2 if split_decay else 0.0
    ab = np.zeros((3, n))
    ab[0, 1:] = -r
    ab[2, :-1] = -r
    ab[1, :] = 1 + 2 * r + half
    ab[1, 0] = ab[1, -1] = 1 + r + half

    def hold(w):
        w[:, 0] = w[:, -1] = w[0, :] = w[-1, :] = value
        return w

    if not split_decay:
        u = u * np.exp(-decay * dt)
    w = hold(solve_banded((1, 1), ab, u.T).T)
    return hold(solve_banded((1, 1), ab, w))


def test_dirichlet_voxels_are_biofvms_lod_step():
    rng = np.random.default_rng(4)
    mesh = Mesh.from_extent((600.0, 600.0), 20.0)
    u0 = 20.0 + 10.0 * rng.random((30, 30))
    D, decay, dt, steps = 1e5, 0.1, 0.01, 20  # r = 2.5: PhysiCell's oxygen at its own step
    ours = u0.reshape(1, 30, 30).copy()
    solver = Diffusion(mesh, D, decay, dt, Boundary("dirichlet-voxels", 20.0), "lod-be")
    same, ref = u0.copy(), u0.copy()
    for _ in range(steps):
        solver.step(ours)
        same = _biofvm_step(same, D, decay, dt, 20.0, 20.0, split_decay=False)
        ref = _biofvm_step(ref, D, decay, dt, 20.0, 20.0)
    assert np.all(ours[0, 0, :] == 20.0) and np.all(ours[0, :, -1] == 20.0)
    # the walls and sweeps are BioFVM's: with the decay placed alike, equal to round-off
    assert np.abs(ours[0] - same).max() < 1e-10
    # BioFVM puts λ dt / 2 in each sweep's diagonal instead: per step the two placements
    # differ by at most λ dt times the field's range (10 here)
    assert np.abs(ours[0] - ref).max() < steps * decay * dt * 10.0
    # and walls held at the value (invasim's default) differ from BioFVM by more than that
    walls = u0.reshape(1, 30, 30).copy()
    held = Diffusion(mesh, D, decay, dt, Boundary("dirichlet", 20.0), "lod-be")
    for _ in range(steps):
        held.step(walls)
    assert np.abs(walls[0] - ref).max() > steps * decay * dt * 10.0


def test_secretion_after_diffusion_is_physicells_order():
    data = {
        "name": "order", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [200.0, 200.0], "voxel_um": 20.0},
        "time": {"end_min": 6.0, "dt_min": 6.0, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 6.0},
        "params": {"processes": ["secretion", "diffusion"],
                   "secretion": {"after_diffusion": True}, "dt_diffusion_min": 0.001,
                   "initial": {"geometry": "ball", "n_cells": 1}},
    }  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    assert [q.name for q in sim.model.diffusion_clock] == ["diffusion", "secretion"]
    data["params"]["secretion"]["after_diffusion"] = False
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    assert [q.name for q in sim.model.diffusion_clock] == ["secretion", "diffusion"]
