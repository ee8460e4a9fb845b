"""Movies of runs: frame plans, frame pictures, MP4 and GIF files, from hand-made runs."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from invasim.core.mesh import Mesh
from invasim.errors import ConfigError, RunDirError
from invasim.io.run import load_run
from invasim.io.rundir import RunWriter
from invasim.viz import frames as vf
from invasim.viz import movie as vm
from invasim.viz.cells import APOPTOTIC_COLOUR, NECROTIC_COLOUR, TYPE_COLOURS

OXYGEN = [{"name": "oxygen", "unit": "mmHg", "description": "oxygen",
           "diffusion_um2_per_min": 1e5, "decay_per_min": 0.1},
          {"name": "drug", "unit": "µM", "description": "drug",
           "diffusion_um2_per_min": 1e4, "decay_per_min": 0.01}]
TIMES = (0.0, 600.0, 1200.0)
R = 8.4
DPI = 50  # small frames: 400 × 300 pixels
#: every colour a categorical frame may use
PALETTE = {**{f"type{i}": c for i, c in enumerate(TYPE_COLOURS)},
           "apoptotic": APOPTOTIC_COLOUR, "necrotic": NECROTIC_COLOUR, "other": vf.OTHER_COLOUR}


def _cells(t: float, centre: tuple[float, float]) -> pd.DataFrame:
    """A hexagonal disc growing with ``t``: type 0 left of the centre, type 1 right; a
    necrotic core, apoptotic cells in a band above it; clones of sizes 1..; a trait 0 | 1."""
    rc = 60.0 + 0.03 * t
    rows = []
    dy = 2 * R * np.sqrt(3) / 2
    for j in range(-12, 13):
        for i in range(-12, 13):
            x, y = (i + 0.5 * (j % 2)) * 2 * R, j * dy
            if x * x + y * y <= rc * rc:
                rows.append((x, y))
    xy = np.array(rows)
    n = len(xy)
    s = np.hypot(xy[:, 0], xy[:, 1])
    dead = np.zeros(n, np.int8)
    dead[s < 0.35 * rc] = 2
    dead[(dead == 0) & (xy[:, 1] > 0.5 * rc) & (np.abs(xy[:, 0]) < 2.5 * R)] = 1
    clone = np.arange(n) % 9  # clone k has about n/9 cells; clone sizes differ by one at most
    clone[: 9 * 3] = np.arange(27) // 3  # ...and a deterministic order of the largest
    return pd.DataFrame({
        "id": np.arange(n), "parent_id": np.full(n, -1), "clone_id": clone,
        "generation": np.arange(n) % 5, "type": (xy[:, 0] > 0).astype(np.int32),
        "phase": (np.arange(n) % 2).astype(np.int32), "time_in_phase": np.zeros(n),
        "dead": dead, "x": xy[:, 0] + centre[0], "y": xy[:, 1] + centre[1],
        "radius": np.full(n, R), "volume": np.full(n, 4 / 3 * np.pi * R**3),
        "motility": (xy[:, 1] > 0).astype(float),
    })


def make_run(path: Path, *, cells: bool = True, extent=(300.0, 300.0), voxel: float = 20.0,
             times=TIMES, meta_extra: dict | None = None) -> Path:
    """A run by hand: fields that change over time (and, for an agent run, cell tables)."""
    mesh = Mesh.from_extent(list(extent), voxel)
    path.mkdir(parents=True, exist_ok=True)
    fields_meta = OXYGEN if cells or mesh.dim > 1 else OXYGEN[:1]
    writer = RunWriter(path, mesh, fields_meta)
    writer.write_meta({
        "invasim_version": "0.1.0", "scenario_name": "by-hand", "model": "hand-made",
        "seed": 3, "status": "completed", "time_min": times[-1], "end_min": times[-1],
        "step": int(times[-1]), "dt_min": 1.0, "mesh": mesh.to_dict(), "fields": fields_meta,
        "metric_names": ["m"], **(meta_extra or {}),
    })
    writer.start()
    x, y, _ = mesh.grids()
    centre = tuple(0.5 * e for e in mesh.extent)
    for k, t in enumerate(times):
        s = np.hypot(x - centre[0], (y - centre[1]) if mesh.dim > 1 else 0.0)
        fields = {"oxygen": 38.0 - (10.0 + 5.0 * k) * np.exp(-s / 100.0),
                  "drug": np.exp(-s / 200.0) * (1 + k)}
        fields = {f["name"]: np.broadcast_to(fields[f["name"]], mesh.array_shape).copy()
                  for f in fields_meta}
        tables = {"cells": _cells(t, centre)} if cells else None
        if cells and mesh.dim == 3:  # type 0 on the central z plane, type 1 far above it
            c = tables["cells"]
            z0 = mesh.centers("z")[mesh.nz // 2]
            c["z"] = np.where(c["type"] == 0, z0 + 1.0, z0 + 100.0)
        writer.record(float(t), {"m": float(k)}, fields, tables=tables)
    return path


@pytest.fixture(scope="module")
def agent_run(tmp_path_factory):
    meta = {"scenario": {"params": {"cell_types": {"tumour": {}, "stroma": {}}}}}
    return load_run(make_run(tmp_path_factory.mktemp("movie") / "agents", meta_extra=meta))


def near(rgb: np.ndarray, colour: str, tol: int = 6) -> np.ndarray:
    target = np.round(np.array(to_rgb(colour)) * 255).astype(int)
    return (np.abs(rgb.astype(int) - target) <= tol).all(axis=-1)


def classes_seen(rgb: np.ndarray, tol: int = 6, min_px: int = 100) -> dict[str, int]:
    """Pixels near each palette colour in the map (left of the legend), where there are many."""
    left = rgb[:, : int(0.66 * rgb.shape[1])]
    counts = {k: int(near(left, c, tol).sum()) for k, c in PALETTE.items()}
    return {k: v for k, v in counts.items() if v >= min_px}


def nonblank(rgb: np.ndarray) -> float:
    return float((rgb.min(axis=-1) < 245).mean())


# -- plans -------------------------------------------------------------------------------------
def test_plan_limits_and_classes_span_all_snapshots(agent_run):
    run = agent_run
    plan = vf.plan_frames(run, None, "type", dpi=DPI)
    assert plan.kind == "cells" and plan.field == "oxygen" and plan.n_frames == len(TIMES)
    lo = min(run.field("oxygen", t).min() for t in TIMES)
    hi = max(run.field("oxygen", t).max() for t in TIMES)
    assert plan.vlim == pytest.approx((lo, hi))
    assert lo < run.field("oxygen", 0.0).min()  # the limits are not the first frame's
    w, h = plan.size_px
    assert w % 2 == 0 and h % 2 == 0
    assert [c for c in plan.classes[:-1]] == [("tumour", TYPE_COLOURS[0]),
                                              ("stroma", TYPE_COLOURS[1])]

    state = vf.plan_frames(run, "drug", "state", dpi=DPI)
    labels = [lab for lab, _ in state.classes[:-1]]
    assert labels == ["tumour", "stroma", "apoptotic", "necrotic"]
    assert state.vlim == pytest.approx((min(run.field("drug", t).min() for t in TIMES),
                                        max(run.field("drug", t).max() for t in TIMES)))

    phase = vf.plan_frames(run, None, "phase", dpi=DPI)
    assert [lab for lab, _ in phase.classes[:-1]] == ["phase 0", "phase 1", "apoptotic",
                                                      "necrotic"]
    # clones: the six largest over all snapshots, computed here with pandas
    clone = vf.plan_frames(run, None, "clone", dpi=DPI)
    sizes = pd.concat([run.cells(t)["clone_id"].value_counts() for t in TIMES])
    sizes = sizes.groupby(level=0).max().sort_index().sort_values(ascending=False, kind="stable")
    assert [lab for lab, _ in clone.classes[:-1]] == [f"clone {c}" for c in sizes.index[:6]]
    assert clone.other_used and clone.classes[-1] == ("other clones", vf.OTHER_COLOUR)
    frame = run.cells(TIMES[-1])
    idx = vf.classify(clone, frame)
    top = set(sizes.index[:6])
    for cid, k in zip(frame["clone_id"], idx, strict=True):
        assert (k == len(clone.classes) - 1) == (cid not in top)

    values = vf.plan_frames(run, None, "generation", dpi=DPI)
    assert values.value_lim == (0.0, 4.0) and values.classes == ()


def test_plan_continuum_and_errors(tmp_path, agent_run):
    run1 = load_run(make_run(tmp_path / "one", cells=False, extent=(2000.0,), voxel=20.0))
    plan = vf.plan_frames(run1, None, "type")
    assert plan.kind == "line" and plan.color_by is None and plan.size_px == (800, 450)
    run2 = load_run(make_run(tmp_path / "two", cells=False))
    assert vf.plan_frames(run2, "drug").kind == "image"
    with pytest.raises(ConfigError, match="agent runs"):
        vf.plan_frames(run2, None, "state")
    with pytest.raises(ConfigError, match="unknown field 'glucose'; this run has oxygen, drug"):
        vf.plan_frames(agent_run, "glucose")
    with pytest.raises(ConfigError, match="type, state, phase, clone, generation") as e:
        vf.plan_frames(agent_run, None, "colour")
    assert "motility" in str(e.value) and "clone_id" not in str(e.value)


# -- frames ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("color_by", "expected"),
    [("type", {"type0", "type1"}),
     ("state", {"type0", "type1", "apoptotic", "necrotic"})],
)
def test_frame_shows_the_expected_colour_classes(agent_run, color_by, expected):
    plan = vf.plan_frames(agent_run, None, color_by, dpi=DPI)
    rgb = vf.render_frame(plan, 1)
    assert rgb.shape == (plan.size_px[1], plan.size_px[0], 3) and rgb.dtype == np.uint8
    assert nonblank(rgb) > 0.3
    seen = classes_seen(rgb)
    assert set(seen) == expected
    # the pixel areas follow the cell counts: live type 0 vs live type 1 (state), all (type)
    cells = agent_run.cells(TIMES[1])
    keep = cells["dead"] == 0 if color_by == "state" else np.ones(len(cells), bool)
    n0, n1 = (((cells["type"] == k) & keep).sum() for k in (0, 1))
    assert seen["type0"] / seen["type1"] == pytest.approx(n0 / n1, rel=0.25)


def test_3d_frame_draws_the_central_slice(tmp_path):
    run = load_run(make_run(tmp_path / "ball", extent=(300.0, 300.0, 300.0), voxel=30.0))
    plan = vf.plan_frames(run, None, "type", dpi=DPI)
    assert [lab for lab, _ in plan.classes[:-1]] == ["type 0", "type 1"]  # both in the legend
    z0 = run.mesh.centers("z")[run.mesh.nz // 2]  # the plane of the field's slice
    assert f"slice z = {z0:g} µm" in plan.title
    rgb = vf.render_frame(plan, 2)
    assert set(classes_seen(rgb)) == {"type0"}  # only type 0 cells cut the plane


def test_frames_share_size_and_differ_over_time(agent_run):
    plan = vf.plan_frames(agent_run, None, "motility", dpi=DPI)
    frames = [vf.render_frame(plan, k) for k in range(plan.n_frames)]
    assert len({f.shape for f in frames}) == 1
    assert all(nonblank(f) > 0.3 for f in frames)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 1.0  # the disc grew
    # motility 0 and 1 are the two ends of the value colour map, both drawn
    import matplotlib as mpl

    cmap = mpl.colormaps[vf.vc.VALUE_CMAP]
    for v in (0.0, 1.0):
        left = frames[-1][:, : int(0.66 * plan.size_px[0])]
        assert near(left, mpl.colors.to_hex(cmap(v)), 8).sum() > 200


# -- files -------------------------------------------------------------------------------------
def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.mark.slow
def test_write_movie_mp4_round_trip(tmp_path, agent_run):
    out = tmp_path / "cells.mp4"
    got = vm.write_movie(agent_run, out, color_by="state", fps=5, workers=2, progress=False,
                         dpi=DPI)
    assert got == out and out.stat().st_size > 1000
    assert _leftovers(tmp_path, {"cells.mp4"}) == []  # no frame folder, no temporary file
    meta = iio.immeta(out, plugin="FFMPEG")
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == 5.0
    plan = vf.plan_frames(agent_run, None, "state", dpi=DPI)
    assert tuple(meta["size"]) == plan.size_px
    decoded = list(iio.imiter(out, plugin="FFMPEG"))
    assert len(decoded) == len(TIMES)
    rendered = [vf.render_frame(plan, k).astype(int) for k in range(len(TIMES))]
    for k, frame in enumerate(decoded):
        assert nonblank(frame) > 0.3
        errors = [np.abs(frame.astype(int) - r).mean() for r in rendered]
        assert int(np.argmin(errors)) == k and errors[k] < 4.0  # the right frame, in order
    # the cell colours survive H.264 (interiors of discs; chroma is subsampled at edges)
    seen = classes_seen(decoded[1], tol=12, min_px=100)
    assert {"type0", "type1", "necrotic"} <= set(seen)


def test_gif_format_and_fallbacks(tmp_path, agent_run, monkeypatch):
    gif = vm.write_movie(agent_run, tmp_path / "m.gif", fps=4, workers=1, progress=False,
                         dpi=DPI)
    with Image.open(gif) as im:
        assert im.n_frames == len(TIMES) and im.size == (400, 300)
        assert im.info["duration"] == 250 and im.info["loop"] == 0
        im.seek(1)
        rgb = np.asarray(im.convert("RGB"))
    assert set(classes_seen(rgb)) == {"type0", "type1"}  # flat colours survive the palette

    # no encoder: a GIF beside the asked-for name, and a warning saying why
    import imageio_ffmpeg

    def missing():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    with pytest.warns(vm.MovieFallbackWarning, match="No ffmpeg exe could be found.*GIF"):
        got = vm.write_movie(agent_run, tmp_path / "a.mp4", workers=1, progress=False, dpi=DPI)
    assert got == tmp_path / "a.gif" and not (tmp_path / "a.mp4").exists()
    monkeypatch.undo()
    # an encoder that fails: the same
    monkeypatch.setattr(vm, "_X264", ["-crf", "not-a-number", "-f", "mp4"])
    with pytest.warns(vm.MovieFallbackWarning, match="wrote an animated GIF instead"):
        got = vm.write_movie(agent_run, tmp_path / "b.mp4", workers=1, progress=False, dpi=DPI)
    assert got.suffix == ".gif" and got.stat().st_size > 1000
    assert _leftovers(tmp_path, {"m.gif", "a.gif", "b.gif"}) == []


def test_continuum_movie_and_default_out(tmp_path):
    run = load_run(make_run(tmp_path / "run", cells=False, extent=(2000.0,), voxel=20.0))
    out = vm.write_movie(run, fmt="gif", workers=1, progress=False, dpi=DPI)
    assert out == run.path / "movie.gif"
    plan = vf.plan_frames(run, None, dpi=DPI)
    assert plan.size_px[0] % 2 == 0 and plan.size_px[1] % 2 == 0
    with Image.open(out) as im:
        assert im.n_frames == len(TIMES) and im.size == plan.size_px
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB")))
    assert all(nonblank(f) > 0.01 for f in frames)
    # fixed limits: the curve moves down frame by frame (the oxygen dip deepens); its lowest
    # drawn pixel row grows while the axes stay put
    colour = vf.mpl.colors.to_hex(vf.mpl.colormaps["viridis"](0.35))
    lowest = [np.nonzero(near(f, colour, 24).any(axis=1))[0].max() for f in frames]
    assert lowest[0] < lowest[1] < lowest[2]


def test_bad_arguments_and_nothing_half_written(tmp_path, agent_run):
    for kw, msg in [({"fps": 0}, "fps must be between 1 and 120"),
                    ({"fps": 1000}, "fps must be"),
                    ({"fmt": "avi"}, "unknown movie format 'avi'"),
                    ({"out": tmp_path / "m.avi"}, r"must end in \.mp4 or \.gif"),
                    ({"out": tmp_path / "m.gif", "fmt": "mp4"}, "does not match"),
                    ({"workers": 0}, "workers must be"),
                    ({"color_by": "nonsense"}, "unknown --color-by 'nonsense'"),
                    ({"field": "glucose"}, "unknown field")]:
        with pytest.raises(ConfigError, match=msg):
            vm.write_movie(agent_run, **{"out": tmp_path / "m.mp4", **kw}, progress=False)
    with pytest.raises(RunDirError, match="does not exist"):
        vm.write_movie(agent_run, tmp_path / "no" / "m.mp4", progress=False)
    # a snapshot that cannot be read: an error, and no movie, frame folder or temporary file
    broken = make_run(tmp_path / "broken")
    (broken / "cells" / "000001.parquet").write_bytes(b"not parquet")
    with pytest.raises(RunDirError, match="000001.parquet"):
        vm.write_movie(broken, tmp_path / "x.mp4", workers=1, progress=False, dpi=DPI)
    assert _leftovers(tmp_path, {"broken"}) == []


def test_failures_after_the_start_leave_nothing(tmp_path, agent_run, monkeypatch):
    real = vm.render_to_file

    def second_fails(plan, k, path):
        if k == 1:
            raise RunDirError("frame 1 failed")
        return real(plan, k, path)

    monkeypatch.setattr(vm, "render_to_file", second_fails)
    with pytest.raises(RunDirError, match="frame 1 failed"):
        vm.write_movie(agent_run, tmp_path / "m.mp4", workers=1, progress=False, dpi=DPI)
    assert _leftovers(tmp_path, set()) == []
    monkeypatch.undo()

    def frames_then_fail(paths, advance):
        yield np.zeros((300, 400, 3), np.uint8)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(vm, "_frames", frames_then_fail)
    (tmp_path / "m.gif").write_bytes(b"old")
    for fmt in ("gif", "mp4"):
        with pytest.raises(RuntimeError, match="disk on fire"):
            vm.write_movie(agent_run, tmp_path / f"m.{fmt}", workers=1, progress=False,
                           dpi=DPI)
    # the old file is untouched, nothing else is left
    assert (tmp_path / "m.gif").read_bytes() == b"old"
    assert _leftovers(tmp_path, {"m.gif"}) == []
