"""The per-cell TR-BDF2 integrator of internal state against tight reference solutions.

The checks are the verify cases of :mod:`invasim.verify.cases.internal_ode` (``invasim verify
-k internal-ode``), which give the reference and the tolerances.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import internal_ode as ode


@pytest.mark.parametrize(
    "case", [ode.adaptive, ode.fixed_order, ode.stiff_decay, ode.fd_jacobian],
    ids=lambda c: c.name,
)  # fmt: skip
def test_tr_bdf2(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)
