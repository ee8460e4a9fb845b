"""Clonal evolution: clone founding rate, lineage consistency, selection on cycle entry.

The tests call the validation cases of :mod:`invasim.verify.cases.evolution` (``invasim
verify`` runs the same functions); each case's docstring gives the theory and its margin:

* founding rate: new clones ~ Binomial(2N, 1 - Π(1 - μ_j)) given N divisions; pooled z-score
  within ±4 over the seeds (5 quick, 20 full);
* lineage consistency: zero violations (parents present and older, frequencies sum to 1,
  Muller bands nest);
* selection: the mean of a trait that scales cycle entry rises as the discrete-time theory
  ``Σ x w / Σ w`` says, within 4 seed-to-seed standard errors + 0.01, while a neutral trait's
  mean stays within 4 standard errors of its start (10 seeds quick, 40 full).
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import evolution

CASES = [evolution.founding_rate, evolution.lineage_consistency, evolution.selection]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_quick(case):
    result = case.run(quick=True)
    assert result.passed, result.detail


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_full(case):
    result = case.run(quick=False)
    assert result.passed, result.detail
