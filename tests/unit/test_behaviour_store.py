"""The behaviour matrix's reused store: appending and removing cells keep the values exact.

The expected matrices are built independently with NumPy (concatenate, boolean indexing),
the operations the store replaced.
"""

from __future__ import annotations

import numpy as np
import pytest

from invasim.agents.behaviours import Behaviours


def _matrix(n_cols: int = 5) -> Behaviours:
    names = [f"b{k}" for k in range(n_cols)]
    return Behaviours(names=names, units=["1"] * n_cols, base=np.zeros((1, n_cols)),
                      phase=["motion", "life"] * (n_cols // 2) + ["motion"] * (n_cols % 2),
                      varies=np.zeros(n_cols, dtype=bool))  # fmt: skip


def test_append_and_keep_match_numpy_through_growth():
    rng = np.random.default_rng(3)
    b = _matrix()
    b.resize(7)
    b.values[:] = rng.random(b.values.shape)
    expected = b.values.copy()
    for step in range(40):  # several regrowths of the store (by a quarter + 1024)
        new = rng.random((5, int(rng.integers(1, 300))))
        b.append(new)
        expected = np.concatenate([expected, new], axis=1)
        if step % 3 == 0:
            mask = rng.random(expected.shape[1]) < 0.8
            b.keep(mask)
            expected = expected[:, mask]
        assert b.values.shape == expected.shape
        np.testing.assert_array_equal(b.values, expected)
    for k, name in enumerate(b.names):  # each column stays a contiguous row
        col = b.column(name)
        assert col.flags.c_contiguous
        np.testing.assert_array_equal(col, expected[k])


def test_column_writes_reach_the_store_and_survive_an_append():
    b = _matrix(3)
    b.resize(4)
    b.column("b1")[:] = [1.0, 2.0, 3.0, 4.0]
    b.append(np.full((3, 2), 9.0))
    np.testing.assert_array_equal(b.column("b1"), [1.0, 2.0, 3.0, 4.0, 9.0, 9.0])


def test_a_values_matrix_set_directly_is_adopted():
    b = _matrix(2)
    b.values = np.arange(6.0).reshape(2, 3)
    b.append(np.array([[10.0], [20.0]]))
    np.testing.assert_array_equal(b.values, [[0.0, 1.0, 2.0, 10.0], [3.0, 4.0, 5.0, 20.0]])
    b.keep(np.array([True, False, True, True]))
    np.testing.assert_array_equal(b.values, [[0.0, 2.0, 10.0], [3.0, 5.0, 20.0]])


@pytest.mark.parametrize("zero", [None, [1]])
def test_resize_zeroes_the_columns_asked(zero):
    b = _matrix(3)
    b.resize(4)
    b.values[:] = 5.0
    b.resize(6, zero=zero)
    assert b.values.shape == (3, 6)
    for k in range(3):
        if zero is None or k in zero:
            assert not b.values[k].any()
