"""The agent model's viable rim against the oxygen reaction–diffusion balance (2-D disc).

The check is the verify case ``spheroid viable rim matches the reaction-diffusion balance`` of
:mod:`invasim.verify.cases.spheroid` (:func:`~invasim.verify.cases.spheroid.viable_rim` gives
the setup, the three predictions, what the runs showed and the tolerances); the full form runs
seeds 1, 2 and 3 and checks their mean too.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import spheroid


@pytest.mark.slow
def test_viable_rim_matches_reaction_diffusion_balance():
    res = spheroid.viable_rim.run(quick=False)
    assert res.passed, (res.detail, res.checks)
