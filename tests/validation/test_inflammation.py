"""Validation of chronic inflammation and TAMs: the cases of invasim.verify.cases.inflammation.

Each run is the inflammation scenario (3 days, ~40 s on one free core, ~70 s on the loaded
project machine) in one of three arms (low, high, high+csf1ri); the cases share their runs
(cached per arm and seed in the process, so the full form reuses the quick one's). Quick: seed
1, three runs (~2 min CPU). Full: seeds 1-3, nine runs (~6 min CPU on one core). Both slow.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import inflammation as cases

ALL = (cases.inflammation_m2_deeper, cases.csf1r_fewer_tams)


def test_depth_readout_registered():
    from invasim.analysis import readouts as rd

    assert rd.find("depth_below_bm0_um") is not None


def test_arms_differ_only_in_knob_and_drug():
    low, high, tx = (cases.scenario_data(a) for a in ("low", "high", "high+csf1ri"))
    assert low["params"]["fields"]["inflam"]["boundary_value"] == 0.1
    assert high["params"]["fields"]["inflam"]["boundary_value"] == 1.0
    assert tx["params"]["interventions"][0]["drug"] == "csf1r_inhibitor"
    low["params"]["fields"]["inflam"]["boundary_value"] = 1.0
    assert low == high


@pytest.mark.slow
@pytest.mark.parametrize("c", ALL, ids=lambda c: c.name)
def test_inflammation_quick(c):
    r = c.run(quick=True)
    assert r.passed, f"{c.name}: {r.detail}"


@pytest.mark.slow
@pytest.mark.parametrize("c", ALL, ids=lambda c: c.name)
def test_inflammation_full(c):
    r = c.run(quick=False)
    assert r.passed, f"{c.name}: {r.detail}"
