"""Virtual cohorts: the direction of each therapy effect (invasim.verify.cases.cohort).

The checks are the verify cases (``invasim verify -k cohort`` runs the same functions, once
the module is listed in CASE_MODULES); their docstrings give the patients per arm and why.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import cohort as cc

CASES = [cc.earlier_resection, cc.more_shedding]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_cohort_case_quick(case):
    res = case.run(quick=True)
    assert res.passed, (res.detail, res.checks)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_cohort_case_full(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)
