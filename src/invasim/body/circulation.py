"""Circulating tumour cells: survival in the blood and where they arrest (exact and analytic).

Contract:
    * A CTC (or a cluster) dies in the blood at an exponential time ``D`` with the half-life
      ``h`` (rate ``ln 2 / h``; single CTCs 1–2.4 h in patients, Meng et al., Clin Cancer Res
      2004; clusters shorter, Aceto et al., Cell 2014: 6–10 min against 25–30 min for single
      cells in mice). Each pass through a capillary bed takes ``τ`` (``transit_min``; half of
      the ~1 min circulation time). On the ``n``-th bed (``n = 1, 2, ...``), reached at time
      ``n τ``, the CTC is dead if ``D < n τ``; else it arrests there with the bed's
      probability ``p_i`` (clusters: their own ``p``), else it goes on to the next bed drawn
      from the routing matrix ``R`` (:func:`invasim.body.organs.route_matrix`).
    * :func:`sample_fates` draws this exactly, per CTC, by the counter-based generator
      (:mod:`invasim.core.rng`, key ``(seed, 0, ctc id, STREAM_CTC, k)``: ``k = 0`` the death
      time, ``1`` the entry bed, ``2 + 2n`` / ``3 + 2n`` the arrest and routing draws of pass
      ``n``): the bed where it arrested (``-1`` dead, ``-2`` still circulating after
      ``max_passes``) and the time of arrest or death [min].
    * :func:`absorbing_shares` gives the same probabilities analytically: the walk is an
      absorbing Markov chain on the beds with ``Q[i, j] = s (1 − p_i) R[i, j]``, absorption
      in "arrested in ``i``" with ``s p_i`` and in "dead" with ``1 − s``, ``s = 2^(−τ/h)``
      the survival of one pass; the absorption probabilities from the entry vector ``π`` are
      ``π (I − Q)^(-1) diag(s p)`` and the rest dies. (Used in the patient model: by Poisson
      thinning, the CTCs a source sheds at rate ``Λ`` arrest in bed ``k`` as a Poisson
      process of rate ``Λ A_k``, equal in law to sampling each CTC.)
    * :func:`circulating_fraction` is the exact fraction of CTCs still in the blood (neither
      dead nor arrested) after ``n`` passes when every bed has the same ``p``:
      ``2^(−nτ/h) (1 − p)^n``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from invasim.core.rng import uniform

#: counter-based stream of the per-CTC draws (death time, entry, arrest, routing)
STREAM_CTC = 71
#: time of one pass through a capillary bed [min]: half the ~1 min human circulation time
#: (Guyton & Hall, Textbook of Medical Physiology: total circulation time about 1 min)
TRANSIT_MIN = 0.5


def pass_survival(transit_min: float, half_life_min: float) -> float:
    """``s = 2^(−τ/h)`` [1]: probability of surviving one pass (1 for an infinite half-life)."""
    if math.isinf(half_life_min):
        return 1.0
    return math.exp(-math.log(2.0) * transit_min / half_life_min)


def absorbing_shares(entry: np.ndarray, route: np.ndarray, arrest_prob: np.ndarray,
                     transit_min: float,
                     half_life_min: float) -> tuple[np.ndarray, float]:  # fmt: skip
    """Probabilities that a CTC entering by ``entry`` arrests in each bed, and that it dies.

    Args:
        entry: [n] first-bed distribution (sums to 1).
        route: [n, n] routing matrix ``R`` (rows sum to 1).
        arrest_prob: [n] per-pass arrest probabilities ``p``.
        transit_min: ``τ`` [min]. half_life_min: ``h`` [min] (``inf``: no death).

    Returns:
        (``A`` [n], dead): ``A_k`` the arrest share of bed ``k``; ``dead = 1 − Σ A``.

    Raises:
        ValueError: the chain never absorbs (no death and no arrest reachable).
    """
    s = pass_survival(transit_min, half_life_min)
    p = np.asarray(arrest_prob, dtype=np.float64)
    q = (s * (1.0 - p))[:, None] * route
    mat = np.eye(len(p)) - q
    if np.linalg.cond(mat) > 1e12:
        raise ValueError("the CTC walk never ends: no death (infinite half-life) and no bed "
                         "with arrest_prob > 0 reachable")  # fmt: skip
    visits = np.linalg.solve(mat.T, np.asarray(entry, dtype=np.float64))  # π (I − Q)^(-1)
    arrest = visits * s * p
    return arrest, float(max(0.0, 1.0 - arrest.sum()))


def circulating_fraction(n_passes, arrest_prob: float, transit_min: float,
                         half_life_min: float):  # fmt: skip
    """``2^(−nτ/h) (1 − p)^n``: still in the blood after ``n`` passes (uniform ``p``)."""
    n = np.asarray(n_passes, dtype=np.float64)
    return pass_survival(transit_min, half_life_min) ** n * (1.0 - arrest_prob) ** n


@njit(cache=True)
def _pick(cdf, u):  # pragma: no cover - compiled
    """The first index with ``cdf[i] > u`` (the last when rounding leaves none)."""
    for i in range(cdf.shape[0]):
        if u < cdf[i]:
            return i
    return cdf.shape[0] - 1


@njit(cache=True)
def _sample(seed, ids, entry_cdf, route_cdf, arrest_prob, transit_min, death_rate,
            max_passes, organ, when):  # pragma: no cover - compiled  # fmt: skip
    for c in range(ids.shape[0]):
        cid = ids[c]
        death = math.inf
        if death_rate > 0.0:
            death = -math.log(uniform(seed, 0, cid, STREAM_CTC, 0)) / death_rate
        bed = _pick(entry_cdf, uniform(seed, 0, cid, STREAM_CTC, 1))
        organ[c] = -2
        when[c] = max_passes * transit_min
        for n in range(max_passes):
            t = (n + 1) * transit_min
            if death < t:
                organ[c] = -1
                when[c] = death
                break
            if uniform(seed, 0, cid, STREAM_CTC, 2 + 2 * n) < arrest_prob[bed]:
                organ[c] = bed
                when[c] = t
                break
            bed = _pick(route_cdf[bed], uniform(seed, 0, cid, STREAM_CTC, 3 + 2 * n))


def sample_fates(seed: int, ids, entry: np.ndarray, route: np.ndarray, arrest_prob: np.ndarray,
                 transit_min: float = TRANSIT_MIN, half_life_min: float = 90.0,
                 max_passes: int = 100_000) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Draw each CTC's fate exactly (see the module docstring).

    Args:
        seed: run seed. ids: [m] CTC (or cluster) ids, the counter of their draws.
        entry, route, arrest_prob, transit_min, half_life_min: as :func:`absorbing_shares`.
        max_passes: passes after which a CTC still circulating is reported as ``-2``.

    Returns:
        (organ [m] int64: bed index, -1 dead, -2 still circulating; time [m] float64, min:
        of arrest or death, ``max_passes τ`` for those still circulating).
    """
    ids = np.ascontiguousarray(np.asarray(ids, dtype=np.int64))
    organ = np.empty(ids.shape[0], dtype=np.int64)
    when = np.empty(ids.shape[0])
    rate = 0.0 if math.isinf(half_life_min) else math.log(2.0) / half_life_min
    _sample(np.int64(seed), ids, np.cumsum(entry), np.ascontiguousarray(np.cumsum(route, axis=1)),
            np.asarray(arrest_prob, dtype=np.float64), float(transit_min), rate,
            int(max_passes), organ, when)  # fmt: skip
    return organ, when
