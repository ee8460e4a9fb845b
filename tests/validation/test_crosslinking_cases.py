"""Matrix cross-linking (LOX) and stiffness: the cases of invasim.verify.cases.crosslinking.

Exact per-step updates, so round-off tolerances (a wrong rate, volume weighting, voxel or
exponent would be off by >= 1e-3). The scenario-level direction (CAF LOX stiffens the front
of stroma-invasion) is ``lox from cafs stiffens the matrix at the invasive front`` in
tests/validation/test_stroma.py (it shares that file's cached runs).
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import crosslinking as cases

CASES = [cases.one_cell, cases.two_cells, cases.stiffness_law, cases.resistance, cases.secreted]


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_quick(c):
    res = c.run(quick=True)
    assert res.passed, (res.detail, res.checks)


@pytest.mark.slow
@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_full(c):
    res = c.run(quick=False)
    assert res.passed, (res.detail, res.checks)


def test_the_cases_are_registered_with_well_formed_names():
    from invasim.verify import REGISTRY, name_problem

    for c in CASES:
        assert REGISTRY[c.name] is c
        assert name_problem(c.name) is None, c.name
