"""Metastatic colonies of the body model: a hybrid stochastic / deterministic Gompertz growth.

Contract:
    * A colony in organ ``k`` grows by Gompertz' law ``dx/dt = a_k x ln(b/x)`` with
      ``a_k = a · soil_factor_k`` (Iwata et al. 2000, the seed-soil factor of the organ
      table scales the rate) and seeds CTCs at ``m x^α`` per day (as Iwata's colonies seed
      colonies; here CTCs, which then circulate, arrest and colonise).
    * HYBRID integrator with a switch size ``x_s`` (cells):

      - below ``x_s`` a colony is an exact (Gillespie) birth–death process whose net per-cell
        rate is the Gompertz rate: each cell divides at ``λ(x) = max(λ0, r(x))`` and dies at
        ``μ(x) = λ(x) − r(x)``, ``r(x) = a_k ln(b/x)`` per day (``λ0`` the division rate,
        :attr:`~invasim.body.patient.BodyParams.division_rate_per_day`); so the expected
        drift is the Gompertz flow and small colonies go extinct with probability ≈ ``μ/λ``
        per founding cell (a linear birth–death process; Kendall 1948). Its CTC seeding
        integral ``∫ m x^α dt`` is exact (``x`` is constant between events);
      - at or above ``x_s`` it follows the deterministic flow exactly:
        ``ln x(t + Δ) = ln b − (ln b − ln x(t)) e^(−a_k Δ)``, and the seeding integral over a
        step is Simpson's rule on this flow (relative error ~``(α a_k ln(b/x) Δ)^4/2880``:
        2e-9 for Iwata's ``a`` at ``x = 1``, ``Δ`` = 1 day);
      - a colony that reaches ``x_s`` in a step continues deterministically from that instant;
        ``x_s = 1`` makes every colony deterministic from birth (Iwata's model).
    * Random numbers: counter-based (:mod:`invasim.core.rng`), keyed ``(seed, colony id,
      event counter, STREAM_COLONY, 0 | 1)``; :func:`poisson` draws Poisson numbers from keyed
      uniforms (inversion below a mean of 10, Hörmann's PTRS above: Hörmann, Insurance Math
      Econ 1993; the algorithm of NumPy).
    * All functions here are ``@njit(cache=True)`` scalar kernels; the orchestration is in
      :mod:`invasim.body.patient`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from invasim.core.rng import uniform

#: counter-based stream of the birth-death events of small colonies
STREAM_COLONY = 72
#: counter-based stream of the Poisson counts of the patient model (arrests, fates, times)
STREAM_BODY = 73


@njit(cache=True)
def gompertz_flow(x, a, lnb, dt):  # pragma: no cover - compiled
    """Exact Gompertz flow: the size after ``dt`` of a colony of size ``x`` [cells]."""
    return math.exp(lnb - (lnb - math.log(x)) * math.exp(-a * dt))


@njit(cache=True)
def seeding_integral(x, a, lnb, alpha, dt):  # pragma: no cover - compiled
    """``∫_0^dt X(s)^α ds`` along the Gompertz flow from ``x`` (Simpson's rule) [cells^α·day]."""
    if dt <= 0.0:
        return 0.0
    xm = gompertz_flow(x, a, lnb, 0.5 * dt)
    xe = gompertz_flow(x, a, lnb, dt)
    return dt * (x**alpha + 4.0 * xm**alpha + xe**alpha) / 6.0


@njit(cache=True)
def birth_death(x, t, t_end, lam0, a, lnb, alpha, switch, seed, cid, ctr):  # pragma: no cover
    """Advance a small colony from ``t`` to ``t_end`` [days] by the exact birth–death process.

    Returns ``(x, seeding integral ∫ x^α dt over [t, t_end], counter)``; ``x = 0`` extinct.
    On reaching ``switch`` cells the rest of the interval is the deterministic flow.
    """
    seed_int = 0.0
    while True:
        if x <= 0.0:
            return 0.0, seed_int, ctr
        if x >= switch:
            seed_int += seeding_integral(x, a, lnb, alpha, t_end - t)
            return gompertz_flow(x, a, lnb, t_end - t), seed_int, ctr
        r = a * (lnb - math.log(x))
        lam = max(lam0, r)
        mu = lam - r
        total = x * (lam + mu)
        w = -math.log(uniform(seed, cid, ctr, STREAM_COLONY, 0)) / total
        u = uniform(seed, cid, ctr, STREAM_COLONY, 1)
        ctr += 1
        if t + w >= t_end:
            seed_int += x**alpha * (t_end - t)
            return x, seed_int, ctr
        seed_int += x**alpha * w
        t += w
        if u * (lam + mu) < lam:
            x += 1.0
        else:
            x -= 1.0


@njit(cache=True)
def poisson(mu, seed, step, cid, stream, k):  # pragma: no cover - compiled
    """A Poisson(``mu``) number from keyed uniforms; returns ``(n, next k)``."""
    if mu <= 0.0:
        return 0, k
    if mu < 10.0:
        lim = math.exp(-mu)
        prod = 1.0
        n = 0
        while True:
            prod *= uniform(seed, step, cid, stream, k)
            k += 1
            if prod <= lim:
                return n, k
            n += 1
    slam = math.sqrt(mu)
    loglam = math.log(mu)
    b = 0.931 + 2.53 * slam
    aa = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(seed, step, cid, stream, k) - 0.5
        v = uniform(seed, step, cid, stream, k + 1)
        k += 2
        us = 0.5 - abs(u)
        n = math.floor((2.0 * aa / us + b) * u + mu + 0.43)
        if us >= 0.07 and v <= vr:
            return int(n), k
        if n < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(aa / (us * us) + b)
                <= -mu + n * loglam - math.lgamma(n + 1.0)):  # fmt: skip
            return int(n), k


@njit(cache=True)
def _grow_many(n, t_days, dt, lam0, a, lnb, alpha, switch, seed, sizes,
               seeding):  # pragma: no cover - compiled  # fmt: skip
    n_steps = int(math.ceil(t_days / dt - 1e-9))
    for c in range(n):
        x = 1.0
        ctr = 0
        total = 0.0
        for i in range(n_steps):
            t0 = i * dt
            t1 = min(t_days, t0 + dt)
            if x <= 0.0:
                break
            x, integ, ctr = birth_death(x, t0, t1, lam0, a, lnb, alpha, switch, seed, c, ctr)
            total += integ
        sizes[c] = x
        seeding[c] = total


def grow_colonies(n: int, t_days: float, a_per_day: float, b_cells: float, alpha: float,
                  division_rate_per_day: float, switch_cells: float, seed: int = 0,
                  dt_days: float = 1.0):  # fmt: skip
    """``n`` independent colonies from one cell at ``t = 0`` to ``t_days`` (hybrid law).

    Advanced in steps of ``dt_days`` as in the patient model (the deterministic seeding
    integral is Simpson's rule per step).

    Returns (sizes [n] cells, 0 for extinct; seeding integrals ``∫ x^α dt`` [n]
    cells^α·day): the ensemble on which the switch size is validated.
    """
    sizes = np.empty(n)
    seeding = np.empty(n)
    _grow_many(int(n), float(t_days), float(dt_days), float(division_rate_per_day),
               float(a_per_day),
               math.log(b_cells), float(alpha), float(switch_cells), np.int64(seed), sizes,
               seeding)  # fmt: skip
    return sizes, seeding
