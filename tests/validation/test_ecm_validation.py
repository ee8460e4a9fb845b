"""Validation of the ECM process: the cases of invasim.verify.cases.ecm (quick and full)."""

from __future__ import annotations

import pytest

from invasim.verify.cases import ecm as cases


def test_pore_limit_quick():
    r = cases.pore_limit.run(quick=True)
    assert r.passed, r.detail


def test_biphasic_speed_quick():
    r = cases.biphasic.run(quick=True)
    assert r.passed, r.detail


@pytest.mark.slow
def test_pore_limit_and_biphasic_full():
    for c in (cases.pore_limit, cases.biphasic):
        r = c.run(quick=False)
        assert r.passed, f"{c.name}: {r.detail}"


@pytest.mark.slow
def test_leader_follower_quick():
    # Metzcar et al. 2025 (1 day, lesion radius 100 µm, one seed): followers leave only when
    # leaders write and followers read; ~50-100 s (4 arms of 14400 mechanics steps)
    r = cases.leader_follower.run(quick=True)
    assert r.passed, r.detail


@pytest.mark.slow
def test_leader_follower_full():
    # 2 days, two seeds: several minutes
    r = cases.leader_follower.run(quick=False)
    assert r.passed, r.detail


def test_arms_differ_only_where_they_should():
    # the arms' parameters: write-only followers do not read, read-only leaders do not write
    w = cases.leader_follower_scenario("write-only", days=0.05).model_params.cell_types
    r = cases.leader_follower_scenario("read-only", days=0.05).model_params.cell_types
    assert w["follower"].ecm.fibre_following == 0.0
    assert w["leader"].ecm.fibre_realignment_per_um > 0
    assert r["follower"].ecm.fibre_following == 1.0
    assert r["leader"].ecm.fibre_realignment_per_um == 0
    assert r["leader"].ecm.anisotropy_increase_per_um == 0.0
    with pytest.raises(ValueError, match="arm"):
        cases.leader_follower_scenario("both")
