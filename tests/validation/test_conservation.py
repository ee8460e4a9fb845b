"""Mass conservation of the field operators under closed (no-flux) walls, in 1-D, 2-D and 3-D.

The checks are the verify cases of :mod:`invasim.verify.cases.conservation` (``invasim verify
-k conserves``), which give the tolerances; each runs every mesh and scheme.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import conservation as cons


@pytest.mark.parametrize(
    "case",
    [cons.diffusion_conserves, cons.diffusion_decays, cons.taxis_conserves,
     cons.nonlinear_diffusion_conserves],
    ids=lambda c: c.name,
)  # fmt: skip
def test_operators_conserve_mass(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)
