"""Sensitivity analysis validated end to end: the Ishigami function run as studies on Dask.

The checks are those of the verify cases of :mod:`invasim.verify.cases.sensitivity` (its
docstring gives the sizes and the tolerances): the study of each is run once here and shared,
and :func:`~invasim.verify.cases.sensitivity.sobol_result` /
:func:`~invasim.verify.cases.sensitivity.morris_result` are the cases' own checks.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from invasim.verify.cases import sensitivity as sens

pytestmark = pytest.mark.slow
pytest.importorskip("dask")


@pytest.fixture(scope="module")
def sobol_study(tmp_path_factory):
    t0 = time.perf_counter()
    df = sens.sobol_study(tmp_path_factory.mktemp("sens") / "sobol")
    print(f"\nSobol study: {df['run_id'].nunique()} runs in {time.perf_counter() - t0:.1f} s")
    return df


@pytest.fixture(scope="module")
def morris_study(tmp_path_factory):
    t0 = time.perf_counter()
    df = sens.morris_study(tmp_path_factory.mktemp("sens") / "morris")
    print(f"\nMorris study: {df['run_id'].nunique()} runs in {time.perf_counter() - t0:.1f} s")
    return df


def test_sobol_study_recovers_the_analytic_indices(sobol_study):
    res = sens.sobol_result(sobol_study)
    assert res.passed, (res.detail, res.checks)


def test_sobol_study_on_the_shipped_spec_is_the_documented_design(sobol_study):
    spec = sobol_study.attrs["spec"]
    assert spec["scenario"] == "ishigami"
    assert spec["design"]["kind"] == "sobol"
    assert spec["design"].get("calc_second_order") is False
    bounds = sobol_study.attrs["problem"]["bounds"]
    np.testing.assert_allclose(bounds, [[-math.pi, math.pi]] * 3)


def test_morris_study_gives_the_exact_elementary_effects(morris_study):
    res = sens.morris_result(morris_study)
    assert res.passed, (res.detail, res.checks)
