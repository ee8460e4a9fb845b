"""Force-driven matrix displacement: the verify cases of its case module, quick and full.

``invasim verify -k "matrix displacement"`` runs the same functions, which give the
tolerances: round-off for the exact per-step update of the voxel ahead and for the
conservation of each field's sum; for the direction of effect (one CAF-like cell in collagen
it cannot pass), per-seed margins stated in the case (stalled < 1 µm without pushing and
< 10 µm under the ROCK inhibitor, advancing > 15 µm with pushing, a lighter track, denser
walls) that every seed must meet.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import matrix_displacement as md

CASES = [md.one_cell, md.conservation, md.opens_track]


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
