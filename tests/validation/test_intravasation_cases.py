"""Vessels and intravasation: the cases of invasim.verify.cases.intravasation.

The waiting time is a statistical test (KS distance against exp(-b t) below the 1 % critical
value 1.63/sqrt(N), several seeds); the others are exact (0 crossings, cluster sizes, table
rows) or a discretisation bound (the oxygen profile within 1 % of the cosh law).
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import intravasation as cases

CASES = cases.CASES


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_quick(c):
    res = c.run(quick=True)
    assert res.passed, (res.detail, res.checks)


@pytest.mark.slow
@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_full(c):
    res = c.run(quick=False)
    assert res.passed, (res.detail, res.checks)


def test_the_cases_are_registered_with_well_formed_names():
    from invasim.verify import REGISTRY, name_problem

    for c in CASES:
        assert REGISTRY[c.name] is c
        assert name_problem(c.name) is None, c.name
