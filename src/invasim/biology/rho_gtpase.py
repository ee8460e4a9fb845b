"""Rac1/RhoA mutual antagonism and the EMT switch: the per-cell ODE, its steady states, folds.

Contract:
    * The ODE (model reference §5; Holmes & Edelstein-Keshet 2016; Rens & Edelstein-Keshet,
      Phys Biol 2021), active Rac1 ``R`` and RhoA ``ρ`` (dimensionless, in units of the
      half-inhibition level) with conserved totals, plus the cell's epithelial–mesenchymal
      state ``e`` in [0, 1]::

          dR/dt = b_R (R_T − R) / (1 + (κ ρ)^n) − δ R
          dρ/dt = b_ρ (ρ_T − ρ) / (1 + R^n)     − δ ρ
          de/dt = (s + k_fb e^h / (K^h + e^h)) (1 − e) − d e

      ``b_R``, ``b_ρ`` (1/min) are the cue-driven activation rates, ``κ`` the ROCK activity
      (1 normal, < 1 under a ROCK inhibitor): RhoA acts on Rac1 through ROCK (ROCK activates
      the Rac GAP ARHGAP22; Sanz-Moreno et al., Cell 2008; 135:510), so ``κ = 1`` is §5's
      form and ``κ → 0`` frees Rac1 from RhoA. ``s`` (1/min) is the EMT induction. The box
      ``[0, R_T] × [0, ρ_T] × [0, 1]`` is invariant. EMT is decoupled from Rac/Rho (the mode
      reads both). :data:`RHO_GTPASE` is the :class:`~invasim.biology.internal.InternalModel`
      (``rhs``, ``jac``: pure ``njit`` kernels) integrated per cell by TR-BDF2.
    * Steady states are exact up to root finding: ``dρ/dt = 0`` gives ``ρ = g(R) = b_ρ ρ_T /
      (b_ρ + δ (1 + R^n))`` and then ``dR/dt = 0`` gives ``b_R = B(R) = δ R (1 + (κ g(R))^n)
      / (R_T − R)``, so the equilibrium curve is the graph of ``B`` over ``R ∈ (0, R_T)``
      (likewise ``b_ρ = C(ρ)`` with ``R = h(ρ)``). Saddle-node folds are the roots of
      ``B'(R) = 0`` (analytic derivative, bracketed on a fine grid, then Brent to 1e-14);
      the hysteresis window is the interval between the two folds. Stability: the
      Jacobian's eigenvalues (both negative real parts: stable). The EMT switch is 1-D:
      ``s = S(e) = d e / (1 − e) − k_fb H(e)``, folds at ``S'(e) = 0``.
    * The mode (:func:`classify`): epithelial (0) while ``e < 1/2``, else mesenchymal (1) if
      ``R > ρ``, else amoeboid (2). Thresholds without hysteresis: the ODE holds it.
    * The §5 set (computed, not from a paper): ``R_T = ρ_T = 3, n = 3, δ = 1, b_ρ = 3``; then
      ``b_R`` has folds at 2.6447 and 3.4169 (two stable states inside, e.g. (2.075, 0.696)
      and (0.696, 2.075) at ``b_R = 3``). The EMT defaults (illustrative): ``k_fb = 2.5 d``,
      ``K = 0.6``, ``h = 6``, ``d = 1/720`` per min: folds at ``s = 0.250 d`` (the mesenchymal
      state is lost below it: MET) and ``s = 0.465 d`` (EMT above it), reversible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numba import njit
from scipy.optimize import brentq

from invasim.biology.internal import InternalModel, Quantity, StateVariable, hill_pow

#: migration modes (the ``mode`` column)
EPITHELIAL, MESENCHYMAL, AMOEBOID = 0, 1, 2
MODE_NAMES = ("epithelial", "mesenchymal", "amoeboid")
#: the EMT state above which a cell is no longer epithelial
EMT_THRESHOLD = 0.5


# ---------------------------------------------------------------------------------- the kernels
@njit(cache=True)
def _rhs(y, u, p, out):
    """``dy/dt`` of ``y = (R, ρ, e)``; ``u = (b_R, b_ρ, κ, s)``; ``p`` as :data:`RHO_GTPASE`."""
    r, rho, e = max(y[0], 0.0), max(y[1], 0.0), max(y[2], 0.0)  # Newton iterates may dip < 0
    r_tot, rho_tot, n, delta, k_fb, k_e, h_e, d_e = p[0], p[1], p[2], p[3], p[4], p[5], p[6], \
        p[7]  # fmt: skip
    b_r, b_rho, kappa, s = u[0], u[1], u[2], u[3]
    out[0] = b_r * (r_tot - y[0]) / (1.0 + hill_pow(kappa * rho, n)) - delta * y[0]
    out[1] = b_rho * (rho_tot - y[1]) / (1.0 + hill_pow(r, n)) - delta * y[1]
    eh = hill_pow(e, h_e)
    out[2] = (s + k_fb * eh / (hill_pow(k_e, h_e) + eh)) * (1.0 - y[2]) - d_e * y[2]


@njit(cache=True)
def _jac(y, u, p, jm):
    """``∂rhs_i/∂y_j`` of :func:`_rhs`."""
    r, rho, e = max(y[0], 0.0), max(y[1], 0.0), max(y[2], 0.0)
    r_tot, rho_tot, n, delta, k_fb, k_e, h_e, d_e = p[0], p[1], p[2], p[3], p[4], p[5], p[6], \
        p[7]  # fmt: skip
    b_r, b_rho, kappa, s = u[0], u[1], u[2], u[3]
    q_rho = 1.0 + hill_pow(kappa * rho, n)
    q_r = 1.0 + hill_pow(r, n)
    jm[0, 0] = -b_r / q_rho - delta
    jm[0, 1] = -b_r * (r_tot - y[0]) * n * kappa * hill_pow(kappa * rho, n - 1.0) / (q_rho * q_rho)
    jm[0, 2] = 0.0
    jm[1, 0] = -b_rho * (rho_tot - y[1]) * n * hill_pow(r, n - 1.0) / (q_r * q_r)
    jm[1, 1] = -b_rho / q_r - delta
    jm[1, 2] = 0.0
    kh = hill_pow(k_e, h_e)
    eh = hill_pow(e, h_e)
    hill = eh / (kh + eh)
    dhill = h_e * kh * hill_pow(e, h_e - 1.0) / ((kh + eh) * (kh + eh)) if e > 0.0 else 0.0
    jm[2, 0] = 0.0
    jm[2, 1] = 0.0
    jm[2, 2] = k_fb * dhill * (1.0 - y[2]) - (s + k_fb * hill) - d_e


#: Rac1–RhoA mutual antagonism with ROCK, and the EMT switch (see the module contract).
#: Inputs are per cell (behaviours: ``rac activation``, ``rho activation``, ``rock activity``,
#: ``emt induction``); parameters per cell type. Default values: the §5 set and the
#: illustrative EMT switch.
RHO_GTPASE = InternalModel(
    name="rho_gtpase",
    variables=(
        StateVariable(name="rac", unit="1", initial=2.0754, description="active Rac1 R"),
        StateVariable(name="rho", unit="1", initial=0.6955, description="active RhoA ρ"),
        StateVariable(name="emt", unit="1", initial=0.0, description="EMT state e in [0, 1]"),
    ),
    inputs=(
        Quantity(name="b_rac", unit="1/min", value=3.0, description="Rac1 activation b_R"),
        Quantity(name="b_rho", unit="1/min", value=3.0, description="RhoA activation b_ρ"),
        Quantity(name="rock", unit="1", value=1.0, description="ROCK activity κ"),
        Quantity(name="emt_induction", unit="1/min", value=0.0, description="EMT induction s"),
    ),
    params=(
        Quantity(name="rac_total", unit="1", value=3.0, description="total Rac1 R_T"),
        Quantity(name="rho_total", unit="1", value=3.0, description="total RhoA ρ_T"),
        Quantity(name="hill", unit="1", value=3.0, description="Hill power n"),
        Quantity(name="inactivation", unit="1/min", value=1.0, description="GAP rate δ"),
        Quantity(name="emt_feedback", unit="1/min", value=2.5 / 720.0, description="k_fb"),
        Quantity(name="emt_half", unit="1", value=0.6, description="feedback half-max K"),
        Quantity(name="emt_hill", unit="1", value=6.0, description="feedback Hill power h"),
        Quantity(name="emt_decay", unit="1/min", value=1.0 / 720.0, description="MET rate d"),
    ),
    rhs=_rhs,
    jac=_jac,
)


def classify(rac: np.ndarray, rho: np.ndarray, emt: np.ndarray) -> np.ndarray:
    """``[n]`` int8 modes: epithelial while ``emt < 1/2``, else mesenchymal if ``rac > rho``."""
    mode = np.where(rac > rho, MESENCHYMAL, AMOEBOID).astype(np.int8)
    mode[emt < EMT_THRESHOLD] = EPITHELIAL
    return mode


# ---------------------------------------------------------------------- steady states and folds
@dataclass(frozen=True)
class RacRho:
    """A parameter set of the Rac/Rho ODE (defaults: model reference §5, ``b_R = 3``).

    Attributes:
        b_rac: Rac1 activation ``b_R`` (1/min). b_rho: RhoA activation ``b_ρ`` (1/min).
        rac_total: ``R_T``. rho_total: ``ρ_T``. hill: ``n``. delta: inactivation ``δ`` (1/min).
        rock: ROCK activity ``κ`` (1: §5's form).
    """

    b_rac: float = 3.0
    b_rho: float = 3.0
    rac_total: float = 3.0
    rho_total: float = 3.0
    hill: float = 3.0
    delta: float = 1.0
    rock: float = 1.0

    def with_(self, **changes: float) -> RacRho:
        """A copy with ``changes``."""
        return replace(self, **changes)

    def rhs(self, r: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(dR/dt, dρ/dt)`` (NumPy, for analysis and references)."""
        n, k = self.hill, self.rock
        dr = self.b_rac * (self.rac_total - r) / (1.0 + (k * rho) ** n) - self.delta * r
        dq = self.b_rho * (self.rho_total - rho) / (1.0 + r**n) - self.delta * rho
        return dr, dq

    def jacobian(self, r: float, rho: float) -> np.ndarray:
        """``[2, 2]`` Jacobian of ``(dR/dt, dρ/dt)`` at ``(R, ρ)``."""
        n, k = self.hill, self.rock
        q_rho, q_r = 1.0 + (k * rho) ** n, 1.0 + r**n
        return np.array([
            [-self.b_rac / q_rho - self.delta,
             -self.b_rac * (self.rac_total - r) * n * k * (k * rho) ** (n - 1) / q_rho**2],
            [-self.b_rho * (self.rho_total - rho) * n * r ** (n - 1) / q_r**2,
             -self.b_rho / q_r - self.delta],
        ])  # fmt: skip

    # -- the equilibrium curve parameterised by R (for b_R) or by ρ (for b_ρ) ------------------
    def rho_of_rac(self, r):
        """``g(R)``: ρ at ``dρ/dt = 0``."""
        return self.b_rho * self.rho_total / (self.b_rho + self.delta * (1.0 + r**self.hill))

    def rac_of_rho(self, rho):
        """``h(ρ)``: R at ``dR/dt = 0``."""
        q = 1.0 + (self.rock * rho) ** self.hill
        return self.b_rac * self.rac_total / (self.b_rac + self.delta * q)

    def b_rac_curve(self, r):
        """``B(R)``: the ``b_R`` at which ``(R, g(R))`` is a steady state, and ``B'(R)``."""
        n, k, d, rt = self.hill, self.rock, self.delta, self.rac_total
        g = self.rho_of_rac(r)
        dg = -self.b_rho * self.rho_total * d * n * r ** (n - 1) / (
            self.b_rho + d * (1.0 + r**n)) ** 2  # fmt: skip
        q = 1.0 + (k * g) ** n
        b = d * r * q / (rt - r)
        db = d / (rt - r) * (q * rt / (rt - r) + r * n * k**n * g ** (n - 1) * dg)
        return b, db

    def b_rho_curve(self, rho):
        """``C(ρ)``: the ``b_ρ`` at which ``(h(ρ), ρ)`` is a steady state, and ``C'(ρ)``."""
        n, k, d, pt = self.hill, self.rock, self.delta, self.rho_total
        r = self.rac_of_rho(rho)
        dr = -self.b_rac * self.rac_total * d * n * k**n * rho ** (n - 1) / (
            self.b_rac + d * (1.0 + (k * rho) ** n)) ** 2  # fmt: skip
        q = 1.0 + r**n
        c = d * rho * q / (pt - rho)
        dc = d / (pt - rho) * (q * pt / (pt - rho) + rho * n * r ** (n - 1) * dr)
        return c, dc


@dataclass(frozen=True)
class Fold:
    """A saddle-node fold: the parameter's value there and the state ``(R, ρ)``."""

    value: float
    rac: float
    rho: float


@dataclass(frozen=True)
class SteadyState:
    """A steady state ``(R, ρ)``, its Jacobian's eigenvalues and whether it is stable."""

    rac: float
    rho: float
    eigenvalues: tuple[complex, complex]
    stable: bool


_GRID = 20001


def _roots(f, lo: float, hi: float, grid: int = _GRID) -> list[float]:
    """Roots of ``f`` on ``(lo, hi)``: sign changes on a grid, then Brent (xtol 1e-14)."""
    x = np.linspace(lo, hi, grid)
    fx = f(x)
    out = []
    for i in np.flatnonzero(np.sign(fx[1:]) * np.sign(fx[:-1]) <= 0):
        if fx[i] == 0.0:
            out.append(float(x[i]))
        elif fx[i + 1] != 0.0:
            out.append(float(brentq(f, x[i], x[i + 1], xtol=1e-14, rtol=1e-15)))
    return sorted(set(out))


def _span(total: float) -> tuple[float, float]:
    return total * 1e-9, total * (1.0 - 1e-9)


def folds(p: RacRho, parameter: str = "b_rac") -> list[Fold]:
    """The saddle-node folds of the steady states in ``b_rac`` or ``b_rho`` (ascending value).

    Roots of ``B'(R) = 0`` (or ``C'(ρ) = 0``) along the equilibrium curve; none: monostable
    for every value of the parameter.
    """
    if parameter == "b_rac":
        xs = _roots(lambda r: p.b_rac_curve(r)[1], *_span(p.rac_total))
        out = [Fold(float(p.b_rac_curve(x)[0]), x, float(p.rho_of_rac(x))) for x in xs]
    elif parameter == "b_rho":
        xs = _roots(lambda q: p.b_rho_curve(q)[1], *_span(p.rho_total))
        out = [Fold(float(p.b_rho_curve(x)[0]), float(p.rac_of_rho(x)), x) for x in xs]
    else:
        raise ValueError(f"parameter must be 'b_rac' or 'b_rho', got {parameter!r}")
    return sorted(out, key=lambda f: f.value)


def window(p: RacRho, parameter: str = "b_rac") -> tuple[float, float] | None:
    """The hysteresis window (lower fold, upper fold) in ``parameter``; None: no bistability."""
    f = folds(p, parameter)
    return (f[0].value, f[-1].value) if len(f) >= 2 else None


def steady_states(p: RacRho) -> list[SteadyState]:
    """Every steady state at ``p`` (ascending R), with stability from the Jacobian."""
    xs = _roots(lambda r: p.b_rac_curve(r)[0] - p.b_rac, *_span(p.rac_total))
    out = []
    for r in xs:
        rho = float(p.rho_of_rac(r))
        ev = np.linalg.eigvals(p.jacobian(r, rho))
        out.append(SteadyState(r, rho, (complex(ev[0]), complex(ev[1])),
                               bool(np.all(ev.real < 0.0))))  # fmt: skip
    return out


@dataclass(frozen=True)
class Diagram:
    """The bifurcation diagram in one parameter: the equilibrium curve, sampled.

    Attributes:
        parameter: ``"b_rac"`` or ``"b_rho"``.
        value: ``[m]`` the parameter along the curve. rac, rho: ``[m]`` the states.
        stable: ``[m]`` bool, the Jacobian's eigenvalues all have negative real parts.
        folds: the folds (ascending value).
    """

    parameter: str
    value: np.ndarray
    rac: np.ndarray
    rho: np.ndarray
    stable: np.ndarray
    folds: list[Fold]


def diagram(p: RacRho, parameter: str = "b_rac", points: int = 2001,
            upper: float | None = None) -> Diagram:  # fmt: skip
    """The equilibrium curve in ``parameter``, sampled along the state (exact points).

    ``upper``: the largest parameter value kept (default 3 × the upper fold, or 10).
    """
    f = folds(p, parameter)
    top = upper if upper is not None else (3.0 * f[-1].value if f else 10.0)
    if parameter == "b_rac":
        x = np.linspace(*_span(p.rac_total), 20 * points)
        val = p.b_rac_curve(x)[0]
        rac, rho = x, p.rho_of_rac(x)
    else:
        x = np.linspace(*_span(p.rho_total), 20 * points)
        val = p.b_rho_curve(x)[0]
        rac, rho = p.rac_of_rho(x), x
    keep = val <= top
    val, rac, rho = val[keep], rac[keep], rho[keep]
    step = max(1, len(val) // points)
    val, rac, rho = val[::step], rac[::step], rho[::step]
    stable = np.array([
        bool(np.all(np.linalg.eigvals(p.with_(**{parameter: v}).jacobian(a, b)).real < 0))
        for v, a, b in zip(val, rac, rho, strict=True)
    ])  # fmt: skip
    return Diagram(parameter, val, rac, rho, stable, f)


#: first zero of −Ai (the Airy function): the delayed jump of ``x' = ε t + x²`` at ``ε t = Ω ε^⅔``
AIRY_OMEGA = 2.338107410459767


def normal_form(p: RacRho, fold: Fold) -> tuple[float, float]:
    """``(α, c)`` of the fold's normal form ``x' = α (b_R − b_f) + c x²``.

    ``x`` is the coordinate along the Jacobian's null vector ``v`` (left null vector ``w``,
    ``w·v = 1``): ``α = w·∂f/∂b_R``, ``c = ½ w·D²f(v, v)`` (central differences, h = 1e-4).
    """
    x = np.array([fold.rac, fold.rho])
    j = p.with_(b_rac=fold.value).jacobian(*x)
    ev, vr = np.linalg.eig(j)
    v = vr[:, np.argmin(abs(ev))].real
    evl, wl = np.linalg.eig(j.T)
    w = wl[:, np.argmin(abs(evl))].real
    w = w / (w @ v)

    def f(y, b):
        return np.array(p.with_(b_rac=b).rhs(y[0], y[1]))

    h = 1e-4
    alpha = w @ (f(x, fold.value + h) - f(x, fold.value - h)) / (2 * h)
    b = fold.value
    c = 0.5 * w @ (f(x + h * v, b) + f(x - h * v, b) - 2 * f(x, b)) / h**2
    return float(alpha), float(c)


def sweep_lag(p: RacRho, fold: Fold, rate: float) -> float:
    """How far past a fold (in ``b_R``) a state swept at ``rate`` (1/min per min) jumps.

    From the normal form: ``Ω rate^⅔ |c α|^(−1/3)`` (Ω = :data:`AIRY_OMEGA`; the leading
    term for a slow sweep, Haberman 1979, SIAM J Appl Math 37:69).
    """
    alpha, c = normal_form(p, fold)
    return AIRY_OMEGA * rate ** (2.0 / 3.0) * abs(c * alpha) ** (-1.0 / 3.0)


# ----------------------------------------------------------------------------------- EMT switch
@dataclass(frozen=True)
class EMTSwitch:
    """The EMT switch ``de/dt = (s + k_fb H(e)) (1 − e) − d e``, ``H = e^h / (K^h + e^h)``.

    Attributes:
        feedback: ``k_fb`` (1/min). half: ``K``. hill: ``h``. decay: ``d`` (1/min).
    """

    feedback: float = 2.5 / 720.0
    half: float = 0.6
    hill: float = 6.0
    decay: float = 1.0 / 720.0

    def induction_curve(self, e):
        """``S(e)``: the induction ``s`` at which ``e`` is a steady state, and ``S'(e)``."""
        k, h = self.half, self.hill
        hill = e**h / (k**h + e**h)
        dhill = h * k**h * e ** (h - 1) / (k**h + e**h) ** 2
        s = self.decay * e / (1.0 - e) - self.feedback * hill
        ds = self.decay / (1.0 - e) ** 2 - self.feedback * dhill
        return s, ds

    def folds(self) -> list[tuple[float, float]]:
        """``(s, e)`` at the folds, ascending s (empty: no hysteresis).

        Below the first the mesenchymal state is lost (MET), above the second the
        epithelial one (EMT).
        """
        es = _roots(lambda e: self.induction_curve(e)[1], 1e-9, 1.0 - 1e-9)
        return sorted((float(self.induction_curve(e)[0]), e) for e in es)

    def steady_states(self, s: float) -> list[tuple[float, bool]]:
        """``(e, stable)`` at induction ``s`` (ascending e)."""
        es = _roots(lambda e: self.induction_curve(e)[0] - s, 0.0, 1.0 - 1e-12)
        if s == 0.0 and (not es or es[0] > 0.0):
            es = [0.0, *es]
        out = []
        for e in es:
            k, h = self.half, self.hill
            hill = e**h / (k**h + e**h)
            dhill = h * k**h * e ** (h - 1) / (k**h + e**h) ** 2 if e > 0 else 0.0
            slope = self.feedback * dhill * (1.0 - e) - (s + self.feedback * hill) - self.decay
            out.append((e, bool(slope < 0.0)))
        return out


def emt_time_to_threshold(sw: EMTSwitch, s: float, e0: float = 0.0) -> float:
    """Minutes for ``e`` to rise from ``e0`` to 1/2 at constant induction ``s`` (inf: never)."""
    from scipy.integrate import quad

    def rate(e):
        hill = e**sw.hill / (sw.half**sw.hill + e**sw.hill)
        return (s + sw.feedback * hill) * (1.0 - e) - sw.decay * e

    grid = np.linspace(e0, EMT_THRESHOLD, 2001)
    if np.any(rate(grid) <= 0.0):
        return math.inf
    return float(quad(lambda e: 1.0 / rate(e), e0, EMT_THRESHOLD, limit=200)[0])
