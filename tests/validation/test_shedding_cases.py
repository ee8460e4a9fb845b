"""The shedding calibration against a run with a known rate (invasim.verify.cases.shedding).

The check is the verify case (``invasim verify -k shedding`` runs the same function), which
gives the margin (the exact 95 % Poisson interval, pooled over seeds) and its derivation.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import shedding as sc


def test_shedding_known_rate_quick():
    res = sc.known_rate.run(quick=True)
    assert res.passed, (res.detail, res.checks)


@pytest.mark.slow
def test_shedding_known_rate_full():
    res = sc.known_rate.run(quick=False)
    assert res.passed, (res.detail, res.checks)
