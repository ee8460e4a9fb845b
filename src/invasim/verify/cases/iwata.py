"""Validation cases of the Iwata–Kawasaki–Shigesada colony-size model (the body model's core).

Iwata, Kawasaki & Shigesada (J Theor Biol 2000; 203:177) let every colony grow by Gompertz'
law and seed new one-cell colonies at rate ``m x^α``; for their hepatocellular-carcinoma patient
(``a = 0.00286 /day``, ``b = 7.3e10``, ``m = 5.3e-8``, ``α = 0.663``) the model gives the
number of metastases and their size distribution over time. Each case compares the
deterministic solver (:func:`invasim.models.iwata.solve`: characteristics, one cohort per step
of 1 day, trapezoidal birth quadrature, second order) with the analytic solution
(:func:`invasim.models.iwata.analytic_count`: the exact Laplace transform, inverted by its
residue series over the roots of ``K̂(z) = 1`` and, independently, on Talbot's contour; no time
stepping):

* the number of metastases ``N(t)`` at the evaluation dates 1, 2, 3, 5 and 10 years: relative
  error at most 2e-4 (the solver's second-order error at ``dt = 1 day`` is measured at
  ≤ 3e-5 from one year on; the bound leaves a factor ~7, and the order is itself checked: the
  error falls 4× per halving of ``dt``, observed order within 2 ± 0.2); the analytic value
  against the solver's Richardson limit (``dt`` = 0.5 and 0.25 days; error O(dt⁴)) within
  1e-6 (measured: ≤ 1e-12); the residue series against Talbot within 1e-9 (1e-7 at 10 years,
  where the contour method loses accuracy); the series' leading term (the Malthusian root)
  within 1e-3 at 10 years (the other roots' terms have decayed to ~1.5e-4 there);
* the cumulative size distribution (colonies of size ≥ x, x = 1e2 … 1e10 cells) at the same
  dates: relative error at most 5e-4 wherever the analytic count is at least one colony
  (below that, 5e-4 colonies absolute); decreasing in ``x``; equal to ``N`` at ``x = 1``;
* the fitted ``α = 0.663`` against the geometric 2/3: the ratio of detectable metastases
  (≥ 1e8 cells) at the evaluation dates, solver against analytic within 5e-4; reported in
  ``detail`` (2/3 gives 1.13× more at 5 years, 1.35× at 10 years; 1 year is skipped: fewer
  than 1e-3 detectable colonies).

The paper's own figure numbers (cumulative metastases by size at the patient's CT dates) could
not be read from a source available here, so no case compares with them (stated in the docs).

Contract:
    * Cases ``iwata number of metastases``, ``iwata cumulative size distribution``, ``iwata
      alpha sensitivity``; each takes well under a second (quick and full forms are the same
      but for the extra refinement of the convergence check in the full form).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from invasim.models.iwata import (
    ALPHA_GEOMETRIC,
    IwataParams,
    analytic_at_least,
    analytic_count,
    asymptotic_count,
    colony_size,
    series_count,
    solve,
    talbot_count,
)
from invasim.verify import Checks, Result, case

MECHANISM = "iwata metastatic colony-size distribution"
SOURCE = ("Iwata, Kawasaki & Shigesada, J Theor Biol 2000; 203:177 (analytic solution via the "
          "Laplace transform)")  # fmt: skip
#: the evaluation dates [days]: 1, 2, 3, 5 and 10 years after the first cancer cell
DATES_DAYS = (365.0, 730.0, 1095.0, 1825.0, 3650.0)
#: the sizes of the cumulative distribution [cells]
SIZES_CELLS = 10.0 ** np.arange(2, 11)
#: solver step [days] and the accepted relative errors (see the module docstring)
DT_DAYS = 1.0
N_REL_TOL = 2e-4
DIST_REL_TOL = 5e-4


def _observed_order(params: IwataParams, t: float, dts: tuple[float, ...]) -> list[float]:
    exact = analytic_count(t, params)
    errs = [abs(solve(params, DATES_DAYS[-1], dt).n_metastases(t) / exact - 1.0) for dt in dts]
    return [float(np.log2(e0 / e1)) for e0, e1 in zip(errs[:-1], errs[1:], strict=True)]


@case("iwata number of metastases", MECHANISM, SOURCE)
def number_of_metastases(quick: bool) -> Result:
    """``N(t)`` by characteristics (dt = 1 day) vs the analytic solution at 1–10 years."""
    p = IwataParams()
    chk = Checks()
    t = np.array(DATES_DAYS)
    exact = analytic_count(t, p)
    sol = solve(p, DATES_DAYS[-1], DT_DAYS)
    num = sol.n_metastases(t)
    rel = np.abs(num / exact - 1.0)
    for ti, ni, ei in zip(t, num, exact, strict=True):
        chk.rel(f"N({ti:g} d)", ni, ei, N_REL_TOL, "colonies")
    dts = (2.0, 1.0, 0.5) if quick else (2.0, 1.0, 0.5, 0.25)
    for tt in (1000.0, 3650.0):  # nodes of every dt (no interpolation in the order check)
        for k, order in enumerate(_observed_order(p, tt, dts)):
            chk.near(f"observed order at {tt:g} d, dt {dts[k]:g} -> {dts[k + 1]:g}", order, 2.0,
                     0.2)  # fmt: skip
    fine1, fine2 = solve(p, DATES_DAYS[-1], 0.5), solve(p, DATES_DAYS[-1], 0.25)
    rich = (4.0 * fine2.n_metastases(t) - fine1.n_metastases(t)) / 3.0
    for ti, ri, ei in zip(t, rich, exact, strict=True):
        chk.rel(f"analytic vs Richardson limit of the solver at {ti:g} d", ei, ri, 1e-6)
    # the two exact inversions against each other (Talbot degrades to ~1e-8 at 10 years)
    for ti in t:
        chk.rel(f"residue series vs Talbot contour at {ti:g} d", float(series_count(ti, p)),
                float(talbot_count(ti, p)), 1e-9 if ti <= 1825.0 else 1e-7)  # fmt: skip
    chk.rel("leading (Malthusian) term of the series at 3650 d", asymptotic_count(3650.0, p),
            exact[-1], 1e-3, "colonies")  # fmt: skip
    # the primary: the closed form against an ODE integration of dx/dt = a x ln(b/x), x(0) = 1
    ode = solve_ivp(lambda _t, x: p.a_per_day * x * np.log(p.b_cells / x), (0.0, 3650.0), [1.0],
                    method="DOP853", rtol=1e-12, atol=1e-12, t_eval=t)  # fmt: skip
    chk.near("primary: closed form vs ODE (max relative diff)",
             float(np.max(np.abs(colony_size(t, p) / ode.y[0] - 1.0))), 0.0, 1e-8)
    return chk.result(0.0, float(rel.max()), N_REL_TOL, "",
                      f"max relative error of N(t) at {', '.join(f'{x:g}' for x in t)} days, "
                      f"characteristics dt = {DT_DAYS:g} day vs the Laplace-Talbot solution "
                      f"(N(10 y) = {exact[-1]:.6g}); order-2 error, bound {N_REL_TOL:g}")


@case("iwata cumulative size distribution", MECHANISM, SOURCE)
def cumulative_size_distribution(quick: bool) -> Result:
    """Colonies of size ≥ x at 1–10 years: characteristics vs the analytic solution."""
    p = IwataParams()
    chk = Checks()
    sol = solve(p, DATES_DAYS[-1], DT_DAYS)
    worst = 0.0
    for t in DATES_DAYS:
        exact = analytic_at_least(SIZES_CELLS, t, p)
        num = sol.n_at_least(SIZES_CELLS, t)
        err = np.where(exact >= 1.0, np.abs(num / np.where(exact > 0, exact, 1.0) - 1.0),
                       np.abs(num - exact))  # fmt: skip
        worst = max(worst, float(err.max()))
        chk.bound(f"max error at {t:g} d (relative where ≥ 1 colony, else absolute)",
                  float(err.max()), "<=", DIST_REL_TOL)  # fmt: skip
        chk.that(f"non-increasing in size at {t:g} d", bool(np.all(np.diff(num) <= 0)))
        chk.rel(f"size ≥ 1 equals N at {t:g} d", float(sol.n_at_least(1.0, t)),
                float(sol.n_metastases(t)), 1e-12)  # fmt: skip
    det = analytic_at_least(p.detect_cells, 1825.0, p)
    return chk.result(0.0, worst, DIST_REL_TOL, "",
                      f"colonies ≥ x for x = 1e2..1e10 cells at {len(DATES_DAYS)} dates "
                      f"(1-10 years), characteristics dt = {DT_DAYS:g} day vs N(t - τ(x)) "
                      f"analytic; detectable (≥ 1e8 cells) at 5 years: {det:.4g}")


@case("iwata alpha sensitivity", MECHANISM, SOURCE)
def alpha_sensitivity(quick: bool) -> Result:
    """Detectable metastases with the fitted α = 0.663 vs the geometric 2/3."""
    fitted, geometric = IwataParams(), IwataParams(alpha=ALPHA_GEOMETRIC)
    chk = Checks()
    t = np.array(DATES_DAYS)
    ratios_num, ratios_exact, dates = [], [], []
    for ti in t:
        e_f = analytic_at_least(fitted.detect_cells, ti, fitted)
        e_g = analytic_at_least(geometric.detect_cells, ti, geometric)
        n_f = solve(fitted, ti, DT_DAYS).n_detectable(ti)
        n_g = solve(geometric, ti, DT_DAYS).n_detectable(ti)
        if e_f < 1e-3:
            continue
        dates.append(float(ti))
        ratios_exact.append(e_g / e_f)
        ratios_num.append(n_g / n_f)
        chk.rel(f"ratio 2/3 : 0.663 of detectable at {ti:g} d", n_g / n_f, e_g / e_f,
                DIST_REL_TOL)  # fmt: skip
        chk.bound(f"2/3 seeds more than 0.663 at {ti:g} d", e_g / e_f, ">", 1.0)
    i5 = dates.index(1825.0)
    return chk.result(ratios_exact[i5], ratios_num[i5], DIST_REL_TOL * ratios_exact[i5], "",
                      "ratio of detectable metastases (≥ 1e8 cells) with α = 2/3 to α = 0.663 "
                      "at 5 years, solver (measured) vs analytic (expected); at "
                      + ", ".join(f"{d:g} d: {x:.3f}" for d, x in zip(dates, ratios_exact,
                                                                       strict=True)))
