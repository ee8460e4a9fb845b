"""Counter-based random numbers: a pure function of (seed, step, cell id, stream, k).

Contract:
    * There is no generator state. Each number is a hash of its key
      ``(seed, step, cid, stream, k)``: the simulation step (or any clock counter), the cell's
      id (never its array index, which changes when cells are removed or sorted), a stream
      number naming the purpose (one per process: cycle, death, motility, ...) and ``k``, the
      draw's number within that purpose. Results are therefore identical on 1 or N threads, in
      any loop order, and a run resumed from a checkpoint draws the same numbers as an
      uninterrupted one.
    * The hash chains the SplitMix64 finaliser (Steele, Lea & Flood, OOPSLA 2014; the mixer of
      ``java.util.SplittableRandom``) over the five key words, each word first offset by a
      distinct odd constant, so keys that differ in any one word give unrelated outputs.
      Every key word is taken modulo 2**64 (negative ids are allowed).
    * :func:`uniform` lies in the open interval (0, 1) (53-bit grid ``(i + 0.5) 2**-53``);
      :func:`normal` is Box–Muller (cosine branch) of two uniforms hashed from the same key with
      a different salt, so ``normal(key)`` is independent of ``uniform(key)``.
    * :func:`uniform` and :func:`normal` are ``njit`` scalar functions to call inside other
      kernels; :func:`uniforms` and :func:`normals` are their vectorised forms over arrays of
      cell ids (and optionally of ``k``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_JIT = {"cache": True, "fastmath": False}

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
# distinct odd offsets per key word (digits of pi, e, sqrt 2, sqrt 3, ln 2), so that a
# permutation of the key words does not give the same hash
_C = (
    np.uint64(0x243F6A8885A308D3),
    np.uint64(0xB7E151628AED2A6B),
    np.uint64(0x6A09E667F3BCC909),
    np.uint64(0xBB67AE8584CAA73B),
    np.uint64(0xB17217F7D1CF79AB),
)
_SALT_NORMAL_1 = np.uint64(0x3C6EF372FE94F82B)
_SALT_NORMAL_2 = np.uint64(0xA54FF53A5F1D36F1)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always", **_JIT)
def _mix(z):
    """SplitMix64 finaliser: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always", **_JIT)
def hash_key(seed, step, cid, stream, k):
    """64-bit hash (uint64) of the key ``(seed, step, cid, stream, k)`` (integers)."""
    h = _mix(np.uint64(seed) + _C[0])
    h = _mix((h ^ (np.uint64(step) + _C[1])) + _GOLDEN)
    h = _mix((h ^ (np.uint64(cid) + _C[2])) + _GOLDEN)
    h = _mix((h ^ (np.uint64(stream) + _C[3])) + _GOLDEN)
    return _mix((h ^ (np.uint64(k) + _C[4])) + _GOLDEN)


@njit(inline="always", **_JIT)
def _to_unit(h):
    """The top 53 bits of ``h`` as a double in the open interval (0, 1)."""
    return (float(h >> _S11) + 0.5) * _INV53


@njit(**_JIT)
def uniform(seed, step, cid, stream, k):
    """Uniform double in (0, 1), a pure function of the integer key."""
    return _to_unit(hash_key(seed, step, cid, stream, k))


@njit(**_JIT)
def normal(seed, step, cid, stream, k):
    """Standard normal double (Box–Muller), a pure function of the integer key."""
    h = hash_key(seed, step, cid, stream, k)
    u1 = _to_unit(_mix(h ^ _SALT_NORMAL_1))
    u2 = _to_unit(_mix(h ^ _SALT_NORMAL_2))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(parallel=True, **_JIT)
def _fill(out, seed, step, cid, stream, k, gaussian):
    for i in prange(out.shape[0]):
        if gaussian:
            out[i] = normal(seed, step, cid[i], stream, k[i])
        else:
            out[i] = uniform(seed, step, cid[i], stream, k[i])


def _draw(seed: int, step: int, cid, stream: int, k, gaussian: bool) -> np.ndarray:
    cid_a, k_a = np.broadcast_arrays(np.asarray(cid, dtype=np.int64), np.asarray(k, np.int64))
    shape = cid_a.shape
    out = np.empty(cid_a.size)
    _fill(
        out,
        np.int64(seed),
        np.int64(step),
        np.ascontiguousarray(cid_a).ravel(),
        np.int64(stream),
        np.ascontiguousarray(k_a).ravel(),
        gaussian,
    )
    return out.reshape(shape)


def uniforms(seed: int, step: int, cid, stream: int, k=0) -> np.ndarray:
    """Vectorised :func:`uniform`: one draw per element of ``cid`` broadcast with ``k``.

    Args:
        seed: run seed.
        step: step counter of the drawing process.
        cid: cell ids, integer array (any shape) or scalar.
        stream: purpose of the draws.
        k: draw number(s) within the purpose, broadcast against ``cid``.

    Returns:
        float64 array of the broadcast shape, values in (0, 1).
    """
    return _draw(seed, step, cid, stream, k, False)


def normals(seed: int, step: int, cid, stream: int, k=0) -> np.ndarray:
    """Vectorised :func:`normal`; arguments as in :func:`uniforms`."""
    return _draw(seed, step, cid, stream, k, True)
