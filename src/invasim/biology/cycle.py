"""The cell cycle: phases, stochastic or fixed-duration exits, division events.

PhysiCell's vocabulary (Ghaffarizadeh et al., PLoS Comput Biol 14:e1005991, 2018).

Contract:
    * A :class:`CycleModel` is a ring of ``K`` phases: phase ``p`` exits to ``(p + 1) % K`` at
      rate ``rates[p]`` (1/min) and the exit of the last phase is a division. Phase 0's exit is
      the *cycle entry* (G0/G1 → S, or live → live): it alone is scaled by the per-cell
      ``multiplier`` (rules, oxygen: :func:`o2_proliferation_factor`) and blocked when the
      per-cell ``pressure`` exceeds the type's ``pressure_threshold`` (contact inhibition).
    * Each phenotype step of ``dt`` min, a live cell's ``time_in_phase`` grows by ``dt``, then it
      leaves its phase (at most one transition per step) with probability
      ``1 - exp(-rate dt)``, drawn from :mod:`invasim.core.rng` keyed by
      ``(seed, step, cell id, STREAM_CYCLE, 0)``; a fixed-duration phase is left when
      ``time_in_phase >= 1/rate - dt/2`` (its duration rounded to whole steps). On exit
      ``time_in_phase`` restarts at 0. Dead cells are left to :mod:`invasim.biology.death`.
    * :func:`cycle_kernel` flags the dividing rows; :func:`advance_cycle` returns them (sorted);
      the caller then calls :func:`invasim.biology.volume.divide`. Results do not depend on the
      thread count or on the cells' row order.
    * :func:`growth_rate` is the theory: the Euler–Lotka population growth rate of a model,
      continuous (``prod_i f_i(α) = 1/2``) or for the discrete steps of ``dt``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from invasim.core.cells import Cells
from invasim.core.rng import uniform

#: rng stream of the cycle exits
STREAM_CYCLE = 11
_JIT = {"cache": True, "fastmath": False}
#: PhysiCell's default ``live`` cycle rate, 0.0432 / h, in 1/min
LIVE_RATE = 0.0432 / 60.0
#: PhysiCell's flow-cytometry-separated mean phase durations (G0/G1, S, G2, M), min
FLOW_CYTOMETRY_DURATIONS = (300.0, 480.0, 240.0, 60.0)


@dataclass(frozen=True)
class CycleModel:
    """A ring of phases; the last phase's exit divides the cell.

    Attributes:
        name: model name (PhysiCell's, e.g. ``"live"``).
        phases: phase names, ``K >= 1``.
        rates: exit rate of each phase, 1/min (``>= 0``; a fixed phase lasts ``1/rate``).
        fixed: per phase, True for a deterministic duration (default: all exponential).
    """

    name: str
    phases: tuple[str, ...]
    rates: tuple[float, ...]
    fixed: tuple[bool, ...] = field(default=())

    def __post_init__(self) -> None:
        k = len(self.phases)
        fixed = tuple(bool(f) for f in self.fixed) if self.fixed else (False,) * k
        rates = tuple(float(r) for r in self.rates)
        if k == 0 or len(rates) != k or len(fixed) != k:
            raise ValueError(f"cycle {self.name!r}: need one rate and flag per phase, got {self}")
        if not all(math.isfinite(r) and r >= 0.0 for r in rates):
            raise ValueError(f"cycle {self.name!r}: rates must be finite and >= 0 1/min: {rates}")
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "fixed", fixed)

    @property
    def n_phases(self) -> int:
        """Number of phases ``K``."""
        return len(self.phases)


def live(rate: float = LIVE_RATE) -> CycleModel:
    """PhysiCell's ``live`` model: one phase, division at ``rate`` (1/min)."""
    return CycleModel("live", ("live",), (rate,))


def flow_cytometry_separated(
    durations: Sequence[float] = FLOW_CYTOMETRY_DURATIONS,
    fixed: Sequence[bool] = (False, False, False, False),
) -> CycleModel:
    """PhysiCell's ``flow cytometry separated`` model, G0/G1 → S → G2 → M (→ divide).

    Args:
        durations: mean durations (min) of the four phases; rates are their inverses.
        fixed: per phase, True for a deterministic duration.
    """
    return CycleModel(
        "flow_cytometry_separated",
        ("G0/G1", "S", "G2", "M"),
        tuple(1.0 / float(d) for d in durations),
        tuple(fixed),
    )


@dataclass(frozen=True)
class CycleParams:
    """Per-type cycle tables (``T`` types, ``K`` = the most phases of any type).

    Build with :meth:`from_models`. Attributes:
        rates: ``[T, K]`` float64 exit rates, 1/min (0 beyond a type's phases).
        fixed: ``[T, K]`` bool, deterministic durations.
        n_phases: ``[T]`` int32.
        pressure_threshold: ``[T]`` float64, contact inhibition (``inf``: none); same units
            as the pressure the caller passes.
        models: the models, one per type.
    """

    rates: np.ndarray
    fixed: np.ndarray
    n_phases: np.ndarray
    pressure_threshold: np.ndarray
    models: tuple[CycleModel, ...]

    @classmethod
    def from_models(
        cls, models: Sequence[CycleModel], pressure_threshold: float | Sequence[float] = math.inf
    ) -> CycleParams:
        """Tables for one model per cell type (type ``t`` uses ``models[t]``)."""
        models = tuple(models)
        t, k = len(models), max(m.n_phases for m in models)
        rates, fixed = np.zeros((t, k)), np.zeros((t, k), dtype=np.bool_)
        for i, m in enumerate(models):
            rates[i, : m.n_phases] = m.rates
            fixed[i, : m.n_phases] = m.fixed
        thr = np.broadcast_to(np.asarray(pressure_threshold, dtype=np.float64), (t,)).copy()
        if np.any(np.isnan(thr)):
            raise ValueError(f"pressure_threshold must be a number, got {thr}")
        n_ph = np.array([m.n_phases for m in models], dtype=np.int32)
        return cls(rates, fixed, n_ph, thr, models)

    @property
    def n_types(self) -> int:
        """Number of cell types ``T``."""
        return self.rates.shape[0]


def o2_proliferation_factor(
    o2: np.ndarray | float, threshold: float = 5.0, saturation: float = 160.0
) -> np.ndarray:
    """PhysiCell's oxygen dependence of cycle entry, ``clip((o2 - thr)/(sat - thr), 0, 1)``.

    Args:
        o2: oxygen at the cells, mmHg.
        threshold: no proliferation at or below it (PhysiCell 5 mmHg).
        saturation: full rate at or above it (PhysiCell 160 mmHg; the samples use 38).

    Returns:
        the cycle-entry multiplier, same shape as ``o2``.
    """
    if not saturation > threshold:
        raise ValueError(f"need saturation > threshold, got {saturation} <= {threshold}")
    return np.clip((np.asarray(o2, dtype=np.float64) - threshold) / (saturation - threshold), 0, 1)


@njit(**_JIT)
def cycle_kernel(
    phase, time_in_phase, dead, ctype, cid, rates, fixed, n_phases, pressure_threshold,
    multiplier, pressure, seed, step, dt, divides, entry_rate,
):  # fmt: skip
    """Advance the cycle of the live cells by ``dt``; returns the number of divisions.

    Args:
        phase: ``[n]`` int32, updated. time_in_phase: ``[n]`` float64 min, updated.
        dead: ``[n]`` int8 (non-zero cells are skipped). ctype: ``[n]`` int32. cid: ``[n]``
            int64 ids (rng keys).
        rates, fixed, n_phases, pressure_threshold: the :class:`CycleParams` tables.
        multiplier: ``[n]`` cycle-entry multipliers, or an empty array for 1.
        pressure: ``[n]`` pressures, or an empty array for none.
        seed, step: rng key words. dt: phenotype step, min.
        divides: ``[n]`` uint8 output, 1 where the cell divides this step.
        entry_rate: ``[n]`` per-cell cycle-entry rates (1/min) replacing the first phase's
            rate times the multiplier, or an empty array for none.
    """
    n = phase.shape[0]
    has_mult = multiplier.shape[0] > 0
    has_entry = entry_rate.shape[0] > 0
    has_press = pressure.shape[0] > 0
    count = 0
    for i in range(n):
        divides[i] = 0
        if dead[i] != 0:
            continue
        t = ctype[i]
        p = phase[i]
        time_in_phase[i] += dt
        r = rates[t, p]
        if p == 0:
            if has_entry:
                r = entry_rate[i]
            elif has_mult:
                r *= multiplier[i]
            if has_press and pressure[i] > pressure_threshold[t]:
                r = 0.0
        if not r > 0.0:
            continue
        if fixed[t, p]:
            leave = time_in_phase[i] >= 1.0 / r - 0.5 * dt
        else:
            leave = uniform(seed, step, cid[i], STREAM_CYCLE, 0) < -math.expm1(-r * dt)
        if leave:
            if p + 1 >= n_phases[t]:
                divides[i] = 1
                count += 1
                phase[i] = 0
            else:
                phase[i] = p + 1
            time_in_phase[i] = 0.0
    return count


def advance_cycle(
    cells: Cells,
    params: CycleParams,
    dt: float,
    seed: int,
    step: int,
    multiplier: np.ndarray | None = None,
    pressure: np.ndarray | None = None,
    entry_rate: np.ndarray | None = None,
) -> np.ndarray:
    """One phenotype step of the cycle; returns the rows that divide (int64, ascending).

    Args:
        cells: the cells; ``phase`` and ``time_in_phase`` are updated in place.
        params: per-type cycle tables.
        dt: phenotype step, min.
        seed: run seed.
        step: phenotype step counter (rng key).
        multiplier: ``[n]`` cycle-entry rate multipliers (rules, oxygen), default 1.
        pressure: ``[n]`` per-cell pressure for contact inhibition, default none.
        entry_rate: ``[n]`` per-cell cycle-entry rates (1/min; the behaviour matrix's
            ``cycle entry``), replacing the first phase's rate and ``multiplier``.
    """
    n = cells.n
    if n and int(cells.type.max()) >= params.n_types:
        raise ValueError(f"cell type {cells.type.max()} >= {params.n_types} cycle models")
    empty = np.empty(0)
    mult = empty if multiplier is None else _per_cell(multiplier, n, "multiplier")
    press = empty if pressure is None else _per_cell(pressure, n, "pressure")
    entry = empty if entry_rate is None else _per_cell(entry_rate, n, "entry_rate")
    divides = np.empty(n, dtype=np.uint8)
    cycle_kernel(
        cells.phase, cells.time_in_phase, cells.dead, cells.type, cells.id, params.rates,
        params.fixed, params.n_phases, params.pressure_threshold, mult, press,
        np.int64(seed), np.int64(step), float(dt), divides, entry,
    )  # fmt: skip
    return np.flatnonzero(divides).astype(np.int64)


def _per_cell(a, n: int, name: str) -> np.ndarray:
    a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=np.float64), (n,)))
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    return a


def growth_rate(model: CycleModel, dt: float | None = None) -> float:
    """Euler–Lotka growth rate (1/min) of an unlimited population on ``model``.

    Continuous time (``dt=None``): ``α`` solves ``2 prod_p f_p(α) = 1`` with
    ``f_p = λ_p / (λ_p + α)`` for an exponential phase and ``exp(-α / λ_p)`` for a fixed one.
    With ``dt``, the phases' waiting times are those of :func:`cycle_kernel` (geometric with
    ``1 - exp(-λ dt)`` per step, or ``ceil(1/(λ dt) - 1/2)`` steps, at least 1), the growth factor
    per step ``z`` solves ``2 prod_p E[z^-T_p] = 1`` and ``α = ln z / dt``.
    """
    from scipy.optimize import brentq

    lam = np.asarray(model.rates)
    fixed = np.asarray(model.fixed)
    if np.any(lam <= 0):
        return 0.0
    if dt is None:

        def f(a: float) -> float:
            terms = np.where(fixed, np.exp(-a / lam), lam / (lam + a))
            return float(np.sum(np.log(terms)) + math.log(2.0))

        hi = float(np.sum(1.0 / lam)) ** -1 * 10.0
    else:
        p = -np.expm1(-lam * dt)
        steps = np.maximum(1, np.ceil(1.0 / (lam * dt) - 0.5))

        def f(a: float) -> float:
            z = math.exp(a * dt)
            terms = np.where(fixed, z**-steps, p / (z - 1.0 + p))
            return float(np.sum(np.log(terms)) + math.log(2.0))

        hi = math.log(3.0) / dt
    return float(brentq(f, 0.0, hi, xtol=1e-15, rtol=1e-13))
