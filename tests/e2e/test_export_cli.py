"""`invasim export` as a user runs it: the files it writes, and one-line errors."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import pyvista as pv
from conftest import assert_one_line_error, run_cli

import invasim

FK = ["--set", "time.dt_min=100", "--set", "time.end_min=2000",
      "--set", "time.output_interval_min=500", "--set", "time.checkpoint_interval_min=1000"]
SPHEROID = ["--until", "12", "--set", "mesh.extent_um=[200, 160]",
            "--set", "params.initial.radius_um=50", "--set", "time.output_interval_min=6"]


def _run(root, scenario, args):
    out = root / scenario
    proc = run_cli("run", scenario, "--out", str(out), "--quiet", *args)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def agent_run(tmp_path_factory):
    """A 2-D spheroid on a 10 × 8 mesh, snapshots at 0, 6 and 12 min."""
    return _run(tmp_path_factory.mktemp("agent"), "spheroid-2d", SPHEROID)


@pytest.fixture(scope="module")
def fk_run(tmp_path_factory):
    """Fisher–KPP in 1-D, snapshots every 500 min to 2000 min."""
    return _run(tmp_path_factory.mktemp("fk"), "fisher-kpp", FK)


def test_export_vtk_writes_an_index_per_series_under_the_run(agent_run):
    proc = run_cli("export", str(agent_run), "--format", "vtk")
    assert proc.returncode == 0, proc.stderr
    out = agent_run / "export" / "vtk"
    assert proc.stdout.splitlines()[:2] == [str(out / "fields.pvd"), str(out / "cells.pvd")]
    assert "6 VTK files" in proc.stdout
    run = invasim.load_run(agent_run)
    last = pv.read(out / f"cells_{len(run.times) - 1:06d}.vtp")
    cells = run.cells(12.0)
    np.testing.assert_array_equal(last.points[:, :2], cells[["x", "y"]].to_numpy())
    np.testing.assert_array_equal(last.point_data["id"], cells["id"].to_numpy())
    again = run_cli("export", str(agent_run), "--format", "vtk")
    assert_one_line_error(again, "earlier export", "--overwrite")
    proc = run_cli("export", str(agent_run), "--format", "vtk", "--time", "6", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "cells.pvd", "cells_000001.vtp", "fields.pvd", "fields_000001.vti"]  # fmt: skip


def test_export_anndata_of_one_snapshot_to_a_file(agent_run, tmp_path):
    path = tmp_path / "spheroid.h5ad"
    proc = run_cli("export", str(agent_run), "--format", "anndata", "--time", "6",
                   "--out", str(path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(path)
    adata = ad.read_h5ad(path)
    cells = invasim.load_run(agent_run).cells(6.0)
    assert adata.n_obs == len(cells)
    assert set(adata.obs["time_min"]) == {6.0}
    np.testing.assert_array_equal(adata.obs["id"].to_numpy(), cells["id"].to_numpy())
    np.testing.assert_array_equal(adata.obsm["spatial"], cells[["x", "y"]].to_numpy())
    assert list(adata.obs["type"].cat.categories) == ["tumor"]


def test_export_csv_of_a_continuum_run_picks_fields_and_times(fk_run, tmp_path):
    out = tmp_path / "csv"
    proc = run_cli("export", str(fk_run), "--format", "csv", "--out", str(out),
                   "--time", "2000", "--time", "0", "--field", "n")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["columns.csv", "fields.csv", "metrics.csv"]
    run = invasim.load_run(fk_run)
    fields = pd.read_csv(out / "fields.csv", float_precision="round_trip")
    assert list(fields.columns) == ["time_min", "x", "n"]
    for t in (0.0, 2000.0):
        np.testing.assert_array_equal(fields.loc[fields["time_min"] == t, "n"], run.field("n", t))
    assert len(fields) == 2 * run.mesh.n_voxels


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["/nonexistent/run", "--format", "vtk"], ["not a run directory"]),
        (["{empty}", "--format", "csv"], ["not a run directory", "no run.json"]),
        (["{fk}", "--format", "vtk", "--field", "oxygen"], ["unknown field 'oxygen'", "has n"]),
        (["{fk}", "--format", "csv", "--time", "123"],
         ["no snapshot at t = 123 min", "nearest 0 min", "0, 500, 1000, 1500, 2000 min"]),
        (["{fk}", "--format", "xml"], ["invalid choice: 'xml'"]),
        (["{fk}", "--format", "anndata"], ["has no cells; anndata export needs an agent run"]),
    ],
)  # fmt: skip
def test_bad_export_arguments_are_one_line_and_exit_2(fk_run, tmp_path, args, needles):
    (tmp_path / "empty").mkdir()
    args = [a.format(fk=fk_run, empty=tmp_path / "empty") for a in args]
    assert_one_line_error(run_cli("export", *args), *needles)
    assert not (fk_run / "export").exists()
