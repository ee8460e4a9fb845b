"""Sensitivity analysis validated end to end: the Ishigami function run as studies on Dask.

The built-in ``ishigami`` scenario (one voxel, one step) is run through the same machinery as
any model: the shipped ``ishigami-sobol`` spec, and a Morris spec, each by ``run_study`` on a
local cluster of 2 worker processes; then :func:`sobol_indices` / :func:`morris_indices` read
the study table.

Size. Each run costs a worker ~0.05 s of model plus the run directory every study run writes
(measured when written at ~0.15 s a run on an idle 2-core machine, 3-5 times more when shared,
while study runs still drew their summary.png, which they no longer do). So N = 64 base
samples (320 runs), not 512, and r = 10 Morris trajectories (40 runs).

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
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from invasim.models.ishigami import analytic_indices, ishigami
from invasim.study import load_study_spec, run_study
from invasim.study.sensitivity import morris_indices, morris_table, sobol_indices, sobol_table

pytestmark = pytest.mark.slow

NAMES = ["params.x1", "params.x2", "params.x3"]
#: base samples, and the tolerance in bootstrap half-widths (see the module docstring)
N = 64
K_CONF = 2.5


def _morris_spec() -> dict:
    return {
        "name": "ishigami-morris",
        "scenario": "ishigami",
        "seed": 5,
        "design": {"kind": "morris", "trajectories": 10, "levels": 4},
        "vary": {k: {"bounds": [-math.pi, math.pi]} for k in NAMES},
        "keep": {"metrics": ["y"], "times": "last"},
    }


@pytest.fixture(scope="module")
def sobol_study(tmp_path_factory):
    spec = load_study_spec("ishigami-sobol", [f"design.n={N}"])
    out = tmp_path_factory.mktemp("sens") / "sobol"
    t0 = time.perf_counter()
    df = run_study(spec, out, workers=2, progress=False)
    print(f"\nSobol study: {df['run_id'].nunique()} runs in {time.perf_counter() - t0:.1f} s")
    return df


@pytest.fixture(scope="module")
def morris_study(tmp_path_factory):
    spec = load_study_spec(_morris_spec())
    out = tmp_path_factory.mktemp("sens") / "morris"
    t0 = time.perf_counter()
    df = run_study(spec, out, workers=2, progress=False)
    print(f"\nMorris study: {df['run_id'].nunique()} runs in {time.perf_counter() - t0:.1f} s")
    return df


def _design_x(df: pd.DataFrame) -> np.ndarray:
    design = pd.DataFrame(df.attrs["design"]).drop_duplicates("point").sort_values("point")
    return design[NAMES].to_numpy(float)


def _check_runs_are_the_function(df: pd.DataFrame) -> None:
    assert (df["status"] == "completed").all(), df[df["status"] != "completed"]
    assert df["run_id"].is_unique  # one kept time ("last") per run
    want = ishigami(df["params.x1"], df["params.x2"], df["params.x3"])
    np.testing.assert_allclose(df["y"], want, rtol=1e-9, atol=1e-9)


def test_sobol_study_recovers_the_analytic_indices(sobol_study):
    df = sobol_study
    assert df["run_id"].nunique() == N * (3 + 2)  # first and total order only
    _check_runs_are_the_function(df)
    table = sobol_indices(df, "y")
    assert list(table.index) == NAMES
    # the machinery adds nothing: the same as SALib on the function at the design points
    direct = sobol_table(df.attrs["problem"], ishigami(*_design_x(df).T), False)
    pd.testing.assert_frame_equal(table, direct, check_exact=False, rtol=1e-6, atol=1e-8)
    exact = analytic_indices(7.0, 0.1)
    print(table.to_string())
    for key in ("S1", "ST"):
        err = np.abs(table[key].to_numpy() - np.array(exact[key]))
        assert (err <= K_CONF * table[f"{key}_conf"].to_numpy()).all(), (key, err, exact[key])
    # x3 has the smallest total index (0.24 against 0.44 and 0.56; wrong in 2 of 600 seeds at
    # N = 64, while x1 > x2 is not resolved: wrong in 16 %)
    assert table["ST"].idxmin() == NAMES[2]


def test_sobol_study_on_the_shipped_spec_is_the_documented_design(sobol_study):
    spec = df_spec = sobol_study.attrs["spec"]
    assert df_spec["scenario"] == "ishigami"
    assert spec["design"]["kind"] == "sobol"
    assert spec["design"].get("calc_second_order") is False
    bounds = sobol_study.attrs["problem"]["bounds"]
    np.testing.assert_allclose(bounds, [[-math.pi, math.pi]] * 3)


def _elementary_effects(x: np.ndarray, y: np.ndarray, levels: int) -> dict[int, list[float]]:
    """EE per parameter, recomputed from the trajectories (D + 1 consecutive points each)."""
    d = x.shape[1]
    span = 2 * math.pi
    out: dict[int, list[float]] = {i: [] for i in range(d)}
    for start in range(0, len(x), d + 1):
        for k in range(start, start + d):
            dx = x[k + 1] - x[k]
            moved = np.flatnonzero(np.abs(dx) > 1e-12)
            assert len(moved) == 1, dx  # one factor at a time
            i = int(moved[0])
            assert abs(abs(dx[i]) / span - levels / (2 * (levels - 1))) < 1e-9
            out[i].append((y[k + 1] - y[k]) / (dx[i] / span))
    return out


def test_morris_study_gives_the_exact_elementary_effects(morris_study):
    df = morris_study
    assert df["run_id"].nunique() == 10 * (3 + 1)
    _check_runs_are_the_function(df)
    table = morris_indices(df, "y")
    x = _design_x(df)
    y = df.sort_values("point")["y"].to_numpy(float)
    pd.testing.assert_frame_equal(
        table, morris_table(df.attrs["problem"], x, ishigami(*x.T), 4),
        check_exact=False, rtol=1e-6, atol=1e-8,
    )
    ee = _elementary_effects(x, y, 4)
    r3 = math.sqrt(3) / 2
    allowed = {
        0: [r3 * (1 + 0.1 * math.pi**4) * 1.5, r3 * (1 + 0.1 * math.pi**4 / 81) * 1.5],
        1: [7 * 0.75 * 1.5],
        2: [0.0, 0.1 * math.pi**4 * (80 / 81) * r3 * 1.5],
    }
    for i, values in ee.items():
        assert len(values) == 10
        for v in values:
            assert min(abs(abs(v) - a) for a in allowed[i]) < 1e-6, (i, v, allowed[i])
        mu_star = np.mean(np.abs(values))
        assert table.loc[NAMES[i], "mu_star"] == pytest.approx(mu_star, rel=1e-6, abs=1e-9)
        assert table.loc[NAMES[i], "mu"] == pytest.approx(np.mean(values), rel=1e-6, abs=1e-9)
    assert table.loc[NAMES[1], "mu_star"] == pytest.approx(7.875, rel=1e-9)
