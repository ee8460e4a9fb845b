"""The snapshot figure (`invasim plot --time/--color-by/--field`), from hand-made runs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli
from matplotlib.colors import to_hex, to_rgb
from PIL import Image

from invasim.cli import main
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError, RunDirError
from invasim.io.run import load_run
from invasim.io.rundir import RunWriter
from invasim.viz import frames as vf
from invasim.viz.cells import APOPTOTIC_COLOUR, NECROTIC_COLOUR, TYPE_COLOURS
from invasim.viz.plot import default_name, plot_snapshot, write_plot

FIELDS = [{"name": "oxygen", "unit": "mmHg", "description": "oxygen",
           "diffusion_um2_per_min": 1e5, "decay_per_min": 0.1},
          {"name": "drug", "unit": "µM", "description": "drug",
           "diffusion_um2_per_min": 1e4, "decay_per_min": 0.01}]
TIMES = (0.0, 600.0, 1200.0)
R = 8.4
PALETTE = {**{f"type{i}": c for i, c in enumerate(TYPE_COLOURS)},
           "apoptotic": APOPTOTIC_COLOUR, "necrotic": NECROTIC_COLOUR, "other": vf.OTHER_COLOUR}


def disc_cells(t: float, centre: tuple[float, ...]) -> pd.DataFrame:
    """A packed disc growing with ``t``: type 0 left, type 1 right, a necrotic core and an
    apoptotic band above it."""
    rc = 60.0 + 0.03 * t
    dy = 2 * R * np.sqrt(3) / 2
    xy = np.array([((i + 0.5 * (j % 2)) * 2 * R, j * dy) for j in range(-12, 13)
                   for i in range(-12, 13)])
    xy = xy[np.hypot(xy[:, 0], xy[:, 1]) <= rc]
    n = len(xy)
    s = np.hypot(xy[:, 0], xy[:, 1])
    dead = np.zeros(n, np.int8)
    dead[s < 0.35 * rc] = 2
    dead[(dead == 0) & (xy[:, 1] > 0.5 * rc) & (np.abs(xy[:, 0]) < 2.5 * R)] = 1
    return pd.DataFrame({
        "id": np.arange(n), "parent_id": np.full(n, -1), "clone_id": np.arange(n) % 4,
        "generation": np.arange(n) % 5, "type": (xy[:, 0] > 0).astype(np.int32),
        "phase": np.zeros(n, np.int32), "time_in_phase": np.zeros(n), "dead": dead,
        "x": xy[:, 0] + centre[0], "y": xy[:, 1] + centre[1], "radius": np.full(n, R),
        "volume": np.full(n, 4 / 3 * np.pi * R**3),
    })


def make_run(path: Path, *, cells: bool = True, extent=(300.0, 300.0), voxel: float = 20.0,
             times=TIMES, meta_extra: dict | None = None) -> Path:
    """A run written by hand: fields changing over time, metrics, cell tables (agent runs)."""
    mesh = Mesh.from_extent(list(extent), voxel)
    path.mkdir(parents=True, exist_ok=True)
    writer = RunWriter(path, mesh, FIELDS)
    meta = {"invasim_version": "0.1.0", "scenario_name": "by-hand", "model": "hand-made",
            "seed": 7, "status": "completed", "time_min": times[-1], "end_min": times[-1],
            "step": int(times[-1]), "dt_min": 1.0, "mesh": mesh.to_dict(), "fields": FIELDS,
            "metric_names": ["front_um", "n_cells"], "cell_types": ["tumour", "stroma"]}
    writer.write_meta({**meta, **(meta_extra or {})})
    writer.start()
    x, y, _ = mesh.grids()
    centre = tuple(0.5 * e for e in mesh.extent)
    for k, t in enumerate(times):
        s = np.hypot(x - centre[0], (y - centre[1]) if mesh.dim > 1 else 0.0)
        values = {"oxygen": 38.0 - (10.0 + 5.0 * k) * np.exp(-s / 100.0),
                  "drug": np.exp(-s / 200.0) * (1 + k)}
        fields = {f["name"]: np.broadcast_to(values[f["name"]], mesh.array_shape).copy()
                  for f in FIELDS}
        tables = None
        if cells:
            c = disc_cells(t, centre)
            if mesh.dim == 3:  # type 0 on the central z plane, type 1 far above it
                z0 = mesh.centers("z")[mesh.nz // 2]
                c["z"] = np.where(c["type"] == 0, z0 + 1.0, z0 + 100.0)
            tables = {"cells": c}
        n = float((tables["cells"]["dead"] == 0).sum()) if cells else 0.0
        writer.record(float(t), {"front_um": 60.0 + 0.03 * t, "n_cells": n}, fields,
                      tables=tables)
    return path


@pytest.fixture(scope="module")
def agent_run(tmp_path_factory):
    return load_run(make_run(tmp_path_factory.mktemp("plot") / "agents"))


def render(fig, dpi: int) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def map_pixels(fig, dpi: int) -> np.ndarray:
    """The pixels inside the map axes (found by its label) of the figure rendered at ``dpi``."""
    rgb = render(fig, dpi)
    ax = next(a for a in fig.axes if a.get_label() == "map")
    x0, y0, x1, y1 = ax.get_window_extent().extents
    h = rgb.shape[0]
    return rgb[int(h - y1) + 2: int(h - y0) - 2, int(x0) + 2: int(x1) - 2]


def classes_seen(rgb: np.ndarray, tol: int = 6, min_px: int = 60) -> dict[str, int]:
    out = {}
    for name, colour in PALETTE.items():
        target = np.round(np.array(to_rgb(colour)) * 255).astype(int)
        n = int((np.abs(rgb.astype(int) - target) <= tol).all(axis=-1).sum())
        if n >= min_px:
            out[name] = n
    return out


def legends(fig) -> list:
    """The legends of a figure and of its subfigures."""
    return [lg for f in (fig, *fig.subfigs) for lg in f.legends]


def nonblank(rgb: np.ndarray) -> float:
    return float((rgb.min(axis=-1) < 245).mean())


# -- the figure --------------------------------------------------------------------------------
def test_written_png_is_300_dpi_with_content(agent_run):
    path = write_plot(agent_run, time_min=600.0, color_by="type")
    assert path == agent_run.path / "figure-t600min-type.png" == agent_run.path / default_name(
        600.0, "type")
    with Image.open(path) as im:
        dpi = im.info["dpi"]
        rgb = np.asarray(im.convert("RGB"))
        title = im.info.get("Title", "")
    assert dpi == pytest.approx((300, 300), abs=0.01)
    h, w = rgb.shape[:2]
    assert w == pytest.approx(7.2 * 300, abs=2) and h == pytest.approx(4.1 * 300, abs=2)
    assert nonblank(rgb) > 0.25
    assert len(np.unique(rgb.reshape(-1, 3)[::7], axis=0)) > 200  # a picture, not a flat fill
    assert "t = 600 min" in title


@pytest.mark.parametrize(
    ("color_by", "expected"),
    [("type", {"type0", "type1"}), ("state", {"type0", "type1", "apoptotic", "necrotic"})],
)
def test_map_shows_the_cell_types_in_the_runs_colours(agent_run, color_by, expected):
    fig = plot_snapshot(agent_run, 600.0, color_by, dpi=100)
    seen = classes_seen(map_pixels(fig, 100))
    assert set(seen) == expected
    cells = agent_run.cells(600.0)  # pixel areas follow the counts drawn in each colour
    keep = cells["dead"] == 0 if color_by == "state" else np.ones(len(cells), bool)
    n0, n1 = (((cells["type"] == k) & keep).sum() for k in (0, 1))
    assert seen["type0"] / seen["type1"] == pytest.approx(n0 / n1, rel=0.25)
    # the legend: the type names in the palette's colours, as in the movie of the run
    (legend,) = legends(fig)
    entries = [(t.get_text(), to_hex(h.get_markerfacecolor()).upper())
               for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)]
    want = [("tumour", TYPE_COLOURS[0]), ("stroma", TYPE_COLOURS[1])]
    if color_by == "state":
        want += [("apoptotic", APOPTOTIC_COLOUR.upper()), ("necrotic", NECROTIC_COLOUR.upper())]
    assert entries == want
    movie = vf.plan_frames(agent_run, None, color_by)
    assert [(lab, c.upper()) for lab, c in movie.classes[:-1]] == entries


def test_numeric_colouring_has_a_colour_bar(agent_run):
    fig = plot_snapshot(agent_run, 1200.0, "generation", dpi=60)
    labels = {ax.get_ylabel() or ax.get_xlabel() for ax in fig.axes}
    assert "generation" in labels and any("oxygen" in s for s in labels)
    assert not legends(fig)
    coll = next(a for a in fig.axes if a.get_label() == "map").collections[0]
    frame = agent_run.cells(1200.0)
    assert coll.get_array().tolist() == frame["generation"].astype(float).tolist()
    assert coll.get_clim() == (0.0, 4.0)  # over all snapshots


def test_field_is_the_snapshot_on_limits_over_all_snapshots(agent_run):
    fig = plot_snapshot(agent_run, 600.0, "type", "drug", dpi=50)
    ax = next(a for a in fig.axes if a.get_label() == "map")
    (im,) = ax.images
    np.testing.assert_array_equal(np.asarray(im.get_array()), agent_run.field("drug", 600.0))
    lo = min(agent_run.field("drug", t).min() for t in TIMES)
    hi = max(agent_run.field("drug", t).max() for t in TIMES)
    assert im.get_clim() == pytest.approx((lo, hi))


def test_metric_panels_mark_the_time(agent_run):
    fig = plot_snapshot(agent_run, 600.0, dpi=50)
    panels = [a for a in fig.axes if a.get_title(loc="left") in ("invasion front", "n cells")]
    assert len(panels) == 2
    m = pd.read_csv(agent_run.path / "metrics.csv").set_index("time_min")
    t_h = 600.0 / 60.0  # a run of 20 h is drawn in hours
    for ax, col in zip(panels, ("front_um", "n_cells"), strict=True):
        lines = ax.get_lines()
        assert any(list(ln.get_xdata()) == [t_h, t_h] and ln.get_linestyle() == "--"
                   for ln in lines)
        rings = [ln for ln in lines if ln.get_marker() == "o" and len(ln.get_xdata()) == 1]
        assert [float(r.get_ydata()[0]) for r in rings] == pytest.approx([m.loc[600.0, col]])
        assert [float(r.get_xdata()[0]) for r in rings] == [t_h]
    assert "t = 10 h" in _anchored_texts(fig)  # the time label on the map


def _anchored_texts(fig) -> str:
    out = []
    for ax in fig.axes:
        for art in ax.artists:
            txt = getattr(art, "txt", None)
            if txt is not None:
                out.append(txt._text.get_text())
    return " | ".join(out)


def test_3d_map_is_the_central_slice(tmp_path):
    run = load_run(make_run(tmp_path / "ball", extent=(300.0, 300.0, 300.0), voxel=30.0))
    fig = plot_snapshot(run, 1200.0, "type", dpi=100)
    assert set(classes_seen(map_pixels(fig, 100))) == {"type0"}  # type 1 lies off the plane
    ax = next(a for a in fig.axes if a.get_label() == "map")
    kz = run.mesh.nz // 2
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()),
                                  run.field("oxygen", 1200.0)[kz])
    assert f"slice z = {run.mesh.centers('z')[kz]:g} µm" in fig.get_suptitle()


def test_continuum_runs_draw_the_field(tmp_path):
    run2 = load_run(make_run(tmp_path / "two", cells=False))
    fig = plot_snapshot(run2, 1200.0, field="oxygen", dpi=50)
    ax = next(a for a in fig.axes if a.get_label() == "map")
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()),
                                  run2.field("oxygen", 1200.0))
    assert not ax.collections  # no cells
    run1 = load_run(make_run(tmp_path / "one", cells=False, extent=(2000.0,), voxel=20.0))
    fig = plot_snapshot(run1, 600.0, dpi=50)
    ax = next(a for a in fig.axes if a.get_label() == "map")
    (line,) = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == run1.mesh.n[0]]
    np.testing.assert_array_equal(line.get_ydata(), run1.field("oxygen", 600.0))
    np.testing.assert_allclose(line.get_xdata(), run1.mesh.centers("x"))


def test_errors_name_what_the_run_has(tmp_path, agent_run):
    with pytest.raises(ConfigError, match="unknown field 'glucose'; this run has oxygen, drug"):
        plot_snapshot(agent_run, field="glucose")
    with pytest.raises(ConfigError, match="choose from type, state, phase, clone, generation"):
        plot_snapshot(agent_run, color_by="colour")
    with pytest.raises(RunDirError, match="no snapshot at t = 500 min; snapshots from 0 to 1200"):
        plot_snapshot(agent_run, 500.0)
    run2 = load_run(make_run(tmp_path / "two", cells=False))
    with pytest.raises(ConfigError, match="agent runs"):
        plot_snapshot(run2, color_by="state")
    with pytest.raises(RunDirError, match="--dpi must be"):
        write_plot(agent_run, tmp_path / "x.png", dpi=5)
    with pytest.raises(RunDirError, match="unknown image format 'bmp'"):
        write_plot(agent_run, tmp_path / "x.bmp")
    assert not list(tmp_path.glob("x.*"))


# -- the command -------------------------------------------------------------------------------
def test_cli_plot_summary_and_snapshot(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    assert main(["plot", str(run)]) == 0  # without the new options: the summary, as before
    assert capsys.readouterr().out.strip() == str(run / "summary.png")
    assert (run / "summary.png").is_file()
    out = tmp_path / "fig.png"
    argv = ["plot", str(run), "--time", "1200", "--color-by", "state", "--out", str(out),
            "--dpi", "72"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(out)
    with Image.open(out) as im:
        assert im.info["dpi"] == pytest.approx((72, 72), abs=0.01)
        assert im.size[0] == pytest.approx(7.2 * 72, abs=2)
    assert main(["plot", str(run), "--field", "drug"]) == 0  # the last snapshot by default
    assert capsys.readouterr().out.strip() == str(run / "figure-t1200min-drug.png")


@pytest.mark.parametrize(
    ("extra", "needles"),
    [(["--time", "500"], ["no snapshot at t = 500 min", "from 0 to 1200 min"]),
     (["--field", "glucose"], ["unknown field 'glucose'", "oxygen, drug"]),
     (["--color-by", "colour"], ["unknown --color-by 'colour'", "type, state, phase, clone"]),
     (["--dpi", "100"], ["--dpi", "--time"]),
     (["--time", "0", "--out", "x.bmp"], ["unknown image format 'bmp'"])],
)
def test_cli_plot_errors_are_one_line(tmp_path, capsys, extra, needles):
    run = make_run(tmp_path / "run", times=TIMES)
    assert main(["plot", str(run), *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_cli_plot_unknown_run_dir_in_a_process(tmp_path):
    proc = run_cli("plot", str(tmp_path / "nowhere"), "--time", "0", timeout=120)
    assert_one_line_error(proc, "is not a run directory")
