"""Validation of PhysiCell's standard cycle models against their theory.

The checks are the verify cases of :mod:`invasim.verify.cases.cycle` (``invasim verify -k
cycle``), which give the theory and the statistical margins; the full forms run here.
"""

from __future__ import annotations

import pytest

from invasim.biology.cycle import STANDARD_MODELS
from invasim.verify.cases import cycle


def _check(c):
    res = c.run(quick=False)
    assert res.passed, (res.detail, res.checks)


@pytest.mark.parametrize("name", list(STANDARD_MODELS))
def test_free_growth_matches_euler_lotka_and_phase_fractions(name):
    _check(cycle.FREE_GROWTH[name])


def test_exit_rule_gives_exponential_waiting_times_with_its_mean():
    _check(cycle.exit_rule_exponential)


def test_exit_rule_sets_a_fixed_duration():
    _check(cycle.exit_rule_fixed)
