"""The immune readouts on a synthetic cell table whose answer is known."""

from __future__ import annotations

import math

import pandas as pd

import invasim.analysis  # noqa: F401  (registers the readouts)
from invasim.analysis.readouts import compute, find
from invasim.analysis.snapshot import Snapshot
from invasim.core.mesh import Mesh


def _snap(with_columns=True):
    cells = pd.DataFrame({
        "id": range(7), "type": [0, 0, 0, 0, 1, 1, 1], "dead": [0, 0, 0, 1, 0, 1, 0],
        "x": [10.0] * 7, "y": [10.0] * 7, "radius": [8.0] * 7, "volume": [2494.0] * 7,
    })
    if with_columns:
        # ctl: fresh, partly exhausted, exhausted, dead-exhausted; tumour: none
        cells["exhaustion"] = [0.0, 0.4, 1.0, 1.0, 0.0, 0.0, 0.0]
        cells["kills"] = [0.0, 2.0, 3.0, 5.0, 0.0, 0.0, 0.0]
    return Snapshot(0.0, Mesh(dim=2, n=(4, 4), h=20.0), {}, cells, ["ctl", "tumor"])


def test_exhausted_engaged_and_kills_by_type():
    out = compute(_snap(), ["exhausted_<type>", "engaged_<type>", "kills_by_<type>"])
    assert out["exhausted_ctl"] == 1.0  # the dead exhausted one is not counted
    assert out["engaged_ctl"] == 1.0
    assert out["kills_by_ctl"] == 5.0  # 2 + 3 by the live ones
    assert out["exhausted_tumor"] == out["engaged_tumor"] == out["kills_by_tumor"] == 0.0


def test_immune_readouts_do_not_apply_without_the_columns():
    snap = _snap(with_columns=False)
    for name in ("exhausted_ctl", "engaged_ctl", "kills_by_ctl"):
        assert find(name) is not None
        assert not find(name).applies(snap)
    assert not math.isnan(compute(snap, ["n_<type>"])["n_ctl"])


def test_macrophage_polarisation_readouts():
    cells = pd.DataFrame({
        "id": range(6), "type": [0, 0, 1, 1, 1, 2], "dead": [0, 1, 0, 0, 0, 0],
        "x": [10.0] * 6, "y": [10.0] * 6, "radius": [8.0] * 6, "volume": [2494.0] * 6,
    })
    snap = Snapshot(0.0, Mesh(dim=2, n=(4, 4), h=20.0), {}, cells,
                    ["macrophage_m1", "TAM", "tumor"])
    out = compute(snap, ["m1_m2_ratio", "frac_m2"])
    assert out["m1_m2_ratio"] == 1.0 / 3.0  # the dead M1 does not count
    assert out["frac_m2"] == 0.75
    no_m2 = Snapshot(0.0, Mesh(dim=2, n=(4, 4), h=20.0), {}, cells,
                     ["macrophage_m1", "nk_cell", "tumor"])
    assert not find("frac_m2").applies(no_m2)
