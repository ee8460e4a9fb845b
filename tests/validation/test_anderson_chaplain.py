"""Anderson–Chaplain (J Theor Med 2000; 2:129): haptotaxis drives a leading front of cells.

The checks are the verify cases of :mod:`invasim.verify.cases.anderson_chaplain` (``invasim
verify -k anderson-chaplain`` runs the same functions), which give the tolerances.
"""

from __future__ import annotations

from invasim.verify.cases import anderson_chaplain as ac


def _check(c):
    res = c.run(quick=False)
    assert res.passed, (res.detail, res.checks)


def test_without_haptotaxis_cells_just_diffuse():
    _check(ac.no_haptotaxis)


def test_haptotactic_leading_front_and_degraded_ecm():
    _check(ac.leading_front)


def test_leading_ring_in_2d():
    _check(ac.leading_ring)
