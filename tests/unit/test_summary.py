"""The summary figure, drawn from run directories written by hand with analytic fields."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from invasim.core.mesh import Mesh
from invasim.errors import RunDirError
from invasim.io.run import load_run
from invasim.io.rundir import RunWriter
from invasim.viz.summary import plot_summary, write_summary

FIELD_META = [
    {"name": "n", "unit": "1 (relative to K)", "description": "tumour cell density",
     "diffusion_um2_per_min": 1.0, "decay_per_min": 0.0},
    {"name": "f", "unit": "1", "description": "ECM density",
     "diffusion_um2_per_min": 0.0, "decay_per_min": 0.0},
    {"name": "oxygen", "unit": "mmHg", "description": "oxygen partial pressure",
     "diffusion_um2_per_min": 1e5, "decay_per_min": 0.1},
]


def _fields(mesh: Mesh, t: float, radial: bool) -> dict[str, np.ndarray]:
    """A travelling tanh front (speed 0.5 µm/min, width 30 µm) and fields that follow it."""
    x, y, z = mesh.grids()
    if radial:
        c = [0.5 * e for e in mesh.extent] + [0.0, 0.0]
        s = np.sqrt((x - c[0]) ** 2 + (y - c[1]) ** 2 * (mesh.dim >= 2)
                    + (z - c[2]) ** 2 * (mesh.dim >= 3))
    else:
        s = x + 20.0 * np.sin(2 * np.pi * y / 400.0) * (mesh.dim >= 2)
    front = 100.0 + 0.5 * t
    n = 0.5 * (1.0 - np.tanh((s - front) / 30.0))
    f = 1.0 - 0.8 * n
    oxygen = 40.0 - 25.0 * n
    shape = mesh.array_shape
    return {k: np.broadcast_to(v, shape).astype(float).copy()
            for k, v in {"n": n, "f": f, "oxygen": oxygen}.items()}


def make_run(path: Path, extent: list[float], voxel: float, *, t_end: float = 1200.0,
             every: float = 120.0, radial: bool = False, gap: bool = True,
             fields: list[dict] | None = None, status: str = "completed") -> Path:
    mesh = Mesh.from_extent(extent, voxel)
    meta_fields = FIELD_META if fields is None else fields
    path.mkdir(parents=True, exist_ok=True)
    writer = RunWriter(path, mesh, meta_fields)
    meta = {
        "invasim_version": "0.1.0", "scenario_name": f"tanh-front-{mesh.dim}d",
        "model": "hand-made", "seed": 7, "status": status, "time_min": t_end,
        "end_min": t_end, "step": int(t_end), "dt_min": 1.0, "mesh": mesh.to_dict(),
        "fields": meta_fields, "metric_names": ["front_um", "tumor_mass"],
    }
    writer.write_meta(meta)
    writer.start()
    for t in np.arange(0.0, t_end + 0.5, every):
        fields_t = _fields(mesh, float(t), radial)
        mass = float(fields_t["n"].sum()) * mesh.h**mesh.dim
        m = {"front_um": 100.0 + 0.5 * t, "tumor_mass": mass}
        if gap:
            m["gap_um"] = 5.0 * np.log1p(t / 60.0)
        base = ("n", "f", "oxygen")
        writer.record(float(t), m, {f["name"]: fields_t[base[i % 3]]
                                    for i, f in enumerate(meta_fields)})
    return path


def _check_png(path: Path, min_colours: int = 200) -> tuple[int, int]:
    assert path.is_file()
    with Image.open(path) as im:
        assert im.format == "PNG"
        w, h = im.size
        rgb = np.asarray(im.convert("RGB"))
    assert 800 <= w <= 2600 and 600 <= h <= 3200, (w, h)
    colours = np.unique(rgb.reshape(-1, 3), axis=0)
    assert len(colours) >= min_colours, len(colours)
    # not one flat colour: a good share of the image is not background white
    assert (rgb.min(axis=2) < 250).mean() > 0.05
    return w, h


@pytest.mark.parametrize(
    ("extent", "voxel", "radial"),
    [
        ([1000.0], 5.0, False),
        ([800.0, 400.0], 10.0, False),
        ([600.0, 600.0, 200.0], 20.0, True),
    ],
    ids=["1d", "2d", "3d"],
)
def test_write_summary_default_path(tmp_path, extent, voxel, radial):
    run = load_run(make_run(tmp_path / "run", extent, voxel, radial=radial))
    out = write_summary(run)
    assert out == run.path / "summary.png"
    _check_png(out)
    # written whole: no temporary file is left beside it
    assert sorted(p.name for p in run.path.iterdir() if p.name.startswith(".")) == []


def test_plot_summary_returns_figure(tmp_path):
    run = load_run(make_run(tmp_path / "run", [800.0, 400.0], 10.0))
    fig = plot_summary(run)
    assert isinstance(fig, Figure)
    assert isinstance(fig.canvas, FigureCanvasAgg)  # headless, and pyplot is not involved
    text = fig.get_suptitle()
    assert "tanh-front-2d" in text and "hand-made" in text and "seed 7" in text
    labels = [t.get_text() for a in fig.get_axes() for t in (a.yaxis.label, a.xaxis.label)]
    assert "oxygen [mmHg]" in labels
    assert "n (relative to K)" in labels  # a "1 (what)" unit reads "(what)"
    assert "x [µm]" in labels
    assert any("[h]" in label for label in labels)  # 1200 min is shown in hours


def test_large_domain_in_mm_and_long_run_in_days(tmp_path):
    run = load_run(make_run(tmp_path / "run", [8000.0, 4000.0], 100.0, t_end=14400.0,
                            every=1440.0))
    fig = plot_summary(run)
    labels = [t.get_text() for a in fig.get_axes() for t in (a.yaxis.label, a.xaxis.label)]
    assert "x [mm]" in labels
    assert "time [days]" in labels
    _check_png(write_summary(run, tmp_path / "big.png"))


def test_many_fields_no_gap_single_snapshot(tmp_path):
    fields = [dict(FIELD_META[k % 3], name=f"u{k}") for k in range(6)]
    path = make_run(tmp_path / "run", [500.0, 500.0], 10.0, t_end=0.0, gap=False,
                    fields=fields, status="running")
    run = load_run(path)
    fig = plot_summary(run)
    assert "first 4 of 6 fields" in fig.get_suptitle()
    _check_png(write_summary(run), min_colours=50)


def test_other_formats(tmp_path):
    run = load_run(make_run(tmp_path / "run", [1000.0], 5.0))
    out = write_summary(run, tmp_path / "summary.svg")
    assert out.read_text("utf-8").lstrip().startswith("<?xml")
    with pytest.raises(RunDirError, match="unknown image format 'txt'"):
        write_summary(run, tmp_path / "summary.txt")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_unwritable_folder_is_one_line(tmp_path):
    run = load_run(make_run(tmp_path / "run", [800.0, 400.0], 10.0))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(RunDirError) as info:
            write_summary(run, locked / "summary.png")
    finally:
        locked.chmod(0o700)
    assert "\n" not in str(info.value) and "permission denied" in str(info.value)
    assert list(locked.iterdir()) == []


def test_permission_denied_is_one_line(tmp_path, monkeypatch):
    # the same failure as above, simulated so that it also runs as root
    run = load_run(make_run(tmp_path / "run", [1000.0], 5.0))

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("invasim.io.atomic.open", denied, raising=False)
    with pytest.raises(RunDirError) as info:
        write_summary(run, tmp_path / "out" / "summary.png")
    msg = str(info.value)
    target = tmp_path / "out" / "summary.png"
    assert msg == f"cannot write {target}: permission denied (choose another --out)"


def test_missing_folder_or_directory_target_is_one_line(tmp_path):
    run = load_run(make_run(tmp_path / "run", [1000.0], 5.0))
    for bad in (tmp_path / "no" / "such" / "dir" / "x.png", tmp_path / "run"):
        with pytest.raises(RunDirError) as info:
            write_summary(run, bad)
        msg = str(info.value)
        assert "\n" not in msg and str(bad) in msg
    assert not list((tmp_path / "run").glob(".run.tmp-*"))


def test_run_without_snapshots(tmp_path):
    path = tmp_path / "run"
    path.mkdir()
    mesh = Mesh.from_extent([100.0], 10.0)
    w = RunWriter(path, mesh, FIELD_META)
    w.write_meta({"scenario_name": "empty", "model": "m", "seed": 1, "status": "running",
                  "dt_min": 1.0, "mesh": mesh.to_dict(), "fields": FIELD_META})
    w.start()
    with pytest.raises(RunDirError, match="no snapshots"):
        write_summary(load_run(path))


def test_run_killed_while_recording(tmp_path):
    # killed after appending a field snapshot but before the time and the metrics row
    import zarr

    path = make_run(tmp_path / "run", [800.0, 400.0], 10.0, t_end=0.0, status="running")
    group = zarr.open_group(path / "fields.zarr", mode="r+")
    group["n"].resize((2, *group["n"].shape[1:]))
    (path / "metrics.csv").unlink()
    run = load_run(path)
    fig = plot_summary(run)
    assert "(running)" in fig.get_suptitle()
    assert not any("time [" in a.xaxis.label.get_text() for a in fig.get_axes())
    _check_png(write_summary(run), min_colours=50)
