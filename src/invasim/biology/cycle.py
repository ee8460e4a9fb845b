"""The cell cycle: phases, stochastic or fixed-duration exits, division events.

PhysiCell's vocabulary (Ghaffarizadeh et al., PLoS Comput Biol 14:e1005991, 2018).

Contract:
    * A :class:`CycleModel` is a ring of ``K`` phases: phase ``p`` exits to ``(p + 1) % K`` at
      rate ``rates[p]`` (1/min); the exit of a phase flagged in ``division`` (by default the
      last one) divides the cell, and both daughters then start the next phase (PhysiCell's
      ``division_at_phase_exit``: in advanced Ki67 the division ends the premitotic phase and
      both daughters are postmitotic). Phase 0's exit is the *cycle entry* (Ki67- → Ki67+,
      G0/G1 → S, quiescent → cycling, live → live): it alone is scaled by the per-cell
      ``multiplier`` (rules, oxygen: :func:`o2_proliferation_factor`) and blocked when the
      per-cell ``pressure`` exceeds the type's ``pressure_threshold`` (contact inhibition);
      that is the transition PhysiCell's ``update_cell_and_death_parameters_O2_based`` scales
      in every standard model.
    * :data:`STANDARD_MODELS`: PhysiCell's standard models (``core/PhysiCell_standard_models.cpp``)
      by invasim name, with PhysiCell's code, name, phase names and codes, default rates, fixed
      phases and division phase; :func:`standard_model` builds one with given durations.
    * Each phenotype step of ``dt`` min, a live cell's ``time_in_phase`` grows by ``dt``, then it
      leaves its phase (at most one transition per step) with probability
      ``1 - exp(-rate dt)``, drawn from :mod:`invasim.core.rng` keyed by
      ``(seed, step, cell id, STREAM_CYCLE, 0)``; a fixed-duration phase is left when
      ``time_in_phase >= 1/rate - dt/2`` (its duration rounded to whole steps). On exit
      ``time_in_phase`` restarts at 0. Per-cell exit rates (``exit_rates``: the behaviours
      ``exit from cycle phase k``) replace the type's rate of phase ``k >= 1``; a fixed
      phase then lasts ``1/rate``. Dead cells are left to :mod:`invasim.biology.death`.
    * :func:`cycle_kernel` flags the dividing rows; :func:`advance_cycle` returns them (sorted);
      the caller then calls :func:`invasim.biology.division.divide` (daughters copy the
      mother's phase and ``time_in_phase``). Results do not depend on the thread count or on
      the cells' row order.
    * :func:`growth_rate` is the theory: the Euler–Lotka population growth rate of a model,
      continuous (``2^m prod_p f_p(α) = 1``, ``m`` divisions per turn of the ring) or for the
      discrete steps of ``dt``; :func:`phase_fractions` the fraction of a freely growing
      population in each phase at that rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
#: invasim's default flow-cytometry-separated mean phase durations (G0/G1, S, G2, M), min:
#: PhysiCell's rates 0.00335, 0.00208, 0.00417, 0.0167 /min rounded to 5, 8, 4 and 1 h
FLOW_CYTOMETRY_DURATIONS = (300.0, 480.0, 240.0, 60.0)
#: the most phases the behaviours ``exit from cycle phase k`` reach (PhysiCell: 0 .. 5)
MAX_EXIT_PHASES = 6


@dataclass(frozen=True)
class CycleModel:
    """A ring of phases; the exit of a division phase divides the cell.

    Attributes:
        name: model name (invasim's, e.g. ``"live"``, ``"advanced_Ki67"``).
        phases: phase names, ``K >= 1``.
        rates: exit rate of each phase, 1/min (``>= 0``; a fixed phase lasts ``1/rate``).
        fixed: per phase, True for a deterministic duration (default: all exponential).
        division: per phase, True where its exit divides the cell (default: the last phase).
    """

    name: str
    phases: tuple[str, ...]
    rates: tuple[float, ...]
    fixed: tuple[bool, ...] = field(default=())
    division: tuple[bool, ...] = field(default=())

    def __post_init__(self) -> None:
        k = len(self.phases)
        fixed = tuple(bool(f) for f in self.fixed) if self.fixed else (False,) * k
        div = tuple(bool(f) for f in self.division) if self.division else (
            (False,) * (k - 1) + (True,) if k else ())
        rates = tuple(float(r) for r in self.rates)
        if k == 0 or len(rates) != k or len(fixed) != k or len(div) != k:
            raise ValueError(f"cycle {self.name!r}: need one rate and flags per phase, got {self}")
        if not all(math.isfinite(r) and r >= 0.0 for r in rates):
            raise ValueError(f"cycle {self.name!r}: rates must be finite and >= 0 1/min: {rates}")
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "fixed", fixed)
        object.__setattr__(self, "division", div)

    @property
    def n_phases(self) -> int:
        """Number of phases ``K``."""
        return len(self.phases)


@dataclass(frozen=True)
class StandardModel:
    """One of PhysiCell's standard cycle models (``core/PhysiCell_standard_models.cpp``).

    Attributes:
        name: invasim's name (the scenario's ``cycle.model``).
        physicell: PhysiCell's name (``cycle_model_codes``). code: PhysiCell's model code.
        phases: PhysiCell's phase names. phase_codes: PhysiCell's phase codes.
        rates: PhysiCell's default exit rate of each phase, 1/min.
        fixed: PhysiCell's default ``fixed_duration`` of each phase's exit.
        division: the phase whose exit divides the cell (``division_at_phase_exit``).
    """

    name: str
    physicell: str
    code: int
    phases: tuple[str, ...]
    phase_codes: tuple[int, ...]
    rates: tuple[float, ...]
    fixed: tuple[bool, ...]
    division: int


_KI67_NEG = 1.0 / (4.59 * 60.0)  # MCF10A: 4.59 h Ki67- (basic model and cycling-quiescent)
_KI67_POS = 1.0 / (15.5 * 60.0)  # the Ki67+ phases of the advanced model, 15.5 h
#: PhysiCell's standard cycle models by invasim name, in PhysiCell's code order
STANDARD_MODELS: dict[str, StandardModel] = {s.name: s for s in (
    StandardModel("advanced_Ki67", "Ki67 (advanced)", 0,
                  ("Ki67-", "Ki67+ (premitotic)", "Ki67+ (postmitotic)"), (3, 0, 1),
                  (1.0 / (3.62 * 60.0), 1.0 / (13.0 * 60.0), 1.0 / (2.5 * 60.0)),
                  (False, True, True), 1),
    StandardModel("basic_Ki67", "Ki67 (basic)", 1, ("Ki67-", "Ki67+"), (3, 2),
                  (_KI67_NEG, _KI67_POS), (False, True), 1),
    StandardModel("flow_cytometry", "Flow cytometry model (basic)", 2, ("G0/G1", "S", "G2/M"),
                  (4, 10, 11), (0.00324, 0.00208, 0.00333), (False, False, False), 2),
    StandardModel("live", "Live", 5, ("Live",), (14,), (LIVE_RATE,), (False,), 0),
    StandardModel("flow_cytometry_separated", "Flow cytometry model (separated)", 6,
                  ("G0/G1", "S", "G2", "M"), (4, 10, 12, 13), (0.00335, 0.00208, 0.00417, 0.0167),
                  (False, False, False, False), 3),
    StandardModel("cycling_quiescent", "Cycling-Quiescent model", 7, ("Quiescent", "Cycling"),
                  (18, 17), (_KI67_NEG, _KI67_POS), (False, True), 1),
)}  # fmt: skip


def default_rates(name: str) -> tuple[float, ...]:
    """The default exit rates (1/min) of a standard model in invasim.

    PhysiCell's, except ``flow_cytometry_separated``: 1 / :data:`FLOW_CYTOMETRY_DURATIONS`.
    """
    if name == "flow_cytometry_separated":
        return tuple(1.0 / d for d in FLOW_CYTOMETRY_DURATIONS)
    return _standard(name).rates


def _standard(name: str) -> StandardModel:
    try:
        return STANDARD_MODELS[name]
    except KeyError:
        raise ValueError(f"unknown cycle model {name!r}; known: "
                         f"{', '.join(STANDARD_MODELS)}") from None  # fmt: skip


def standard_model(
    name: str, durations: Sequence[float] | None = None, fixed: Sequence[bool] | None = None
) -> CycleModel:
    """One of PhysiCell's standard models (:data:`STANDARD_MODELS`).

    Args:
        name: invasim's model name.
        durations: mean (or fixed) duration of each phase, min; rates are their inverses
            (``inf``: rate 0, the phase is never left). None: :func:`default_rates`.
        fixed: per phase, True for a deterministic duration. None: PhysiCell's defaults.
    """
    s = _standard(name)
    k = len(s.phases)
    rates = default_rates(name) if durations is None else tuple(1.0 / float(d) for d in durations)
    flags = s.fixed if fixed is None else tuple(bool(f) for f in fixed)
    if len(rates) != k or len(flags) != k:
        raise ValueError(f"cycle {name!r} has {k} phases ({', '.join(s.phases)}); got "
                         f"{len(rates)} durations and {len(flags)} fixed flags")  # fmt: skip
    return CycleModel(name, s.phases, rates, flags, tuple(p == s.division for p in range(k)))


def live(rate: float = LIVE_RATE) -> CycleModel:
    """PhysiCell's ``live`` model: one phase, division at ``rate`` (1/min)."""
    return CycleModel("live", STANDARD_MODELS["live"].phases, (rate,))


def flow_cytometry_separated(
    durations: Sequence[float] = FLOW_CYTOMETRY_DURATIONS,
    fixed: Sequence[bool] = (False, False, False, False),
) -> CycleModel:
    """PhysiCell's ``flow cytometry separated`` model, G0/G1 → S → G2 → M (→ divide).

    Args:
        durations: mean durations (min) of the four phases; rates are their inverses.
        fixed: per phase, True for a deterministic duration.
    """
    return standard_model("flow_cytometry_separated", durations, fixed)


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
        division: ``[T, K]`` bool, the phases whose exit divides (default: each type's last).
    """

    rates: np.ndarray
    fixed: np.ndarray
    n_phases: np.ndarray
    pressure_threshold: np.ndarray
    models: tuple[CycleModel, ...]
    division: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.division is None:
            div = np.zeros(self.rates.shape, dtype=np.bool_)
            div[np.arange(div.shape[0]), np.asarray(self.n_phases) - 1] = True
            object.__setattr__(self, "division", div)

    @classmethod
    def from_models(
        cls, models: Sequence[CycleModel], pressure_threshold: float | Sequence[float] = math.inf
    ) -> CycleParams:
        """Tables for one model per cell type (type ``t`` uses ``models[t]``)."""
        models = tuple(models)
        t, k = len(models), max(m.n_phases for m in models)
        rates, fixed = np.zeros((t, k)), np.zeros((t, k), dtype=np.bool_)
        division = np.zeros((t, k), dtype=np.bool_)
        for i, m in enumerate(models):
            rates[i, : m.n_phases] = m.rates
            fixed[i, : m.n_phases] = m.fixed
            division[i, : m.n_phases] = m.division
        thr = np.broadcast_to(np.asarray(pressure_threshold, dtype=np.float64), (t,)).copy()
        if np.any(np.isnan(thr)):
            raise ValueError(f"pressure_threshold must be a number, got {thr}")
        n_ph = np.array([m.n_phases for m in models], dtype=np.int32)
        return cls(rates, fixed, n_ph, thr, models, division)

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
    multiplier, pressure, seed, step, dt, divides, entry_rate, division, exit_rate, per_cell,
):  # fmt: skip
    """Advance the cycle of the live cells by ``dt``; returns the number of divisions.

    Args:
        phase: ``[n]`` int32, updated. time_in_phase: ``[n]`` float64 min, updated.
        dead: ``[n]`` int8 (non-zero cells are skipped). ctype: ``[n]`` int32. cid: ``[n]``
            int64 ids (rng keys).
        rates, fixed, n_phases, pressure_threshold, division: the :class:`CycleParams` tables.
        multiplier: ``[n]`` cycle-entry multipliers, or an empty array for 1.
        pressure: ``[n]`` pressures, or an empty array for none.
        seed, step: rng key words. dt: phenotype step, min.
        divides: ``[n]`` uint8 output, 1 where the cell divides this step.
        entry_rate: ``[n]`` per-cell cycle-entry rates (1/min) replacing the first phase's
            rate times the multiplier, or an empty array for none.
        exit_rate: ``[K', n]`` per-cell exit rates (1/min); row ``p >= 1`` replaces the
            type's rate of phase ``p`` where ``per_cell[p]``.
        per_cell: ``[K]`` bool, the phases ``p >= 1`` read from ``exit_rate``.
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
        elif per_cell[p]:
            r = exit_rate[p, i]
        if not r > 0.0:
            continue
        if fixed[t, p]:
            leave = time_in_phase[i] >= 1.0 / r - 0.5 * dt
        else:
            leave = uniform(seed, step, cid[i], STREAM_CYCLE, 0) < -math.expm1(-r * dt)
        if leave:
            if division[t, p]:
                divides[i] = 1
                count += 1
            phase[i] = p + 1 if p + 1 < n_phases[t] else 0
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
    exit_rates: Mapping[int, np.ndarray] | None = None,
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
        exit_rates: ``{k: [n] rates}`` per-cell rates (1/min) of leaving phase ``k >= 1``
            (the behaviours ``exit from cycle phase k``), replacing the types' rates of that
            phase (cells of types with fewer phases ignore them).
    """
    n = cells.n
    if n and int(cells.type.max()) >= params.n_types:
        raise ValueError(f"cell type {cells.type.max()} >= {params.n_types} cycle models")
    empty = np.empty(0)
    mult = empty if multiplier is None else _per_cell(multiplier, n, "multiplier")
    press = empty if pressure is None else _per_cell(pressure, n, "pressure")
    entry = empty if entry_rate is None else _per_cell(entry_rate, n, "entry_rate")
    k_max = params.rates.shape[1]
    per_cell = np.zeros(k_max, dtype=np.bool_)
    exits = np.empty((0, 0))
    if exit_rates:
        if not all(1 <= int(k) < k_max for k in exit_rates):
            raise ValueError(f"exit_rates: phases must lie in 1 .. {k_max - 1}, got "
                             f"{sorted(exit_rates)}")  # fmt: skip
        exits = np.zeros((k_max, n))
        for k, a in exit_rates.items():
            exits[int(k)] = _per_cell(a, n, f"exit_rates[{k}]")
            per_cell[int(k)] = True
    divides = np.empty(n, dtype=np.uint8)
    cycle_kernel(
        cells.phase, cells.time_in_phase, cells.dead, cells.type, cells.id, params.rates,
        params.fixed, params.n_phases, params.pressure_threshold, mult, press,
        np.int64(seed), np.int64(step), float(dt), divides, entry, params.division, exits,
        per_cell,
    )  # fmt: skip
    return np.flatnonzero(divides).astype(np.int64)


def _per_cell(a, n: int, name: str) -> np.ndarray:
    a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=np.float64), (n,)))
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    return a


def _waiting(model: CycleModel, dt: float | None):
    """Per phase, ``a -> ln E[exp(-a T_p)]`` and ``a -> ∫ exp(-a t) P(T_p > t) dt`` (min).

    With ``dt`` the waiting times are :func:`cycle_kernel`'s whole steps ``T_p`` (geometric with
    ``1 - exp(-λ dt)`` per step, or ``max(1, ceil(1/(λ dt) - 1/2))`` steps), and the second is
    the discounted number of step ends spent in the phase, ``sum_j z^-j P(T_p > j)`` (in steps).
    """
    lam = np.asarray(model.rates)
    fixed = np.asarray(model.fixed)
    if dt is None:

        def log_laplace(a: float) -> np.ndarray:
            return np.where(fixed, -a / lam, -np.log1p(a / lam))

        def occupancy(a: float) -> np.ndarray:
            if a == 0.0:
                return 1.0 / lam
            return np.where(fixed, -np.expm1(-a / lam) / a, 1.0 / (lam + a))

        return log_laplace, occupancy
    p = -np.expm1(-lam * dt)
    steps = np.maximum(1, np.ceil(1.0 / (lam * dt) - 0.5))

    def log_laplace_d(a: float) -> np.ndarray:
        return np.where(fixed, -a * dt * steps, np.log(p / (math.expm1(a * dt) + p)))

    def occupancy_d(a: float) -> np.ndarray:
        if a == 0.0:
            return np.where(fixed, steps, 1.0 / p)
        z = math.exp(a * dt)
        return np.where(fixed, -np.expm1(-a * dt * steps) / -math.expm1(-a * dt),
                        z / (z - 1.0 + p))  # fmt: skip

    return log_laplace_d, occupancy_d


def growth_rate(model: CycleModel, dt: float | None = None) -> float:
    """Euler–Lotka growth rate (1/min) of an unlimited population on ``model``.

    Continuous time (``dt=None``): ``α`` solves ``2^m prod_p f_p(α) = 1`` (``m`` division
    phases, one for every standard model) with ``f_p = λ_p / (λ_p + α)`` for an exponential
    phase and ``exp(-α / λ_p)`` for a fixed one. With ``dt``, the phases' waiting times are
    those of :func:`cycle_kernel` (geometric with ``1 - exp(-λ dt)`` per step, or
    ``ceil(1/(λ dt) - 1/2)`` steps, at least 1), the growth factor per step ``z`` solves
    ``2^m prod_p E[z^-T_p] = 1`` and ``α = ln z / dt``. Where the division phase sits in the
    ring does not matter. A phase of rate 0, or no division phase: 0.
    """
    from scipy.optimize import brentq

    lam = np.asarray(model.rates)
    m = sum(model.division)
    if np.any(lam <= 0) or m == 0:
        return 0.0
    log_laplace, _ = _waiting(model, dt)

    def f(a: float) -> float:
        return float(np.sum(log_laplace(a)) + m * math.log(2.0))

    hi = float(np.sum(1.0 / lam)) ** -1 * 10.0 if dt is None else math.log(3.0) / dt
    while f(hi) > 0.0:
        hi *= 2.0
    return float(brentq(f, 0.0, hi, xtol=1e-15, rtol=1e-13))


def phase_fractions(model: CycleModel, dt: float | None = None) -> np.ndarray:
    """``[K]`` fraction of a freely growing population in each phase (stable growth).

    At the growth rate ``α`` (:func:`growth_rate`), the flux into phase ``p + 1`` is the flux
    into ``p`` times ``f_p(α)`` (times 2 after a division phase), and the cells in phase ``p``
    are its flux times ``∫ exp(-α t) P(T_p > t) dt``. With ``dt``: the cells counted at the end
    of a step, with :func:`cycle_kernel`'s whole-step waiting times. Needs every rate > 0.
    """
    if any(r <= 0 for r in model.rates):
        raise ValueError(f"cycle {model.name!r}: phase_fractions needs every rate > 0")
    a = growth_rate(model, dt)
    log_laplace, occupancy = _waiting(model, dt)
    gain = np.where(np.asarray(model.division), 2.0, 1.0) * np.exp(log_laplace(a))
    flux = np.concatenate([[1.0], np.cumprod(gain)[:-1]])
    n = flux * occupancy(a)
    return n / n.sum()
