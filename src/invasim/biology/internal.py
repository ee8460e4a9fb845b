"""Internal per-cell state: ODE variables a process integrates in every cell.

Contract:
    * An :class:`InternalModel` declares its variables (:class:`StateVariable`: name, unit,
      initial value, inheritance), its inputs (per-cell signals, e.g. a stimulus rate) and
      its parameters (:class:`Quantity`, with units), and gives the right-hand side
      ``rhs(y, u, p, out)`` (``dy/dt`` in each variable's unit per min) and optionally its
      Jacobian ``jac(y, u, p, J)`` as Numba ``njit`` functions of 1-D arrays. The variables
      are ``internal`` columns of :class:`~invasim.core.cells.Cells` (:func:`declare_internal`),
      so they travel with the cells; division copies them, or halves them (``split``).
    * :func:`integrate_internal` advances every cell by ``dt`` min with TR-BDF2 (Bank et al.
      1985, IEEE Trans. CAD 4:436; Hosea & Shampine 1996, Appl. Numer. Math. 20:21): a
      trapezoidal stage to ``t + γh`` and a BDF2 stage to ``t + h``, ``γ = 2 - √2``, both
      implicit and sharing the iteration matrix ``I - γ h J / 2`` (simplified Newton, the
      Jacobian refreshed whenever an iteration contracts by less than 10×; analytic or
      forward-difference Jacobian; a small LU with pivoting). It is second order and L-stable,
      so stiff rate constants (``k h`` in the hundreds) are damped, not amplified. Adaptive
      mode (``rtol > 0``): Hosea & Shampine's embedded estimate, filtered through
      ``(I - γ h J / 2)^-1`` as they advise for stiff problems, keeps
      ``|err_i| <= atol_i + rtol max(|y_i|, |y_i'|)`` per step (step factor ``0.9 err^-1/3``
      in [0.2, 4]); the first trial step is ``dt / substeps``, shortened so that no variable
      changes by more than ``rtol^1/3`` of its size (``|y_i| + atol_i / rtol``). Fixed mode
      (``rtol = 0``): ``substeps`` steps of ``dt / substeps``, unless one is rejected.
    * Positivity: a step whose stages make a variable declared ``nonnegative`` negative is
      rejected and retried with half the step, so accepted states are never negative (the
      exact solution of the models here stays in its invariant box, and the scheme's
      iterates converge to it). A Newton iteration that does not converge is also retried
      with half the step; a step below ``1e-12 dt`` raises :class:`IntegrationError`.
    * Deterministic and thread independent: each cell is integrated on its own with the same
      operations (no random numbers, no reductions across cells, no fastmath), so the result
      is bit for bit the same on 1 or N threads and in any cell order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit, prange
from pydantic import BaseModel, ConfigDict, Field

from invasim.core.cells import Cells

_G = 2.0 - math.sqrt(2.0)  # γ: TR-BDF2's intermediate time fraction
_D = _G / 2.0  # coefficient of h f(Y) in both implicit stages
_W1 = 1.0 / (_G * (2.0 - _G))  # BDF2 stage: Y2 = W1 Y1 + W0 y + D h f(Y2)
_W0 = -((1.0 - _G) ** 2) / (_G * (2.0 - _G))
_CE = 2.0 * (-3.0 * _G * _G + 4.0 * _G - 2.0) / (12.0 * (2.0 - _G))  # 2 C, error constant
_MAX_NEWTON = 10
#: cells per chunk of the parallel loop (one set of work arrays per chunk)
_CHUNK = 256


class IntegrationError(RuntimeError):
    """The integrator could not advance some cells (step size collapsed)."""


class StateVariable(BaseModel):
    """One internal variable of a cell (an ``internal`` column)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="column name")
    unit: str = Field(description="unit of the variable, e.g. 'µM'")
    description: str = ""
    initial: float = Field(0.0, allow_inf_nan=False, description="initial value, in `unit`")
    scale: float = Field(
        1.0, gt=0.0, description="typical magnitude, in `unit` (Newton convergence test)"
    )
    nonnegative: bool = Field(True, description="a concentration: never negative")
    inheritance: Literal["copy", "split"] = Field(
        "copy", description="at division: copy (both daughters) or split (half each)"
    )


class Quantity(BaseModel):
    """A named value with a unit (a model input or parameter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    unit: str
    value: float = 0.0
    description: str = ""


@dataclass(frozen=True)
class InternalModel:
    """A per-cell ODE system ``dy/dt = rhs(y, u, p)`` (see the module contract).

    Attributes:
        name: the model's name (errors quote it).
        variables: the state variables, in the order of ``y``.
        inputs: per-cell inputs, in the order of ``u`` (``value`` unused).
        params: parameters with default values, in the order of ``p``.
        rhs: ``njit`` function ``rhs(y, u, p, out)``, writes ``dy/dt`` (unit/min) to ``out``.
        jac: ``njit`` function ``jac(y, u, p, J)``, writes ``∂rhs_i/∂y_j`` to ``J[i, j]``;
            None: forward differences.
    """

    name: str
    variables: tuple[StateVariable, ...]
    inputs: tuple[Quantity, ...]
    params: tuple[Quantity, ...]
    rhs: Callable
    jac: Callable | None = None

    def param_array(self, **overrides: float) -> np.ndarray:
        """``[n_params]`` parameter vector: the defaults, with ``overrides`` by name."""
        names = [q.name for q in self.params]
        unknown = set(overrides) - set(names)
        if unknown:
            raise KeyError(f"{self.name}: unknown parameter(s) {sorted(unknown)}; known {names}")
        return np.array([float(overrides.get(q.name, q.value)) for q in self.params])


def declare_internal(cells: Cells, model: InternalModel) -> list[int]:
    """Add the model's variables as ``internal`` columns (default: their initial values)."""
    return [cells.add_internal(v.name, v.initial, v.inheritance) for v in model.variables]


@njit(cache=True)
def _lu_factor(a, piv):
    """LU-factorise ``a`` ``[m, m]`` in place with partial pivoting; False if singular."""
    m = a.shape[0]
    for c in range(m):
        p = c
        for r in range(c + 1, m):
            if abs(a[r, c]) > abs(a[p, c]):
                p = r
        piv[c] = p
        if a[p, c] == 0.0:
            return False
        if p != c:
            for j in range(m):
                a[c, j], a[p, j] = a[p, j], a[c, j]
        for r in range(c + 1, m):
            a[r, c] /= a[c, c]
            for j in range(c + 1, m):
                a[r, j] -= a[r, c] * a[c, j]
    return True


@njit(cache=True)
def _lu_solve(a, piv, b, x):
    """Solve ``A x = b`` given :func:`_lu_factor`'s ``a`` and ``piv``."""
    m = a.shape[0]
    for i in range(m):
        x[i] = b[i]
    for c in range(m):
        p = piv[c]
        if p != c:
            x[c], x[p] = x[p], x[c]
        for r in range(c + 1, m):
            x[r] -= a[r, c] * x[c]
    for c in range(m - 1, -1, -1):
        s = x[c]
        for j in range(c + 1, m):
            s -= a[c, j] * x[j]
        x[c] = s / a[c, c]


_KERNELS: dict = {}
# The kernel below inlines its hot helpers (Numba IR inlining: the same operations, no call):
# a call passing a dozen arrays cost more than the arithmetic of a 3-variable model (TR-BDF2
# on 10^5 Rac/Rho cells: 200 -> 86 ms a phenotype step, one thread). Each inlined copy adds
# compile time, so the rare calls (Newton's Jacobian refreshes, the model's own functions)
# stay calls.
_lu_solve_inline = njit(inline="always")(_lu_solve.py_func)
_lu_factor_inline = njit(inline="always")(_lu_factor.py_func)


def make_integrator(rhs: Callable, jac: Callable | None = None) -> Callable:
    """Compile (once per ``(rhs, jac)`` and process) the TR-BDF2 kernel of a model.

    The kernel is ``kernel(y, u, p, dt, h0, rtol, atol, scale, nonneg, newton_tol, n_acc,
    n_rej, status)`` on ``y [n, m]`` (updated), ``u [n, k]``, ``p [n, q]``, ``atol``,
    ``scale`` ``[m]``, ``nonneg [m]`` bool and per-cell outputs ``n_acc``, ``n_rej`` (int32,
    accepted and rejected steps) and ``status`` (int8: 0 ok, 1 step collapsed). Numba cannot
    cache it on disk (it is specialised on the model's functions): the first call compiles.
    """
    key = (rhs, jac)
    if key in _KERNELS:
        return _KERNELS[key]
    if jac is None:

        @njit(inline="always")
        def jac_at(y, u, p, fy, scale, jm, ytmp, ftmp):
            m = y.shape[0]
            for j in range(m):
                for i in range(m):
                    ytmp[i] = y[i]
                eps = 1.4901161193847656e-08 * max(abs(y[j]), scale[j])
                ytmp[j] = y[j] + eps
                rhs(ytmp, u, p, ftmp)
                for i in range(m):
                    jm[i, j] = (ftmp[i] - fy[i]) / eps

    else:

        @njit(inline="always")
        def jac_at(y, u, p, fy, scale, jm, ytmp, ftmp):
            jac(y, u, p, jm)

    @njit(inline="always")
    def iteration_matrix(z, fz, h, u, p, scale, jm, mm, piv, ytmp, ftmp):
        """``mm = LU(I - D h J(z))``; False if singular."""
        jac_at(z, u, p, fz, scale, jm, ytmp, ftmp)
        for i in range(z.shape[0]):
            for j in range(z.shape[0]):
                mm[i, j] = (1.0 if i == j else 0.0) - _D * h * jm[i, j]
        return _lu_factor_inline(mm, piv)

    @njit
    def refresh(z, fz, h, u, p, scale, jm, mm, piv, ytmp, ftmp):
        """:func:`iteration_matrix`, not inlined: Newton's (rare) refreshes call it."""
        return iteration_matrix(z, fz, h, u, p, scale, jm, mm, piv, ytmp, ftmp)

    @njit(inline="always")
    def newton(z, b, h, u, p, scale, tol, fz, jm, mm, piv, g, dz, ytmp, ftmp):
        """Solve ``z - D h f(z) = b`` from the guess ``z``; on success ``fz = f(z)``.

        Simplified Newton on the factorised ``mm``, refreshed at the iterate when an update
        is more than a tenth of the one before (then it is Newton's method proper).
        """
        m = z.shape[0]
        prev = np.inf
        rhs(z, u, p, fz)
        for _ in range(_MAX_NEWTON):
            for i in range(m):
                g[i] = b[i] - z[i] + _D * h * fz[i]
            _lu_solve_inline(mm, piv, g, dz)
            size = 0.0
            for i in range(m):
                z[i] += dz[i]
                if not math.isfinite(z[i]):  # (max() would hide a NaN)
                    return False
                size = max(size, abs(dz[i]) / scale[i])
            rhs(z, u, p, fz)  # f at the new iterate: the result, or the next iteration's
            if size <= tol:
                return True
            if size > 0.1 * prev:
                if not refresh(z, fz, h, u, p, scale, jm, mm, piv, ytmp, ftmp):
                    return False
            prev = size
        return False

    @njit(parallel=True)
    def kernel(y, u, p, dt, h0, rtol, atol, scale, nonneg, tol, n_acc, n_rej, status):
        n, m = y.shape
        n_chunks = (n + _CHUNK - 1) // _CHUNK
        for ch in prange(n_chunks):  # work arrays per chunk of cells, not per cell
            w = np.empty((11, m))
            mats = np.empty((2, m, m))
            piv = np.empty(m, np.int64)
            yc, f0, z1, z2, b, g, dz, ytmp, ftmp, est, fz = w
            jm, mm = mats
            for c in range(ch * _CHUNK, min(n, (ch + 1) * _CHUNK)):
                uc, pc = u[c], p[c]
                for i in range(m):
                    yc[i] = y[c, i]
                t, h, acc, rej = 0.0, h0, 0, 0
                rhs(yc, uc, pc, f0)  # then f(y) of each accepted step, kept from its last stage
                if rtol > 0.0:  # first trial: a change of rtol^(1/3) of each variable's size
                    for i in range(m):
                        size = abs(yc[i]) + atol[i] / rtol
                        if abs(f0[i]) * h > size * rtol ** (1.0 / 3.0):
                            h = size * rtol ** (1.0 / 3.0) / abs(f0[i])
                while t < dt:
                    remaining = dt - t
                    last = h >= remaining * (1.0 - 1e-12)
                    if last:
                        h = remaining
                    ok = iteration_matrix(yc, f0, h, uc, pc, scale, jm, mm, piv, ytmp, ftmp)
                    for i in range(m):
                        z1[i] = yc[i]
                        b[i] = yc[i] + _D * h * f0[i]
                    # the trapezoidal stage to t + γh (z1), then the BDF2 stage to t + h (z2):
                    # one call site of the (inlined) Newton solver for both
                    for stage in range(2):
                        if ok:
                            z = z1 if stage == 0 else z2
                            ok = newton(z, b, h, uc, pc, scale, tol, fz, jm, mm, piv, g, dz,
                                        ytmp, ftmp)
                        if ok and stage == 0:
                            for i in range(m):
                                est[i] = f0[i] / _G - fz[i] / (_G * (1.0 - _G))
                                z2[i] = z1[i]
                                b[i] = _W1 * z1[i] + _W0 * yc[i]
                                ok = ok and not (nonneg[i] and z1[i] < 0.0)
                    for i in range(m):
                        ok = ok and not (nonneg[i] and z2[i] < 0.0)
                    err = 0.0
                    if ok and rtol > 0.0:  # filtered estimate (I - D h J)^-1 est, into g
                        for i in range(m):
                            est[i] = _CE * h * (est[i] + fz[i] / (1.0 - _G))
                        _lu_solve(mm, piv, est, g)
                        for i in range(m):
                            sc = atol[i] + rtol * max(abs(yc[i]), abs(z2[i]))
                            err = max(err, abs(g[i]) / sc)
                    if ok and err <= 1.0:
                        for i in range(m):
                            yc[i] = z2[i]
                            f0[i] = fz[i]
                        t = dt if last else t + h
                        acc += 1
                        if rtol > 0.0:
                            grow = 0.9 * err ** (-1.0 / 3.0) if err > 0.0 else 4.0
                            h *= min(4.0, max(0.2, grow))
                        else:
                            h = min(2.0 * h, h0)
                    else:
                        rej += 1
                        if ok:  # error too large
                            h *= max(0.2, 0.9 * err ** (-1.0 / 3.0))
                        else:  # Newton failed or a negative concentration
                            h *= 0.5
                        if h < 1e-12 * dt:
                            status[c] = 1
                            break
                for i in range(m):
                    y[c, i] = yc[i]
                n_acc[c] = acc
                n_rej[c] = rej

    _KERNELS[key] = kernel
    return kernel


@dataclass(frozen=True)
class IntegrationStats:
    """Per-cell counts of one :func:`integrate` call: accepted and rejected steps, ``[n]``."""

    accepted: np.ndarray
    rejected: np.ndarray


def _per_cell(a, n: int, k: int, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.shape not in ((k,), (n, k)):
        raise ValueError(f"{what} must be [{k}] or [{n}, {k}], got shape {a.shape}")
    return np.ascontiguousarray(np.broadcast_to(a, (n, k)))


def integrate(
    model: InternalModel,
    y: np.ndarray,
    dt: float,
    inputs=None,
    params=None,
    rtol: float = 1e-4,
    atol: float | Sequence[float] = 1e-8,
    substeps: int = 1,
    newton_tol: float = 1e-10,
) -> IntegrationStats:
    """Advance ``y`` ``[n, n_variables]`` (in place) by ``dt`` min with TR-BDF2.

    Args:
        model: the ODE system.
        y: ``[n, m]`` float64 C-contiguous state, variables in the model's order and units.
        dt: time to advance, min (e.g. the phenotype step, 6 min).
        inputs: ``[k]`` or ``[n, k]`` inputs in the model's order and units (None: values).
        params: ``[q]`` or ``[n, q]`` parameters (None: the model's defaults).
        rtol: relative tolerance per step; 0: fixed steps of ``dt / substeps``. (Rac1–RhoA
            cells over 6 min: 1e-4 -> ~35 steps, global error ~4e-4 µM; 1e-6 -> ~140 steps.)
        atol: absolute tolerance per variable (its unit), scalar or ``[m]``.
        substeps: steps per ``dt`` in fixed mode; the longest first trial step, adaptive.
        newton_tol: Newton stops when every update is below ``newton_tol × scale``.

    Returns:
        the per-cell step counts.

    Raises:
        IntegrationError: some cells could not be advanced (they keep their last state).
    """
    if y.dtype != np.float64 or not y.flags.c_contiguous or y.ndim != 2:
        raise ValueError("y must be a C-contiguous [n, m] float64 array")
    n, m = y.shape
    if m != len(model.variables):
        raise ValueError(f"{model.name}: y has {m} columns, the model {len(model.variables)}")
    if not dt >= 0.0 or int(substeps) < 1 or not rtol >= 0.0:
        raise ValueError(f"need dt >= 0, substeps >= 1, rtol >= 0; got {dt}, {substeps}, {rtol}")
    k, q = len(model.inputs), len(model.params)
    u = _per_cell([v.value for v in model.inputs] if inputs is None else inputs, n, k, "inputs")
    p = _per_cell(model.param_array() if params is None else params, n, q, "params")
    at = np.ascontiguousarray(np.broadcast_to(np.asarray(atol, dtype=np.float64), (m,)))
    scale = np.array([v.scale for v in model.variables])
    nonneg = np.array([v.nonnegative for v in model.variables])
    n_acc, n_rej = np.zeros(n, np.int32), np.zeros(n, np.int32)
    status = np.zeros(n, np.int8)
    if n and dt > 0.0:
        kernel = make_integrator(model.rhs, model.jac)
        kernel(y, u, p, float(dt), float(dt) / int(substeps), float(rtol), at, scale, nonneg,
               float(newton_tol), n_acc, n_rej, status)  # fmt: skip
    bad = np.flatnonzero(status)
    if bad.size:
        raise IntegrationError(
            f"{model.name}: the step size collapsed in {bad.size} of {n} cells (first row "
            f"{bad[0]}, state {y[bad[0]].tolist()}); check the inputs and parameters"
        )
    return IntegrationStats(n_acc, n_rej)


def integrate_internal(
    cells: Cells, model: InternalModel, dt: float, inputs=None, params=None, **options
) -> IntegrationStats:
    """Advance the model's ``internal`` columns of every live cell by ``dt`` min.

    Gathers the columns into ``[n, m]``, calls :func:`integrate` (``options``: its keyword
    arguments) and writes them back. Dead cells are integrated too (pass inputs that switch
    them off if they should not signal).
    """
    names = [v.name for v in model.variables]
    y = np.ascontiguousarray(np.stack([cells.internal(v) for v in names], axis=1))
    stats = integrate(model, y, dt, inputs, params, **options)
    for j, v in enumerate(names):
        cells.internal(v)[:] = y[:, j]
    return stats


# -------------------------------------------------------------------- Rac1–RhoA mutual inhibition
@njit(cache=True, inline="always")
def hill_pow(x, n):  # public: the Rac/Rho model of biology.rho_gtpase uses it too
    """``x ** n`` for ``x >= 0``, by multiplication when ``n`` is a small whole number."""
    k = int(n)
    if k == n and 0 <= k <= 8:
        r = 1.0
        for _ in range(k):
            r *= x
        return r
    return x**n


@njit(cache=True)
def _rac_rho_rhs(y, u, p, out):
    r, rho = y[0], y[1]
    r_tot, rho_tot, b_r, b_rho, d_r, d_rho, k_r, k_rho, hill = p[0], p[1], p[2], p[3], p[4], \
        p[5], p[6], p[7], p[8]  # fmt: skip
    # positive parts: Newton iterates may be transiently negative
    out[0] = (b_r + u[0]) * (r_tot - r) / (1.0 + hill_pow(max(rho, 0.0) / k_rho, hill)) - d_r * r
    inhibition = 1.0 + hill_pow(max(r, 0.0) / k_r, hill)
    out[1] = (b_rho + u[1]) * (rho_tot - rho) / inhibition - d_rho * rho


@njit(cache=True)
def _rac_rho_jac(y, u, p, jm):
    r, rho = max(y[0], 0.0), max(y[1], 0.0)
    r_tot, rho_tot, b_r, b_rho, d_r, d_rho, k_r, k_rho, hill = p[0], p[1], p[2], p[3], p[4], \
        p[5], p[6], p[7], p[8]  # fmt: skip
    a_r, a_rho = b_r + u[0], b_rho + u[1]
    q_rho, q_r = 1.0 + hill_pow(rho / k_rho, hill), 1.0 + hill_pow(r / k_r, hill)
    jm[0, 0] = -a_r / q_rho - d_r
    jm[0, 1] = -a_r * (r_tot - y[0]) * hill * hill_pow(rho / k_rho, hill - 1.0) / (k_rho * q_rho**2)
    jm[1, 0] = -a_rho * (rho_tot - y[1]) * hill * hill_pow(r / k_r, hill - 1.0) / (k_r * q_r**2)
    jm[1, 1] = -a_rho / q_r - d_rho


#: Rac1–RhoA mutual inhibition with conserved totals, an *illustrative* model of the form
#: studied by Holmes, Park, Levchenko & Edelstein-Keshet 2017 (PLoS Comput. Biol.
#: 13:e1005524; well-mixed, dimensionless there): active Rac1 ``R`` and RhoA ``ρ`` (µM),
#:     dR/dt = (b_R + s_R) (R_T - R) / (1 + (ρ/K_ρ)^n) - δ_R R
#:     dρ/dt = (b_ρ + s_ρ) (ρ_T - ρ) / (1 + (R/K_R)^n) - δ_ρ ρ
#: ``s_R``, ``s_ρ`` (1/min) are the cell's signal-driven activation rates (inputs). The box
#: ``[0, R_T] × [0, ρ_T]`` is invariant. The default values are not fitted to data.
RAC_RHO = InternalModel(
    name="rac_rho",
    variables=(
        StateVariable(name="rac", unit="µM", description="active (GTP-bound) Rac1"),
        StateVariable(name="rho", unit="µM", description="active (GTP-bound) RhoA"),
    ),
    inputs=(
        Quantity(name="s_rac", unit="1/min", description="signal-driven Rac1 activation rate"),
        Quantity(name="s_rho", unit="1/min", description="signal-driven RhoA activation rate"),
    ),
    params=(
        Quantity(name="rac_total", unit="µM", value=2.0, description="total Rac1 R_T"),
        Quantity(name="rho_total", unit="µM", value=2.0, description="total RhoA ρ_T"),
        Quantity(name="b_rac", unit="1/min", value=1.0, description="basal Rac1 activation"),
        Quantity(name="b_rho", unit="1/min", value=1.0, description="basal RhoA activation"),
        Quantity(name="d_rac", unit="1/min", value=1.0, description="Rac1 inactivation δ_R"),
        Quantity(name="d_rho", unit="1/min", value=1.0, description="RhoA inactivation δ_ρ"),
        Quantity(name="k_rac", unit="µM", value=1.0, description="Rac1 half-inhibition of RhoA"),
        Quantity(name="k_rho", unit="µM", value=1.0, description="RhoA half-inhibition of Rac1"),
        Quantity(name="hill", unit="1", value=3.0, description="Hill power n (>= 1)"),
    ),
    rhs=_rac_rho_rhs,
    jac=_rac_rho_jac,
)
