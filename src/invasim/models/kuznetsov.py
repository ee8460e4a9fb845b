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
    * The well-mixed stochastic per-cell form (the agent immune model's well-mixed limit, a
      binomial tau-leap at system size Ω) is in :mod:`invasim.models.kuznetsov_stochastic`.
    * Registered model ``"kuznetsov"``: fields ``E`` and ``T`` (cells) on a one-voxel mesh
      (the compartment has no space); a step integrates the ODE over ``dt_min``; metrics
      ``T_cells``, ``E_cells``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

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
