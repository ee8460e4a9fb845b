"""Validation of CAF-led invasion: the cases of invasim.verify.cases.stroma (quick and full).

Each run is the stroma-invasion scenario (3 days) or an arm of it; the three cases share their
runs (cached per arm and seed in the process, so the full form reuses the quick one's). Quick:
seed 1, four runs (arms with, none, quarter, no-lox). Full: seeds 1-3, twelve runs.
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import stroma as cases

ALL = (cases.strand_tips_fibroblast, cases.alone_vs_with_cafs, cases.more_cafs_deeper,
       cases.lox_stiffens_front)


@pytest.mark.slow
@pytest.mark.parametrize("c", ALL, ids=lambda c: c.name)
def test_stroma_quick(c):
    r = c.run(quick=True)
    assert r.passed, f"{c.name}: {r.detail}"


@pytest.mark.slow
@pytest.mark.parametrize("c", ALL, ids=lambda c: c.name)
def test_stroma_full(c):
    r = c.run(quick=False)
    assert r.passed, f"{c.name}: {r.detail}"
