"""Sensitivity analysis validated end to end: the Ishigami function run as studies on Dask.

The built-in ``ishigami`` scenario (one voxel, one step) is run through the same machinery as
any model: the shipped ``ishigami-sobol`` spec, and a Morris spec, each by ``run_study`` on a
local cluster of 2 worker processes; then :func:`sobol_indices` / :func:`morris_indices` read
the study table.

Size. Each run costs a worker ~0.05 s of model plus the run directory every study run writes
(measured when written at ~0.15 s a run on an idle 2-core machine, 3-5 times more when shared).
So N = 64 base samples (320 runs), not 512, and r = 10 Morris trajectories (40 runs).

Tolerances.
    * Sobol, N = 64: every S1 and ST within 2.5 of SALib's 95 % bootstrap half-widths of the
      analytic value (Saltelli et al. 2008: S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424,
      0.2437). The bootstrap interval under-covers at this size (the error reached 2.3
      half-widths over 600 scrambled-Sobol' seeds of the same estimator; 1 % of seeds had one
      of the six errors above 2), hence the factor: none of the 600 exceeded 2.5. At N = 1024
      the analysis is checked to one half-width in tests/unit/test_sensitivity_analysis.py.
    * Exactly: every run's y is the Ishigami function of its parameters (to metrics.csv's 10
      digits), and the study's indices equal SALib's on the function evaluated at the design.
    * Morris, p = 4 levels: elementary effects take few values on the 4-level grid
      (Δ = 2/3 of the range): |EE(x2)| = 7 · 3/4 / (2/3) = 7.875 always; |EE(x1)| =
      sin(π/3)(1 + 0.1 x3⁴)/(2/3) with x3⁴ ∈ {π⁴, π⁴/81}; |EE(x3)| = 0.1 |sin x1| π⁴ (80/81)
      / (2/3) with |sin x1| ∈ {0, sin(π/3)}. Each trajectory's effects are recomputed here from
      the table and checked against these values, and mu* against their mean.

Contract:
    * Cases (they need the ``studies`` extra, else they are skipped): ``sensitivity morris
      elementary effects of ishigami exact`` (quick = full: 10 trajectories, 40 runs, a few
      seconds); ``sensitivity sobol indices of ishigami within bootstrap intervals`` (320
      runs, ~15 s: the full form only; its quick form is skipped: ``invasim verify --full -k
      sobol``).
    * :func:`sobol_study`, :func:`morris_study` run the studies into a folder (the pytest
      validation shares one run of each between its tests).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from invasim.extras import MissingExtraError
from invasim.models.ishigami import analytic_indices, ishigami
from invasim.verify import Checks, Result, Skip, case

MECHANISM = "sensitivity"
NAMES = ["params.x1", "params.x2", "params.x3"]
#: base samples, and the tolerance in bootstrap half-widths (see the module docstring)
N = 64
K_CONF = 2.5
TRAJECTORIES = 10


def morris_spec() -> dict:
    """The Morris study of the Ishigami scenario: 10 trajectories, 4 levels."""
    return {
        "name": "ishigami-morris",
        "scenario": "ishigami",
        "seed": 5,
        "design": {"kind": "morris", "trajectories": TRAJECTORIES, "levels": 4},
        "vary": {k: {"bounds": [-math.pi, math.pi]} for k in NAMES},
        "keep": {"metrics": ["y"], "times": "last"},
    }


def _run(spec_data, overrides, out: Path) -> pd.DataFrame:
    try:
        from invasim.study import load_study_spec, run_study

        spec = load_study_spec(spec_data, overrides)
        return run_study(spec, out, workers=2, progress=False)
    except MissingExtraError as exc:
        raise Skip(str(exc)) from None


def sobol_study(out: Path) -> pd.DataFrame:
    """The shipped ``ishigami-sobol`` study at N = 64, run into ``out``."""
    return _run("ishigami-sobol", [f"design.n={N}"], out)


def morris_study(out: Path) -> pd.DataFrame:
    """The Morris study of :func:`morris_spec`, run into ``out``."""
    return _run(morris_spec(), None, out)


def design_x(df: pd.DataFrame) -> np.ndarray:
    """The design points, in point order."""
    design = pd.DataFrame(df.attrs["design"]).drop_duplicates("point").sort_values("point")
    return design[NAMES].to_numpy(float)


def frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal tables: labels exactly, values to rtol 1e-6 (atol 1e-8)."""
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6, atol=1e-8)
    except AssertionError:
        return False
    return True


def check_runs_are_the_function(chk: Checks, df: pd.DataFrame) -> None:
    """Every run completed, once, and its y is the Ishigami function of its parameters."""
    chk.that("every run completed", bool((df["status"] == "completed").all()))
    chk.that("one kept time per run", bool(df["run_id"].is_unique))
    want = ishigami(df["params.x1"], df["params.x2"], df["params.x3"])
    chk.that("every y is the Ishigami function (rtol 1e-9)",
             np.allclose(df["y"], want, rtol=1e-9, atol=1e-9))  # fmt: skip


def sobol_result(df: pd.DataFrame) -> Result:
    """The Sobol checks on a study table."""
    from invasim.study.sensitivity import sobol_indices, sobol_table

    chk = Checks()
    chk.that("runs: N (3 + 2), first and total order", df["run_id"].nunique() == N * (3 + 2))
    check_runs_are_the_function(chk, df)
    table = sobol_indices(df, "y")
    chk.that("parameters in order", list(table.index) == NAMES)
    # the machinery adds nothing: the same as SALib on the function at the design points
    direct = sobol_table(df.attrs["problem"], ishigami(*design_x(df).T), False)
    chk.that("indices equal SALib's on the function at the design (rtol 1e-6)",
             frames_equal(table, direct))
    exact = analytic_indices(7.0, 0.1)
    worst = (0.0, 0.0, 1.0, "")
    for key in ("S1", "ST"):
        for i, name in enumerate(NAMES):
            got, want = float(table[key].iloc[i]), float(exact[key][i])
            half = float(table[f"{key}_conf"].iloc[i])
            chk.near(f"{key} {name}", got, want, K_CONF * half)
            if abs(got - want) / (K_CONF * half) >= abs(worst[0] - worst[1]) / worst[2]:
                worst = (got, want, K_CONF * half, f"{key} {name}")
    # x3 has the smallest total index (0.24 against 0.44 and 0.56; wrong in 2 of 600 seeds at
    # N = 64, while x1 > x2 is not resolved: wrong in 16 %)
    chk.that("x3 has the smallest total index", table["ST"].idxmin() == NAMES[2])
    got, want, tol, which = worst
    return chk.result(want, got, tol, "", f"{which} (the furthest in half-widths of 12), "
                                          f"N = {N}; tolerance {K_CONF} bootstrap half-widths")


def elementary_effects(x: np.ndarray, y: np.ndarray, levels: int) -> dict[int, list[float]]:
    """EE per parameter, recomputed from the trajectories (D + 1 consecutive points each)."""
    d = x.shape[1]
    span = 2 * math.pi
    out: dict[int, list[float]] = {i: [] for i in range(d)}
    for start in range(0, len(x), d + 1):
        for k in range(start, start + d):
            dx = x[k + 1] - x[k]
            moved = np.flatnonzero(np.abs(dx) > 1e-12)
            if len(moved) != 1:  # one factor at a time
                raise AssertionError(f"a Morris step moved {len(moved)} factors: {dx}")
            i = int(moved[0])
            if abs(abs(dx[i]) / span - levels / (2 * (levels - 1))) >= 1e-9:
                raise AssertionError(f"a Morris step of {dx[i]}, not Δ")
            out[i].append((y[k + 1] - y[k]) / (dx[i] / span))
    return out


def morris_result(df: pd.DataFrame) -> Result:
    """The Morris checks on a study table."""
    from invasim.study.sensitivity import morris_indices, morris_table

    chk = Checks()
    chk.that("runs: r (3 + 1)", df["run_id"].nunique() == TRAJECTORIES * (3 + 1))
    check_runs_are_the_function(chk, df)
    table = morris_indices(df, "y")
    x = design_x(df)
    y = df.sort_values("point")["y"].to_numpy(float)
    direct = morris_table(df.attrs["problem"], x, ishigami(*x.T), 4)
    chk.that("indices equal SALib's on the function at the design (rtol 1e-6)",
             frames_equal(table, direct))
    ee = elementary_effects(x, y, 4)
    r3 = math.sqrt(3) / 2
    allowed = {
        0: [r3 * (1 + 0.1 * math.pi**4) * 1.5, r3 * (1 + 0.1 * math.pi**4 / 81) * 1.5],
        1: [7 * 0.75 * 1.5],
        2: [0.0, 0.1 * math.pi**4 * (80 / 81) * r3 * 1.5],
    }
    for i, values in ee.items():
        chk.that(f"{NAMES[i]}: {TRAJECTORIES} effects", len(values) == TRAJECTORIES)
        off = max((min(abs(abs(v) - a) for a in allowed[i]) for v in values), default=math.nan)
        chk.near(f"{NAMES[i]}: largest distance of |EE| from its allowed values", off, 0.0, 1e-6)
        mu_star = float(np.mean(np.abs(values)))
        chk.near(f"{NAMES[i]}: mu*", float(table.loc[NAMES[i], "mu_star"]), mu_star,
                 max(1e-6 * mu_star, 1e-9))  # fmt: skip
        mu = float(np.mean(values))
        chk.near(f"{NAMES[i]}: mu", float(table.loc[NAMES[i], "mu"]), mu,
                 max(1e-6 * abs(mu), 1e-9))  # fmt: skip
    return chk.result(7.875, float(table.loc[NAMES[1], "mu_star"]), 7.875e-9, "",
                      f"mu* of x2 (|EE| = 7 (3/4) / (2/3) exactly), {TRAJECTORIES} trajectories, "
                      "4 levels; every effect of x1, x3 checked too")  # fmt: skip


@case("sensitivity morris elementary effects of ishigami exact", MECHANISM,
      "Ishigami & Homma 1990; Morris 1991 (exact elementary effects on a 4-level grid)")
def morris(quick: bool) -> Result:
    """The Morris study on a local Dask cluster: every elementary effect is the exact one."""
    with tempfile.TemporaryDirectory(prefix="invasim-verify-") as tmp:
        return morris_result(morris_study(Path(tmp) / "morris"))


@case("sensitivity sobol indices of ishigami within bootstrap intervals", MECHANISM,
      "Saltelli et al. 2008 (analytic Ishigami indices); SALib bootstrap intervals")
def sobol(quick: bool) -> Result:
    """The shipped Sobol study at N = 64: indices within 2.5 bootstrap half-widths."""
    if quick:
        raise Skip("320 study runs (~15 s): the full form only (invasim verify --full -k sobol)")
    with tempfile.TemporaryDirectory(prefix="invasim-verify-") as tmp:
        return sobol_result(sobol_study(Path(tmp) / "sobol"))
