"""Cell list: neighbour sets equal brute force, stable counting sort."""

from __future__ import annotations

import numpy as np
import pytest

from invasim.physics.neighbors import CellList, grid_shape, neighbor_pairs


def brute(position: np.ndarray, cutoff: float) -> np.ndarray:
    d2 = ((position[:, None, :] - position[None, :, :]) ** 2).sum(-1)
    i, j = np.nonzero(np.triu(d2 < cutoff * cutoff, 1))
    return np.stack([i, j], 1).astype(np.int64)


def cloud(dim: int, n: int, extent: tuple, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = np.zeros((n, 3))
    p[:, :dim] = rng.uniform(0, 1, (n, dim)) * np.array(extent)
    return p


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("split", [(1, 1, 1), (2, 1, 1), (3, 2, 2)])
def test_random_cloud_equals_brute_force(dim, split):
    extent = (100.0, 80.0, 60.0)[:dim]
    for seed in range(3):
        p = cloud(dim, 700 if dim == 2 else 1500, extent, seed)
        for cutoff in (7.0, 19.9, 35.0, 150.0):  # the last is wider than the box
            got = neighbor_pairs(p, extent, cutoff, split)
            assert np.array_equal(got, brute(p, cutoff)), (seed, cutoff)


@pytest.mark.parametrize("dim", [2, 3])
def test_bin_edges_domain_walls_and_outside(dim):
    extent = (60.0, 45.0, 30.0)[:dim]
    cutoff = 15.0
    nb, w, _ = grid_shape(extent, cutoff, (2, 1, 1))
    # a lattice exactly on bin edges (multiples of the widths, 0 and L included), at spacing
    # equal to the cutoff along x (those pairs are at d == cutoff: not neighbours)
    axes = [np.arange(nb[a] + 1) * w[a] for a in range(dim)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)
    rng = np.random.default_rng(5)
    extra = rng.uniform(-20, 1, (60, dim)) * np.array(extent) / 20  # some outside the box
    near = grid[rng.integers(0, len(grid), 80)] + rng.normal(0, 1e-9, (80, dim))
    pts = np.concatenate([grid, extra, near, np.array([extent]) + 3.0])
    p = np.zeros((len(pts), 3))
    p[:, :dim] = pts
    for c in (cutoff, w[0], w[0] + 1e-12):
        assert np.array_equal(neighbor_pairs(p, extent, c, (2, 1, 1)), brute(p, c))
    # the same points binned with a grid built for a larger cutoff
    assert np.array_equal(neighbor_pairs(p, extent, cutoff, (1, 1, 1)), brute(p, cutoff))


def test_counting_sort_is_stable_and_consistent():
    extent = (50.0, 50.0, 50.0)
    p = cloud(3, 2000, extent, 9)
    p[::7] = p[0]  # many cells in one bin: order within a bin must be the row order
    cl = CellList(extent, 10.0)
    cl.rebuild(p)
    order, bs, cb = cl.order, cl.bin_start, cl.cell_bin
    assert sorted(order) == list(range(len(p)))
    assert bs[0] == 0 and bs[-1] == len(p) and np.all(np.diff(bs) >= 0)
    assert np.array_equal(cb[order], np.sort(cb, kind="stable"))
    assert np.array_equal(order, np.argsort(cb, kind="stable"))
    for b in np.unique(cb):
        assert np.all(cb[order[bs[b] : bs[b + 1]]] == b)
    par = CellList(extent, 10.0)
    par.rebuild(p, parallel=True)
    assert np.array_equal(par.order, order) and np.array_equal(par.bin_start, bs)


def test_grid_shape_and_errors():
    nb, w, inv_w = grid_shape((100.0, 30.0), 21.0, (2, 1, 1))
    assert list(nb) == [9, 1, 1] and np.isclose(w[0], 100 / 9) and inv_w[2] == 0.0
    assert np.all(w[:2] >= np.array([21.0 / 2, 21.0]))
    with pytest.raises(ValueError):
        grid_shape((100.0,), 0.0)
    with pytest.raises(ValueError):
        grid_shape((100.0, -1.0), 5.0)


def test_empty_and_single():
    for n in (0, 1):
        p = np.full((n, 3), 5.0)
        assert neighbor_pairs(p, (10.0, 10.0), 3.0).shape == (0, 2)
