"""Validation of the basement membrane: the verify cases, quick here and full when slow."""

from __future__ import annotations

import pytest

from invasim.verify.cases import basement_membrane as cases

CASES = [cases.barrier_stops, cases.degraded_passes, cases.force_rupture, cases.breach_metrics,
         cases.weaker_earlier]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_quick(case):
    result = case.run(quick=True)
    assert result.passed, result.detail


@pytest.mark.slow
@pytest.mark.parametrize("case", [cases.barrier_stops, cases.degraded_passes,
                                  cases.weaker_earlier], ids=lambda c: c.name)  # fmt: skip
def test_full(case):
    result = case.run(quick=False)
    assert result.passed, result.detail
