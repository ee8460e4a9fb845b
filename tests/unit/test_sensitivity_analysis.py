"""Sensitivity analysis functions on SALib samples of the Ishigami function (no Dask, no runs).

References for the expected values:
    * Sobol indices of Ishigami (a = 7, b = 0.1): closed form from the partial variances
      (Ishigami & Homma 1990; Saltelli et al. 2008): S1 = 0.3139, 0.4424, 0; ST = 0.5576,
      0.4424, 0.2437; the only non-zero second-order index is S13 = V13/V = 0.2437.
    * Morris mu*: the exact expectation of |elementary effect| over SALib's p-level grid,
      enumerated below (every grid point, a step of Δ = p / (2(p − 1)) in [0, 1] units).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from invasim.errors import ConfigError
from invasim.models.ishigami import analytic_indices, ishigami
from invasim.study.sensitivity import (
    morris_indices,
    morris_table,
    plot_indices,
    point_values,
    sobol_indices,
    sobol_table,
)

NAMES = ["params.x1", "params.x2", "params.x3"]
PROBLEM = {"num_vars": 3, "names": NAMES, "bounds": [[-math.pi, math.pi]] * 3}
TRUE = analytic_indices(7.0, 0.1)


def _f(x: np.ndarray) -> np.ndarray:
    return ishigami(x[:, 0], x[:, 1], x[:, 2])


def test_analytic_indices_match_the_published_values():
    # Saltelli et al. 2008, to the four digits they give
    np.testing.assert_allclose(TRUE["S1"], [0.3139, 0.4424, 0.0], atol=5e-5)
    np.testing.assert_allclose(TRUE["ST"], [0.5576, 0.4424, 0.2437], atol=5e-5)


def test_analytic_indices_match_brute_force_variances():
    # independent check of the closed form: partial variances by quadrature on a 1-D grid
    # (f = sin x1 (1 + b x3⁴) + a sin² x2, the two terms independent, the first of mean 0)
    g = (np.arange(20000) + 0.5) / 20000 * 2 * np.pi - np.pi  # midpoint rule
    s1, s2, x34 = np.sin(g), np.sin(g) ** 2, g**4
    mean = 7.0 * s2.mean()
    v = (s1**2).mean() * ((1 + 0.1 * x34) ** 2).mean() + 49 * s2.var()
    v1 = (s1 * (1 + 0.1 * x34.mean())).var()
    v2 = (7.0 * s2 - mean).var()
    assert TRUE["S1"][0] == pytest.approx(v1 / v, rel=1e-6)
    assert TRUE["S1"][1] == pytest.approx(v2 / v, rel=1e-6)
    assert TRUE["ST"][2] == pytest.approx(1 - (v1 + v2) / v, rel=1e-6)


@pytest.mark.parametrize("second", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sobol_table_recovers_the_analytic_indices(seed, second):
    # N = 1024 scrambled Sobol' base samples. Tolerance: the 95 % bootstrap half-width SALib
    # reports (0.03-0.09 here). Over 20 seeds the error was at most 0.4 of it at N = 1024:
    # the scrambled sequence converges faster than the i.i.d. bootstrap assumes.
    x = sobol_sample.sample(PROBLEM, 1024, calc_second_order=second, seed=seed)
    table = sobol_table(PROBLEM, _f(x), second, num_resamples=200, seed=seed)
    assert list(table.index) == NAMES
    for key in ("S1", "ST"):
        err = np.abs(table[key].to_numpy() - TRUE[key])
        assert (err <= table[f"{key}_conf"].to_numpy()).all(), (key, table)
    if second:
        # S13 = V13 / V = ST3 (the only interaction), S12 = S23 = 0; same tolerance (over 10
        # seeds the error was at most 0.35 of the S2 half-width)
        exact = {(0, 1): 0.0, (0, 2): TRUE["ST"][2], (1, 2): 0.0}
        for (i, j), s2 in exact.items():
            got = table.loc[NAMES[i], f"S2_{NAMES[j]}"]
            assert abs(got - s2) <= table.loc[NAMES[i], f"S2_{NAMES[j]}_conf"], (i, j, got)
            assert table.loc[NAMES[j], f"S2_{NAMES[i]}"] == got  # symmetric
        assert math.isnan(table.loc[NAMES[1], f"S2_{NAMES[1]}"])
    else:
        assert not any(c.startswith("S2") for c in table.columns)


def _expected_mu_star(levels: int) -> np.ndarray:
    """E|EE_i| over the p-level grid: every grid point whose step of Δ stays inside."""
    grid = np.linspace(-math.pi, math.pi, levels)
    delta = levels / (2 * (levels - 1))  # in [0, 1] units, SALib's (and Morris's) choice
    step = delta * 2 * math.pi
    out = []
    for i in range(3):
        effects = []
        for x in itertools.product(grid, repeat=3):
            lo = np.array(x)
            if lo[i] + step > math.pi + 1e-9:
                continue
            hi = lo.copy()
            hi[i] += step
            effects.append(abs(ishigami(*hi) - ishigami(*lo)) / delta)
        out.append(np.mean(effects))
    return np.array(out)


@pytest.mark.parametrize("levels", [4, 8])
@pytest.mark.parametrize("seed", [0, 1])
def test_morris_table_matches_the_exact_expectation_on_the_grid(levels, seed):
    # r = 1000 trajectories. Tolerance: 3 bootstrap half-widths (about 6 standard errors; the
    # largest deviation seen over 16 seeds was 4 standard errors: the elementary effects of x1
    # and x3 are heavy-tailed through x3⁴).
    x = morris_sample.sample(PROBLEM, 1000, num_levels=levels, seed=seed)
    table = morris_table(PROBLEM, x, _f(x), levels, num_resamples=200, seed=seed)
    expected = _expected_mu_star(levels)
    err = np.abs(table["mu_star"].to_numpy() - expected)
    assert (err <= 3 * table["mu_star_conf"].to_numpy() + 1e-9).all(), (table, expected)
    assert (table["mu_star"] >= np.abs(table["mu"]) - 1e-12).all()
    # x1 and x2 both matter more than x3 on this grid (exact: 7.70, 7.88, 6.25 at p = 4)
    assert table.loc[NAMES[0], "mu_star"] > table.loc[NAMES[2], "mu_star"]


def test_expected_mu_star_at_four_levels_by_hand():
    # p = 4: x1 steps -π → π/3 or -π/3 → π, |Δ sin| = sin(π/3) times (1 + b x3⁴) averaged over
    # x3 on the grid; x2: |Δ 7 sin²| = 7 · 3/4; x3: 0.1 |Δ x3⁴| = 0.1 (π⁴ − π⁴/81) times
    # |sin x1| averaged over the grid (0, √3/2, √3/2, 0)
    r3 = math.sqrt(3) / 2
    x34 = np.array([1, 1 / 81, 1 / 81, 1]) * math.pi**4
    by_hand = np.array(
        [r3 * np.mean(1 + 0.1 * x34), 7 * 0.75, 0.1 * math.pi**4 * (1 - 1 / 81) * r3 / 2]
    ) / (2 / 3)
    np.testing.assert_allclose(_expected_mu_star(4), by_hand, rtol=1e-12)


# -- from a study table ------------------------------------------------------------------------
def _study_table(x: np.ndarray, design: dict, replicates: int = 2, shuffle: int = 0):
    """A table shaped like load_study's: two kept times, replicates, rows in any order.

    At t = 1 the replicates are y ± 0.5 (their mean is y); at t = 0 they hold 0 and 1.
    """
    y = _f(x)
    rows, runs = [], []
    for p in range(len(x)):
        for r in range(replicates):
            rid = f"p{p:05d}-r{r:02d}"
            params = dict(zip(NAMES, x[p], strict=True))
            runs.append({"run_id": rid, "point": p, "replicate": r, "seed": 7, **params})
            sign = 1.0 if r % 2 == 0 else -1.0
            late = y[p] + (0.5 * sign if replicates > 1 else 0.0)
            for t, val in ((0.0, float(r % 2)), (1.0, late)):
                rows.append(
                    {**runs[-1], "time_min": t, "y": val, "status": "completed", "wall_s": 0.0,
                     "error": ""}
                )
    df = pd.DataFrame(rows)
    if shuffle:
        df = df.sample(frac=1.0, random_state=shuffle).reset_index(drop=True)
    df.attrs["spec"] = {"name": "t", "scenario": "ishigami", "design": design}
    df.attrs["design"] = runs
    df.attrs["problem"] = dict(PROBLEM)
    return df, y


def test_sobol_indices_average_replicates_in_design_order():
    x = sobol_sample.sample(PROBLEM, 64, calc_second_order=False, seed=3)
    df, y = _study_table(x, {"kind": "sobol", "n": 64, "calc_second_order": False}, shuffle=5)
    direct = sobol_table(PROBLEM, y, False)
    pd.testing.assert_frame_equal(sobol_indices(df, "y"), direct)
    pd.testing.assert_frame_equal(sobol_indices(df, "y", time=1.0), direct)
    # at t = 0 every point has mean 0.5: no variance, said in one line
    with pytest.raises(ConfigError, match="same value at every design point"):
        sobol_indices(df, "y", time=0.0)


def test_second_order_follows_the_spec_and_salib_default():
    x = sobol_sample.sample(PROBLEM, 32, calc_second_order=True, seed=4)
    df, y = _study_table(x, {"kind": "sobol", "n": 32}, replicates=1)  # unset: SALib's True
    table = sobol_indices(df, "y")
    pd.testing.assert_frame_equal(table, sobol_table(PROBLEM, y, True))
    assert f"S2_{NAMES[1]}" in table.columns


def test_point_values_use_completed_runs_and_the_last_time():
    x = sobol_sample.sample(PROBLEM, 8, calc_second_order=False, seed=0)
    df, y = _study_table(x, {"kind": "sobol", "n": 8, "calc_second_order": False})
    # fail replicate 1 of point 2: its mean is then replicate 0's value, y + 0.5
    bad = (df["run_id"] == "p00002-r01")
    df.loc[bad, "status"] = "failed"
    df.loc[bad, "y"] = np.nan
    v = point_values(df, "y")
    assert v.loc[2] == pytest.approx(y[2] + 0.5)
    np.testing.assert_allclose(v.drop(index=2).to_numpy(), np.delete(y, 2))


def test_sobol_errors_are_one_line():
    x = sobol_sample.sample(PROBLEM, 8, calc_second_order=False, seed=0)
    df, _ = _study_table(x, {"kind": "sobol", "n": 8, "calc_second_order": False})
    cases = []
    grid = df.copy()
    grid.attrs = {**df.attrs, "spec": {"design": {"kind": "grid"}}}
    cases.append((grid, "needs a study with design kind = 'sobol'"))
    failed = df.copy()
    failed.attrs = df.attrs
    failed.loc[failed["point"] == 3, "y"] = np.nan
    cases.append((failed, "1 design points have no completed run"))
    unfinished = df[df["point"] < 30].copy()  # results.parquet of a study still running
    unfinished.attrs = df.attrs
    cases.append((unfinished, "10 design points have no completed run"))
    short = df[df["point"] < 39].copy()  # as if the size were not N(D+2)
    short.attrs = {**df.attrs, "design": [r for r in df.attrs["design"] if r["point"] < 39]}
    cases.append((short, "needs N(D+2) = a multiple of 5"))
    for frame, needle in cases:
        with pytest.raises(ConfigError) as info:
            sobol_indices(frame, "y")
        assert needle in str(info.value) and "\n" not in str(info.value), str(info.value)
    with pytest.raises(ConfigError, match="'nope' is not a metric this study kept; kept: y"):
        sobol_indices(df, "nope")
    with pytest.raises(ConfigError, match="--time 5 is not a kept time of this study; kept: 0, 1"):
        sobol_indices(df, "y", time=5.0)
    with pytest.raises(ConfigError, match="design kind = 'morris'"):
        morris_indices(df, "y")


def test_morris_indices_from_a_study_table_equal_the_direct_analysis():
    x = morris_sample.sample(PROBLEM, 20, num_levels=6, seed=2)
    df, y = _study_table(x, {"kind": "morris", "trajectories": 20, "levels": 6}, shuffle=1)
    pd.testing.assert_frame_equal(morris_indices(df, "y"), morris_table(PROBLEM, x, y, 6))


def test_plot_indices_draws_one_bar_per_parameter_and_index():
    x = sobol_sample.sample(PROBLEM, 16, calc_second_order=False, seed=0)
    table = sobol_table(PROBLEM, _f(x), False, num_resamples=50)
    fig = plot_indices(table, "y", "sobol")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == sorted([*table["S1"], *table["ST"]])
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    xm = morris_sample.sample(PROBLEM, 10, seed=0)
    mt = morris_table(PROBLEM, xm, _f(xm), 4, num_resamples=50)
    ax = plot_indices(mt, "y", "morris").axes[0]
    assert sorted(p.get_height() for p in ax.patches) == sorted([*mt["mu_star"], *mt["sigma"]])
