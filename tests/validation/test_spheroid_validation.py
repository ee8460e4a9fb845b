"""The agent model against theory: oxygen penetration into a packed disc; a necrotic core.

The checks are the verify cases of :mod:`invasim.verify.cases.spheroid` (``invasim verify -k
spheroid``), which give the theory and the tolerances.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import spheroid


def test_oxygen_penetration_length_in_packed_disc():
    res = spheroid.penetration_length.run(quick=False)
    assert res.passed, (res.detail, res.checks)


@pytest.mark.slow
def test_spheroid_grows_a_necrotic_core():
    res = spheroid.necrotic_core.run(quick=False)
    assert res.passed, (res.detail, res.checks)
