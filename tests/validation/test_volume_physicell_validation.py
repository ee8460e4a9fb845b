"""Validation of PhysiCell's volume model (``volume.model = "physicell"``) against its theory.

The checks are the verify cases of :mod:`invasim.verify.cases.volume` (``invasim verify -k
volume``), which give the closed forms and the margins; the transfer of compartments by fusion
and phagocytosis is checked here only.
"""

from __future__ import annotations

import numpy as np
import pytest

from invasim.verify.cases import volume as vol
from invasim.verify.pairs import pairs as _pairs
from invasim.verify.pairs import sim as _sim


@pytest.mark.parametrize(
    "case",
    [vol.compartments, vol.cycling_cell, vol.population_mean, vol.apoptotic_shrinkage,
     vol.necrotic_swelling],
    ids=lambda c: c.name,
)  # fmt: skip
def test_physicell_volume(case):
    res = case.run(quick=False)
    assert res.passed, (res.detail, res.checks)


def test_fusion_and_phagocytosis_move_the_compartments_as_physicell():
    # fuse_cell adds the absorbed cell's compartments and targets; ingest_cell adds the prey's
    # fluid to the fluid and its solids to the cytoplasmic solid, targets unchanged
    from invasim.biology.volume import (
        CYTOPLASMIC_SOLID,
        FLUID,
        NUCLEAR_SOLID,
        TARGET_CYTOPLASMIC,
        TARGET_NUCLEAR,
    )

    still = {"death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 1e6},
             "volume": {"model": "physicell"}}  # fmt: skip
    names = (FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID, TARGET_NUCLEAR, TARGET_CYTOPLASMIC)
    for proc, table in (("fusion", {"fusion": {"rates_per_min": {"b": 100.0}}}),
                        ("phagocytosis", {"phagocytosis": {"live_rates_per_min": {"b": 100.0}}})):
        sim = _sim([proc, "death", "volume"], {"a": {**still, **table}, "b": still})
        c = _pairs(sim, 5)
        by = {q.name: q for q in sim.model.processes}
        by["volume"].step(sim.model.state, 0.0)  # the columns from the volumes; no time
        before = {x: c.internal(x).copy() for x in names}
        ids = c.id.copy()
        sim.model.behaviours.fill(sim.model.state, "motion", 0.0)
        by[proc].step(sim.model.state, 0.1)  # rate x dt = 10: every pair at once
        c = sim.model.cells
        assert c.n == 5
        eater = np.searchsorted(ids, c.id)  # their rows before (ids are sorted there)
        prey = eater + 1  # _pairs: row 2k is type a, 2k + 1 its partner of type b
        after = {x: c.internal(x) for x in names}
        fl, ns, cs = (before[x] for x in (FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID))
        if proc == "fusion":
            for x in names:
                np.testing.assert_allclose(after[x], before[x][eater] + before[x][prey])
        else:
            np.testing.assert_allclose(after[FLUID], fl[eater] + fl[prey])
            np.testing.assert_allclose(after[CYTOPLASMIC_SOLID], cs[eater] + ns[prey] + cs[prey])
            np.testing.assert_allclose(after[NUCLEAR_SOLID], ns[eater])
            np.testing.assert_allclose(after[TARGET_NUCLEAR], before[TARGET_NUCLEAR][eater])
        total = after[FLUID] + after[NUCLEAR_SOLID] + after[CYTOPLASMIC_SOLID]
        np.testing.assert_allclose(total, c.volume, rtol=1e-12)
