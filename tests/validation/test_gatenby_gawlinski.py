"""Gatenby–Gawlinski: an interstitial gap for δ1 > 1, coexistence (N → 1 − δ1) for δ1 < 1.

The checks are the verify cases of :mod:`invasim.verify.cases.gatenby_gawlinski` (``invasim
verify -k gatenby-gawlinski`` runs the same functions), which give the tolerances.
"""

from __future__ import annotations

from invasim.verify.cases import gatenby_gawlinski as gg


def _check(c):
    res = c.run(quick=False)
    assert res.passed, (res.detail, res.checks)


def test_gap_opens_for_delta1_above_one():
    _check(gg.gap_opens)


def test_no_gap_and_coexistence_for_delta1_below_one():
    _check(gg.coexistence)


def test_gap_is_converged_in_dt():
    _check(gg.gap_converged)


def test_radial_1d_mirrors_planar():
    _check(gg.radial_mirrors_planar)
