"""Convergence of the diffusion schemes against the exact diffusing, decaying Gaussian.

The checks are the verify cases of :mod:`invasim.verify.cases.diffusion` (``invasim verify -k
diffusion``), which give the tolerances; each runs 1-, 2- and 3-D (or the dimensions named).
"""

from __future__ import annotations

import pytest

from invasim.verify.cases import diffusion as dif


@pytest.mark.parametrize(
    "case",
    [dif.lod_be_space, dif.lod_cn_space, dif.lod_be_time, dif.lod_cn_time, dif.lod_be_limit,
     dif.lod_cn_limit],
    ids=lambda c: c.name,
)  # fmt: skip
def test_diffusion_scheme(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)
