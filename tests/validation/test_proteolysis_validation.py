"""Matrix degradation (secreted and membrane-type MMPs), laminin-5 cleavage and deposition.

The checks are the verify cases of :mod:`invasim.verify.cases.proteolysis` (``invasim verify
-k proteolysis`` runs the same functions), which give the tolerances: round-off for the exact
per-step updates (a wrong rate, volume weighting or voxel is off by >= 1e-3), the one-step
splitting bound for the fragment's production against its ODE, and a strict increase for the
direction of effect (deterministic runs: no seeds).
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import proteolysis as prot

CASES = [prot.uniform_degradation, prot.one_cell, prot.two_cells, prot.cleavage_conserves,
         prot.fragment_balance, prot.deposition, prot.secretion_direction]  # fmt: skip


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
