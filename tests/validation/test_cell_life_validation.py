"""Validation of cell life, coupling and motility against their theory.

The checks are the verify cases of :mod:`invasim.verify.cases.cell_life` (``invasim verify -k
death``, ``-k motility`` ...), which give the theory and the statistical margins.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import cell_life as life


@pytest.mark.parametrize(
    "case",
    [life.live_growth, life.flow_growth, life.necrotic_fraction, life.exchange_balance,
     life.random_walk_msd, life.biased_drift],
    ids=lambda c: c.name,
)  # fmt: skip
def test_cell_life(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)
