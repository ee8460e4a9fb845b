"""Pathology readouts on synthetic tumours whose answer is known (analysis.pathology)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invasim.analysis import pathology as pa
from invasim.analysis import readouts as rd
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.verify.cases import pathology as cases
from invasim.verify.cases.pathology import R_CELL, cell_snapshot, fcc_ball, hex_disc

D = 2 * R_CELL  # cell diameter, µm
GEOMETRY = ["invasion_pattern", "front_fractal_dim", "n_clusters", "cluster_size_mean",
            "cluster_size_max", "n_buds", "bud_grade"]  # fmt: skip


def row(n: int, start, step=(D, 0.0)) -> np.ndarray:
    """``n`` touching cells in a row from ``start``."""
    return np.asarray(start, float) + np.arange(n)[:, None] * np.asarray(step, float)


def island(n: int, centre) -> np.ndarray:
    """``n`` touching cells in a compact hexagonal patch around ``centre``."""
    p = hex_disc(6 * R_CELL + 2 * D * math.sqrt(n), centre)
    return p[np.argsort(np.hypot(*(p - centre).T), kind="stable")[:n]]


def fingers(radius=300.0, length=150.0, width=50.0, n=8) -> np.ndarray:
    """A disc with ``n`` radial fingers ``width`` wide reaching ``length`` beyond it."""
    g = hex_disc(radius + length)
    keep = np.zeros(len(g), bool)
    for a in np.linspace(0, 2 * np.pi, n, endpoint=False):
        across = np.abs(-np.sin(a) * g[:, 0] + np.cos(a) * g[:, 1])
        along = np.cos(a) * g[:, 0] + np.sin(a) * g[:, 1]
        keep |= (across <= width / 2) & (along > 0)
    return np.r_[hex_disc(radius), g[keep & (np.hypot(*g.T) > radius)]]


def values(pos, names=GEOMETRY, **kw) -> dict[str, float]:
    return rd.compute(cell_snapshot(pos, **kw), names)


# -- tumour cells ------------------------------------------------------------------------------
def test_host_types_and_the_override():
    assert not pa.is_host_type("tumour") and not pa.is_host_type("Carcinoma")
    for host in ("normal_epithelium", "Fibroblast", "CAF", "stroma", "CD8_T", "T_cell", "NK",
                 "macrophage_M2", "endothelial", "epithelial", "host", "immune", "neutrophil"):
        assert pa.is_host_type(host), host
    names = ["tumor", "fibroblast", "clone_b"]
    assert pa.tumour_type_indices(names).tolist() == [0, 2]
    assert pa.tumour_type_indices(names, ["fibroblast"]).tolist() == [1]
    with pytest.raises(ConfigError, match="tumour_types: 'tumour' is not a cell type; types: "):
        pa.tumour_type_indices(names, ["tumour"])
    # dead cells and host cells are not tumour; the override counts the host instead
    s = cell_snapshot(np.c_[np.arange(4.0) * 100, np.zeros(4)], types=[0, 0, 1, 1],
                      names=("tumor", "fibroblast"), dead=[0, 1, 0, 0])
    assert pa.tumour_mask(s).tolist() == [True, False, False, False]
    assert pa.tumour_mask(s, ["fibroblast"]).tolist() == [False, False, True, True]
    assert pa.cluster_sizes(s, ["fibroblast"]).tolist() == [1]  # two singles: main + one


def test_radii_from_radius_volume_or_default():
    s = cell_snapshot(np.zeros((2, 2)))
    assert pa.cell_radii(s.cells).tolist() == [R_CELL, R_CELL]
    v = s.cells.drop(columns="radius").assign(volume=4 / 3 * np.pi * 5.0**3)
    assert pa.cell_radii(v) == pytest.approx([5.0, 5.0])
    assert pa.cell_radii(v.drop(columns="volume")).tolist() == [8.41, 8.41]


def test_clusters_equal_brute_force():
    rng = np.random.default_rng(3)
    for dim in (2, 3):
        pos = rng.uniform(0, 200, (300, dim))
        rad = rng.uniform(4, 9, 300)
        cl = pa.connected_clusters(pos, rad)
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        link = (d < 1.25 * (rad[:, None] + rad[None])) & ~np.eye(300, dtype=bool)
        assert (cl.degree == link.sum(axis=1)).all()
        same = cl.label[:, None] == cl.label[None]
        assert not (link & ~same).any()  # linked cells share a cluster
        # and each cluster is connected: a flood fill from its first cell reaches all of it
        for c in range(len(cl.sizes)):
            members = np.flatnonzero(cl.label == c)
            seen = {members[0]}
            todo = [members[0]]
            while todo:
                for j in np.flatnonzero(link[todo.pop()]):
                    if j not in seen:
                        seen.add(j)
                        todo.append(j)
            assert len(seen) == cl.sizes[c] == len(members)
        assert (np.diff(cl.sizes) <= 0).all() and cl.sizes.sum() == 300


# -- fronts: pattern 1 and 2, fractal dimension ------------------------------------------------
def test_a_disc_has_a_pushing_border_of_dimension_one():
    v = values(hex_disc(300.0))
    assert v["invasion_pattern"] == 1.0
    # touching round cells read 0.03-0.07 high (their bumps at the smallest boxes)
    assert v["front_fractal_dim"] == pytest.approx(1.0, abs=0.1)
    assert v["n_clusters"] == v["n_buds"] == v["cluster_size_max"] == 0.0
    assert v["bud_grade"] == 1.0


def test_fingers_make_pattern_2_and_a_rougher_front():
    disc = values(hex_disc(300.0))["front_fractal_dim"]
    v = values(fingers())
    assert v["invasion_pattern"] == 2.0 and v["n_clusters"] == 0.0
    assert v["front_fractal_dim"] > disc + 0.1
    assert pa.protrusions(pa.main_raster(cell_snapshot(fingers()))) == (8, 0)
    # short bumps (one cell diameter) are no fingers
    assert values(fingers(length=D))["invasion_pattern"] == 1.0


def test_an_attached_single_file_cord_is_a_strand():
    cord = row(12, (300.0 + D, 0.0))
    assert values(np.r_[hex_disc(300.0), cord])["invasion_pattern"] == 4.0


def test_box_counting_of_known_sets():
    line = np.c_[np.zeros(2000, np.int64), np.arange(2000)]
    assert pa.box_counting_dimension(line, 4, 500) == pytest.approx(1.0, abs=0.01)
    square = np.argwhere(np.ones((256, 256)))
    assert pa.box_counting_dimension(square, 4, 64) == pytest.approx(2.0, abs=0.05)  # edges
    # the Koch curve, segments of 1.8 px, boxes from 2 segments to a quarter of its length
    pts = np.array([[0.0, 0.0], [1.0, 0.0]])
    rot = np.array([[0.5, -math.sqrt(3) / 2], [math.sqrt(3) / 2, 0.5]])
    for _ in range(7):
        a, b = pts[:-1], pts[1:]
        d = (b - a) / 3
        pts = np.r_[np.stack([a, a + d, a + d + d @ rot.T, a + 2 * d], 1).reshape(-1, 2), b[-1:]]
    pts *= 4000.0
    dense = np.concatenate([a + np.linspace(0, 1, 4)[:, None] * (b - a)
                            for a, b in zip(pts[:-1], pts[1:], strict=True)])
    koch = np.unique(np.round(dense).astype(np.int64), axis=0)
    assert pa.box_counting_dimension(koch, 4, 1000) == pytest.approx(math.log(4) / math.log(3),
                                                                     abs=0.04)
    assert math.isnan(pa.box_counting_dimension(line, 4, 5))  # fewer than 3 box sides


def test_a_ball_surface_has_dimension_two_in_3d():
    v = values(fcc_ball(150.0))
    assert v["front_fractal_dim"] == pytest.approx(2.0, abs=0.1)
    assert v["invasion_pattern"] == 1.0 and v["n_clusters"] == 0.0


# -- islands and satellites: patterns 3, 4, 5 --------------------------------------------------
@pytest.mark.parametrize(("islands", "pattern"), [
    ([(20, 500.0)], 3.0),               # a large island 200 µm off the disc
    ([(15, 500.0)], 4.0),               # 15 cells: small
    ([(20, 500.0), (3, 700.0)], 4.0),   # the worst counts
    ([(20, 1350.0)], 5.0),              # > 1 mm from the main mass (gap 1050 - radii)
    ([(20, 1250.0)], 3.0),              # gap < 1 mm
    ([(20, 1350.0), (20, 1700.0)], 3.0),  # each within 1 mm of the other satellite
    ([(20, 1350.0), (20, 2500.0)], 5.0),
])  # fmt: skip
def test_islands_and_satellites(islands, pattern):
    parts = [hex_disc(300.0)] + [island(n, (x, 0.0)) for n, x in islands]
    v = values(np.concatenate(parts))
    assert v["invasion_pattern"] == pattern
    assert v["n_clusters"] == len(islands)
    sizes = sorted((n for n, _ in islands), reverse=True)
    assert v["cluster_size_max"] == sizes[0]
    assert v["cluster_size_mean"] == pytest.approx(np.mean(sizes))


def test_satellite_gaps_are_edge_to_edge():
    main = hex_disc(300.0)
    far = island(20, (1500.0, 0.0))
    cl = pa.connected_clusters(np.r_[main, far], np.full(len(main) + 20, R_CELL))
    gap = np.min(np.linalg.norm(far[:, None] - main[None], axis=-1)) - 2 * R_CELL
    assert pa.cluster_gaps(cl, 2000.0) == pytest.approx([gap])
    assert pa.cluster_gaps(cl, 500.0) == [np.inf]  # beyond the cut-off


def test_a_detached_single_file_strand_is_pattern_4():
    strand = row(25, (420.0, -200.0), (0.0, D))
    v = values(np.r_[hex_disc(300.0), strand])
    assert v["cluster_size_max"] == 25.0 and v["invasion_pattern"] == 4.0


# -- buds and grades ---------------------------------------------------------------------------
def test_buds_are_clusters_of_one_to_four_cells():
    parts = [hex_disc(300.0)] + [row(k, (360.0, -300.0 + 120.0 * k)) for k in (1, 2, 3, 4, 5)]
    v = values(np.concatenate(parts))
    assert v["n_buds"] == 4.0 and v["n_clusters"] == 5.0
    s = cell_snapshot(np.concatenate(parts))
    assert pa.cluster_sizes(s).tolist() == [5, 4, 3, 2, 1]
    assert v["cluster_size_mean"] == 3.0 and v["cluster_size_max"] == 5.0
    assert v["invasion_pattern"] == 4.0


@pytest.mark.parametrize(("n", "grade"), [(0, 1), (4, 1), (5, 2), (9, 2), (10, 3), (14, 3)])
def test_grade_thresholds(n, grade):
    assert pa.grade_of(n) == grade
    buds = [(360.0 + 60.0 * (k % 4), -300.0 + 60.0 * (k // 4)) for k in range(n)]
    pos = np.r_[hex_disc(300.0), np.array(buds).reshape(-1, 2)]
    v = values(pos)
    assert v["n_buds"] == n and v["bud_grade"] == grade


def test_the_hotspot_field_holds_the_densest_group():
    near = [(360.0 + 60.0 * (k % 3), -100.0 + 60.0 * (k // 3)) for k in range(7)]
    far = [(-2500.0 - 60.0 * k, 0.0) for k in range(6)]  # 6 buds, 5 far from the other 7
    far += [(-2500.0 + 1200.0 * k, 2000.0) for k in range(5)]  # 5 buds 1.2 mm apart
    v = values(np.r_[hex_disc(300.0), np.array(near + far)])
    assert v["n_buds"] == 7.0 and v["n_clusters"] == 18.0 and v["bud_grade"] == 2.0
    r = math.sqrt(pa.HOTSPOT_AREA_UM2 / math.pi)
    assert r == pytest.approx(499.9, abs=0.1)
    # a disc of radius r holds points up to 2 r apart, not beyond
    pts = np.array([[0.0, 0.0], [2 * r - 2.0, 0.0], [2 * r + 2.0, 0.0]])
    assert pa.hotspot_count(pts[:2], r) == 2 and pa.hotspot_count(pts[[0, 2]], r) == 1


def test_the_3d_hotspot_is_a_section_one_cell_thick():
    ball = fcc_ball(150.0)
    # 6 singles in one x-z plane, 4 in planes 40 µm apart along y
    plane = [(200.0 + 60.0 * k, 0.0, 0.0) for k in range(6)]
    apart = [(200.0, 40.0 * (k + 1), 100.0) for k in range(4)]
    v = values(np.r_[ball, np.array(plane + apart)])
    assert v["n_clusters"] == 10.0 and v["n_buds"] == 6.0 and v["bud_grade"] == 2.0


# -- basement membrane: depth and breach -------------------------------------------------------
def bm_snapshot(pos, types=None, names=("tumour",), dim=2, gap=None, tilt=0.0):
    """A BM one voxel thick at y (z) = 305 µm, h = 10 µm; ``gap``: (lo, hi) degraded columns."""
    mesh = Mesh(dim=dim, n=(50, 40) if dim == 2 else (20, 16, 40), h=10.0)
    bm = mesh.zeros()
    if dim == 2:
        for i in range(mesh.nx):  # a tilted membrane: one voxel up every 1 / tilt columns
            bm[0, 30 + int(tilt * i), i] = 2.0
        if gap:
            bm[0, :, gap[0]:gap[1]] *= 0.2
    else:
        bm[30] = 2.0
        if gap:
            bm[30, gap[0]:gap[1], gap[2]:gap[3]] = 0.0
    return cell_snapshot(np.asarray(pos, float), types=types, names=names, mesh=mesh,
                         fields={"basement_membrane": bm})


def test_depth_under_a_flat_bm_is_exact():
    pos = [[100.0, 250.0], [200.0, 185.0], [300.0, 330.0], [50.0, 17.5], [400.0, 2.0]]
    s = bm_snapshot(pos, types=[0, 0, 0, 1, 0], names=("tumor", "fibroblast"))
    s.cells.loc[4, "dead"] = 2  # a necrotic tumour cell deepest of all
    v = rd.compute(s, ["invasion_depth_um", "bm_breached_um"])
    assert v == {"invasion_depth_um": 305.0 - 185.0, "bm_breached_um": 0.0}
    above = bm_snapshot([[100.0, 330.0]])
    assert rd.compute(above, ["invasion_depth_um"]) == {"invasion_depth_um": 0.0}
    # cells outside the mesh take the nearest column; a host-only table has depth 0
    assert pa.invasion_depth(bm_snapshot([[-30.0, 105.0]])) == 200.0
    assert pa.invasion_depth(bm_snapshot([[0.0, 0.0]], names=("normal",))) == 0.0


def test_a_degraded_gap_has_its_length_and_the_depth_its_interpolated_height():
    s = bm_snapshot([[235.0, 105.0], [20.0, 300.0]], gap=(20, 27))
    v = rd.compute(s, ["invasion_depth_um", "bm_breached_um"])
    assert v["bm_breached_um"] == 70.0  # 7 columns of 10 µm: within a voxel of the truth
    assert v["invasion_depth_um"] == 200.0
    # a tilted membrane: linear interpolation across the gap
    t = bm_snapshot([[235.0, 105.0]], gap=(20, 27), tilt=0.1)
    _, height, intact = pa.bm_profile(t.fields["basement_membrane"], t.mesh)
    assert intact.sum() == 43
    expected = np.interp(np.arange(50), np.flatnonzero(intact), height[intact])
    assert height == pytest.approx(expected)
    assert height[19] == 315.0 and height[27] == 325.0 and height[23] == pytest.approx(320.0)
    assert pa.invasion_depth(t) == pytest.approx(height[23] - 105.0)


def test_the_bm_readouts_match_the_breach_process():
    bmk = pytest.importorskip("invasim.physics.basement_membrane")
    for s in (bm_snapshot([[0.0, 0.0]], gap=(5, 17)),
              bm_snapshot([[0.0, 0.0, 0.0]], dim=3, gap=(2, 5, 10, 14))):
        f, mesh = s.fields["basement_membrane"], s.mesh
        ref = float(bmk.column_amounts(f, mesh).max())
        amount, _, intact = pa.bm_profile(f, mesh)
        assert (amount == bmk.column_amounts(f, mesh)).all()
        assert (~intact == bmk.breached_columns(f, ref, mesh)).all()
        assert pa.bm_breached(s) == bmk.breached_length(f, ref, mesh)
        if mesh.dim == 3:
            assert pa.bm_breached(s, area=True) == bmk.breached_extent(f, ref, mesh)


def test_bm_in_3d_area_equivalent_diameter_and_harmonic_height():
    s = bm_snapshot([[125.0, 35.0, 105.0]], dim=3, gap=(2, 5, 10, 14))  # 3 × 4 columns
    v = rd.compute(s)
    assert v["bm_breached_um2"] == 12 * 100.0
    assert v["bm_breached_um"] == pytest.approx(2 * math.sqrt(1200.0 / math.pi))
    assert v["invasion_depth_um"] == pytest.approx(200.0)  # flat: the harmonic fill is flat
    assert "bm_breached_um2" not in rd.compute(bm_snapshot([[0.0, 0.0]]))


def test_no_membrane_left_gives_nan_depth():
    s = bm_snapshot([[100.0, 100.0]])
    s.fields["basement_membrane"][:] = 0.0
    assert math.isnan(pa.invasion_depth(s))
    # an explicit intact amount: a uniformly thinned membrane is breached, its height kept
    t = bm_snapshot([[100.0, 100.0]])
    assert pa.bm_breached(t, reference_amount=100.0) == 500.0
    assert pa.invasion_depth(t, reference_amount=100.0) == 205.0


# -- modes and clones --------------------------------------------------------------------------
def test_mode_fractions_over_live_tumour_cells():
    pos = np.c_[np.arange(8.0) * 100, np.zeros(8)]
    s = cell_snapshot(pos, types=[0, 0, 0, 0, 0, 0, 1, 0], names=("tumor", "caf"),
                      dead=[0, 0, 0, 0, 0, 0, 0, 1], mode=[0, 0, 0, 1, 2, 2, 1, 1])
    v = rd.compute(s, ["frac_epithelial", "frac_mesenchymal", "frac_amoeboid"])
    assert v == pytest.approx({"frac_epithelial": 0.5, "frac_mesenchymal": 1 / 6,
                               "frac_amoeboid": 1 / 3})
    assert "frac_amoeboid" not in rd.available(cell_snapshot(pos))  # no mode column


def test_clone_diversity_of_known_counts():
    clone = [7] * 5 + [3] * 3 + [9] * 2 + [4]
    s = cell_snapshot(np.zeros((11, 2)), clone_id=clone, dead=[0] * 10 + [1])
    v = rd.compute(s, ["n_clones", "clone_simpson", "clone_shannon"])
    p = np.array([5, 3, 2]) / 10
    assert v["n_clones"] == 3.0
    assert v["clone_simpson"] == pytest.approx(1 - (p**2).sum())
    assert v["clone_shannon"] == pytest.approx(-(p * np.log(p)).sum())
    one = cell_snapshot(np.zeros((3, 2)), clone_id=[1, 1, 1])
    assert rd.compute(one, ["clone_simpson", "clone_shannon"]) == {"clone_simpson": 0.0,
                                                                   "clone_shannon": 0.0}


# -- registry ----------------------------------------------------------------------------------
def test_registered_with_units_and_applicability():
    for name, unit in [("invasion_depth_um", "µm"), ("bm_breached_um", "µm"),
                       ("bm_breached_um2", "µm²"), ("n_buds", "buds"), ("bud_grade", ""),
                       ("invasion_pattern", ""), ("front_fractal_dim", ""),
                       ("n_clusters", "clusters"), ("cluster_size_mean", "cells"),
                       ("frac_amoeboid", ""), ("n_clones", "clones"), ("clone_shannon", "")]:
        assert rd.unit_of(name) == unit and rd.description_of(name)
    host = cell_snapshot(np.zeros((2, 2)), names=("normal_epithelium",))
    assert not set(GEOMETRY) & set(rd.available(host))
    # a tumour type without live tumour cells: the columns stay, the values say "none"
    empty = cell_snapshot(np.zeros((0, 2)), names=("tumor",))
    v = rd.compute(empty, GEOMETRY)
    assert math.isnan(v["invasion_pattern"]) and math.isnan(v["front_fractal_dim"])
    assert v["n_clusters"] == v["n_buds"] == v["cluster_size_max"] == 0.0
    assert v["bud_grade"] == 1.0


def test_results_are_cached_per_snapshot_and_not_across():
    a = cell_snapshot(np.r_[hex_disc(200.0), [[400.0, 0.0]]])
    b = cell_snapshot(hex_disc(200.0))
    assert pa.clusters(a) is pa.clusters(a)
    assert rd.compute(a, ["n_clusters"])["n_clusters"] == 1.0
    assert rd.compute(b, ["n_clusters"])["n_clusters"] == 0.0
    assert rd.compute(a, ["n_clusters"])["n_clusters"] == 1.0


# -- the verify cases --------------------------------------------------------------------------
@pytest.mark.parametrize("case", [cases.straight_front, cases.koch_front, cases.ball_front,
                                  cases.planted_buds, cases.flat_bm_depth],
                         ids=lambda c: c.name)  # fmt: skip
def test_verify_cases_quick(case):
    r = case.run(quick=True)
    assert r.passed, r


@pytest.mark.slow
@pytest.mark.parametrize("case", [cases.straight_front, cases.koch_front, cases.ball_front,
                                  cases.planted_buds], ids=lambda c: c.name)  # fmt: skip
def test_verify_cases_full(case):
    r = case.run(quick=False)
    assert r.passed, r


def test_invasion_distance_is_the_farthest_live_tumour_cell_from_their_centre():
    import pandas as pd

    from invasim.analysis.pathology import invasion_distance
    from invasim.analysis.snapshot import Snapshot

    pos = np.array([[0.0, 0.0], [10.0, 0.0], [-10.0, 0.0], [0.0, 40.0], [100.0, 100.0]])
    cells = pd.DataFrame({"x": pos[:, 0], "y": pos[:, 1], "dead": [0, 0, 0, 0, 1],
                          "type": [0, 0, 0, 0, 0], "volume": 2494.0})  # fmt: skip
    snap = Snapshot(0.0, Mesh(dim=2, n=(20, 20), h=20.0), {}, cells, ["tumor"])
    # the live cells' centre is (0, 10): the farthest live one is (0, 40); the dead one at
    # (100, 100) does not count
    assert invasion_distance(snap) == pytest.approx(30.0)
    assert rd.compute(snap, ["invasion_distance_um"])["invasion_distance_um"] == pytest.approx(30.0)
    assert invasion_distance(snap, tumour_types=[]) == 0.0
