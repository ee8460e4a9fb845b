"""Kuznetsov et al. 1994: dormant and escape equilibria, the separatrix, the well-mixed form.

The checks are the verify cases of :mod:`invasim.verify.cases.kuznetsov` (``invasim verify -k
kuznetsov`` runs the same functions), which give the tolerances and the statistical margins.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import kuznetsov as kc


def _check(c, quick):
    res = c.run(quick=quick)
    assert res.passed, (res.detail, res.checks)


def test_dormant_equilibrium():
    _check(kc.dormant_equilibrium, quick=False)


def test_escape_equilibrium():
    _check(kc.escape_equilibrium, quick=False)


def test_separatrix_quick():
    _check(kc.separatrix, quick=True)


@pytest.mark.slow
def test_separatrix_full():
    _check(kc.separatrix, quick=False)


def test_well_mixed_stochastic_quick():
    _check(kc.well_mixed, quick=True)


@pytest.mark.slow
def test_well_mixed_stochastic_full():
    _check(kc.well_mixed, quick=False)
