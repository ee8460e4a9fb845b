"""Kuznetsov et al. 1994 as a well-mixed stochastic per-cell form (the agent model's limit).

Contract:
    * :func:`per_cell_rates` gives each individual's event rates per minute, in the terms the
      agent immune model uses, for a system size ``Ω`` (each simulated individual stands for
      ``Ω`` cells: ``s → s/Ω``, ``g → g/Ω``, ``m → mΩ``, ``n → nΩ``, ``b → bΩ``; first-order
      rates unchanged).
    * :func:`simulate_well_mixed` runs it as a binomial tau-leap with step ``dt_min``: every
      individual alive at the start of a step has each of its competing events with
      probability ``(r_k/R)(1 − exp(−R dt))`` (rates frozen over the step, as an agent's
      phenotype step), drawn as conditional binomials over the exchangeable cells; recruitment
      is Poisson(``s/Ω dt``). Randomness: Numba's generator seeded per run, so a run is
      reproducible by its seed alone.
    * The ODE itself, its steady states and separatrix: :mod:`invasim.models.kuznetsov`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.models.kuznetsov import DAY_MIN, KuznetsovParams


# -- the well-mixed stochastic per-cell form ---------------------------------------------------
class PerCellRates(BaseModel):
    """Per-individual event rates of the well-mixed form at system size ``Ω``, per minute.

    Named as the agent immune model names them; an individual stands for ``Ω`` cells, so
    counts are ``E/Ω`` and ``T/Ω``. The window's volume is the well-mixed compartment.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    omega: float = Field(description="Ω, cells per simulated individual [cells]")
    recruitment_per_min: float = Field(
        description="effectors recruited into the window, s/Ω [individuals/min]"
    )
    effector_division_max_per_min: float = Field(
        description="effector stimulated division at saturation, p [1/min]; the rate is "
        "p τ/(g/Ω + τ) with τ the tumour count"
    )
    effector_division_half_count: float = Field(
        description="tumour count at half-maximal stimulation, g/Ω [individuals]"
    )
    effector_exhaustion_per_encounter_per_min: float = Field(
        description="effector inactivation per tumour individual, mΩ [1/(individual·min)]"
    )
    effector_death_per_min: float = Field(description="effector death, d [1/min]")
    tumour_division_per_min: float = Field(description="tumour division, a [1/min]")
    crowding_death_per_neighbour_per_min: float = Field(
        description="tumour crowding death per tumour individual, a bΩ [1/(individual·min)]"
    )
    kill_rate_per_pair_per_min: float = Field(
        description="tumour killed per effector individual, nΩ [1/(individual·min)]"
    )


def per_cell_rates(params: KuznetsovParams, omega: float) -> PerCellRates:
    """The per-individual rates at system size ``omega``, per minute.

    ``s → s/Ω``, ``g → g/Ω``, ``m, n, b → ×Ω``; first-order rates unchanged; per day / 1440.
    """
    if not omega > 0:
        raise ValueError(f"omega = {omega!r}; allowed: > 0 cells per individual")
    s, p, g, m, d, a, b, n = params.values()
    k = 1.0 / DAY_MIN
    return PerCellRates(
        omega=omega,
        recruitment_per_min=s / omega * k,
        effector_division_max_per_min=p * k,
        effector_division_half_count=g / omega,
        effector_exhaustion_per_encounter_per_min=m * omega * k,
        effector_death_per_min=d * k,
        tumour_division_per_min=a * k,
        crowding_death_per_neighbour_per_min=a * b * omega * k,
        kill_rate_per_pair_per_min=n * omega * k,
    )


@numba.njit(cache=True)
def _three_way(count, r1, r2, r3, dt):
    """Split ``count`` individuals among three competing events of rates ``r1..r3``.

    Over ``dt`` each individual has event k with probability ``(r_k/R)(1 − exp(−R dt))``.
    """
    R = r1 + r2 + r3
    if count <= 0 or R <= 0.0:
        return 0, 0, 0
    p_any = -math.expm1(-R * dt)
    n_any = np.random.binomial(count, p_any)
    n1 = np.random.binomial(n_any, r1 / R) if n_any > 0 else 0
    rest = n_any - n1
    q2 = r2 / (r2 + r3) if r2 + r3 > 0.0 else 0.0
    n2 = np.random.binomial(rest, min(1.0, q2)) if rest > 0 else 0
    return n1, n2, rest - n2


@numba.njit(cache=True)
def _tau_leap(seed, e0, t0, n_steps, every, dt, rates, t_stop_escape, out):
    """Binomial tau-leap of the well-mixed per-cell form; returns the number of steps taken.

    ``out[k] = (e, τ)`` every ``every`` steps (row 0: the start). Stops early once
    ``τ >= t_stop_escape`` (the rows after are left at −1) or ``τ = 0``.
    """
    np.random.seed(seed)
    rec, pmax, half, exh, dE, aT, crowd, kill = rates
    e, tau = e0, t0
    out[0, 0], out[0, 1] = e, tau
    row = 1
    step = 0
    while step < n_steps:
        div_e = pmax * tau / (half + tau)
        born_e, lost_e1, lost_e2 = _three_way(e, div_e, exh * tau, dE, dt)
        born_t, lost_t1, lost_t2 = _three_way(tau, aT, crowd * tau, kill * e, dt)
        recruited = np.random.poisson(rec * dt)
        e = e + born_e - lost_e1 - lost_e2 + recruited
        tau = tau + born_t - lost_t1 - lost_t2
        step += 1
        if step % every == 0:
            out[row, 0], out[row, 1] = e, tau
            row += 1
        if tau >= t_stop_escape or tau == 0:
            if step % every != 0:
                out[row, 0], out[row, 1] = e, tau
            break
    return step


@dataclass(frozen=True)
class StochasticRun:
    """One well-mixed run: ``t_days`` and the counts ``E``, ``T`` scaled back to cells."""

    t_days: np.ndarray
    E: np.ndarray
    T: np.ndarray
    omega: float
    seed: int
    stopped_early: bool


def simulate_well_mixed(
    params: KuznetsovParams,
    E0: float,
    T0: float,
    t_days: float,
    *,
    omega: float = 1.0e3,
    dt_min: float = 60.0,
    seed: int = 0,
    record_every_min: float = 1440.0,
    stop_at_T: float | None = None,
) -> StochasticRun:
    """Run the per-cell form from ``(E0, T0)`` cells (rounded to individuals of ``omega``).

    Args:
        t_days: simulated time.
        omega: cells per individual (Ω).
        dt_min: tau-leap step [min]; a whole divisor of ``record_every_min``.
        seed: the run's seed (the run is a function of it alone).
        record_every_min: sampling interval of the returned series [min].
        stop_at_T: stop once ``T`` reaches this many cells (escape committed); ``None``: never.
    """
    if not dt_min > 0 or not omega > 0:
        raise ValueError(f"dt_min = {dt_min!r}, omega = {omega!r}; both must be > 0")
    every = round(record_every_min / dt_min)
    if every < 1 or abs(every * dt_min - record_every_min) > 1e-9 * record_every_min:
        raise ValueError(f"record_every_min = {record_every_min} is not a whole multiple of "
                         f"dt_min = {dt_min}")  # fmt: skip
    r = per_cell_rates(params, omega)
    rates = np.array([r.recruitment_per_min, r.effector_division_max_per_min,
                      r.effector_division_half_count,
                      r.effector_exhaustion_per_encounter_per_min, r.effector_death_per_min,
                      r.tumour_division_per_min, r.crowding_death_per_neighbour_per_min,
                      r.kill_rate_per_pair_per_min])  # fmt: skip
    n_steps = int(round(t_days * DAY_MIN / dt_min))
    out = np.full((n_steps // every + 2, 2), -1, dtype=np.int64)
    stop = np.iinfo(np.int64).max if stop_at_T is None else int(math.ceil(stop_at_T / omega))
    taken = _tau_leap(np.int64(seed) % (2**32), np.int64(round(E0 / omega)),
                      np.int64(round(T0 / omega)), n_steps, every, float(dt_min), rates,
                      np.int64(stop), out)  # fmt: skip
    rows = taken // every + 1 + (1 if taken % every else 0)
    t = np.arange(rows) * every * dt_min / DAY_MIN
    if taken % every:
        t[-1] = taken * dt_min / DAY_MIN
    return StochasticRun(t, out[:rows, 0] * omega, out[:rows, 1] * omega, omega, seed,
                         taken < n_steps)  # fmt: skip
