"""Validation of chronic inflammation and TAMs: the cases of invasim.verify.cases.inflammation.

Each run is the inflammation scenario (3 days, ~45 s on one free core, ~70 s on the loaded
project machine) in one of three arms (low, high, high+csf1ri); the cases share their runs
(cached per arm and seed in the process, so the full form reuses the quick one's). Quick: seeds
1-2, six runs (~4-5 min CPU). Full: seeds 1-6, 18 runs (~15 min CPU on one core). Both slow.
Both cases ASSERT the invasion direction over seed pairs (inflammation: a sign test, every pair
ordered; the CSF-1R inhibitor, full form: the mean paired difference above 2 SE); the fast
tests below check those statistics on made-up differences.
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


def test_sign_test_p_values():
    # all 6 of 6 pairs ordered: 1/64 under no effect; 5 of 6: 7/64; ties are not ordered
    assert cases.invasion_direction([1, 2, 3, 4, 5, 6]) == (6, 1 / 64)
    assert cases.invasion_direction([1, 2, 3, 4, 5, -1]) == (5, 7 / 64)
    assert cases.invasion_direction([1, 2, 3, 4, 5, 0]) == (5, 7 / 64)
    assert cases.invasion_direction([1, 1]) == (2, 1 / 4)
    assert cases.invasion_direction([-1, -2]) == (0, 1.0)


def test_paired_differences():
    d, mean, se = cases.paired([{"v": 3.0}, {"v": 5.0}, {"v": 4.0}],
                               [{"v": 1.0}, {"v": 1.0}, {"v": 1.0}], "v")  # fmt: skip
    assert d == [2.0, 4.0, 3.0]
    assert mean == pytest.approx(3.0)
    assert se == pytest.approx(1.0 / 3.0**0.5)


def test_quick_and_full_seeds():
    assert cases.seeds(True) == (1, 2)
    assert cases.seeds(False) == (1, 2, 3, 4, 5, 6)


def test_tams_home_on_the_stroma_and_egf_drives_the_carcinoma():
    # the TAM-led mechanism is in the scenario: TAMs chemotax up the CAFs' CXCL12 (caf_factor),
    # and the carcinoma's EGF rules raise MT1-MMP (pericellular proteolysis) and speed
    p = cases.scenario_data("high")["params"]
    assert p["cell_types"]["macrophage_m2"]["motility"]["chemotactic_sensitivity"] == {
        "caf_factor": 1.0}
    egf = {r["behaviour"] for r in p["rules"] if r["cell_type"] == "tumor"
           and r["signal"] == "egf"}  # fmt: skip
    assert {"pericellular proteolysis", "migration speed", "rac activation"} <= egf
    # no rule reads a drug: the inhibitor acts only through the csf1 signal
    assert not any("csf1r" in str(r) for r in p["rules"])


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
