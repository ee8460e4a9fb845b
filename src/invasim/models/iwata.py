"""Iwata, Kawasaki & Shigesada 2000: the size distribution of metastatic colonies (body model core).

Contract:
    * The model (Iwata, Kawasaki & Shigesada, J Theor Biol 2000; 203:177; invasim's model
      reference §8), time in days, sizes in cells:

      - every colony grows by the Gompertz law ``dx/dt = g(x) = a x ln(b/x)``; a colony born
        at size 1 has size ``X(τ) = b^(1 − e^(−aτ))`` at age ``τ`` (exact), and the primary
        tumour, one cell at ``t = 0``, has ``x_p(t) = X(t)``;
      - a colony of size ``x`` (the primary included) seeds new colonies of size 1 at rate
        ``β(x) = m x^α``;
      - the colony-size density ``ρ(x, t)`` obeys ``∂ρ/∂t + ∂(g ρ)/∂x = 0`` with the birth
        boundary ``g(1) ρ(1, t) = ∫ β(x) ρ(x, t) dx + β(x_p(t))`` and ``ρ(x, 0) = 0``.

      Defaults: the paper's hepatocellular-carcinoma fit, ``a = 0.00286 /day``,
      ``b = 7.3e10 cells``, ``m = 5.3e-8``, ``α = 0.663`` (the FITTED value; 2/3 is the
      geometric one some codes use; :func:`iwata_params` with ``alpha=2/3`` gives it).
    * Reduction used throughout (exact): as every colony starts at size 1 and follows the same
      flow, a colony's size depends only on its age, so the birth rate ``B(t) = g(1) ρ(1, t)``
      solves the renewal equation ``B(t) = K(t) + ∫_0^t K(t − s) B(s) ds`` with the kernel
      ``K(τ) = β(X(τ)) = m b^(α(1 − e^(−aτ)))`` (the primary contributes ``K(t)`` because it
      too starts at size 1 at ``t = 0``). Then ``N(t) = ∫_0^t B`` is the number of metastases
      and the number of colonies of size ``≥ x`` is ``N(t − τ(x))`` with
      ``τ(x) = −ln(1 − ln x / ln b)/a`` (0 when ``t ≤ τ(x)``): the cumulative size
      distribution is the count curve shifted by the age at that size.
    * Analytic solution (:func:`analytic_count`): the Laplace transform of the kernel is, with
      ``s = z/a`` and ``γ = α ln b`` (``u = e^(−at)`` turns it into a lower incomplete gamma
      function, and ``b^α e^(−γ) = 1``),
      ``K̂(z) = (m/a) γ^(−s) e^γ γ_inc(s, γ) = (m/a) Σ_{n≥0} γ^n / (s (s+1) ··· (s+n))``
      (Kummer's series: no cancellation for real ``s > 0``; the term-wise transform of the
      Taylor series of ``K``, ``(m/a) e^γ Σ (−γ)^n / (n! (s+n))``, is the same function but
      cancels badly in double precision). Then
      ``N̂(z) = K̂ / (z (1 − K̂))``; its singularities are ``z = 0`` (residue −1) and the
      roots of ``K̂(z) = 1``, the largest being the real Malthusian rate ``z0``
      (:func:`malthusian_rate`; Devys, Goudon & Lafitte 2009). Two exact inversions:

      - the residue series, a sum of exponentials (the Dirichlet-series form in which the
        model reference says the paper gives its solution; the paper itself could not be
        read here) (:func:`series_count`): ``N(t) = −1 + Σ_k e^(z_k t) / (z_k (−K̂'(z_k)))`` over the
        roots ``z_k`` of ``K̂(z) = 1`` (:func:`characteristic_roots`: ``z0 = 0.0058 /day``, a
        complex pair ``0.00333 ± 0.00719i`` — the only other growing term, hence the wave in
        ``N e^(−z0 t)`` — then a chain with ``Re z`` falling ~0.007 /day per root); 21 roots
        with ``Re z ≥ −0.12 /day`` leave a truncation error below 1e-12 relative from one
        year on; :func:`asymptotic_count` is its first term;
      - numerical inversion of ``N̂`` on Talbot's contour (fixed Talbot, Abate & Valkó 2004,
        contour shifted past ``z0``; :func:`talbot_count`), accurate to ~1e-10 where the series
        is not (the first year) and ~1e-8 at 10 years.

      :func:`analytic_count` uses the series from one year on and Talbot before; the two agree
      to 1e-10 at 1–5 years and both agree with the solver's Richardson limit (tests).
    * Deterministic solver (:func:`solve`): the method of characteristics, one cohort of
      colonies born at each time node ``t_j = j dt``, each growing by the exact Gompertz flow
      (its size at ``t_n`` is ``X(t_n − t_j)``, no error in ``x``); the boundary birth rate at
      ``t_n`` is the quadrature ``β(x_p(t_n)) + Σ_j β(X(t_n − t_j)) w_j`` over the cohorts,
      with trapezoidal weights ``w_j = dt B_j`` (halved at the ends; the new cohort's own
      term makes each step a linear equation, solved exactly). Second order in ``dt``
      (the kernel is smooth): the error of ``N``, of the cumulative distribution (read by
      linear interpolation in birth time) and of the burden falls 4× per halving (tested).
      A 10-year solve at ``dt = 1 day`` is an ``O(n²)`` Numba loop, a few ms.
    * Readouts of a solution (:class:`Solution`): ``n_metastases`` (colonies of any size,
      ``∫ρ dx``), ``n_at_least(x)``, ``n_detectable`` (size ≥ the imaging threshold
      ``detect_cells``, default 1e8 cells ≈ 1 cm³ at 1e8 cells/cm³, Del Monte 2009; model
      reference §8), ``burden_cells`` (cells in all metastases, ``∫ x ρ dx``), the primary
      size and the birth rate.
    * Registered model ``"iwata"``: fields ``primary``, ``metastases`` and ``burden`` on a
      one-voxel mesh (the body as one compartment); a step of ``dt`` minutes advances the
      cohort solver by ``dt/1440`` days (``dt`` at most 5 days: :meth:`Iwata.check`); metrics
      ``n_metastases``, ``n_detectable``, ``burden_cells``, ``primary_cells``,
      ``birth_rate_per_day``; a snapshot table ``size_distribution`` (colonies of size ≥
      ``size_cells`` on a log grid). The birth-rate history is the checkpointed state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from numba import njit
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import brentq

from invasim.core.mesh import Mesh
from invasim.models.base import FieldSpec, Model, register

#: minutes per day
DAY_MIN = 1440.0
_SRC = ("Iwata, Kawasaki & Shigesada 2000 J Theor Biol 203:177, hepatocellular carcinoma fit "
        "(model reference §8)")  # fmt: skip
#: the geometric exponent (surface cells of a sphere) some codes use instead of the fitted 0.663
ALPHA_GEOMETRIC = 2.0 / 3.0


class IwataParams(BaseModel):
    """Growth and seeding constants, per day and cells as published."""

    model_config = ConfigDict(extra="forbid")

    a_per_day: float = Field(
        0.00286, gt=0, description=f"a, Gompertz growth rate of every colony [1/day]; {_SRC}"
    )
    b_cells: float = Field(
        7.3e10, gt=1, description=f"b, Gompertz plateau size of a colony [cells]; {_SRC}"
    )
    m_per_cell_day: float = Field(
        5.3e-8, gt=0, description=f"m, colonisation coefficient in β(x) = m x^α [colonies/"
        f"(cell^α·day), the paper's 1/(cell·day)]; {_SRC}"
    )  # fmt: skip
    alpha: float = Field(
        0.663, gt=0, le=1.0, description=f"α, fractal dimension of the seeding surface in "
        f"β(x) = m x^α [1]: the fitted value (2/3 is the geometric one); {_SRC}; value as cited "
        "by Barbolosi et al. 2009 and Benzekry"
    )  # fmt: skip
    detect_cells: float = Field(
        1.0e8, gt=1, description="imaging detection threshold: colonies of at least this size "
        "count as detectable [cells]; 1e8 cells ≈ 1 cm³ at ~1e8 cells/cm³ (Del Monte, Cell "
        "Cycle 2009; model reference §8)"
    )  # fmt: skip

    @property
    def gamma(self) -> float:
        """``γ = α ln b`` [1]: ``ln β(b)/m``, the exponent of the seeding rate at the plateau."""
        return self.alpha * math.log(self.b_cells)


def iwata_params(**changes) -> IwataParams:
    """The published parameters with ``changes`` applied (e.g. ``alpha=ALPHA_GEOMETRIC``)."""
    return IwataParams(**changes)


# -- the Gompertz flow ---------------------------------------------------------------------------
def colony_size(age_days, params: IwataParams):
    """``X(τ) = b^(1 − e^(−aτ))`` [cells]: size at age ``τ`` of a colony born at one cell."""
    age = np.asarray(age_days, dtype=np.float64)
    return np.exp(math.log(params.b_cells) * -np.expm1(-params.a_per_day * age))


def primary_size(t_days, params: IwataParams):
    """The primary tumour ``x_p(t)`` [cells], one cell at ``t = 0`` (same flow as a colony)."""
    return colony_size(t_days, params)


def age_at_size(x_cells, params: IwataParams):
    """``τ(x) = −ln(1 − ln x / ln b)/a`` [days]: age at which a colony reaches ``x`` (1 ≤ x < b).

    ``inf`` for ``x ≥ b`` (never reached), 0 for ``x ≤ 1``.
    """
    x = np.asarray(x_cells, dtype=np.float64)
    frac = np.log(np.maximum(x, 1.0)) / math.log(params.b_cells)
    with np.errstate(divide="ignore"):
        return np.where(frac < 1.0, -np.log1p(-np.minimum(frac, 1.0)) / params.a_per_day, np.inf)


def seeding_kernel(age_days, params: IwataParams):
    """``K(τ) = β(X(τ)) = m b^(α(1 − e^(−aτ)))`` [colonies/day]."""
    age = np.asarray(age_days, dtype=np.float64)
    return params.m_per_cell_day * np.exp(params.gamma * -np.expm1(-params.a_per_day * age))


# -- the analytic solution -------------------------------------------------------------------
def laplace_kernel(z, params: IwataParams, tol: float = 1e-17, max_terms: int = 2000):
    """``K̂(z) = (m/a) Σ_{n≥0} γ^n / (s (s+1) ··· (s+n))``, ``s = z/a`` (complex ``z`` [1/day]).

    The Laplace transform of :func:`seeding_kernel` (see the module docstring); poles at
    ``z = −n a``. Summed until a term is below ``tol`` of the sum after ``n > γ``.
    """
    s = np.asarray(z, dtype=np.complex128) / params.a_per_day
    g = params.gamma
    term = 1.0 / s
    total = term.copy()
    for n in range(1, max_terms):
        term = term * (g / (s + n))
        total = total + term
        if n > g and np.all(np.abs(term) <= tol * np.abs(total)):
            break
    out = (params.m_per_cell_day / params.a_per_day) * total
    return out if out.ndim else complex(out)


def laplace_kernel_derivative(z, params: IwataParams, tol: float = 1e-17,
                              max_terms: int = 2000):  # fmt: skip
    """``dK̂/dz`` [day] (complex ``z`` [1/day]): ``−∫ τ K(τ) e^(−zτ) dτ``, term by term.

    Each term ``γ^n / (s)_(n+1)`` of :func:`laplace_kernel` has ``d/ds = −term · Σ_{k≤n}
    1/(s+k)``, and ``d/dz = (1/a) d/ds``.
    """
    s = np.asarray(z, dtype=np.complex128) / params.a_per_day
    g = params.gamma
    term = 1.0 / s
    harm = 1.0 / s
    total = -term * harm
    for n in range(1, max_terms):
        term = term * (g / (s + n))
        harm = harm + 1.0 / (s + n)
        total = total - term * harm
        if n > g and np.all(np.abs(term * harm) <= tol * np.abs(total)):
            break
    out = (params.m_per_cell_day / params.a_per_day**2) * total
    if out.ndim:
        return out
    return float(out.real) if np.isrealobj(z) else complex(out)


def malthusian_rate(params: IwataParams) -> float:
    """``z0`` [1/day]: the real root of ``K̂(z) = 1`` (the exponential rate of ``N(t)``).

    ``K̂`` decreases from ``+∞`` (``z → 0+``) to 0 on ``z > 0``, so the root is unique there.
    """

    def f(z: float) -> float:
        return laplace_kernel(z, params).real - 1.0

    hi = params.m_per_cell_day * math.exp(params.gamma) + params.a_per_day  # K̂(hi) < 1
    return float(brentq(f, 1e-12, hi, xtol=1e-16, rtol=1e-15, maxiter=500))


def asymptotic_count(t_days, params: IwataParams):
    """The leading term of the series: ``N(t) ≈ −1 + e^(z0 t) / (z0 (−K̂'(z0)))`` [colonies].

    Exact up to the terms of the other roots of ``K̂ = 1``, which decay relative to it.
    """
    z0 = malthusian_rate(params)
    c0 = 1.0 / (-float(np.real(laplace_kernel_derivative(z0, params))))
    return -1.0 + c0 * np.exp(z0 * np.asarray(t_days, dtype=np.float64)) / z0


def characteristic_roots(params: IwataParams, re_min_per_day: float = -0.12,
                         grid_step_s: float = 0.1) -> np.ndarray:  # fmt: skip
    """The roots of ``K̂(z) = 1`` with ``Re z ≥ re_min_per_day`` and ``Im z ≥ 0`` [1/day].

    Ordered by decreasing real part; the first is the Malthusian rate ``z0``. Found as the
    local minima of ``|1 − K̂|`` on a grid in ``s = z/a`` (spacing ``grid_step_s``, ``Im s``
    up to ``2γ + 5``), sign changes on the real axis between the poles ``s = −n``, each refined
    by Newton's method to ``|K̂ − 1| < 1e-12``. With the HCC parameters the roots form a
    chain: ``z0 = 0.0058``, ``0.00333 ± 0.00719i`` (the only other root with ``Re z > 0``),
    then ``Re z`` falls by ~0.007 /day per root.
    """
    a = params.a_per_day
    s_lo, s_hi = re_min_per_day / a, malthusian_rate(params) / a + 1.0
    re = np.arange(s_lo, s_hi + grid_step_s, grid_step_s)
    im = np.arange(grid_step_s / 2, 2.0 * params.gamma + 5.0, grid_step_s)
    S = re[None, :] + 1j * im[:, None]
    with np.errstate(all="ignore"):
        A = np.abs(1.0 - laplace_kernel(S * a, params))
    pad = np.pad(A, 1, constant_values=np.inf)
    is_min = np.ones(A.shape, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= A <= pad[1 + di: 1 + di + A.shape[0], 1 + dj: 1 + dj + A.shape[1]]
    starts = list(S[is_min & (A < 1.0)] * a)
    # real roots: sign changes of 1 − K̂ on the real axis between consecutive poles
    edges = np.concatenate([np.arange(math.floor(s_lo), 0), [0.0]])
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        xs = np.linspace(lo + 1e-6, hi - 1e-6, 200)
        f = 1.0 - laplace_kernel(xs * a, params).real
        for k in np.nonzero(np.sign(f[:-1]) != np.sign(f[1:]))[0]:
            if np.isfinite(f[k]) and np.isfinite(f[k + 1]) and abs(f[k] - f[k + 1]) < 10.0:
                starts.append(complex(0.5 * (xs[k] + xs[k + 1]) * a))
    starts.append(complex(malthusian_rate(params)))
    roots: list[complex] = []
    for z in starts:
        with np.errstate(all="ignore"):
            for _ in range(50):
                d = laplace_kernel_derivative(complex(z), params)
                if d == 0 or not np.isfinite(d):
                    break
                dz = (laplace_kernel(z, params) - 1.0) / d
                z = z - dz
                if not np.isfinite(z) or abs(dz) <= 1e-14 * abs(z):
                    break
            if not np.isfinite(z) or z == 0:
                continue
            if abs(laplace_kernel(z, params) - 1.0) > 1e-12 or z.real < re_min_per_day:
                continue
        z = complex(z.real, abs(z.imag)) if abs(z.imag) > 1e-13 * abs(z) else complex(z.real, 0)
        if all(abs(z - r) > 1e-9 * max(abs(z), a) for r in roots):
            roots.append(z)
    return np.array(sorted(roots, key=lambda r: -r.real))


def series_count(t_days, params: IwataParams, roots: np.ndarray | None = None):
    """``N(t)`` [colonies] from the residue (Dirichlet) series of ``N̂``.

    ``N(t) = −1 + Σ_k e^(z_k t) / (z_k (−K̂'(z_k)))`` over the roots ``z_k`` of ``K̂ = 1``
    (conjugate pairs counted twice through ``2 Re``); ``roots`` defaults to
    :func:`characteristic_roots` (``Re z ≥ −0.12 /day``; cached per parameter set), so the
    truncation error is of order ``e^(−0.12 t)`` times a residue: negligible from about 200
    days on (3e-10 relative at 200 days, 1e-12 at one year), useless near ``t = 0`` (use
    :func:`analytic_count` there).
    """
    zs = _cached_roots(params) if roots is None else np.asarray(roots)
    t = np.asarray(t_days, dtype=np.float64)
    out = np.full(t.shape, -1.0)
    for z in zs:
        w = 1.0 / (z * -laplace_kernel_derivative(complex(z), params))
        mult = 1.0 if z.imag == 0 else 2.0
        out = out + mult * np.real(w * np.exp(z * t))
    return out if out.ndim else float(out)


def _count_transform(z, params: IwataParams):
    k = laplace_kernel(z, params)
    return k / ((1.0 - k) * z)


def analytic_count(t_days, params: IwataParams, n_nodes: int = 40):
    """``N(t)`` [colonies]: the number of metastases, from the exact Laplace transform.

    From :data:`SERIES_FROM_DAYS` on, the residue series (:func:`series_count`, truncation
    ~1e-12 relative there); before, :func:`talbot_count`. ``N = 0`` at ``t ≤ 0``.
    """
    t = np.atleast_1d(np.asarray(t_days, dtype=np.float64))
    out = np.zeros_like(t)
    late = t >= SERIES_FROM_DAYS
    early = (t > 0) & ~late
    if late.any():
        out[late] = series_count(t[late], params, _cached_roots(params))
    if early.any():
        out[early] = talbot_count(t[early], params, n_nodes)
    return out if np.ndim(t_days) else float(out[0])


#: from this age on, :func:`analytic_count` sums the residue series [days]
SERIES_FROM_DAYS = 365.0
_ROOTS: dict[tuple[float, ...], np.ndarray] = {}


def _cached_roots(params: IwataParams) -> np.ndarray:
    key = (params.a_per_day, params.b_cells, params.m_per_cell_day, params.alpha)
    if key not in _ROOTS:
        _ROOTS[key] = characteristic_roots(params)
    return _ROOTS[key]


def talbot_count(t_days, params: IwataParams, n_nodes: int = 40):
    """``N(t)`` [colonies] by numerical inversion of the exact transform on Talbot's contour.

    Fixed Talbot (Abate & Valkó 2004, ``n_nodes`` nodes) on ``N̂(z) = K̂/(z (1 − K̂))`` with
    the contour shifted by ``1.5 z0`` (all singularities lie at ``Re z ≤ z0``). Relative
    accuracy ~1e-10 up to 3 years, ~1e-8 at 10 years (the contour narrows as ``t`` grows);
    ``N = 0`` at ``t ≤ 0``.
    """
    t = np.atleast_1d(np.asarray(t_days, dtype=np.float64))
    out = np.zeros_like(t)
    shift = 1.5 * malthusian_rate(params)
    theta = np.arange(1, n_nodes) * math.pi / n_nodes
    cot = 1.0 / np.tan(theta)
    sigma = np.concatenate([[1.0 + 0.0j], 1.0 + 1.0j * (theta + (theta * cot - 1.0) * cot)])
    for i, tt in enumerate(t):
        if tt <= 0:
            continue
        r = 2.0 * n_nodes / (5.0 * tt)
        s = np.concatenate([[r + 0.0j], r * theta * (cot + 1.0j)])
        vals = np.exp(tt * s) * _count_transform(s + shift, params) * sigma
        vals[0] *= 0.5
        out[i] = (r / n_nodes) * float(np.sum(vals.real)) * math.exp(shift * tt)
    return out if np.ndim(t_days) else float(out[0])


def analytic_at_least(x_cells, t_days, params: IwataParams, n_nodes: int = 40):
    """Colonies of size ``≥ x`` at ``t`` [colonies]: ``N(t − τ(x))`` (exact reduction)."""
    x = np.asarray(x_cells, dtype=np.float64)
    t = np.asarray(t_days, dtype=np.float64)
    lag = np.broadcast_to(t - age_at_size(x, params), np.broadcast_shapes(x.shape, t.shape))
    out = np.zeros(lag.shape)
    ok = np.isfinite(lag) & (lag > 0)
    if ok.any():
        out[ok] = analytic_count(lag[ok], params, n_nodes)
    return out if out.ndim else float(out)


# -- the deterministic solver -------------------------------------------------------------------
@njit(cache=True)
def _advance_births(kernel, births, n_done, n_new, dt):  # pragma: no cover - compiled
    """Fill ``births[n_done+1 .. n_done+n_new]`` by the trapezoidal renewal quadrature.

    ``kernel[k] = K(k dt)``; ``births[0] = K(0)`` must be set. For node ``n``:
    ``B_n (1 − dt K_0/2) = K_n + dt (K_n B_0 / 2 + Σ_{j=1}^{n−1} K_{n−j} B_j)``.
    """
    denom = 1.0 - 0.5 * dt * kernel[0]
    for n in range(n_done + 1, n_done + n_new + 1):
        acc = 0.5 * kernel[n] * births[0]
        for j in range(1, n):
            acc += kernel[n - j] * births[j]
        births[n] = (kernel[n] + dt * acc) / denom


@njit(cache=True)
def _burden(sizes, births, n, dt):  # pragma: no cover - compiled
    """``Σ_j w_j X(t_n − t_j)`` with trapezoidal weights (``sizes[k] = X(k dt)``)."""
    if n == 0:
        return 0.0
    acc = 0.5 * (births[0] * sizes[n] + births[n] * sizes[0])
    for j in range(1, n):
        acc += births[j] * sizes[n - j]
    return dt * acc


def _cumulative(births: np.ndarray, dt: float) -> np.ndarray:
    """``N`` at every node: the cumulative trapezoid of the birth rate."""
    out = np.zeros(len(births))
    if len(births) > 1:
        out[1:] = np.cumsum(0.5 * dt * (births[1:] + births[:-1]))
    return out


@dataclass(frozen=True)
class Solution:
    """A solved run: the birth-rate history on the nodes ``t_j = j dt`` and its readouts.

    Attributes:
        params: the parameters. dt_days: node spacing [days].
        births: ``B(t_j)`` [colonies/day], the boundary flux ``g(1) ρ(1, t_j)``.
    """

    params: IwataParams
    dt_days: float
    births: np.ndarray

    @property
    def t_days(self) -> np.ndarray:
        """The nodes [days]."""
        return np.arange(len(self.births)) * self.dt_days

    @property
    def counts(self) -> np.ndarray:
        """``N(t_j)`` [colonies] at every node (``Σ`` of the cohorts' weights)."""
        return _cumulative(self.births, self.dt_days)

    def _index(self, t_days: float) -> int:
        n = int(round(t_days / self.dt_days))
        if abs(n * self.dt_days - t_days) > 1e-9 * max(1.0, t_days) or not 0 <= n < len(
                self.births):  # fmt: skip
            raise ValueError(f"t = {t_days:g} days is not a node of this solution "
                             f"(dt = {self.dt_days:g}, end {self.t_days[-1]:g})")  # fmt: skip
        return n

    def n_metastases(self, t_days):
        """Colonies of any size at ``t`` [colonies] (linear between nodes: second order)."""
        t = np.asarray(t_days, dtype=np.float64)
        if np.any(t > self.t_days[-1] * (1 + 1e-12)):
            raise ValueError(f"t = {np.max(t):g} days is past this solution's end "
                             f"{self.t_days[-1]:g}")  # fmt: skip
        out = np.interp(t, self.t_days, self.counts, left=0.0)
        return out if np.ndim(out) else float(out)

    def n_at_least(self, x_cells, t_days):
        """Colonies of size ``≥ x`` at ``t`` [colonies]: ``N(t − τ(x))``.

        ``N`` is interpolated linearly in birth time between nodes (second order).
        """
        lag = np.asarray(t_days, dtype=np.float64) - age_at_size(x_cells, self.params)
        lag = np.where(np.isfinite(lag), lag, -1.0)
        out = np.interp(lag, self.t_days, self.counts, left=0.0)
        return out if np.ndim(out) else float(out)

    def n_detectable(self, t_days: float) -> float:
        """Colonies of at least ``params.detect_cells`` at ``t`` [colonies]."""
        return float(self.n_at_least(self.params.detect_cells, t_days))

    def burden_cells(self, t_days: float) -> float:
        """Cells in all metastases at ``t`` (a node): ``∫ x ρ dx`` [cells]."""
        n = self._index(t_days)
        sizes = colony_size(np.arange(n + 1) * self.dt_days, self.params)
        return float(_burden(sizes, self.births, n, self.dt_days))

    def primary_cells(self, t_days: float) -> float:
        """The primary tumour at ``t`` [cells] (exact)."""
        return float(primary_size(t_days, self.params))


def solve(params: IwataParams, t_end_days: float, dt_days: float = 1.0) -> Solution:
    """Solve the PDE by characteristics from ``t = 0`` to ``t_end_days`` (step ``dt_days``).

    ``t_end_days`` must be a whole number of steps (``ValueError`` otherwise).
    """
    n = int(round(t_end_days / dt_days))
    if n < 0 or abs(n * dt_days - t_end_days) > 1e-9 * max(1.0, t_end_days) or dt_days <= 0:
        raise ValueError(f"t_end_days = {t_end_days:g} is not a whole number of steps "
                         f"dt_days = {dt_days:g}")  # fmt: skip
    kernel = seeding_kernel(np.arange(n + 1) * dt_days, params)
    births = np.empty(n + 1)
    births[0] = kernel[0]
    _advance_births(kernel, births, 0, n, float(dt_days))
    return Solution(params, float(dt_days), births)


# -- the registered model ------------------------------------------------------------------------
#: the log grid of sizes of the ``size_distribution`` table: 1, 10, ..., 1e10 cells
SIZE_GRID_CELLS = 10.0 ** np.arange(0, 11)
#: the largest model step the check allows (second-order error ~1e-5 relative at 1 day)
MAX_DT_DAYS = 5.0


@register
class Iwata(Model):
    """The Iwata–Kawasaki–Shigesada body model, deterministic limit, as a run."""

    name: ClassVar[str] = "iwata"
    title: ClassVar[str] = ("Iwata et al. 2000 metastatic colony-size distribution (Gompertz "
                            "colonies seeding colonies; deterministic)")  # fmt: skip
    Params: ClassVar[type[BaseModel]] = IwataParams
    metric_names: ClassVar[tuple[str, ...]] = ("n_metastases", "n_detectable", "burden_cells",
                                               "primary_cells", "birth_rate_per_day")  # fmt: skip
    references: ClassVar[tuple[str, ...]] = (
        "Iwata K, Kawasaki K, Shigesada N (2000) A dynamical model for the growth and size "
        "distribution of multiple metastatic tumors. J Theor Biol 203:177-186",
        "Devys A, Goudon T, Lafitte P (2009) A model describing the growth and the size "
        "distribution of multiple metastatic tumors. Discrete Contin Dyn Syst B 12:731-767",
        "Del Monte U (2009) Does the cell number 10^9 still really fit one gram of tumor "
        "tissue? Cell Cycle 8:505-506",
    )

    @classmethod
    def check(cls, params: IwataParams, mesh: Mesh, dt: float) -> list[str]:
        """One voxel (the body as one compartment) and a step of at most 5 days."""
        out = []
        if mesh.n_voxels != 1:
            out.append(f"mesh has {mesh.n_voxels} voxels; the iwata model is one compartment: "
                       "allowed one voxel (extent_um = voxel_um)")  # fmt: skip
        if dt > MAX_DT_DAYS * DAY_MIN:
            out.append(f"time.dt_min = {dt:g} exceeds {MAX_DT_DAYS * DAY_MIN:g} min "
                       f"({MAX_DT_DAYS:g} days), the iwata solver's accuracy limit")  # fmt: skip
        return out

    def __init__(self, params: BaseModel, mesh: Mesh, dt: float) -> None:
        super().__init__(params, mesh, dt)
        self.dt_days = dt / DAY_MIN
        self._births = np.empty(1024)
        self._births[0] = params.m_per_cell_day  # K(0): the one-cell primary seeds at rate m
        self._n = 0
        self._count = 0.0
        self._kernel = seeding_kernel(np.arange(1024) * self.dt_days, params)
        self._sizes = colony_size(np.arange(1024) * self.dt_days, params)

    def _grow(self, n: int) -> None:
        if n < len(self._births):
            return
        size = max(n + 1, 2 * len(self._births))
        births = np.empty(size)
        births[: self._n + 1] = self._births[: self._n + 1]
        self._births = births
        self._kernel = seeding_kernel(np.arange(size) * self.dt_days, self.params)
        self._sizes = colony_size(np.arange(size) * self.dt_days, self.params)

    def solution(self) -> Solution:
        """The solution so far (nodes up to the current time)."""
        return Solution(self.params, self.dt_days, self._births[: self._n + 1].copy())

    def field_specs(self) -> list[FieldSpec]:
        """The primary's size, the number of metastases and their burden (one voxel)."""
        return [FieldSpec("primary", "cells", "primary tumour size"),
                FieldSpec("metastases", "colonies", "number of metastatic colonies (any size)"),
                FieldSpec("burden", "cells", "cells in all metastases")]  # fmt: skip

    def _fields_now(self) -> dict[str, float]:
        n = self._n
        return {"primary": float(self._sizes[n]), "metastases": self._count,
                "burden": float(_burden(self._sizes, self._births, n, self.dt_days))}  # fmt: skip

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One primary cell, no metastases."""
        return {k: np.full(self.mesh.array_shape, v, dtype=np.float64)
                for k, v in self._fields_now().items()}  # fmt: skip

    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """One solver node further (``dt/1440`` days), deterministically."""
        self._grow(self._n + 1)
        _advance_births(self._kernel, self._births, self._n, 1, self.dt_days)
        self._n += 1
        self._count += 0.5 * self.dt_days * (self._births[self._n] + self._births[self._n - 1])
        for k, v in self._fields_now().items():
            fields[k][...] = v

    def extra_state(self) -> dict[str, np.ndarray]:
        """The birth-rate history (the cohorts' weights): all the solver's state."""
        return {"iwata_births": self._births[: self._n + 1].copy()}

    def restore_extra_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the history from a checkpoint."""
        births = np.asarray(arrays["iwata_births"], dtype=np.float64)
        self._n = len(births) - 1
        self._grow(self._n + 1)
        self._births[: self._n + 1] = births
        self._count = float(_cumulative(births, self.dt_days)[-1])

    def snapshot_tables(self) -> dict[str, pd.DataFrame]:
        """``size_distribution``: colonies of size ≥ ``size_cells`` (1 to 1e10 cells)."""
        sol = self.solution()
        t = self._n * self.dt_days
        return {"size_distribution": pd.DataFrame({
            "size_cells": SIZE_GRID_CELLS,
            "n_at_least": np.asarray(sol.n_at_least(SIZE_GRID_CELLS, t), dtype=np.float64)})}

    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """Counts, burden, primary size and the current birth rate."""
        sol = self.solution()
        t = self._n * self.dt_days
        now = self._fields_now()
        return {"n_metastases": now["metastases"], "n_detectable": sol.n_detectable(t),
                "burden_cells": now["burden"], "primary_cells": now["primary"],
                "birth_rate_per_day": float(self._births[self._n])}  # fmt: skip
