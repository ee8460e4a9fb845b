"""Cells drawn to scale over a field, in plot_cells and the summary, from hand-made runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import EllipseCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

from invasim.core.mesh import Mesh
from invasim.errors import RunDirError
from invasim.io.run import load_run
from invasim.io.rundir import RunWriter
from invasim.viz.cells import (
    APOPTOTIC_COLOUR,
    NECROTIC_COLOUR,
    TYPE_COLOURS,
    plot_cells,
    type_names,
)
from invasim.viz.summary import plot_summary, write_summary

OXYGEN = [
    {"name": "oxygen", "unit": "mmHg", "description": "oxygen partial pressure",
     "diffusion_um2_per_min": 1e5, "decay_per_min": 0.1},
    {"name": "drug", "unit": "µM", "description": "drug concentration",
     "diffusion_um2_per_min": 1e4, "decay_per_min": 0.01},
]
R_CELL = 8.4


def spheroid(dim: int, radius: float, centre: tuple[float, ...], *, core: float,
             spacing: float = 2 * R_CELL, rng=None) -> pd.DataFrame:
    """Cells on a grid inside a disc (ball) of ``radius``: necrotic inside ``core``, a few
    apoptotic ones scattered, types 0 and 1 at random outside; the columns of Cells.to_frame."""
    rng = np.random.default_rng(1) if rng is None else rng
    axes = [np.arange(-radius, radius + 1e-9, spacing)] * dim
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    s = np.linalg.norm(pts, axis=1)
    pts, s = pts[s <= radius], s[s <= radius]
    n = len(pts)
    pts = pts + rng.uniform(-1.5, 1.5, pts.shape)  # off the grid: slices cut cells anywhere
    dead = np.where(s < core, 2, 0).astype(np.int8)
    dead[(dead == 0) & (rng.random(n) < 0.03)] = 1
    cols = {
        "id": np.arange(n), "parent_id": np.full(n, -1), "clone_id": np.arange(n),
        "generation": rng.integers(0, 8, n).astype(np.int32),
        "type": (rng.random(n) < 0.3).astype(np.int32), "phase": np.zeros(n, np.int32),
        "time_in_phase": np.zeros(n), "dead": dead,
    }
    for a, name in enumerate("xyz"[:dim]):
        cols[name] = pts[:, a] + centre[a]
    cols["radius"] = np.full(n, R_CELL) * np.where(dead == 2, 0.8, 1.0)
    cols["volume"] = 4.0 / 3.0 * np.pi * cols["radius"] ** 3
    return pd.DataFrame(cols)


def make_cell_run(path: Path, extent: list[float], voxel: float, *, times=(0.0, 600.0, 1200.0),
                  r0: float = 80.0, growth: float = 0.1, meta_extra: dict | None = None,
                  frame_fn=None) -> Path:
    """An agent run by hand: a growing spheroid in the centre, oxygen lower where it is."""
    mesh = Mesh.from_extent(extent, voxel)
    path.mkdir(parents=True, exist_ok=True)
    writer = RunWriter(path, mesh, OXYGEN)
    meta = {
        "invasim_version": "0.1.0", "scenario_name": f"spheroid-{mesh.dim}d-by-hand",
        "model": "hand-made", "seed": 3, "status": "completed", "time_min": times[-1],
        "end_min": times[-1], "step": int(times[-1]), "dt_min": 1.0, "mesh": mesh.to_dict(),
        "fields": OXYGEN, "metric_names": ["live_cells"], **(meta_extra or {}),
    }
    writer.write_meta(meta)
    writer.start()
    centre = tuple(0.5 * e for e in mesh.extent)
    x, y, z = mesh.grids()
    s = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2
                + ((z - centre[2]) ** 2 if mesh.dim == 3 else 0.0))
    for t in times:
        r = r0 + growth * t
        frame = (frame_fn or spheroid)(mesh.dim, r, centre, core=0.45 * r)
        oxygen = 38.0 - 30.0 / (1.0 + np.exp((s - r) / 40.0))
        fields = {"oxygen": oxygen, "drug": np.exp(-s / 200.0)}
        live = int((frame["dead"] == 0).sum())
        writer.record(float(t), {"live_cells": live}, fields, tables={"cells": frame})
    return path


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def _near(rgb: np.ndarray, colour: str, tol: int = 6) -> np.ndarray:
    target = np.round(np.array(to_rgb(colour)) * 255).astype(int)
    return (np.abs(rgb - target) <= tol).all(axis=-1)


def _cell_collections(fig: Figure) -> list[EllipseCollection]:
    return [c for ax in fig.get_axes() for c in ax.collections
            if isinstance(c, EllipseCollection)]


def _pixel_box(fig: Figure, ax, x0: float, x1: float, y0: float, y1: float):
    """Rows and columns of the saved PNG covering the data box [x0, x1] × [y0, y1]."""
    h = fig.bbox.height
    (px0, py0), (px1, py1) = ax.transData.transform([(x0, y0), (x1, y1)])
    return slice(int(h - py1), int(h - py0)), slice(int(px0), int(px1))


def test_plot_cells_2d_colours_and_regions(tmp_path):
    run = load_run(make_cell_run(tmp_path / "run", [600.0, 600.0], 10.0))
    fig = plot_cells(run)
    assert isinstance(fig, Figure)
    (coll,) = _cell_collections(fig)
    frame = run.cells()
    assert len(coll.get_offsets()) == len(frame)  # 2-D: every cell
    ax = fig.get_axes()[0]
    assert f"{int((frame['dead'] == 0).sum()):,} live" in ax.get_title()
    assert "t = 20 h" in ax.get_title()

    out = tmp_path / "cells.png"
    fig.savefig(out, dpi=fig.dpi)
    rgb = _rgb(out)
    assert (rgb.min(axis=2) < 250).mean() > 0.1  # not blank
    r_end = 80.0 + 0.1 * 1200.0
    centre = _pixel_box(fig, ax, 300 - 0.3 * r_end, 300 + 0.3 * r_end,
                        300 - 0.3 * r_end, 300 + 0.3 * r_end)
    ring = _pixel_box(fig, ax, 300 + 0.6 * r_end, 300 + 0.95 * r_end, 290, 310)
    far = _pixel_box(fig, ax, 20, 80, 20, 80)
    core_px, ring_px, far_px = rgb[centre], rgb[ring], rgb[far]
    # the necrotic core is the necrotic colour, the live rim the type-0 colour, not vice versa
    assert _near(core_px, NECROTIC_COLOUR).mean() > 0.3
    assert _near(core_px, TYPE_COLOURS[0]).mean() < 0.01
    assert _near(ring_px, TYPE_COLOURS[0]).mean() > 0.15
    assert _near(ring_px, NECROTIC_COLOUR).mean() < 0.01
    # type 1 and apoptotic cells appear somewhere in the whole image
    assert _near(rgb, TYPE_COLOURS[1]).sum() > 50
    assert _near(rgb, APOPTOTIC_COLOUR).sum() > 20
    # far from the spheroid: only the background field, no cell colours
    for c in (NECROTIC_COLOUR, TYPE_COLOURS[0], TYPE_COLOURS[1]):
        assert not _near(far_px, c).any()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["type 0", "type 1", "apoptotic", "necrotic"]


def test_plot_cells_3d_draws_the_slice(tmp_path):
    run = load_run(make_cell_run(tmp_path / "run", [400.0, 400.0, 400.0], 20.0,
                                 times=(0.0, 300.0)))
    frame = run.cells()
    z0 = run.mesh.centers("z")[run.mesh.nz // 2]
    cut = (frame["z"] - z0).abs() < frame["radius"]
    assert 0 < cut.sum() < len(frame)
    fig = plot_cells(run, time_min=300.0)
    (coll,) = _cell_collections(fig)
    assert len(coll.get_offsets()) == cut.sum()
    # each cell is drawn as its cross-section: widths are 2 sqrt(r² − (z − z0)²)
    sel = frame[cut]
    expected = 2 * np.sqrt(sel["radius"] ** 2 - (sel["z"] - z0) ** 2)
    np.testing.assert_allclose(np.sort(coll._widths * 2), np.sort(expected))  # half-widths
    assert f"{int(cut.sum()):,} cells in the slice" in fig.get_axes()[0].get_title()
    assert f"slice z = {z0:g} µm" in fig.get_suptitle()
    out = tmp_path / "cells3d.png"
    fig.savefig(out, dpi=fig.dpi)
    rgb = _rgb(out)
    assert _near(rgb, NECROTIC_COLOUR).sum() > 50 and _near(rgb, TYPE_COLOURS[0]).sum() > 50


def test_plot_cells_options(tmp_path):
    run = load_run(make_cell_run(tmp_path / "run", [600.0, 300.0], 10.0, times=(0.0, 60.0),
                                 meta_extra={"scenario": {"params": {"cell_types": [
                                     {"name": "tumour"}, {"name": "fibroblast"}]}}}))
    fig = plot_cells(run, time_min=0.0, color_by="type", field="drug")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["tumour", "fibroblast"]  # names from the metadata; no death states
    assert any("drug [µM]" in a.get_ylabel() for a in fig.get_axes())
    fig = plot_cells(run, color_by="generation", field=None)
    assert any(a.get_ylabel() == "generation" for a in fig.get_axes())
    # into an existing axes: returns that axes' figure
    host = Figure()
    ax = host.add_subplot()
    assert plot_cells(run, ax=ax) is host
    assert len(_cell_collections(host)) == 1
    with pytest.raises(ValueError, match="color_by"):
        plot_cells(run, color_by="nonsense")
    with pytest.raises(ValueError, match="unknown field"):
        plot_cells(run, field="glucose")
    with pytest.raises(RunDirError, match="no snapshot at t = 30"):
        plot_cells(run, time_min=30.0)


def test_type_names_from_metadata():
    assert type_names({}) is None
    assert type_names({"cell_types": ["a", "b"]}) == ["a", "b"]
    params = {"cell_types": {"tumour": {}, "stroma": {}}}
    assert type_names({"scenario": {"params": params}}) == ["tumour", "stroma"]
    assert type_names({"scenario": {"params": {"types": [{"name": "x"}]}}}) == ["x"]
    assert type_names({"scenario": {"params": {"cell_types": [1, 2]}}}) is None


def test_run_without_cells_has_no_cells_row(tmp_path):
    from test_summary import make_run

    run = load_run(make_run(tmp_path / "run", [800.0, 400.0], 10.0))
    fig = plot_summary(run)
    assert not _cell_collections(fig)
    with pytest.raises(RunDirError, match="no cell snapshots"):
        plot_cells(run)


@pytest.mark.parametrize(("extent", "voxel"), [([600.0, 600.0], 10.0),
                                               ([400.0, 400.0, 400.0], 20.0)], ids=["2d", "3d"])
def test_summary_top_row_draws_cells(tmp_path, extent, voxel):
    times = tuple(float(t) for t in range(0, 1201, 120))
    run = load_run(make_cell_run(tmp_path / "run", extent, voxel, times=times))
    fig = plot_summary(run)
    colls = _cell_collections(fig)
    assert len(colls) == 4  # one per time shown, first and last included
    titles = [c.axes.get_title() for c in colls]
    assert titles[0].startswith("t = 0 h") and titles[-1].startswith("t = 20 h")
    for coll, k in zip(colls, [0, 3, 7, 10], strict=True):
        frame = pd.read_parquet(run.path / "cells" / f"{k:06d}.parquet")
        if len(extent) == 2:
            assert len(coll.get_offsets()) == len(frame)
        else:
            assert 0 < len(coll.get_offsets()) < len(frame)
        assert f"{int((frame['dead'] == 0).sum()):,} live" in coll.axes.get_title()
    # the field rows and the metric panels are still there, below
    ylabels = [a.get_ylabel() for a in fig.get_axes()]
    assert "live cells" in ylabels
    out = write_summary(run)
    rgb = _rgb(out)
    assert _near(rgb, NECROTIC_COLOUR).sum() > 100
    assert _near(rgb, TYPE_COLOURS[0]).sum() > 100


def test_hundred_thousand_cells_draw(tmp_path):
    rng = np.random.default_rng(5)

    def many(dim, radius, centre, core):
        n = 100_000
        r = 2900.0 * np.sqrt(rng.random(n))
        a = 2 * np.pi * rng.random(n)
        frame = pd.DataFrame({
            "id": np.arange(n), "type": rng.integers(0, 3, n).astype(np.int32),
            "dead": np.where(r < 1000.0, 2, 0).astype(np.int8),
            "x": 3000.0 + r * np.cos(a), "y": 3000.0 + r * np.sin(a),
            "radius": np.full(n, R_CELL),
        })
        return frame

    run = load_run(make_cell_run(tmp_path / "run", [6000.0, 6000.0], 50.0,
                                 times=(0.0, 60.0, 120.0, 180.0), frame_fn=many))
    fig = plot_summary(run)
    assert [len(c.get_offsets()) for c in _cell_collections(fig)] == [100_000] * 4
    out = write_summary(run)
    assert _near(_rgb(out), NECROTIC_COLOUR).sum() > 100
    assert any("x [mm]" == a.get_xlabel() for a in fig.get_axes())
