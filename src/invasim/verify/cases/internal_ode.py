"""The per-cell TR-BDF2 integrator of internal state against tight reference solutions.

Reference: ``scipy.integrate.solve_ivp`` (Radau, rtol 1e-10, atol 1e-12) on all cells at once,
with the Rac1–RhoA equations written again here in NumPy (so the Numba right-hand side is
checked too). Cells span the rates the model is meant for: activation and inactivation rates
log-uniform in 0.01–10 /min, signal inputs 0–10 /min, over one phenotype step of 6 min.

Measured on this configuration (64 cells): adaptive rtol 1e-4 -> max error 3.8e-4 µM, rtol 1e-6
-> 1.95e-5 µM (~140 steps); fixed steps of 6/128 ... 6/1024 min -> max errors 1.9e-4, 4.5e-5,
1.1e-5, 2.7e-6 µM, observed orders 2.07, 2.03, 2.01 (TR-BDF2 is second order); the stiff case
(k h = 60, one step asked) -> 9.2e-7 µM after 7 rejected and 7 accepted steps. The bounds below
leave a factor of about 2.5 on the errors.

Contract:
    * Cases (quick and full forms are the same; the first run of a model compiles its
      kernels, a few seconds): ``internal-ode tr-bdf2 adaptive error within tolerance``,
      ``internal-ode tr-bdf2 second order with fixed steps``, ``internal-ode tr-bdf2 stiff
      decay stays positive``, ``internal-ode tr-bdf2 finite-difference jacobian``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.linalg
from numba import njit
from scipy.integrate import solve_ivp

from invasim.biology.internal import RAC_RHO, InternalModel, Quantity, StateVariable, integrate
from invasim.verify import Checks, Result, case

MECHANISM = "internal-ode"
SOURCE = "scipy solve_ivp Radau reference (rtol 1e-10); Bank et al. 1985 (TR-BDF2)"
DT = 6.0  # min, the phenotype step


def cells(n: int = 64, seed: int = 0):
    """Initial states, inputs and parameters of ``n`` Rac1–RhoA cells."""
    rng = np.random.default_rng(seed)
    y0 = rng.uniform(0.0, 2.0, (n, 2))  # µM, inside [0, R_T] x [0, rho_T]
    u = rng.uniform(0.0, 10.0, (n, 2))  # 1/min
    p = np.tile(RAC_RHO.param_array(), (n, 1))
    p[:, 2:6] = 10.0 ** rng.uniform(-2.0, 1.0, (n, 4))  # b_R, b_rho, d_R, d_rho in 1/min
    return y0, u, p


def reference(y0, u, p, t_end=DT):
    """All cells as one system for Radau; the Rac1–RhoA equations in NumPy."""
    n = y0.shape[0]
    rt, pt, br, bp, dr, dp, kr, kp, h = p.T

    def f(t, y):
        r, q = y[:n], y[n:]
        dr_dt = (br + u[:, 0]) * (rt - r) / (1 + (np.maximum(q, 0) / kp) ** h) - dr * r
        dq_dt = (bp + u[:, 1]) * (pt - q) / (1 + (np.maximum(r, 0) / kr) ** h) - dp * q
        return np.concatenate([dr_dt, dq_dt])

    def jac(t, y):
        r, q = np.maximum(y[:n], 0), np.maximum(y[n:], 0)
        ar, aq = br + u[:, 0], bp + u[:, 1]
        qq, qr = 1 + (q / kp) ** h, 1 + (r / kr) ** h
        j = np.zeros((2 * n, 2 * n))
        i = np.arange(n)
        j[i, i] = -ar / qq - dr
        j[i, n + i] = -ar * (rt - y[:n]) * h * (q / kp) ** (h - 1) / (kp * qq**2)
        j[n + i, i] = -aq * (pt - y[n:]) * h * (r / kr) ** (h - 1) / (kr * qr**2)
        j[n + i, n + i] = -aq / qr - dp
        return j

    y_start = np.concatenate([y0[:, 0], y0[:, 1]])
    sol = solve_ivp(f, (0.0, t_end), y_start, method="Radau", jac=jac, rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"reference solve failed: {sol.message}")
    return np.column_stack([sol.y[:n, -1], sol.y[n:, -1]])


@lru_cache(maxsize=1)
def rac_rho():
    """The 64 cells and their reference state after one step (computed once)."""
    y0, u, p = cells()
    return y0, u, p, reference(y0, u, p)


@case("internal-ode tr-bdf2 adaptive error within tolerance", MECHANISM, SOURCE)
def adaptive(quick: bool) -> Result:
    """Adaptive steps at rtol 1e-4 and 1e-6: max error below 1e-3 and 5e-5 µM, in the box."""
    y0, u, p, ref = rac_rho()
    chk = Checks()
    errs = {}
    for rtol, bound in ((1e-4, 1e-3), (1e-6, 5e-5)):
        y = y0.copy()
        stats = integrate(RAC_RHO, y, DT, u, p, rtol=rtol, atol=1e-9)
        errs[rtol] = float(np.abs(y - ref).max())
        chk.bound(f"max error at rtol {rtol:g}", errs[rtol], "<", bound, "µM")
        chk.that(f"inside the invariant box [0, totals] at rtol {rtol:g}",
                 bool(np.all(y >= 0.0) and np.all(y <= p[:, :2])))  # fmt: skip
        chk.bound(f"fewest accepted steps at rtol {rtol:g}", int(stats.accepted.min()), ">=", 1)
        chk.bound(f"mean rejected steps at rtol {rtol:g}", float(stats.rejected.mean()), "<", 2.0)
    return chk.result(5e-5, errs[1e-6], unit="µM", relation="<",
                      detail="64 Rac1-RhoA cells over 6 min, max error at rtol 1e-6 (and 1e-4 "
                             "< 1e-3 µM)")  # fmt: skip


@case("internal-ode tr-bdf2 second order with fixed steps", MECHANISM, SOURCE)
def fixed_order(quick: bool) -> Result:
    """Fixed 128 ... 1024 sub-steps: observed orders > 1.8, the last two 2 ± 0.1."""
    y0, u, p, ref = rac_rho()
    chk = Checks()
    errors = []
    for substeps in (128, 256, 512, 1024):
        y = y0.copy()
        stats = integrate(RAC_RHO, y, DT, u, p, rtol=0.0, substeps=substeps)
        chk.that(f"{substeps} accepted, none rejected",
                 bool(np.all(stats.accepted == substeps) and np.all(stats.rejected == 0)))
        errors.append(np.abs(y - ref).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    chk.bound("smallest order", float(orders.min()), ">", 1.8)
    chk.near("order, 256 -> 512 steps", float(orders[-2]), 2.0, 0.1)
    return chk.result(2.0, float(orders[-1]), 0.1, "",
                      "observed order between 512 and 1024 fixed steps over 6 min, 64 cells")


@case("internal-ode tr-bdf2 stiff decay stays positive", MECHANISM, SOURCE)
def stiff_decay(quick: bool) -> Result:
    """Inactivation 10 /min over 6 min in one step asked: rejected, halved, accurate, positive."""
    # inactivation 10 /min over 6 min (k h = 60): TR-BDF2's stages would go negative; such
    # steps are rejected and halved, and the result is still the accurate, positive one
    n = 4
    y0 = np.tile([2.0, 0.0], (n, 1))
    u = np.zeros((n, 2))
    p = np.tile(RAC_RHO.param_array(b_rac=0.01, b_rho=0.01, d_rac=10.0, d_rho=10.0), (n, 1))
    ref = reference(y0, u, p)
    y = y0.copy()
    stats = integrate(RAC_RHO, y, DT, u, p, rtol=0.0, substeps=1)
    chk = Checks()
    chk.that("every cell rejected a step", bool(np.all(stats.rejected > 0)))
    chk.bound("smallest value", float(y.min()), ">", 0.0, "µM")
    return chk.result(1e-5, float(np.abs(y - ref).max()), unit="µM", relation="<",
                      detail="max error, one 6-min step asked at k h = 60")


@njit(cache=True)
def _linear_rhs(y, u, p, out):
    m = y.shape[0]
    for i in range(m):
        out[i] = u[i]
        for j in range(m):
            out[i] += p[i * m + j] * y[j]


LINEAR = InternalModel(
    name="linear",
    variables=tuple(StateVariable(name=f"x{i}", unit="µM", nonnegative=False) for i in range(3)),
    inputs=tuple(Quantity(name=f"s{i}", unit="µM/min") for i in range(3)),
    params=tuple(Quantity(name=f"a{i}{j}", unit="1/min") for i in range(3) for j in range(3)),
    rhs=_linear_rhs,
)


@case("internal-ode tr-bdf2 finite-difference jacobian", MECHANISM,
      "exact solution of a linear system (matrix exponential)")
def fd_jacobian(quick: bool) -> Result:
    """A stiff, non-normal linear system without a Jacobian: the exact solution to 1e-4."""
    rng = np.random.default_rng(5)
    n = 8
    y0, u = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    p = np.empty((n, 9))
    exact = np.empty((n, 3))
    for c in range(n):  # eigenvalues -0.01 ... -10 /min, non-normal
        q = np.linalg.qr(rng.normal(size=(3, 3)))[0] + 0.3 * rng.normal(size=(3, 3))
        a = q @ np.diag(-(10.0 ** rng.uniform(-2, 1, 3))) @ np.linalg.inv(q)
        p[c] = a.ravel()
        e = scipy.linalg.expm(a * DT)
        exact[c] = e @ y0[c] + np.linalg.solve(a, (e - np.eye(3)) @ u[c])
    y = y0.copy()
    integrate(LINEAR, y, DT, u, p, rtol=1e-7, atol=1e-10)
    bound = 1e-4 * max(1.0, float(np.abs(exact).max()))
    return Checks().result(bound, float(np.abs(y - exact).max()), unit="µM", relation="<",
                           detail="max error, 8 cells, 3 variables, rtol 1e-7, 6 min")
