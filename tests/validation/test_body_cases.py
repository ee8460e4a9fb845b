"""The stochastic body model against its limits and sources (invasim.verify.cases.body).

The checks are the verify cases (``invasim verify -k body`` runs the same functions), which
give the margins and their derivation.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import body as bc

CASES = [bc.iwata_limit, bc.ctc_survival, bc.arrest_shares, bc.inefficiency, bc.switch_size]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_body_case_quick(case):
    res = case.run(quick=True)
    assert res.passed, (res.detail, res.checks)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_body_case_full(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)
