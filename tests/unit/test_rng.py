"""Counter-based random numbers: determinism, uniformity, normality, independence."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy import stats

from invasim.core import rng

N = 100_000


def test_scalar_and_vector_agree_and_are_deterministic():
    ids = np.arange(-5, 50)
    u = rng.uniforms(42, 7, ids, 3, k=2)
    z = rng.normals(42, 7, ids, 3, k=2)
    assert np.array_equal(u, rng.uniforms(42, 7, ids, 3, k=2))
    for i, cid in enumerate(ids):
        assert u[i] == rng.uniform(42, 7, int(cid), 3, 2)
        assert z[i] == rng.normal(42, 7, int(cid), 3, 2)


def test_every_key_word_matters():
    base = (1, 2, 3, 4, 5)
    ref = rng.uniform(*base)
    for pos in range(5):
        key = list(base)
        key[pos] += 1
        assert rng.uniform(*key) != ref
    # permuted words give a different number too
    assert rng.uniform(2, 1, 3, 4, 5) != ref


def test_broadcast_k_and_shape():
    out = rng.uniforms(0, 0, np.arange(6).reshape(2, 3), 1, k=np.arange(3))
    assert out.shape == (2, 3)
    assert out[1, 2] == rng.uniform(0, 0, 5, 1, 2)


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**40 + 7])
def test_uniform_ks_over_ids_k_and_steps(seed):
    ids = np.arange(N)
    assert stats.kstest(rng.uniforms(seed, 0, ids, 0), "uniform").pvalue > 1e-3
    assert stats.kstest(rng.uniforms(seed, 0, 17, 0, k=ids), "uniform").pvalue > 1e-3
    steps = np.array([rng.uniform(seed, s, 17, 0, 0) for s in range(5000)])
    assert stats.kstest(steps, "uniform").pvalue > 1e-3
    u = rng.uniforms(seed, 0, ids, 0)
    assert 0.0 < u.min() and u.max() < 1.0


@pytest.mark.parametrize("seed", [3, 99])
def test_normal_moments_and_ks(seed):
    z = rng.normals(seed, 5, np.arange(N), 2)
    # 4-sigma margins: mean ~ N(0, 1/N), variance ~ N(1, 2/N)
    assert abs(z.mean()) < 4 / np.sqrt(N)
    assert abs(z.var() - 1.0) < 4 * np.sqrt(2 / N)
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_streams_steps_and_kinds_are_uncorrelated():
    ids = np.arange(N)
    lim = 4 / np.sqrt(N)  # 4 sigma of a correlation estimate between independent samples
    a = rng.uniforms(7, 0, ids, 0)
    pairs = [
        (a, rng.uniforms(7, 0, ids, 1)),  # next stream
        (a, rng.uniforms(7, 1, ids, 0)),  # next step
        (a, rng.uniforms(7, 0, ids + 1, 0)),  # neighbouring ids
        (a, rng.uniforms(8, 0, ids, 0)),  # next seed
        (a, rng.normals(7, 0, ids, 0)),  # same key, the other distribution
    ]
    for x, y in pairs:
        assert abs(np.corrcoef(x, y)[0, 1]) < lim


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_same_numbers_on_one_and_two_threads():
    ids = np.arange(N)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = rng.normals(11, 3, ids, 4)
        numba.set_num_threads(2)
        two = rng.normals(11, 3, ids, 4)
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(one, two)
