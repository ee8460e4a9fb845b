"""The exact kernels of analysis.pathology give what the SciPy / k-d tree calls they replace give.

The pathology readouts must not change by a bit when they are computed faster, so each kernel
is compared for equality (not closeness) with the library call it stands in for, on random
inputs of the kinds the readouts meet: rasters of blobs, holes and thin lines, 2-D and 3-D,
and cell sets with coincident centres, zero radii and dense clumps.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from invasim.analysis import pathology as pa


def random_masks(rng, n, dim):
    """Random boolean rasters: noise, dilated specks (blobs with holes), thin lines."""
    for t in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 40 if dim == 3 else 160, dim))
        kind = t % 4
        if kind == 0:
            m = rng.random(shape) < rng.uniform(0.3, 0.999)
        elif kind == 1:
            seeds = rng.random(shape) < 0.02
            m = ndimage.binary_dilation(seeds, iterations=int(rng.integers(1, 6)))
        elif kind == 2:  # a ring / shell: a hole
            c = np.indices(shape).reshape(dim, -1).T - np.array(shape) / 2
            r = np.sqrt((c**2).sum(axis=1)).reshape(shape)
            m = (r < max(shape) / 3) & (r > max(shape) / 6)
        else:  # lines along each axis
            m = np.zeros(shape, bool)
            for a in range(dim):
                idx = [slice(None)] * dim
                idx[a] = int(rng.integers(0, shape[a]))
                m[tuple(idx)] = True
            m = ~m if t % 8 == 3 else m
        yield m


@pytest.mark.parametrize("dim", [2, 3])
def test_distance_to_outside_is_scipys_edt_bit_for_bit(dim):
    rng = np.random.default_rng(11 + dim)
    for m in random_masks(rng, 120, dim):
        ref = ndimage.distance_transform_edt(m)
        got = pa.distance_to_outside(m)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        assert got.tobytes() == ref.tobytes(), m.shape
    # no pixel outside: SciPy's own answer
    full = np.ones((5, 7), bool)
    assert pa.distance_to_outside(full).tobytes() == ndimage.distance_transform_edt(full).tobytes()


@pytest.mark.parametrize("dim", [2, 3])
def test_fill_holes_is_scipys(dim):
    rng = np.random.default_rng(5 + dim)
    for m in random_masks(rng, 120, dim):
        ref = ndimage.binary_fill_holes(m)
        got = pa.fill_holes(m.astype(np.uint8))
        assert got.dtype == ref.dtype and (got == ref).all(), m.shape


def test_label_max_is_ndimage_maximum():
    rng = np.random.default_rng(2)
    for m in random_masks(rng, 40, 2):
        lab, k = ndimage.label(m, structure=np.ones((3, 3)))
        if k == 0:
            continue
        v = rng.random(m.shape) * 100
        ref = np.asarray(ndimage.maximum(v, lab, np.arange(1, k + 1)))
        assert pa.label_max(v.ravel(), lab.ravel(), k).tobytes() == ref.tobytes()


def reference_pairs(pos, radius, link_factor=pa.LINK_FACTOR):
    """The k-d tree's pairs, kept by the link test (the code the grid replaced)."""
    pairs = cKDTree(pos).query_pairs(2.0 * link_factor * radius.max(), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    d2 = ((pos[i] - pos[j]) ** 2).sum(axis=1)
    keep = d2 < (link_factor * (radius[i] + radius[j])) ** 2
    return set(zip(i[keep].tolist(), j[keep].tolist(), strict=True))


def test_linked_pairs_are_the_k_d_trees():
    rng = np.random.default_rng(7)
    for t in range(150):
        dim, n = int(rng.integers(1, 4)), int(rng.integers(1, 1500))
        pos = rng.uniform(0.0, rng.uniform(5.0, 3000.0), (n, dim))
        pos[: n // 3] = np.round(pos[: n // 3] / 7.0) * 7.0  # coincident centres
        radius = rng.uniform(0.0, 12.0, n) if t % 2 else np.full(n, 8.41)
        if t % 10 == 0:
            radius[:] = 0.0
        i, j = pa.linked_pairs(pos, radius)
        got = set(zip(i.tolist(), j.tolist(), strict=True))
        assert len(got) == len(i) and (i < j).all()
        assert got == reference_pairs(pos, radius), t
    # a dense clump: more than 4 links per cell (the kernel is called again with room)
    pos = rng.uniform(0.0, 30.0, (400, 2))
    i, _ = pa.linked_pairs(pos, np.full(400, 8.41))
    assert len(i) > 4 * 400 + 16
    assert set(zip(*pa.linked_pairs(pos, np.full(400, 8.41)), strict=True)) == reference_pairs(
        pos, np.full(400, 8.41))
    # what the grid does not take (a negative radius, a NaN centre) goes to the k-d tree
    radius = np.r_[-1.0, np.full(9, 8.0)]
    pos = rng.uniform(0.0, 40.0, (10, 2))
    assert set(zip(*pa.linked_pairs(pos, radius), strict=True)) == reference_pairs(pos, radius)


def test_components_number_as_scipys():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 500))
        e = int(rng.integers(0, 2 * n))
        i, j = rng.integers(0, n, e), rng.integers(0, n, e)
        keep = i < j
        i, j = i[keep], j[keep]
        graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n)).tocsr()
        k_ref, ref = connected_components(graph, directed=False)
        k, got = pa.components(n, i.astype(np.int64), j.astype(np.int64))
        assert k == k_ref and (got == ref).all()


def test_count_distinct_is_unique():
    rng = np.random.default_rng(4)
    for _ in range(20):
        size = int(rng.integers(1, 10_000))
        key = rng.integers(0, size, int(rng.integers(0, 5000)))
        assert pa.count_distinct(key, size) == len(np.unique(key))


@pytest.mark.parametrize("dim", [2, 3])
def test_distance_on_the_bounding_box_is_the_whole_arrays(dim):
    """Protrusions search from the residue's pixels only: the same distances there."""
    rng = np.random.default_rng(21 + dim)
    for m in random_masks(rng, 80, dim):
        sel = m & (rng.random(m.shape) < 0.05)
        if not sel.any():
            continue
        window = np.zeros(m.shape, bool)  # the pixels of interest in a small region
        corner = [int(rng.integers(0, s)) for s in m.shape]
        window[tuple(slice(c, c + 8) for c in corner)] = True
        at = np.nonzero(sel & window if (sel & window).any() else sel)
        ref = ndimage.distance_transform_edt(m)[at]
        assert pa.distance_at(m, at).tobytes() == ref.tobytes(), m.shape
        # every pixel at once: the search gives up (budget) and transforms the whole array
        every = np.nonzero(np.ones(m.shape, bool))
        ref_all = ndimage.distance_transform_edt(m)[every] if not m.all() else None
        if ref_all is not None:
            assert pa.distance_at(m, every).tobytes() == ref_all.tobytes(), m.shape
