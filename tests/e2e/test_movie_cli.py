"""`invasim movie` as a user runs it: a real two-type agent run, its MP4 and GIF, bad input."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest
import tomli_w
from conftest import assert_one_line_error, run_cli
from matplotlib.colors import to_rgb

import invasim
from invasim.cli import main
from invasim.config import scenarios
from invasim.core.initial import ball
from invasim.core.mesh import Mesh
from invasim.io.rundir import RunWriter
from invasim.viz.cells import APOPTOTIC_COLOUR, NECROTIC_COLOUR, TYPE_COLOURS

PALETTE = {**{f"type{i}": c for i, c in enumerate(TYPE_COLOURS)},
           "apoptotic": APOPTOTIC_COLOUR, "necrotic": NECROTIC_COLOUR}


@pytest.fixture(scope="module")
def two_types(tmp_path_factory) -> Path:
    """A small spheroid-2d run with two cell types: tumour on the left, stroma on the right."""
    root = tmp_path_factory.mktemp("movie_cli")
    spec = tomllib.loads((Path(scenarios.__file__).parent / "spheroid-2d.toml").read_text())
    spec.pop("sources", None)
    spec["name"] = "two-types"
    spec["mesh"]["extent_um"] = [240.0, 240.0]
    spec["time"]["output_interval_min"] = 12.0
    spec["params"]["cell_types"]["stroma"] = dict(spec["params"]["cell_types"]["tumor"])
    pos = ball(2, 16.0, [120.0, 120.0], radius=70.0)
    kind = np.where(pos[:, 0] < 119.0, "tumor", "stroma")
    pd.DataFrame({"x": pos[:, 0], "y": pos[:, 1], "type": kind}).to_csv(root / "cells.csv",
                                                                          index=False)
    spec["params"]["initial"] = {"geometry": "table", "path": str(root / "cells.csv")}
    (root / "two.toml").write_text(tomli_w.dumps(spec))
    out = root / "run"
    proc = run_cli("run", str(root / "two.toml"), "--until", "24", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def _counts(rgb: np.ndarray, tol: int) -> dict[str, int]:
    """Pixels near each palette colour in the map, left of the legend and colour bar."""
    left = rgb[:, : int(0.66 * rgb.shape[1])].astype(int)
    out = {}
    for name, colour in PALETTE.items():
        target = np.round(np.array(to_rgb(colour)) * 255).astype(int)
        out[name] = int((np.abs(left - target) <= tol).all(axis=-1).sum())
    return out


@pytest.mark.slow
def test_movie_mp4_of_a_two_type_run(two_types):
    run = invasim.load_run(two_types)
    proc = run_cli("movie", str(two_types), "--workers", "2", "--fps", "4", "--quiet")
    assert proc.returncode == 0, proc.stderr
    out = two_types / "movie.mp4"
    assert proc.stdout.strip() == str(out) and proc.stderr == ""
    assert sorted(p.name for p in two_types.iterdir() if p.name.startswith(".")) == []
    # what ffmpeg itself reads in the file
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(out)],
                           capture_output=True, text=True)
    stream = next(ln for ln in probe.stderr.splitlines() if "Video:" in ln)
    assert "h264" in stream and "yuv420p" in stream and "4 fps" in stream
    frames = list(iio.imiter(out, plugin="FFMPEG"))
    assert len(frames) == len(run.times) == 3
    h, w = frames[0].shape[:2]
    assert f"{w}x{h}" in stream and w % 2 == 0 and h % 2 == 0 and w >= 640
    for f in frames:
        assert (f.min(axis=-1) < 240).mean() > 0.3  # not blank
    # tumour (type 0) and stroma (type 1) cells, and no other palette colour, in the last
    # frame; their areas in the ratio of their cell counts
    seen = {k: v for k, v in _counts(frames[-1], tol=12).items() if v > 300}
    assert set(seen) == {"type0", "type1"}
    cells = run.cells()
    n0, n1 = ((cells["type"] == k).sum() for k in (0, 1))
    assert seen["type0"] / seen["type1"] == pytest.approx(n0 / n1, rel=0.3)


def test_movie_falls_back_to_gif_by_state(two_types, tmp_path, monkeypatch):
    # an ffmpeg that is not there: the movie comes out as a GIF, and one line says so
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-ffmpeg"))
    proc = run_cli("movie", str(two_types), "--color-by", "state", "--out",
                   str(tmp_path / "state.mp4"), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "state.gif"
    assert proc.stdout.strip() == str(out)
    note = proc.stderr.strip().splitlines()
    assert len(note) == 1 and note[0].startswith("invasim: note: no H.264 MP4"), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.gif"]
    frames = iio.imread(out, index=None)
    assert frames.shape[0] == len(invasim.load_run(two_types).times)
    seen = {k for k, v in _counts(frames[-1], tol=6).items() if v > 300}
    assert seen == {"type0", "type1"}  # no cell died in 24 minutes


def _continuum_run(path: Path) -> Path:
    mesh = Mesh.from_extent([1000.0], 10.0)
    path.mkdir()
    fields = [{"name": "n", "unit": "1", "description": "density",
               "diffusion_um2_per_min": 1.0, "decay_per_min": 0.0}]
    writer = RunWriter(path, mesh, fields)
    writer.write_meta({"scenario_name": "line", "model": "fisher-kpp", "status": "completed",
                       "time_min": 60.0, "dt_min": 1.0, "mesh": mesh.to_dict(),
                       "fields": fields, "metric_names": ["m"]})
    writer.start()
    for t in (0.0, 60.0):
        writer.record(t, {"m": t}, {"n": np.linspace(1.0, 0.0, mesh.nx) * (1 + t)})
    return path


def test_movie_bad_arguments(two_types, tmp_path, capsys):
    # as a user: a separate process
    assert_one_line_error(run_cli("movie", str(tmp_path / "nothing")), "not a run directory")
    # the same entry point in this process (quicker: no start-up per case)
    line = _continuum_run(tmp_path / "line")
    cases = [
        (("movie", str(two_types), "--field", "glucose"), ("unknown field 'glucose'", "oxygen")),
        (("movie", str(two_types), "--color-by", "colour"),
         ("unknown --color-by 'colour'", "type, state, phase, clone, generation")),
        (("movie", str(two_types), "--fps", "0"), ("fps must be between 1 and 120",)),
        (("movie", str(two_types), "--fps", "fast"), ("invalid int value",)),
        (("movie", str(two_types), "--format", "avi"), ("invalid choice",)),
        (("movie", str(line), "--color-by", "type"), ("--color-by applies to agent runs",)),
    ]
    for args, needles in cases:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's errors
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in err, err
        for needle in needles:
            assert needle in lines[0], (needle, lines[0])
    for folder in (two_types, line):  # nothing written, nothing left behind
        assert not list(folder.glob("movie.gif")) and not list(folder.glob(".*"))
    assert not list(line.glob("movie.*"))
