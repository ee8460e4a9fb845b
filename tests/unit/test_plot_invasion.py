"""Figures of invasion runs: cells by migration mode, the basement membrane, matrix density.

Hand-made runs: an epithelium on a one-voxel basement membrane (BM) with a breach, a tumour
pushing through it, a stroma of matrix density below; 2-D, and 3-D with the BM normal to z.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex, to_rgb
from PIL import Image

from invasim.cli import main
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.io.run import load_run
from invasim.io.rundir import RunWriter
from invasim.viz import cells as vc
from invasim.viz import frames as vf
from invasim.viz.plot import plot_snapshot, write_plot

R = 8.4
TIMES = (0.0, 600.0)
BREACH = (14, 15)  # BM columns (2-D: x voxels) gone after t = 0
THIN = 13  # a column thinned to 0.3 of the intact density
FIELDS = [
    {"name": "oxygen", "unit": "mmHg", "description": "diffusing field oxygen",
     "diffusion_um2_per_min": 1e5, "decay_per_min": 0.1},
    {"name": "basement_membrane", "unit": "1", "description": "matrix field basement_membrane",
     "diffusion_um2_per_min": 0.0, "decay_per_min": 0.0},
    {"name": "ecm", "unit": "1", "description": "matrix field ecm",
     "diffusion_um2_per_min": 0.0, "decay_per_min": 0.0},
]
MODE_PALETTE = dict(zip(vc.MODE_LABELS, vc.MODE_COLOURS, strict=True))


def tissue_cells(bm_top: float, up: str, depth: float = 0.0, off: float | None = None
                 ) -> pd.DataFrame:
    """An epithelium (mode 0, two apoptotic) on the BM, a tumour over the breach (modes 0, 1),
    invaders below it (1, 2), two fibroblasts without a mode (NaN). ``up``: the BM normal's
    column (``y`` in 2-D, ``z`` in 3-D); ``depth``: the other coordinate in 3-D; ``off``: a
    copy of the epithelium at that depth too (off a section through ``depth``)."""
    rows = []
    for i, x in enumerate(np.arange(R, 300.0 - R, 2 * R)):
        rows.append((x, bm_top + R, 0, 0.0, 1 if i in (2, 3) else 0, 1))
    for k, (x, h) in enumerate([(x, h) for x in (130.0, 147.0, 164.0) for h in (135.0, 152.0)]):
        rows.append((x, bm_top + h - 110.0, 1, float(k % 2), 0, 2))
    for h, mode in ((92.0, 1.0), (75.0, 1.0), (58.0, 2.0), (41.0, 2.0)):
        rows.append((150.0, bm_top + h - 110.0, 1, mode, 0, 3))
    for x in (50.0, 250.0):
        rows.append((x, bm_top - 60.0, 2, np.nan, 0, 4))
    a = np.array(rows, dtype=float)
    n = len(a)
    f = pd.DataFrame({
        "id": np.arange(n), "parent_id": np.full(n, -1), "clone_id": a[:, 5].astype(np.int64),
        "generation": np.arange(n) % 3, "type": a[:, 2].astype(np.int32),
        "phase": np.zeros(n, np.int32), "time_in_phase": np.zeros(n),
        "dead": a[:, 4].astype(np.int8), "x": a[:, 0], up: a[:, 1],
        "radius": np.full(n, R), "volume": np.full(n, 4 / 3 * np.pi * R**3), "mode": a[:, 3],
    })
    if up == "z":
        f["y"] = depth
        if off is not None:
            far = f[f["type"] == 0].assign(y=off, id=lambda d: d["id"] + 1000)
            f = pd.concat([f, far], ignore_index=True)
        f = f[["id", "parent_id", "clone_id", "generation", "type", "phase", "time_in_phase",
               "dead", "x", "y", "z", "radius", "volume", "mode"]]
    return f


def make_tissue(path: Path, *, dim: int = 2, mode: bool = True, meta_extra=None) -> Path:
    """A tissue run by hand: 2-D 300 × 200 µm (BM at y 100–110 µm), or 3-D 300 × 100 × 200 µm
    (BM at z 100–110 µm); voxels of 10 µm."""
    extent = [300.0, 200.0] if dim == 2 else [300.0, 100.0, 200.0]
    mesh = Mesh.from_extent(extent, 10.0)
    path.mkdir(parents=True, exist_ok=True)
    writer = RunWriter(path, mesh, FIELDS)
    kinds = {"oxygen": "diffusing", "basement_membrane": "matrix", "ecm": "matrix"}
    meta = {"invasim_version": "0.1.0", "scenario_name": "tissue-by-hand", "model": "agents",
            "seed": 1, "status": "completed", "time_min": TIMES[-1], "end_min": TIMES[-1],
            "step": 100, "dt_min": 6.0, "mesh": mesh.to_dict(), "fields": FIELDS,
            "metric_names": ["n_cells"],
            "scenario": {"params": {
                "cell_types": {"epithelium": {}, "tumour": {}, "fibroblast": {}},
                "fields": {k: {"kind": v, "unit": "1"} for k, v in kinds.items()}}}}
    writer.write_meta({**meta, **(meta_extra or {})})
    writer.start()
    x, y, z = mesh.grids()
    up = y if dim == 2 else z  # the BM normal: the last mesh axis
    depth = float(mesh.centers("y")[mesh.ny // 2]) if dim == 3 else 0.0
    for k, t in enumerate(TIMES):
        bm = np.where((up > 100.0) & (up < 110.0), 1.0, 0.0)
        if k > 0:
            ix = np.floor(x / 10.0).astype(int)
            bm = np.where(np.isin(ix, BREACH), 0.0, np.where(ix == THIN, 0.3 * bm, bm))
        ecm = np.where(up < 100.0, 0.2 + 0.6 * (0.5 + 0.5 * np.sin(x / 30.0) * np.cos(up / 25.0)),
                       0.0)
        fields = {"oxygen": 38.0 - 0.05 * up, "basement_membrane": bm, "ecm": ecm}
        fields = {n: np.broadcast_to(a, mesh.array_shape).copy() for n, a in fields.items()}
        cells = tissue_cells(110.0, "y" if dim == 2 else "z", depth,
                             off=depth + 40.0 if dim == 3 else None)
        if not mode:
            cells = cells.drop(columns="mode")
        writer.record(float(t), {"n_cells": float(len(cells))}, fields, tables={"cells": cells})
    return path


@pytest.fixture(scope="module")
def tissue(tmp_path_factory):
    return load_run(make_tissue(tmp_path_factory.mktemp("tissue") / "run"))


def the_map(fig):
    return next(a for a in fig.axes if a.get_label() == "map")


def bm_images(ax) -> list:
    return [im for im in ax.images if im.get_label() == "basement membrane"]


def legend_items(fig) -> list[tuple[str, str]]:
    """``(label, colour)`` of every legend entry of the figure and its subfigures."""
    out = []
    for f in (fig, *fig.subfigs):
        for lg in f.legends:
            for text, h in zip(lg.get_texts(), lg.legend_handles, strict=True):
                colour = h.get_markerfacecolor() if h.get_marker() not in (None, "None", "") \
                    else h.get_color()
                out.append((text.get_text(), to_hex(colour).upper()))
    return out


def near(rgb: np.ndarray, colour: str, tol: int = 8) -> np.ndarray:
    target = np.round(np.array(to_rgb(colour)) * 255).astype(int)
    return (np.abs(rgb.astype(int) - target) <= tol).all(axis=-1)


def map_rgb(fig, dpi: int) -> tuple[np.ndarray, object]:
    """The rendered figure's pixels inside the map axes, and that axes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    rgb = np.asarray(Image.open(buf).convert("RGB"))
    ax = the_map(fig)
    x0, y0, x1, y1 = ax.get_window_extent().extents
    h = rgb.shape[0]
    return rgb[int(h - y1) + 1: int(h - y0) - 1, int(x0) + 1: int(x1) - 1], ax


# -- migration modes ---------------------------------------------------------------------------
def test_mode_names_are_the_switch_codes():
    from invasim.biology.rho_gtpase import MODE_NAMES

    assert vc.MODE_LABELS == MODE_NAMES


def test_mode_colouring_legend_and_classes(tissue):
    plan = vf.plan_frames(tissue, None, "mode")
    labels = [lab for lab, _ in plan.classes]
    assert labels == ["epithelial", "mesenchymal", "amoeboid", "apoptotic", "no mode"]
    assert plan.other_used  # the fibroblasts have no mode (NaN)
    frame = tissue.cells(600.0)
    idx = vf.classify(plan, frame)
    expect = np.where(frame["dead"] == 1, 3,
                      np.where(frame["mode"].isna(), 4, frame["mode"].fillna(0).astype(int)))
    np.testing.assert_array_equal(idx, expect)
    fig = plot_snapshot(tissue, 600.0, "mode", "ecm", dpi=100)
    items = legend_items(fig)
    assert items[:3] == [(m, c.upper()) for m, c in MODE_PALETTE.items()]
    assert [lab for lab, _ in items[3:]] == ["apoptotic", "no mode", "basement membrane"]
    rgb, _ = map_rgb(fig, 100)
    seen = {m: int(near(rgb, c).sum()) for m, c in MODE_PALETTE.items()}
    n = frame[frame["dead"] == 0]["mode"].value_counts()
    assert all(v > 40 for v in seen.values()), seen
    # pixel areas follow the counts of each mode drawn (same radii; amoeboid partly under
    # nothing, so a loose margin)
    assert seen["epithelial"] / seen["mesenchymal"] == pytest.approx(n[0.0] / n[1.0], rel=0.3)


def test_all_three_modes_in_the_legend_even_when_absent(tmp_path):
    run = load_run(make_tissue(tmp_path / "run"))
    for k in range(len(TIMES)):  # an arm where no cell turned amoeboid
        p = run.path / "cells" / f"{k:06d}.parquet"
        f = pd.read_parquet(p)
        f.loc[f["mode"] == 2, "mode"] = 1.0
        f.to_parquet(p)
    plan = vf.plan_frames(run, None, "mode")
    assert [lab for lab, _ in plan.classes[:3]] == list(vc.MODE_LABELS)


def test_missing_mode_column_is_a_one_line_error(tmp_path, capsys):
    path = make_tissue(tmp_path / "run", mode=False)
    run = load_run(path)
    with pytest.raises(ConfigError, match="needs the cell column 'mode', written by the "
                                          "rho_gtpase process") as e:
        plot_snapshot(run, color_by="mode")
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="needs the cell column 'mode'"):
        vc.plot_cells(run, color_by="mode")
    assert main(["plot", str(path), "--color-by", "mode"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "rho_gtpase" in err and "Traceback" not in err
    # where the column exists, the choices listed for a typo name mode too
    with pytest.raises(ConfigError, match="choose from type, state, phase, clone, mode, "):
        vf.plan_frames(load_run(make_tissue(tmp_path / "with")), None, "moed")
    with pytest.raises(ConfigError, match="choose from type, state, phase, clone, generation"):
        vf.plan_frames(run, None, "moed")


# -- the basement membrane ---------------------------------------------------------------------
def test_bm_is_a_dark_band_with_the_breach_as_a_gap(tissue):
    fig = plot_snapshot(tissue, 600.0, "type", "ecm", dpi=100)
    ax = the_map(fig)
    (band,) = bm_images(ax)
    alpha = np.asarray(band.get_array())[..., 3]
    bm = tissue.field("basement_membrane", 600.0)
    assert alpha.shape == bm.shape
    row = alpha[10]  # the BM voxels, y 100-110 µm
    assert row[list(BREACH)].tolist() == [0.0, 0.0]  # the breach: a gap
    assert row[THIN] == pytest.approx(0.3)  # thinned below half: faint
    intact = np.setdiff1d(np.arange(len(row)), [*BREACH, THIN])
    assert (row[intact] == 1.0).all()
    assert (np.delete(alpha, 10, axis=0) == 0.0).all()  # nothing outside the BM
    assert band.get_extent() == pytest.approx([0.0, 300.0, 0.0, 200.0])
    assert band.get_zorder() > max(c.get_zorder() for c in ax.collections)  # over the cells
    assert ("basement membrane", vc.BM_COLOUR.upper()) in legend_items(fig)
    # in pixels: a dark band along y = 105 µm, except over the breach
    rgb, _ = map_rgb(fig, 100)
    h, w = rgb.shape[:2]
    dark = near(rgb, vc.BM_COLOUR, 12)
    yb = int(round(h * (1 - 105.0 / 200.0)))
    band_row = dark[yb - 1: yb + 2].any(axis=0)
    xs = (np.arange(w) + 0.5) * 300.0 / w
    gap = (xs > 140.0 + 3) & (xs < 160.0 - 3)
    assert not band_row[gap].any()
    assert band_row[(xs > 10) & (xs < 120)].mean() > 0.95


def test_bm_at_the_start_is_intact_and_can_be_left_out(tissue):
    fig = plot_snapshot(tissue, 0.0, "type", dpi=50, metrics=False)
    (band,) = bm_images(the_map(fig))
    assert (np.asarray(band.get_array())[10, :, 3] == 1.0).all()
    fig = plot_snapshot(tissue, 0.0, "type", dpi=50, metrics=False, bm=False)
    assert not bm_images(the_map(fig))
    assert "basement membrane" not in [lab for lab, _ in legend_items(fig)]


def test_bm_reference_density_from_the_scenario(tmp_path):
    meta = {"scenario": {"params": {
        "fields": {"basement_membrane": {"kind": "matrix"}, "ecm": {"kind": "matrix"}},
        "basement_membrane": {"field": "basement_membrane", "reference_density": 4.0}}}}
    run = load_run(make_tissue(tmp_path / "run", meta_extra=meta))
    plan = vf.plan_frames(run, None, "type")
    assert plan.bm_field == "basement_membrane" and plan.bm_ref == 4.0
    fig = plot_snapshot(run, 0.0, frame_plan=plan, dpi=50, metrics=False)
    (band,) = bm_images(the_map(fig))  # density 1 is a quarter of 4: faint, not intact
    assert np.asarray(band.get_array())[10, :, 3] == pytest.approx(0.3)


# -- the matrix under the cells ----------------------------------------------------------------
def test_matrix_field_is_tan_from_zero_with_its_unit(tissue):
    plan = vf.plan_frames(tissue, None, "type")
    assert plan.field == "oxygen"  # the default skips the BM (drawn as the band)
    fig = plot_snapshot(tissue, 600.0, "clone", "ecm", dpi=100)
    ax = the_map(fig)
    (bg,) = [im for im in ax.images if im.get_label() != "basement membrane"]
    assert bg.get_cmap().name == vc.MATRIX_CMAP.name
    np.testing.assert_array_equal(np.asarray(bg.get_array()), tissue.field("ecm", 600.0))
    assert bg.get_clim() == pytest.approx((0.0, tissue.field("ecm", 0.0).max()))
    labels = " | ".join(a.get_ylabel() for a in fig.axes)
    assert "ecm (dimensionless)" in labels
    # cells stay readable over it: opaque faces, edges darker than the faces
    (coll,) = ax.collections
    faces, edges = coll.get_facecolor(), coll.get_edgecolor()
    assert (faces[:, 3] == 1.0).all() and coll.get_linewidth()[0] > 0
    assert (edges[:, :3].sum(axis=1) < faces[:, :3].sum(axis=1)).all()
    # clones: the largest each a colour, in the legend with the BM
    assert [lab for lab, _ in legend_items(fig)] == ["clone 1", "clone 2", "clone 3",
                                                      "clone 4", "basement membrane"]
    # the darkest matrix differs from every cell colour, the grey of "other" included
    top = np.array(vc.MATRIX_CMAP(1.0)[:3])
    for colour in (*vc.TYPE_COLOURS, vf.OTHER_COLOUR, *vc.MODE_COLOURS):
        assert np.abs(np.array(to_rgb(colour)) - top).max() > 0.15, colour


def test_cli_clone_over_ecm_writes_the_figure(tmp_path, capsys):
    path = make_tissue(tmp_path / "run")
    assert main(["plot", str(path), "--color-by", "clone", "--field", "ecm", "--dpi", "60"]) == 0
    out = Path(capsys.readouterr().out.strip())
    assert out == path / "figure-t600min-clone-ecm.png" and out.is_file()
    assert main(["plot", str(path), "--color-by", "mode", "--field", "ecm", "--dpi", "60"]) == 0
    assert Path(capsys.readouterr().out.strip()).name == "figure-t600min-mode-ecm.png"


# -- 3-D: a section through the middle --------------------------------------------------------
def test_3d_run_with_a_bm_is_cut_through_the_middle_of_y(tmp_path):
    run = load_run(make_tissue(tmp_path / "run3", dim=3))
    mesh = run.mesh
    ky = mesh.ny // 2
    y0 = float(mesh.centers("y")[ky])
    plan = vf.plan_frames(run, "ecm", "mode")
    assert plan.section == "xz" and f"slice y = {y0:g} µm (x–z)" in plan.title
    fig = plot_snapshot(run, 600.0, frame_plan=plan, dpi=80)
    ax = the_map(fig)
    assert ax.get_xlim() == (0.0, 300.0) and ax.get_ylim() == (0.0, 200.0)
    (bg,) = [im for im in ax.images if im.get_label() != "basement membrane"]
    np.testing.assert_array_equal(np.asarray(bg.get_array()), run.field("ecm", 600.0)[:, ky, :])
    (band,) = bm_images(ax)
    alpha = np.asarray(band.get_array())[..., 3]
    assert alpha.shape == (mesh.nz, mesh.nx)
    assert alpha[10, list(BREACH)].tolist() == [0.0, 0.0] and alpha[10, 0] == 1.0
    # the cells cut by y = y0, drawn at (x, z); the copy of the epithelium 40 µm away is not
    frame = run.cells(600.0)
    cut = frame[(frame["y"] - y0).abs() < frame["radius"]]
    (coll,) = ax.collections
    np.testing.assert_allclose(np.asarray(coll.get_offsets()),
                               cut[["x", "z"]].to_numpy(float))
    assert len(cut) < len(frame)
    # the movie frame uses the same section, and shows the modes and the band
    rgb = vf.render_frame(vf.plan_frames(run, "ecm", "mode", dpi=50), 1)
    left = rgb[:, : int(0.66 * rgb.shape[1])]
    for colour in vc.MODE_COLOURS:
        assert near(left, colour).sum() > 10, colour
    assert near(left, vc.BM_COLOUR, 12).sum() > 100


def test_3d_sections_can_be_chosen(tmp_path):
    run = load_run(make_tissue(tmp_path / "run3", dim=3))
    kz = run.mesh.nz // 2
    plan = vf.plan_frames(run, "ecm", "type", section="xy")
    assert plan.section == "xy" and f"slice z = {run.mesh.centers('z')[kz]:g} µm" in plan.title
    fig = plot_snapshot(run, 600.0, frame_plan=plan, dpi=50, metrics=False)
    (bg,) = [im for im in the_map(fig).images if im.get_label() != "basement membrane"]
    np.testing.assert_array_equal(np.asarray(bg.get_array()), run.field("ecm", 600.0)[kz])
    assert vf.plan_frames(run, "ecm", "type", bm=False).section == "xy"  # no BM: as before
    with pytest.raises(ConfigError, match="unknown section 'yz'; choose from auto, xy, xz"):
        vf.plan_frames(run, None, "type", section="yz")
    run2 = load_run(make_tissue(tmp_path / "run2"))
    with pytest.raises(ConfigError, match="section 'xz' cuts 3-D runs"):
        vf.plan_frames(run2, None, "type", section="xz")


# -- movies and the plain cell figure ----------------------------------------------------------
def test_movie_frame_by_mode_with_the_bm(tissue):
    plan = vf.plan_frames(tissue, "ecm", "mode", dpi=50)
    rgb = vf.render_frame(plan, 1)
    assert rgb.shape == (plan.size_px[1], plan.size_px[0], 3)
    left = rgb[:, : int(0.66 * rgb.shape[1])]
    for colour in vc.MODE_COLOURS:
        assert near(left, colour).sum() > 20, colour
    assert near(left, vc.BM_COLOUR, 12).sum() > 100
    # a numeric colouring keeps its colour bar and gets the BM's legend entry alone
    rgb = vf.render_frame(vf.plan_frames(tissue, "ecm", "generation", dpi=50), 1)
    assert near(rgb[:, int(0.66 * rgb.shape[1]):], vc.BM_COLOUR, 12).sum() > 10


def test_plot_cells_by_mode_over_the_matrix(tissue):
    fig = vc.plot_cells(tissue, color_by="mode", field="ecm")
    ax = fig.axes[0]
    assert len(bm_images(ax)) == 1
    (bg,) = [im for im in ax.images if im.get_label() != "basement membrane"]
    assert bg.get_cmap().name == vc.MATRIX_CMAP.name
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["epithelial", "mesenchymal", "amoeboid", "apoptotic", "no mode",
                      "basement membrane"]
    write = write_plot(tissue, tissue.path / "m.pdf", color_by="mode", field="ecm")
    assert write.stat().st_size > 1000


def test_movie_by_mode_is_written(tmp_path):
    from invasim.viz.movie import write_movie

    run = load_run(make_tissue(tmp_path / "run"))
    out = write_movie(run, tmp_path / "modes.gif", field="ecm", color_by="mode", fps=2,
                      fmt="gif", workers=1, progress=False, dpi=40)
    with Image.open(out) as im:
        assert im.n_frames == len(TIMES)
