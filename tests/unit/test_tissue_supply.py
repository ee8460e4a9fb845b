"""The tissue-supply process: exact relaxation towards the supply value, weighted by the matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest

import invasim
import invasim.processes.tissue_supply  # noqa: F401  (registers the process)
from invasim.errors import ConfigError
from invasim.processes.tissue_supply import supply
from invasim.verify.cases import tissue_supply as case


def test_the_verify_case_passes():
    # uniform field, no-flux walls, no cells: c = c_s + (c0 - c_s) exp(-nu m t) to 1e-10
    # relative (round-off); own clock (dt_min) and a zero-matrix region covered too
    r = case.supply_exact.run(quick=True)
    assert r.passed, r.checks


def test_zero_matrix_changes_nothing():
    _, series = case.run_supply(case.scenario(0.0, diffusion=False), steps=3)
    assert np.all(series[-1] == case.C0)  # exactly: the kernel skips m <= 0
    _, series = case.run_supply(case.scenario(0.0), steps=3)
    np.testing.assert_allclose(series[-1], case.C0, rtol=1e-13)  # LOD round-off only


def test_kernel_is_exact_bounded_and_respects_blocked_voxels():
    c = np.array([0.0, 5.0, 30.0, 7.0])
    m = np.array([1.0, 2.0, 0.5, 1.0])
    blocked = np.array([False, False, False, True])
    supply(c, m, 0.1, 20.0, 3.0, blocked)
    want = [20.0 + (c0 - 20.0) * math.exp(-0.1 * mi * 3.0) for c0, mi in
            zip([0.0, 5.0, 30.0], [1.0, 2.0, 0.5], strict=True)]  # fmt: skip
    np.testing.assert_allclose(c[:3], want, rtol=1e-14)
    assert c[3] == 7.0  # blocked
    c = np.array([0.0, 40.0])
    supply(c, np.array([1e6, 1e6]), 1.0, 20.0, 1e3)  # huge steps: at the value, no overshoot
    np.testing.assert_array_equal(c, [20.0, 20.0])
    with pytest.raises(ValueError, match="rate, value, dt >= 0"):
        supply(c, m[:2], -1.0, 20.0, 1.0)


def test_occupied_voxels_get_no_supply():
    data = case.scenario(1.0, diffusion=False, occupied_blocks=True)
    data["params"]["initial"] = {"geometry": "ball", "n_cells": 1,
                                 "center_um": [case.EXTENT / 2 + 5, case.EXTENT / 2 + 5]}
    sim, series = case.run_supply(data, steps=2)
    c = series[-1].reshape(-1)
    v = sim.model.state.voxels()
    assert v.size == 1 and c[v[0]] == case.C0  # the cell's voxel: untouched
    others = np.delete(c, v)
    np.testing.assert_allclose(others, case.exact(2 * case.DT, 1.0), rtol=1e-12)


@pytest.mark.parametrize(
    ("key", "value", "msg"),
    [
        ("field", "ecm", "sources[0].field = 'ecm' is a matrix field; it must be a diffusing "
         "field: oxygen"),
        ("matrix", "oxygen", "sources[0].matrix = 'oxygen' is a diffusing field; it must be a "
         "matrix field: ecm"),
        ("matrix", "collagen", "sources[0].matrix = 'collagen' is not a field; it must be a "
         "matrix field: ecm"),
    ],
)  # fmt: skip
def test_a_supply_naming_a_wrong_field_is_one_line(key, value, msg):
    data = case.scenario()
    data["params"]["tissue_supply"]["sources"][0][key] = value
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(data)
    assert "\n" not in str(info.value) and msg in str(info.value)


def test_a_negative_rate_is_refused():
    data = case.scenario()
    data["params"]["tissue_supply"]["sources"][0]["rate_per_min"] = -1.0
    with pytest.raises(ConfigError, match="rate_per_min"):
        invasim.load_scenario(data)
