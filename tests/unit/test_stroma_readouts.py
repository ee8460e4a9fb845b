"""The stroma readouts (invasim.analysis.stroma) on hand-made snapshots whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import invasim.analysis.stroma as st
from invasim.analysis import readouts as rd
from invasim.analysis.snapshot import Snapshot
from invasim.core.mesh import Mesh

TYPES = ["epithelium", "tumor", "fibroblast", "caf"]
EPI, TUM, FIB, CAF = range(4)
R = 8.0  # cell radius, µm: linked when closer than 1.25 * 16 = 20 µm


def _snapshot(cells, extent=(300.0, 100.0), bm=(60.0, 70.0), ecm=None, aniso=None,
              types=TYPES) -> Snapshot:  # fmt: skip
    """2-D, 10 µm voxels, a BM layer rows ``bm`` (intact 1), stroma below it."""
    mesh = Mesh.from_extent(list(extent), 10.0)
    yc = (np.arange(mesh.ny) + 0.5) * 10.0
    field = np.zeros(mesh.array_shape)
    field[0, (yc > bm[0]) & (yc < bm[1]), :] = 1.0
    fields = {"basement_membrane": field}
    fields["ecm"] = np.full(mesh.array_shape, 0.8) if ecm is None else ecm
    fields["anisotropy"] = np.zeros(mesh.array_shape) if aniso is None else aniso
    rows = [dict(id=k, type=t, dead=d, x=x, y=y, radius=R) for k, (t, x, y, d) in
            enumerate(cells)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["id", "type", "dead", "x", "y", "radius"])
    return Snapshot(0.0, mesh, fields, frame, list(types))


def test_caf_fraction_counts_live_lineage_cells():
    s = _snapshot([(FIB, 10, 10, 0), (FIB, 40, 10, 0), (FIB, 70, 10, 0), (CAF, 100, 10, 0),
                   (CAF, 130, 10, 1), (TUM, 150, 80, 0)])  # fmt: skip
    assert rd.compute(s, ["caf_fraction"])["caf_fraction"] == pytest.approx(0.25)
    # no live fibroblast or CAF: NaN; no such type at all: the readout does not apply
    s = _snapshot([(CAF, 100, 10, 2), (TUM, 150, 80, 0)])
    assert math.isnan(st.caf_fraction_of(s))
    s = _snapshot([(1, 150, 80, 0)], types=["epithelium", "tumor"])
    assert "caf_fraction" not in rd.available(s)


def test_strand_tips_are_the_deepest_cell_of_each_invading_group():
    # the BM's height is 65 µm (the centre of its voxel row 60-70)
    cells = [
        (TUM, 50, 55, 0), (CAF, 50, 40, 0),          # group A: a CAF below a tumour cell
        (TUM, 150, 50, 0), (TUM, 150, 36, 0),        # group B: tumour only, tip tumour
        (CAF, 150, 10, 0),                           # not linked to B (26 µm): not a group
        (FIB, 250, 20, 0),                           # a lone fibroblast: no tumour cell
        (TUM, 250, 80, 0),                           # above the membrane: not invading
        (CAF, 50, 26, 1),                            # a dead CAF below A: ignored
    ]  # fmt: skip
    s = _snapshot(cells)
    groups = st.invading_groups(s)
    assert sorted(sorted(g.tolist()) for g, _ in groups) == [[0, 1], [2, 3]]
    assert sorted(tip for _, tip in groups) == [1, 3]
    out = rd.compute(s, ["n_invading_strands", "frac_strand_tips_fibroblast"])
    assert out == {"n_invading_strands": 2.0, "frac_strand_tips_fibroblast": 0.5}
    # a resting fibroblast at the tip counts as fibroblast lineage too
    s = _snapshot([(TUM, 50, 55, 0), (FIB, 50, 40, 0)])
    assert rd.compute(s, ["frac_strand_tips_fibroblast"])["frac_strand_tips_fibroblast"] == 1.0
    # min depth: a group whose tumour cells lie less than 12 µm below the BM does not invade
    s = _snapshot([(TUM, 50, 55, 0), (CAF, 50, 40, 0)])
    assert st.strand_tips(s, min_depth_um=12.0) == (0, 0)
    assert st.strand_tips(s, min_depth_um=8.0) == (1, 1)


def test_no_invading_group_gives_nan_share():
    s = _snapshot([(TUM, 50, 80, 0), (CAF, 50, 40, 0)])
    out = rd.compute(s, ["n_invading_strands", "frac_strand_tips_fibroblast"])
    assert out["n_invading_strands"] == 0.0 and math.isnan(out["frac_strand_tips_fibroblast"])


def test_depth_follows_the_membrane_where_it_is_breached():
    # the BM is gone over x 100-200; its height there is interpolated (65 µm)
    s = _snapshot([(TUM, 150, 30, 0)])
    s.fields["basement_membrane"][0, :, 10:20] = 0.0
    assert st.cell_depths(s)[0] == pytest.approx(35.0)


def test_front_band_and_far_stroma_means():
    mesh = Mesh.from_extent([300.0, 100.0], 10.0)
    ecm = np.full(mesh.array_shape, 0.8)
    aniso = np.full(mesh.array_shape, 0.1)
    # one tumour cell at (150, 80), above the BM (rows 60-70); stroma voxel centres y <= 55.
    # Within 30 µm of it: the row y = 55 at x = 135, 145, 155, 165 (29.2, 25.5, 25.5, 29.2 µm)
    for i, rho in zip((13, 14, 15, 16), (0.2, 0.2, 0.2, 0.9), strict=True):
        ecm[0, 5, i] = rho
        aniso[0, 5, i] = 1.0
    s = _snapshot([(TUM, 150, 80, 0)], ecm=ecm, aniso=aniso)
    front, far = st.stroma_bands(s)
    assert front.sum() == 4
    out = rd.compute(s, ["ecm_density_front", "ecm_alignment_front", "ecm_density_far",
                         "ecm_alignment_far", "front_permissive_fraction"])  # fmt: skip
    assert out["ecm_density_front"] == pytest.approx(0.375)
    assert out["ecm_alignment_front"] == pytest.approx(1.0)
    assert out["ecm_density_far"] == pytest.approx(0.8)
    assert out["ecm_alignment_far"] == pytest.approx(0.1)
    assert out["front_permissive_fraction"] == pytest.approx(0.75)  # 0.2 < 0.714 < 0.9
    # far stroma: every stroma voxel farther than 100 µm from the cell, none nearer
    zc, yc, xc = np.meshgrid(*((np.arange(n) + 0.5) * 10.0 for n in mesh.array_shape),
                             indexing="ij")  # fmt: skip
    dist = np.hypot(xc - 150.0, yc - 80.0).ravel()
    stroma = (yc <= 55.0).ravel()
    assert np.array_equal(far, stroma & (dist > 100.0))


def test_stiffness_and_crosslink_front_and_far():
    mesh = Mesh.from_extent([300.0, 100.0], 10.0)
    stiff = np.full(mesh.array_shape, 0.2)
    cross = np.zeros(mesh.array_shape)
    # the same four front voxels as above (row y = 55, x = 135..165), and one above the BM
    # (y = 85, matrix-free: not stroma, so not counted)
    for i, (e, c) in zip((13, 14, 15, 16), ((0.4, 1.0), (0.4, 1.0), (0.1, 0.5), (0.5, 0.5)),
                         strict=True):  # fmt: skip
        stiff[0, 5, i], cross[0, 5, i] = e, c
    stiff[0, 8, 15] = 0.0
    s = _snapshot([(TUM, 150, 80, 0)])
    s.fields["stiffness"], s.fields["crosslink"] = stiff, cross
    names = ["stiffness_front", "stiffness_far", "crosslink_front", "crosslink_far"]
    assert set(names) <= set(rd.available(s))
    out = rd.compute(s, names)
    assert out["stiffness_front"] == pytest.approx(0.35)
    assert out["stiffness_far"] == pytest.approx(0.2)
    assert out["crosslink_front"] == pytest.approx(0.75)
    assert out["crosslink_far"] == 0.0
    assert "stiffness_front" not in rd.available(_snapshot([(TUM, 150, 80, 0)]))


def test_pore_limit_density_is_wolfs_ten_percent():
    assert st.pore_limit_density() == pytest.approx(5.0 / 7.0)
    assert st.pore_limit_density(5.0, 40.0) == pytest.approx(1.25)


def test_no_tumour_cell_leaves_no_front():
    s = _snapshot([(CAF, 50, 40, 0)])
    assert "ecm_density_front" not in rd.available(_snapshot([], types=["fibroblast", "caf"]))
    front, far = st.stroma_bands(s)
    assert not front.any() and far.sum() == 6 * 30
    assert math.isnan(st.front_permissive(s))


def test_three_d_tip_below_a_membrane_normal_to_z():
    mesh = Mesh.from_extent([60.0, 60.0, 100.0], 10.0)
    zc = (np.arange(mesh.nz) + 0.5) * 10.0
    bm = np.zeros(mesh.array_shape)
    bm[(zc > 60) & (zc < 70), :, :] = 1.0
    cells = pd.DataFrame(dict(id=[0, 1], type=[TUM, CAF], dead=[0, 0], x=[30.0, 30.0],
                              y=[30.0, 30.0], z=[55.0, 40.0], radius=[R, R]))  # fmt: skip
    s = Snapshot(0.0, mesh, {"basement_membrane": bm, "ecm": np.full(mesh.array_shape, 0.8),
                             "anisotropy": np.zeros(mesh.array_shape)}, cells, TYPES)
    assert st.strand_tips(s) == (1, 1)
    front, _ = st.stroma_bands(s)
    assert front.any()
