"""Export to VTK, AnnData and CSV, read back with pyvista, anndata and pandas.

Every file is compared with the run's own snapshots (``Run.field``, ``Run.cells``), and the
voxel layout with the voxel centres computed here from the mesh, not by the exporter.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import pyvista as pv

from invasim import Simulation, load_run, load_scenario
from invasim.core.mesh import Mesh
from invasim.errors import InvasimError, RunDirError
from invasim.io import export as ex
from invasim.io.rundir import RunWriter

STATES = ["alive", "apoptotic", "necrotic"]
COORDS = ("x", "y", "z")


# -- runs --------------------------------------------------------------------------------------
def _simulate(root: Path, name: str, overrides: list[str], until: float):
    sim = Simulation(load_scenario(name, overrides), seed=None)
    return sim.run(until=until, out=root / name, progress=False)


@pytest.fixture(scope="module")
def agent2d(tmp_path_factory):
    """A 2-D agent run on a 10 × 8 mesh: two cell types, the second motile (three traits)."""
    root = tmp_path_factory.mktemp("agent2d")
    table = root / "cells.csv"
    rows = [f"{60 + 16 * i},{50 + 16 * j},{'stroma' if (i + j) % 3 == 0 else 'tumor'}"
            for i in range(6) for j in range(4)]  # fmt: skip
    table.write_text("x,y,type\n" + "\n".join(rows) + "\n")
    return _simulate(root, "spheroid-2d", [
        "mesh.extent_um=[200, 160]", "params.initial.geometry=table",
        f"params.initial.path={table}", "time.output_interval_min=6",
        "params.cell_types.stroma={motility={speed_um_per_min=1.0}}",
    ], until=12)  # fmt: skip


@pytest.fixture(scope="module")
def agent3d(tmp_path_factory):
    """A 3-D agent run on a 5 × 4 × 3 mesh."""
    root = tmp_path_factory.mktemp("agent3d")
    return _simulate(root, "spheroid-3d", [
        "mesh.extent_um=[200, 160, 120]", "mesh.voxel_um=40", "params.initial.radius_um=30",
        "time.output_interval_min=6",
    ], until=12)  # fmt: skip


@pytest.fixture(scope="module")
def continuum2d(tmp_path_factory):
    """Anderson–Chaplain on a 20 × 15 mesh: four fields, three snapshots."""
    root = tmp_path_factory.mktemp("ac")
    return _simulate(root, "anderson-chaplain", [
        "mesh.extent_um=[2000, 1500]", "mesh.voxel_um=100", "time.output_interval_min=250",
        "time.checkpoint_interval_min=500",
    ], until=500)  # fmt: skip


@pytest.fixture(scope="module")
def continuum1d(tmp_path_factory):
    """Fisher–KPP in 1-D, five snapshots."""
    root = tmp_path_factory.mktemp("fk")
    return _simulate(root, "fisher-kpp", [
        "time.dt_min=100", "time.output_interval_min=500", "time.checkpoint_interval_min=1000",
    ], until=2000)  # fmt: skip


FIELDS = [
    {"name": "oxygen", "unit": "mmHg", "description": "oxygen", "diffusion_um2_per_min": 1e5,
     "decay_per_min": 0.1},
    {"name": "drug", "unit": "µM", "description": "drug – a test", "diffusion_um2_per_min": 1e4,
     "decay_per_min": 0.0},
]  # fmt: skip


def _hand_cells(t: float, rng) -> pd.DataFrame:
    """A cell table with every dead state and columns no model writes yet: a float trait, a
    boolean flag and a text label (how later traits and clone labels arrive)."""
    n = 40 + int(t)
    dead = np.zeros(n, np.int8)
    dead[:5], dead[5:9] = 2, 1
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64) + int(t) * 100, "parent_id": np.full(n, -1),
        "clone_id": np.arange(n) % 4, "generation": np.zeros(n, np.int32),
        "type": (np.arange(n) % 2).astype(np.int32), "phase": np.zeros(n, np.int32),
        "time_in_phase": rng.uniform(0, 60, n), "dead": dead,
        "x": rng.uniform(0, 300, n), "y": rng.uniform(0, 200, n), "radius": rng.uniform(5, 9, n),
        "volume": rng.uniform(1000, 3000, n), "stemness": rng.random(n),
        "invasive": rng.random(n) < 0.5, "clone_label": [f"clone-{i % 3}" for i in range(n)],
    })  # fmt: skip


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    """A hand-written 2-D agent run (15 × 10 voxels) with extra column kinds."""
    path = tmp_path_factory.mktemp("hand") / "run"
    path.mkdir()
    mesh = Mesh(dim=2, n=(15, 10), h=20.0)
    writer = RunWriter(path, mesh, FIELDS)
    writer.write_meta({
        "invasim_version": "0.0.test", "scenario_name": "by-hand", "model": "agents", "seed": 5,
        "status": "completed", "time_min": 20.0, "end_min": 20.0, "step": 2, "dt_min": 10.0,
        "mesh": mesh.to_dict(), "fields": FIELDS, "metric_names": ["n_cells"],
        "scenario": {"params": {"cell_types": {"tumor": {}, "stroma": {}}}},
    })  # fmt: skip
    writer.start()
    rng = np.random.default_rng(7)
    for t in (0.0, 10.0, 20.0):
        frame = _hand_cells(t, rng)
        fields = {"oxygen": rng.uniform(0, 38, mesh.shape), "drug": rng.random(mesh.shape)}
        writer.record(t, {"n_cells": len(frame)}, fields, tables={"cells": frame})
    return load_run(path)


AGENT_RUNS = ["agent2d", "agent3d", "handmade"]
ALL_RUNS = [*AGENT_RUNS, "continuum2d", "continuum1d"]


def _run(request, name):
    return request.getfixturevalue(name)


def _type_names(run) -> list[str]:
    return list(run.meta["scenario"]["params"]["cell_types"])


# -- VTK ---------------------------------------------------------------------------------------
def _pvd(path: Path) -> list[tuple[float, str]]:
    root = ET.parse(path).getroot()
    assert root.get("type") == "Collection"
    return [(float(d.get("timestep")), d.get("file")) for d in root.iter("DataSet")]


@pytest.mark.parametrize("name", ALL_RUNS)
def test_vtk_fields_equal_the_snapshots_voxel_by_voxel(request, name, tmp_path):
    run = _run(request, name)
    mesh = run.mesh
    paths = ex.export_vtk(run, tmp_path / "vtk")
    assert all(p.is_file() for p in paths)
    entries = _pvd(tmp_path / "vtk" / "fields.pvd")
    assert [t for t, _ in entries] == list(run.times)
    for t, file in entries:
        img = pv.read(tmp_path / "vtk" / file)
        assert isinstance(img, pv.ImageData)
        assert img.origin == (0.0, 0.0, 0.0) and img.spacing == (mesh.h,) * 3
        assert img.n_cells == mesh.n_voxels
        assert img.field_data["time_min"][0] == t
        # which voxel each VTK cell is, from its centre: (i + 0.5) h along each axis
        idx = np.floor(img.cell_centers().points / mesh.h).astype(int)
        for f in run.field_names:
            want = run.field(f, t)
            at = tuple(idx[:, a] for a in reversed(range(mesh.dim)))  # (z,) (y,) x order
            np.testing.assert_array_equal(img.cell_data[f], want[at])
            assert str(img.field_data[f"{f}_unit"][0]) == ex._ascii(run.field_info[f]["unit"])
    assert not (tmp_path / "vtk" / "cells.pvd").exists() or ex.has_cells(run)


@pytest.mark.parametrize("name", AGENT_RUNS)
def test_vtk_cells_are_points_with_every_column(request, name, tmp_path):
    run = _run(request, name)
    ex.export_vtk(run, tmp_path)
    entries = _pvd(tmp_path / "cells.pvd")
    assert [t for t, _ in entries] == list(run.times)
    for t, file in entries:
        poly = pv.read(tmp_path / file)
        cells = run.cells(t)
        assert poly.n_points == len(cells) and poly.n_verts == len(cells)
        for a, c in enumerate(COORDS):
            want = cells[c].to_numpy() if c in cells else np.zeros(len(cells))
            np.testing.assert_array_equal(poly.points[:, a], want)
        assert poly.field_data["time_min"][0] == t
        assert list(poly.field_data["type_names"]) == _type_names(run)
        assert list(poly.field_data["dead_names"]) == STATES
        for c in cells.columns:
            if c in COORDS or c == "time_min":
                continue
            got = np.asarray(poly.point_data[c])
            if not pd.api.types.is_numeric_dtype(cells[c]):  # text: codes into <column>_names
                assert list(np.asarray(poly.field_data[f"{c}_names"])[got]) == list(cells[c])
            elif cells[c].dtype == bool:  # VTK has no bool: 0 / 1
                np.testing.assert_array_equal(got, cells[c].to_numpy().astype(np.uint8))
            else:
                assert got.dtype == cells[c].dtype, c
                np.testing.assert_array_equal(got, cells[c].to_numpy(), err_msg=c)


def test_vtk_selected_times_and_fields(handmade, tmp_path):
    paths = ex.export_vtk(handmade, tmp_path, times=[20.0, 0.0], fields=["drug"])
    assert sorted(p.name for p in paths) == sorted(
        ["fields_000000.vti", "fields_000002.vti", "cells_000000.vtp", "cells_000002.vtp",
         "fields.pvd", "cells.pvd"])  # fmt: skip
    assert [t for t, _ in _pvd(tmp_path / "fields.pvd")] == [0.0, 20.0]
    img = pv.read(tmp_path / "fields_000002.vti")
    assert list(img.cell_data) == ["drug"]
    assert str(img.field_data["drug_unit"][0]) == "uM"  # VTK strings are ASCII


# -- AnnData -----------------------------------------------------------------------------------
def _frame_from_anndata(adata, columns) -> pd.DataFrame:
    """A cell table rebuilt from an AnnData: obs, X and spatial, coded columns from categories."""
    parts = {c: adata.obs[c].to_numpy() for c in adata.obs.columns}
    parts["type"] = adata.obs["type"].cat.codes.to_numpy()
    parts["dead"] = adata.obs["state"].cat.codes.to_numpy()
    parts.update({v: adata.X[:, i] for i, v in enumerate(adata.var_names)})
    spatial = adata.obsm["spatial"]
    parts.update({c: spatial[:, a] for a, c in enumerate(COORDS[: spatial.shape[1]])})
    return pd.DataFrame({c: parts[c] for c in columns})


@pytest.mark.parametrize("name", AGENT_RUNS)
def test_anndata_round_trip_equals_every_snapshot(request, name, tmp_path):
    run = _run(request, name)
    path = ex.export_anndata(run, tmp_path / "sub" / "cells.h5ad")
    adata = ad.read_h5ad(path)
    assert adata.n_obs == sum(len(run.cells(t)) for t in run.times)
    assert adata.obs_names.is_unique
    assert list(adata.obs["type"].cat.categories) == _type_names(run)
    assert list(adata.obs["state"].cat.categories) == STATES
    assert adata.obsm["spatial"].shape[1] == run.mesh.dim
    assert {"radius", "volume"} <= set(adata.var_names)
    assert not {"id", "type", "dead", "time_min", "x"} & set(adata.var_names)
    assert adata.var.loc["volume", "unit"] == "µm³"
    assert adata.uns["scenario"] == run.meta["scenario_name"]
    assert adata.uns["seed"] == run.meta["seed"]
    assert adata.uns["invasim_version"] == run.meta["invasim_version"]
    assert adata.uns["units"]["spatial"] == "µm"
    np.testing.assert_array_equal(adata.uns["times_min"], run.times)
    for t in run.times:
        want = run.cells(t)
        sub = adata[adata.obs["time_min"].to_numpy() == t]
        got = _frame_from_anndata(sub, want.columns)
        for c in want.columns:
            if not pd.api.types.is_numeric_dtype(want[c]):  # text: a categorical of its words
                assert list(got[c].astype(str)) == list(want[c]), c
            else:
                np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(), err_msg=c)
                if c not in ("type", "dead"):  # those two are categorical codes
                    assert got[c].dtype == want[c].dtype, c


def test_anndata_measurements_are_the_float_columns_of_the_table(handmade):
    adata = ex.to_anndata(handmade, times=[10.0])
    assert list(adata.var_names) == ["radius", "volume", "stemness"]
    assert {"invasive", "clone_label", "id", "clone_id", "time_in_phase"} <= set(adata.obs)
    assert adata.X.dtype == np.float64


def test_anndata_of_a_continuum_run_is_refused(continuum1d, tmp_path):
    with pytest.raises(InvasimError, match="has no cells; anndata export needs an agent run"):
        ex.export_anndata(continuum1d, tmp_path / "x.h5ad")
    assert not list(tmp_path.iterdir())


# -- CSV ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_RUNS)
def test_csv_round_trip(request, name, tmp_path):
    run = _run(request, name)
    mesh = run.mesh
    ex.export_csv(run, tmp_path)
    read = dict(float_precision="round_trip")  # pandas' default parser may miss the last bit
    assert (tmp_path / "metrics.csv").read_bytes() == (run.path / "metrics.csv").read_bytes()
    fields = pd.read_csv(tmp_path / "fields.csv", **read)
    assert list(fields.columns) == ["time_min", *COORDS[: mesh.dim], *run.field_names]
    assert sorted(set(fields["time_min"])) == list(run.times)
    for t, rows in fields.groupby("time_min"):
        assert len(rows) == mesh.n_voxels
        idx = [np.rint(rows[a].to_numpy() / mesh.h - 0.5).astype(int) for a in COORDS[: mesh.dim]]
        for a, i in zip(COORDS, idx, strict=False):  # voxel centres, each voxel once
            np.testing.assert_array_equal(rows[a].to_numpy(), (i + 0.5) * mesh.h)
        assert np.unique(np.stack(idx), axis=1).shape[1] == mesh.n_voxels
        for f in run.field_names:
            want = run.field(f, t)[tuple(reversed(idx))]
            np.testing.assert_array_equal(rows[f].to_numpy(), want)
    dictionary = pd.read_csv(tmp_path / "columns.csv", keep_default_na=False)
    listed = set(zip(dictionary["table"], dictionary["column"], strict=True))
    assert {("fields", c) for c in fields.columns} <= listed
    if not ex.has_cells(run):
        assert not (tmp_path / "cells.csv").exists()
        return
    cells = pd.read_csv(tmp_path / "cells.csv", **read)
    assert cells.columns[0] == "time_min"
    assert {("cells", c) for c in cells.columns} <= listed
    for t in run.times:
        want = run.cells(t)
        got = cells[cells["time_min"] == t].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[list(want.columns)], want, check_dtype=False)
        assert list(got["type_name"]) == [_type_names(run)[k] for k in want["type"]]
        assert list(got["state"]) == [STATES[k] for k in want["dead"]]


# -- choosing, refusing, replacing -------------------------------------------------------------
def test_unknown_field_and_time_name_what_the_run_has(continuum2d, tmp_path):
    with pytest.raises(InvasimError, match=r"unknown field 'oxygen'; .* has n, f, m, c"):
        ex.export_vtk(continuum2d, tmp_path, fields=["oxygen"])
    with pytest.raises(InvasimError, match=r"no snapshot at t = 100 min .*nearest 0 min.*250"):
        ex.export_csv(continuum2d, tmp_path, times=[100.0])
    with pytest.raises(InvasimError, match="no snapshot at t = nan"):
        ex.export_csv(continuum2d, tmp_path, times=[float("nan")])
    with pytest.raises(InvasimError, match="unknown export format 'xml'"):
        ex.export(continuum2d, "xml", tmp_path)
    assert not list(tmp_path.iterdir())


def test_an_earlier_export_is_refused_then_replaced_whole(handmade, tmp_path):
    out = tmp_path / "e"
    ex.export_vtk(handmade, out)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(RunDirError, match="earlier export .* --overwrite"):
        ex.export_vtk(handmade, out, times=[10.0])
    assert sorted(p.name for p in out.iterdir()) == before
    ex.export_vtk(handmade, out, times=[10.0], overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "cells.pvd", "cells_000001.vtp", "fields.pvd", "fields_000001.vti"]  # fmt: skip
    h5 = tmp_path / "c.h5ad"
    ex.export_anndata(handmade, h5)
    with pytest.raises(RunDirError, match="exists; pass --overwrite"):
        ex.export_anndata(handmade, h5)
    ex.export_anndata(handmade, h5, times=[0.0], overwrite=True)
    assert ad.read_h5ad(h5).n_obs == len(handmade.cells(0.0))


def test_a_failed_export_leaves_the_folder_as_it_was(handmade, tmp_path, monkeypatch):
    out = tmp_path / "e"
    ex.export_vtk(handmade, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []

    def failing(frame, names, t):  # the third snapshot's cells cannot be written
        calls.append(t)
        if len(calls) == 3:
            raise RunDirError("disk full while writing cells")
        return real(frame, names, t)

    real = ex.cell_points
    monkeypatch.setattr(ex, "cell_points", failing)
    with pytest.raises(RunDirError, match="disk full"):
        ex.export_vtk(handmade, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no staging folder left
    calls.clear()
    with pytest.raises(RunDirError, match="disk full"):
        ex.export_vtk(handmade, tmp_path / "new" / "vtk")
    assert not (tmp_path / "new").exists()


def test_default_output_folders(handmade):
    paths = ex.export(handmade, "anndata")
    assert paths == [handmade.path / "export" / "anndata" / "cells.h5ad"]
    paths = ex.export(handmade, "csv", times=[0.0])
    assert {p.parent for p in paths} == {handmade.path / "export" / "csv"}
    with pytest.raises(InvasimError, match="--field applies to the vtk and csv"):
        ex.export(handmade, "anndata", fields=["drug"])
