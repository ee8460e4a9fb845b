"""Kuznetsov et al. 1994 tumour–immune model: equilibria, separatrix, a well-mixed per-cell form.

Contract:
    * Equations (Kuznetsov, Makalkin, Taylor & Perelson, Bull Math Biol 1994; 56:295; BioModels
      BIOMD0000000762), ``E`` effector cells, ``T`` tumour cells, time in days:

      - ``dE/dt = s + p E T / (g + T) − m E T − d E``
      - ``dT/dt = a T (1 − b T) − n E T``

      :class:`KuznetsovParams` keeps the published per-day values (BCL1 lymphoma in chimeric
      mice); ``*_per_min`` properties divide by :data:`DAY_MIN` = 1440 where invasim's minutes
      are needed (the registered model's time step, the per-cell rates).
    * :func:`equilibria`: every non-negative steady state, the tumour-free one ``(s/d, 0)`` and
      the ``T > 0`` roots of the cubic obtained by eliminating ``E = a (1 − b T)/n`` from
      ``dE/dt = 0`` (times ``g + T``), each with its Jacobian eigenvalues and a stability label.
      With the default parameters: tumour-free (saddle), dormant (stable focus), a saddle, and
      escape (stable node).
    * :func:`integrate`: ``solve_ivp`` LSODA (switches to BDF when stiff) with the analytic
      Jacobian, ``rtol = 1e-10``, ``atol = 1e-6`` cells.
    * :func:`separatrix_T0`: the initial tumour size, at a given ``E0`` (default ``s/d``), that
      separates dormancy from escape, by bisection in ``log T0`` on the outcome of
      :func:`outcome` until ``hi/lo − 1 <= rtol`` (default 1e-6); the bracket (default
      ``[1e3, 1/b]`` cells) must hold a dormant and an escaping end, else ``ValueError``.
      :func:`stable_manifold_T` gives the same number independently: the saddle's stable
      manifold integrated backwards to ``E = E0``.
    * The well-mixed stochastic per-cell form (the agent immune model's well-mixed limit):
      :func:`per_cell_rates` gives each individual's event rates per minute, in the terms the
      agent model uses, for a system size ``Ω`` (each simulated individual stands for ``Ω``
      cells: ``s → s/Ω``, ``g → g/Ω``, ``m → mΩ``, ``n → nΩ``, ``b → bΩ``; first-order rates
      unchanged); :func:`simulate_well_mixed` runs it as a binomial tau-leap with step
      ``dt_min``: every individual alive at the start of a step has each of its competing
      events with probability ``(r_k/R)(1 − exp(−R dt))`` (rates frozen over the step, as an
      agent's phenotype step), drawn as conditional binomials over the exchangeable cells;
      recruitment is Poisson(``s/Ω dt``). Randomness: Numba's generator seeded per run, so a
      run is reproducible by its seed alone.
    * Registered model ``"kuznetsov"``: fields ``E`` and ``T`` (cells) on a one-voxel mesh
      (the compartment has no space); a step integrates the ODE over ``dt_min``; metrics
      ``T_cells``, ``E_cells``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.integrate import solve_ivp

from invasim.core.mesh import Mesh
from invasim.models.base import FieldSpec, Model, register

#: minutes per day
DAY_MIN = 1440.0
#: the paper's scales: E and T in units of 1e6 cells, time in units of 1/(n T0)
PAPER_SCALE_CELLS = 1.0e6
_SRC = "Kuznetsov et al. 1994 Bull Math Biol 56:295, BCL1 lymphoma (BioModels BIOMD0000000762)"


class KuznetsovParams(BaseModel):
    """The eight rate constants of the model, per day as published."""

    model_config = ConfigDict(extra="forbid")

    s_cells_per_day: float = Field(
        1.3e4, ge=0, description=f"s, effector influx (normal rate of supply) [cells/day]; {_SRC}"
    )
    p_per_day: float = Field(
        0.1245, ge=0, description=f"p, maximal tumour-stimulated effector proliferation [1/day]; "
        f"{_SRC}"
    )  # fmt: skip
    g_cells: float = Field(
        2.019e7, gt=0, description=f"g, tumour size at half-maximal stimulation [cells]; {_SRC}"
    )
    m_per_cell_day: float = Field(
        3.422e-10, ge=0, description=f"m, effector inactivation by tumour cells "
        f"[1/(cell·day)]; {_SRC}"
    )  # fmt: skip
    d_per_day: float = Field(
        0.0412, gt=0, description=f"d, effector death (and emigration) [1/day]; {_SRC}"
    )
    a_per_day: float = Field(
        0.18, gt=0, description=f"a, maximal tumour growth rate [1/day]; {_SRC}"
    )
    b_per_cell: float = Field(
        2.0e-9, gt=0, description=f"b, inverse tumour carrying capacity (1/b = 5e8 cells) "
        f"[1/cell]; {_SRC}"
    )  # fmt: skip
    n_per_cell_day: float = Field(
        1.101e-7, gt=0, description=f"n, tumour cells killed per effector–tumour pair "
        f"[1/(cell·day)]; {_SRC}"
    )  # fmt: skip

    def values(self) -> tuple[float, float, float, float, float, float, float, float]:
        """``(s, p, g, m, d, a, b, n)`` per day, cells."""
        return (self.s_cells_per_day, self.p_per_day, self.g_cells, self.m_per_cell_day,
                self.d_per_day, self.a_per_day, self.b_per_cell, self.n_per_cell_day)  # fmt: skip

    @property
    def E_tumour_free(self) -> float:
        """Effector level without tumour, ``s/d`` [cells]."""
        return self.s_cells_per_day / self.d_per_day

    def dimensionless(self) -> dict[str, float]:
        """The paper's groups: ``x = E/E0``, ``y = T/T0``, ``E0 = T0 = 1e6``, time ``n T0 t``.

        ``σ = s/(n E0 T0)``, ``ρ = p/(n T0)``, ``η = g/T0``, ``μ = m/n``, ``δ = d/(n T0)``,
        ``α = a/(n T0)``, ``β = b T0`` (the paper: 0.1181, 1.131, 20.19, 0.00311, 0.3743,
        1.636, 2.0e-3).
        """
        s, p, g, m, d, a, b, n = self.values()
        c = PAPER_SCALE_CELLS
        return {"sigma": s / (n * c * c), "rho": p / (n * c), "eta": g / c, "mu": m / n,
                "delta": d / (n * c), "alpha": a / (n * c), "beta": b * c}  # fmt: skip


# -- the vector field -------------------------------------------------------------------------
def rhs(E, T, params: KuznetsovParams):
    """``(dE/dt, dT/dt)`` in cells/day (scalars or arrays)."""
    s, p, g, m, d, a, b, n = params.values()
    dE = s + p * E * T / (g + T) - m * E * T - d * E
    dT = a * T * (1.0 - b * T) - n * E * T
    return dE, dT


def jacobian(E: float, T: float, params: KuznetsovParams) -> np.ndarray:
    """The Jacobian ``∂(dE/dt, dT/dt)/∂(E, T)`` [1/day and cells/(cell·day)], shape (2, 2)."""
    s, p, g, m, d, a, b, n = params.values()
    return np.array(
        [
            [p * T / (g + T) - m * T - d, p * E * g / (g + T) ** 2 - m * E],
            [-n * T, a - 2.0 * a * b * T - n * E],
        ]
    )


# -- steady states ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Equilibrium:
    """A steady state with its linear stability.

    Attributes:
        E: effector cells. T: tumour cells.
        eigenvalues: of the Jacobian there [1/day] (complex).
        label: ``stable node``, ``stable focus``, ``saddle``, ``unstable node``, ``unstable
            focus`` or ``non-hyperbolic``.
        role: ``tumour-free``, ``dormant`` (the stable state of smallest ``T > 0``),
            ``escape`` (the stable state of largest ``T``), ``saddle`` or ``other``.
    """

    E: float
    T: float
    eigenvalues: tuple[complex, complex]
    label: str
    role: str

    @property
    def stable(self) -> bool:
        """Both eigenvalues have negative real parts."""
        return self.label.startswith("stable")

    def scaled(self) -> tuple[float, float]:
        """``(x, y) = (E, T)/1e6``, the paper's dimensionless coordinates."""
        return self.E / PAPER_SCALE_CELLS, self.T / PAPER_SCALE_CELLS


def stability_label(eigenvalues, tol: float = 1e-12) -> str:
    """Classify a 2-D steady state by its Jacobian eigenvalues."""
    lam = np.asarray(eigenvalues, dtype=complex)
    re = lam.real
    scale = max(float(np.abs(lam).max()), 1e-300)
    if np.any(np.abs(re) <= tol * scale):
        return "non-hyperbolic"
    focus = abs(lam[0].imag) > tol * scale
    if np.all(re < 0):
        return "stable focus" if focus else "stable node"
    if np.all(re > 0):
        return "unstable focus" if focus else "unstable node"
    return "saddle"


def tumour_cubic(params: KuznetsovParams) -> np.ndarray:
    """Coefficients (highest power first) in ``y = T/1e6`` of the steady-state cubic.

    With ``E = a (1 − b T)/n`` (``dT/dt = 0``, ``T > 0``), ``(g + T) dE/dt = 0`` reads
    ``s (g + T) + E [p T − (m T + d)(g + T)] = 0``.
    """
    s, p, g, m, d, a, b, n = params.values()
    c = PAPER_SCALE_CELLS
    y = np.polynomial.Polynomial([0.0, c])  # T as a polynomial in y
    E = (a / n) * (1.0 - b * y)
    poly = s * (g + y) + E * (p * y - (m * y + d) * (g + y))
    return poly.coef[::-1]


def _polish(E: float, T: float, params: KuznetsovParams) -> tuple[float, float]:
    """A few Newton steps on the full 2-D system (refines the cubic's roots to round-off)."""
    for _ in range(8):
        f = np.array(rhs(E, T, params))
        step = np.linalg.solve(jacobian(E, T, params), f)
        E, T = E - step[0], T - step[1]
    return float(E), float(T)


def equilibria(params: KuznetsovParams) -> list[Equilibrium]:
    """Every non-negative steady state, tumour-free first, then by increasing ``T``."""
    s, p, g, m, d, a, b, n = params.values()
    points = [(s / d, 0.0)]
    for r in np.roots(tumour_cubic(params)):
        if abs(r.imag) > 1e-9 * max(1.0, abs(r)):
            continue
        T = float(r.real) * PAPER_SCALE_CELLS
        if not 0.0 < T < 1.0 / b:  # E = a (1 − bT)/n must be positive
            continue
        points.append(_polish(a * (1.0 - b * T) / n, T, params))
    points[1:] = sorted(points[1:], key=lambda q: q[1])
    out = []
    stable_tumour = [i for i, (E, T) in enumerate(points) if i > 0 and stability_label(
        np.linalg.eigvals(jacobian(E, T, params))).startswith("stable")]  # fmt: skip
    for i, (E, T) in enumerate(points):
        lam = np.linalg.eigvals(jacobian(E, T, params))
        label = stability_label(lam)
        if i == 0:
            role = "tumour-free"
        elif stable_tumour and i == stable_tumour[0]:
            role = "dormant"
        elif len(stable_tumour) > 1 and i == stable_tumour[-1]:
            role = "escape"
        else:
            role = "saddle" if label == "saddle" else "other"
        lam = tuple(complex(x) for x in sorted(lam, key=lambda z: (z.real, z.imag)))
        out.append(Equilibrium(float(E), float(T), lam, label, role))  # type: ignore[arg-type]
    return out


def equilibrium(params: KuznetsovParams, role: str) -> Equilibrium:
    """The steady state with ``role`` (``dormant``, ``escape``, ``saddle``, ``tumour-free``)."""
    for q in equilibria(params):
        if q.role == role:
            return q
    raise ValueError(f"no {role} equilibrium for these parameters (not bistable)")


# -- trajectories ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Trajectory:
    """An ODE solution: ``t_days``, ``E`` and ``T`` (cells), arrays of equal length."""

    t_days: np.ndarray
    E: np.ndarray
    T: np.ndarray


def integrate(
    params: KuznetsovParams,
    E0: float,
    T0: float,
    t_days: float,
    *,
    t_eval=None,
    rtol: float = 1e-10,
    atol: float = 1e-6,
    events=None,
) -> Trajectory:
    """Integrate from ``(E0, T0)`` over ``[0, t_days]`` (LSODA with the analytic Jacobian).

    ``t_days < 0`` integrates backwards. ``events``: as :func:`scipy.integrate.solve_ivp`
    (functions of ``(t, y)``). Raises ``RuntimeError`` if the solver fails.
    """

    def f(t, y):
        return rhs(y[0], y[1], params)

    def jac(t, y):
        return jacobian(y[0], y[1], params)

    sol = solve_ivp(f, (0.0, float(t_days)), [float(E0), float(T0)], method="LSODA", jac=jac,
                    rtol=rtol, atol=atol, t_eval=t_eval, events=events)  # fmt: skip
    if sol.status < 0:
        raise RuntimeError(f"Kuznetsov ODE integration failed: {sol.message}")
    return Trajectory(sol.t, sol.y[0], sol.y[1])


#: a state within this relative distance of a stable equilibrium (in both E and T) counts as
#: having reached it (the boxes lie deep inside the basins: checked in the unit tests)
SETTLED_REL = 0.02


def outcome(params: KuznetsovParams, E0: float, T0: float, t_max_days: float = 20000.0) -> str:
    """``"dormant"`` or ``"escape"``: which stable tumour state the trajectory settles at.

    Integrates until the state lies within :data:`SETTLED_REL` of the dormant or the escape
    equilibrium (``RuntimeError`` if neither by ``t_max_days``).
    """
    targets = {q.role: q for q in equilibria(params) if q.role in ("dormant", "escape")}
    if len(targets) != 2:
        raise ValueError("outcome needs a dormant and an escape equilibrium (bistable params)")

    def near(q: Equilibrium):
        def ev(t, y):
            return max(abs(y[0] / q.E - 1.0), abs(y[1] / q.T - 1.0)) - SETTLED_REL

        ev.terminal = True
        ev.direction = -1
        return ev

    roles = ("dormant", "escape")
    tr = integrate(params, E0, T0, t_max_days, events=[near(targets[r]) for r in roles])
    for r in roles:
        q = targets[r]
        if max(abs(tr.E[-1] / q.E - 1.0), abs(tr.T[-1] / q.T - 1.0)) <= SETTLED_REL + 1e-9:
            return r
    raise RuntimeError(f"no outcome by {t_max_days} days from E0 = {E0:g}, T0 = {T0:g}")


def separatrix_T0(
    params: KuznetsovParams,
    E0: float | None = None,
    bracket: tuple[float, float] | None = None,
    rtol: float = 1e-6,
) -> float:
    """Initial tumour size [cells] dividing dormancy (below) from escape (above) at ``E0``.

    Bisection in ``log T0`` on :func:`outcome` until ``hi/lo − 1 <= rtol``; ``E0`` defaults to
    ``s/d``, ``bracket`` to ``(1e3, 1/b)`` cells. Raises ``ValueError`` when the bracket's ends
    do not go dormant (low) and escape (high).
    """
    E0 = params.E_tumour_free if E0 is None else float(E0)
    lo, hi = bracket if bracket is not None else (1.0e3, 1.0 / params.b_per_cell)
    lo_out, hi_out = outcome(params, E0, lo), outcome(params, E0, hi)
    if (lo_out, hi_out) != ("dormant", "escape"):
        raise ValueError(
            f"separatrix bracket T0 = [{lo:g}, {hi:g}] gives {lo_out} / {hi_out}; "
            "need dormant at the low end and escape at the high end"
        )
    while hi / lo - 1.0 > rtol:
        mid = math.sqrt(lo * hi)
        if outcome(params, E0, mid) == "dormant":
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def stable_manifold_T(params: KuznetsovParams, E0: float | None = None,
                      offset: float = 1e-6) -> float:  # fmt: skip
    """``T`` where the saddle's stable manifold crosses ``E = E0`` (default ``s/d``).

    Independent of :func:`separatrix_T0`: starts a relative ``offset`` from the saddle along
    its stable eigenvector, on the side of ``E0``, and integrates backwards in time until
    ``E = E0``.
    """
    E0 = params.E_tumour_free if E0 is None else float(E0)
    q = equilibrium(params, "saddle")
    lam, vec = np.linalg.eig(jacobian(q.E, q.T, params))
    v = np.real(vec[:, int(np.argmin(lam.real))])
    v = v * np.sign(v[0]) * np.sign(E0 - q.E)  # point towards E0
    scale = np.array([q.E, q.T])
    start = scale + offset * np.linalg.norm(scale) * v / np.linalg.norm(v)

    def hit(t, y):
        return y[0] - E0

    hit.terminal = True
    tr = integrate(params, start[0], start[1], -5000.0, events=[hit])
    if abs(tr.E[-1] / E0 - 1.0) > 1e-6:
        raise RuntimeError(f"the stable manifold does not reach E = {E0:g}")
    return float(tr.T[-1])


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


# -- the registered model ---------------------------------------------------------------------
class KuznetsovModelParams(KuznetsovParams):
    """The rate constants plus the initial state, for ``invasim run``."""

    E0_cells: float = Field(
        3.2e5, ge=0, description="initial effector cells [cells]; BioModels BIOMD0000000762's "
        "initial value (close to s/d = 3.16e5)"
    )  # fmt: skip
    T0_cells: float = Field(
        5.0e6, ge=0, description="initial tumour cells [cells]; BioModels BIOMD0000000762's "
        "initial value (below the separatrix 6.4e7 at E0 = s/d: dormancy)"
    )  # fmt: skip


@register
class Kuznetsov(Model):
    """The Kuznetsov tumour–immune ODE as a run: ``E(t)``, ``T(t)`` in ``metrics.csv``."""

    name: ClassVar[str] = "kuznetsov"
    title: ClassVar[str] = "Kuznetsov et al. 1994 tumour–immune dynamics (effectors, tumour; ODE)"
    Params: ClassVar[type[BaseModel]] = KuznetsovModelParams
    metric_names: ClassVar[tuple[str, ...]] = ("T_cells", "E_cells")
    references: ClassVar[tuple[str, ...]] = (
        "Kuznetsov VA, Makalkin IA, Taylor MA, Perelson AS (1994) Nonlinear dynamics of "
        "immunogenic tumors: parameter estimation and global bifurcation analysis. Bull Math "
        "Biol 56:295-321",
    )

    @classmethod
    def check(cls, params: KuznetsovModelParams, mesh: Mesh, dt: float) -> list[str]:
        """The compartment is well mixed: one voxel."""
        if mesh.n_voxels != 1:
            return [f"mesh has {mesh.n_voxels} voxels; the kuznetsov model is one well-mixed "
                    "compartment: allowed one voxel (extent_um = voxel_um)"]  # fmt: skip
        return []

    def field_specs(self) -> list[FieldSpec]:
        """Effector cells ``E`` and tumour cells ``T`` (counts in the compartment)."""
        return [FieldSpec("E", "cells", "effector (cytotoxic) cells"),
                FieldSpec("T", "cells", "tumour cells")]  # fmt: skip

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``E0_cells`` and ``T0_cells``."""
        p = self.params
        return {"E": np.full(self.mesh.array_shape, p.E0_cells, dtype=np.float64),
                "T": np.full(self.mesh.array_shape, p.T0_cells, dtype=np.float64)}  # fmt: skip

    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """Integrate the ODE over ``dt`` minutes (``dt/1440`` days), deterministically."""
        E, T = float(fields["E"].flat[0]), float(fields["T"].flat[0])
        tr = integrate(self.params, E, T, self.dt / DAY_MIN)
        fields["E"][...] = max(tr.E[-1], 0.0)
        fields["T"][...] = max(tr.T[-1], 0.0)

    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """Tumour and effector cells."""
        return {"T_cells": float(fields["T"].flat[0]), "E_cells": float(fields["E"].flat[0])}
