"""Iwata–Kawasaki–Shigesada 2000: the deterministic solver against the analytic solution.

The checks are the verify cases of :mod:`invasim.verify.cases.iwata` (``invasim verify -k
iwata`` runs the same functions), which give the dates, the tolerances and their justification
from the solver's second order.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import iwata as ic

CASES = [ic.number_of_metastases, ic.cumulative_size_distribution, ic.alpha_sensitivity]


@pytest.mark.parametrize("quick", [True, False], ids=["quick", "full"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_iwata_case(case, quick):
    res = case.run(quick=quick)
    assert res.passed, (res.detail, res.checks)
