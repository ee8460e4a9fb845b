"""Export to PhysiCell's output format, read back with xml.etree and scipy.io (and pcdl if any).

Every file is compared with the run's own snapshots (``Run.cells``, ``Run.field``), and the
voxel layout with voxel centres computed here from the mesh. The pcdl checks skip where pcdl
is not installed (it is no dependency of invasim).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
from conftest import run_cli

from invasim import Simulation, load_run, load_scenario
from invasim.core.mesh import Mesh
from invasim.errors import InvasimError, RunDirError
from invasim.io import export as ex
from invasim.io.rundir import RunWriter

FIELDS = [
    {"name": "oxygen", "unit": "mmHg", "description": "oxygen", "diffusion_um2_per_min": 1e5,
     "decay_per_min": 0.1},
    {"name": "drug", "unit": "µM", "description": "drug", "diffusion_um2_per_min": 1e4,
     "decay_per_min": 0.0},
]  # fmt: skip
GRAPHS = ("cell_neighbor_graph", "attached_cells_graph", "spring_attached_cells_graph")
#: the labels pcdl needs (or PhysiCell always writes) and their sizes
REQUIRED = {
    "ID": 1, "position": 3, "total_volume": 1, "cell_type": 1, "cycle_model": 1,
    "current_phase": 1, "dead": 1, "current_death_model": 1, "radius": 1, "chemotaxis_index": 1,
}  # fmt: skip


# -- runs --------------------------------------------------------------------------------------
def _simulate(root: Path, name: str, overrides: list[str], until: float):
    sim = Simulation(load_scenario(name, overrides), seed=None)
    return sim.run(until=until, out=root / name, progress=False)


@pytest.fixture(scope="module")
def agent2d(tmp_path_factory):
    """A 2-D agent run on a 10 × 8 mesh: two cell types, the second motile."""
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
    ], until=6)  # fmt: skip


@pytest.fixture(scope="module")
def continuum1d(tmp_path_factory):
    """Fisher–KPP in 1-D: fields, no cells."""
    root = tmp_path_factory.mktemp("fk")
    return _simulate(root, "fisher-kpp", [
        "time.dt_min=100", "time.output_interval_min=500", "time.checkpoint_interval_min=1000",
    ], until=1000)  # fmt: skip


def _hand_cells(t: float, rng) -> pd.DataFrame:
    """Every dead state and phase; a trait, a flag, a text label and columns whose names are
    PhysiCell's (``damage``) or a field's (``oxygen``)."""
    n = 40
    dead = np.zeros(n, np.int8)
    dead[:6], dead[6:9] = 2, 1
    phase = (np.arange(n, dtype=np.int32) // 2) % 4
    phase[:6] = np.arange(6) % 2  # necrotic: swelling, lysed
    phase[6:9] = 0
    types = (np.arange(n) % 2).astype(np.int32)
    phase[(types == 0) & (dead == 0)] = 0  # tumor: the one-phase live model
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64) * 3 + int(t), "parent_id": np.full(n, -1),
        "clone_id": np.arange(n) % 4, "generation": np.zeros(n, np.int32), "type": types,
        "phase": phase, "time_in_phase": rng.uniform(0, 60, n), "dead": dead,
        "x": rng.uniform(0, 300, n), "y": rng.uniform(0, 200, n), "radius": rng.uniform(5, 9, n),
        "volume": rng.uniform(1000, 3000, n), "pressure": rng.random(n),
        "stemness": rng.random(n), "damage": rng.random(n), "oxygen": rng.random(n),
        "invasive": rng.random(n) < 0.5, "clone_label": [f"clone-{i % 3}" for i in range(n)],
    })  # fmt: skip


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    """A hand-written 2-D agent run (15 × 10 voxels), tumor on ``live``, stroma the default."""
    path = tmp_path_factory.mktemp("hand") / "run"
    path.mkdir()
    mesh = Mesh(dim=2, n=(15, 10), h=20.0)
    writer = RunWriter(path, mesh, FIELDS)
    writer.write_meta({
        "invasim_version": "0.0.test", "scenario_name": "by-hand", "model": "agents", "seed": 5,
        "status": "completed", "time_min": 20.0, "end_min": 20.0, "step": 2, "dt_min": 10.0,
        "mesh": mesh.to_dict(), "fields": FIELDS, "metric_names": ["n_cells"],
        "scenario": {"params": {"cell_types": {"tumor": {"cycle": {"model": "live"}},
                                               "stroma": {}}}},
    })  # fmt: skip
    writer.start()
    rng = np.random.default_rng(7)
    for t in (0.0, 10.0, 20.0):
        fields = {"oxygen": rng.uniform(0, 38, mesh.shape), "drug": rng.random(mesh.shape)}
        writer.record(t, {"n_cells": 40}, fields, tables={"cells": _hand_cells(t, rng)})
    return load_run(path)


AGENT_RUNS = ["agent2d", "agent3d", "handmade"]
ALL_RUNS = [*AGENT_RUNS, "continuum1d"]


# -- readers written here ----------------------------------------------------------------------
def _labels(root: ET.Element) -> list[tuple[str, int, int, str]]:
    """``(name, index, size, units)`` of each cell label."""
    labs = root.find("cellular_information/cell_populations/cell_population/custom/"
                     "simplified_data/labels")  # fmt: skip
    return [(lab.text, int(lab.get("index")), int(lab.get("size")), lab.get("units"))
            for lab in labs]  # fmt: skip


def _cells(out: Path, k: int) -> tuple[ET.Element, pd.DataFrame]:
    """The XML root and the cell table (position split into x, y, z) of snapshot ``k``."""
    root = ET.parse(out / f"output{k:08d}.xml").getroot()
    mat = scipy.io.loadmat(out / f"output{k:08d}_cells.mat")["cells"]
    cols = {}
    for name, index, size, _ in _labels(root):
        if size == 1:
            cols[name] = mat[index]
        else:
            for a in range(size):
                cols[f"{name}_{'xyz'[a]}"] = mat[index + a]
    return root, pd.DataFrame(cols)


def _centres(mesh: Mesh) -> np.ndarray:
    """``[3, n_voxels]`` voxel centres, x fastest; 0 on a missing axis."""
    axes = [(np.arange(mesh.n[a]) + 0.5) * mesh.h if a < mesh.dim else np.zeros(1)
            for a in range(3)]  # fmt: skip
    z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return np.stack([x.ravel(), y.ravel(), z.ravel()])


def _run(request, name):
    return request.getfixturevalue(name)


# -- files and labels --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_RUNS)
def test_every_snapshot_has_its_files_and_consistent_labels(request, name, tmp_path):
    run = _run(request, name)
    paths = ex.export(run, "physicell", tmp_path)
    n = len(run.times)
    assert [p.name for p in paths[-n:]] == [f"output{k:08d}.xml" for k in range(n)]  # last
    expected = {"initial_mesh0.mat"} | {
        f"output{k:08d}{s}" for k in range(n)
        for s in (".xml", "_cells.mat", "_microenvironment0.mat", *(f"_{g}.txt" for g in GRAPHS))
    }  # fmt: skip
    assert {p.name for p in tmp_path.iterdir()} == expected == {p.name for p in paths}
    types = list(run.meta["scenario"]["params"].get("cell_types") or {})
    for k, t in enumerate(run.times):
        root, cells = _cells(tmp_path, k)
        assert root.tag == "MultiCellDS" and root.get("version") == "2"
        assert float(root.find("metadata/current_time").text) == pytest.approx(t)
        labels = _labels(root)
        sizes = {lab[0]: lab[2] for lab in labels}
        starts = np.cumsum([0] + [s for _, _, s, _ in labels])[:-1]
        assert [lab[1] for lab in labels] == list(starts)
        mat = scipy.io.loadmat(tmp_path / f"output{k:08d}_cells.mat")["cells"]
        assert mat.shape[0] == sum(sizes.values())
        assert {name: sizes.get(name) for name in REQUIRED} == REQUIRED
        names = [e.text for e in root.iter("type")]
        assert names[: len(types)] == types


@pytest.mark.parametrize("name", AGENT_RUNS)
def test_cells_equal_the_run(request, name, tmp_path):
    run = _run(request, name)
    ex.export(run, "physicell", tmp_path)
    for k, t in enumerate(run.times):
        want = run.cells(t)
        _, got = _cells(tmp_path, k)
        assert len(got) == len(want)
        np.testing.assert_array_equal(got["ID"], want["id"])
        for c in ("x", "y", "z"):
            np.testing.assert_array_equal(got[f"position_{c}"], want[c] if c in want else 0.0)
        np.testing.assert_array_equal(got["total_volume"], want["volume"])
        np.testing.assert_array_equal(got["radius"], want["radius"])
        np.testing.assert_array_equal(got["cell_type"], want["type"])
        np.testing.assert_array_equal(got["elapsed_time_in_phase"], want["time_in_phase"])
        np.testing.assert_array_equal(got["dead"], want["dead"] != 0)
        if "pressure" in want:
            np.testing.assert_array_equal(got["pressure"], want["pressure"])


def test_cycle_and_death_codes_are_physicells(handmade, tmp_path):
    ex.export(handmade, "physicell", tmp_path)
    want = handmade.cells(0.0)
    _, got = _cells(tmp_path, 0)
    codes = got[["cycle_model", "current_phase", "dead", "current_death_model"]].to_numpy()
    fcs = (4, 10, 12, 13)  # G0G1_phase, S_phase, G2_phase, M_phase
    for (typ, phase, dead), row in zip(want[["type", "phase", "dead"]].to_numpy(), codes,
                                       strict=True):  # fmt: skip
        if dead == 1:
            assert tuple(row) == (100, 100, 1, 0)  # apoptosis model, apoptotic
        elif dead == 2:
            assert tuple(row) == (101, (101, 102)[phase], 1, 1)  # necrotic swelling, lysed
        elif typ == 0:
            assert tuple(row) == (5, 14, 0, 0)  # live model, live
        else:
            assert tuple(row) == (6, fcs[phase], 0, 0)  # flow cytometry separated
    assert {tuple(r[:2]) for r in codes} >= {(100, 100), (101, 101), (101, 102), (5, 14),
                                              (6, 4), (6, 10), (6, 12), (6, 13)}  # fmt: skip


def test_other_columns_are_custom_data_under_free_names(handmade, tmp_path):
    ex.export(handmade, "physicell", tmp_path)
    want = handmade.cells(10.0)
    root, got = _cells(tmp_path, 1)
    units = {lab[0]: lab[3] for lab in _labels(root)}
    for col, label in {"parent_id": "parent_id", "clone_id": "clone_id",
                       "generation": "generation", "stemness": "stemness",
                       "invasive": "invasive", "damage": "invasim_damage",
                       "oxygen": "invasim_oxygen"}.items():  # fmt: skip
        np.testing.assert_array_equal(got[label], want[col].astype(float))
    assert "damage" not in got and "oxygen" not in got  # PhysiCell's and the field's names
    assert not any("clone_label" in c for c in got)  # text: left out
    assert units["ID"] == "none" and units["position"] == "microns"
    assert units["total_volume"] == "cubic microns" and units["elapsed_time_in_phase"] == "min"


def test_neighbour_graph_is_physicells_interaction_distance(agent2d, tmp_path):
    ex.export(agent2d, "physicell", tmp_path)
    cells = agent2d.cells(12.0)
    k = len(agent2d.times) - 1
    ids = cells["id"].to_numpy()
    pos = cells[["x", "y"]].to_numpy()
    reach = 1.25 * cells["radius"].to_numpy()  # the scenario's relative max adhesion distance
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    near = (d < reach[:, None] + reach[None]) & ~np.eye(len(ids), dtype=bool)
    want = {int(i): set(ids[near[r]].tolist()) for r, i in enumerate(ids)}
    assert any(want.values())

    def read(g: str) -> dict[int, set[int]]:
        out = {}
        for line in (tmp_path / f"output{k:08d}_{g}.txt").read_text().splitlines():
            key, _, rest = line.partition(":")
            out[int(key)] = {int(v) for v in rest.split(",") if v.strip()}
        return out

    assert read("cell_neighbor_graph") == want
    assert read("attached_cells_graph") == {int(i): set() for i in ids}


# -- fields ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_RUNS)
def test_fields_equal_the_snapshots_voxel_by_voxel(request, name, tmp_path):
    run = _run(request, name)
    ex.export(run, "physicell", tmp_path)
    mesh, info = run.mesh, run.field_info
    centres = _centres(mesh)
    grid = scipy.io.loadmat(tmp_path / "initial_mesh0.mat")["mesh"]
    np.testing.assert_allclose(grid[:3], centres, rtol=0, atol=1e-12)
    np.testing.assert_allclose(grid[3], mesh.h**3)
    for k, t in enumerate(run.times):
        root = ET.parse(tmp_path / f"output{k:08d}.xml").getroot()
        m = root.find("microenvironment/domain/mesh")
        for a, c in enumerate("xyz"):  # the XML's centres are the .mat's, digit for digit
            axis = np.array(m.find(f"{c}_coordinates").text.split(" "), dtype=float)
            np.testing.assert_array_equal(np.unique(centres[a]), axis)
        box = np.array(m.find("bounding_box").text.split(), dtype=float)
        lo = [0.0 if a < mesh.dim else -mesh.h / 2 for a in range(3)]
        hi = [mesh.n[a] * mesh.h if a < mesh.dim else mesh.h / 2 for a in range(3)]
        np.testing.assert_allclose(box, lo + hi)
        env = scipy.io.loadmat(tmp_path / f"output{k:08d}_microenvironment0.mat")[
            "multiscale_microenvironment"
        ]
        assert env.shape == (4 + len(run.field_names), mesh.n_voxels)
        np.testing.assert_array_equal(env[:4], grid)
        variables = root.findall("microenvironment/domain/variables/variable")
        assert [v.get("name") for v in variables] == run.field_names
        for i, v in enumerate(variables):
            f = v.get("name")
            np.testing.assert_array_equal(env[4 + i], np.asarray(run.field(f, t)).ravel())
            d = float(v.find("physical_parameter_set/diffusion_coefficient").text)
            assert d == pytest.approx(info[f]["diffusion_um2_per_min"], rel=1e-6)
            decay = float(v.find("physical_parameter_set/decay_rate").text)
            assert decay == pytest.approx(info[f]["decay_per_min"], rel=1e-6, abs=1e-6)
    if name == "handmade":
        assert [v.get("units") for v in variables] == ["mmHg", "uM"]


def test_selected_times_fields_and_an_earlier_export(handmade, tmp_path):
    out = tmp_path / "pc"
    ex.export(handmade, "physicell", out, times=[10.0], fields=["drug"])
    assert sorted(p.name for p in out.glob("*.xml")) == ["output00000001.xml"]
    env = scipy.io.loadmat(out / "output00000001_microenvironment0.mat")
    np.testing.assert_array_equal(env["multiscale_microenvironment"][4],
                                  handmade.field("drug", 10.0).ravel())  # fmt: skip
    assert env["multiscale_microenvironment"].shape[0] == 5
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RunDirError, match="earlier export .* --overwrite"):
        ex.export(handmade, "physicell", out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    ex.export(handmade, "physicell", out, times=[20.0], overwrite=True)
    assert sorted(p.name for p in out.glob("*.xml")) == ["output00000002.xml"]  # stale gone
    assert not list(out.glob("output00000001*"))
    with pytest.raises(InvasimError, match="unknown field 'glucose'"):
        ex.export(handmade, "physicell", tmp_path / "x", fields=["glucose"])
    with pytest.raises(InvasimError, match="no snapshot at t = 35"):
        ex.export(handmade, "physicell", tmp_path / "x", times=[35.0])
    assert ex.export(handmade, "physicell", times=[0.0])[0].parent == (
        handmade.path / "export" / "physicell"
    )


def test_command_line(handmade, tmp_path):
    out = tmp_path / "cli"
    res = run_cli("export", str(handmade.path), "--format", "physicell", "--out", str(out),
                  "--time", "20")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (out / "output00000002.xml").is_file()
    # one line for the folder, not one per file (six per snapshot)
    assert res.stdout.strip().splitlines() == [
        f"{len(list(out.iterdir()))} PhysiCell output files in {out} (pcdl.TimeSeries)"
    ]


# -- pcdl, PhysiCell's own loader (not installed in CI) ----------------------------------------
@pytest.mark.parametrize("name", ALL_RUNS)
def test_pcdl_reads_the_export(request, name, tmp_path):
    pcdl = pytest.importorskip("pcdl")
    run = _run(request, name)
    ex.export(run, "physicell", tmp_path)
    series = pcdl.TimeSeries(str(tmp_path), verbose=False)
    steps = series.get_mcds_list()
    assert [s.get_time() for s in steps] == pytest.approx(list(run.times))
    types = list(run.meta["scenario"]["params"].get("cell_types") or {})
    for step, t in zip(steps, run.times, strict=True):
        conc = step.get_conc_df()
        mesh = run.mesh
        for f in run.field_names:  # back onto invasim's (z, y, x) array by voxel index
            got = np.zeros(mesh.n)  # [i, j, k]
            idx = tuple(conc[f"voxel_{a}"].to_numpy() for a in "ijk"[: mesh.dim])
            got[idx] = conc[f].to_numpy()
            np.testing.assert_array_equal(got.T, run.field(f, t))
        cells = step.get_cell_df()
        if not types:
            assert len(cells) == 0
            continue
        want = run.cells(t).set_index("id").sort_index()
        assert list(cells.index) == list(want.index)
        np.testing.assert_array_equal(cells["position_x"], want["x"])
        np.testing.assert_array_equal(cells["position_y"], want["y"])
        np.testing.assert_array_equal(cells["total_volume"], want["volume"])
        np.testing.assert_array_equal(cells["cell_type"], np.array(types)[want["type"]])
        np.testing.assert_array_equal(cells["dead"], want["dead"] != 0)
        for (dead, phase), got in zip(want[["dead", "phase"]].to_numpy(), cells["current_phase"],
                                      strict=True):  # fmt: skip
            if dead == 1:
                assert got == "apoptotic"
            elif dead == 2:
                assert got == ("necrotic_swelling", "necrotic_lysed")[phase]
            else:
                assert got in ("live", "G0G1_phase", "S_phase", "G2_phase", "M_phase")


def test_spring_attachments_make_physicells_spring_graph():
    from invasim.io.export_physicell import graph_text, spring_partners

    frame = pd.DataFrame({"id": [10, 11, 12], "spring_0": [11.0, 10.0, -1.0],
                          "spring_1": [-1.0, 99.0, -1.0]})  # 99: a partner gone  # fmt: skip
    assert graph_text(frame["id"].to_numpy(), spring_partners(frame)) == "10: 11\n11: 10\n12: \n"
    assert spring_partners(frame.drop(columns=["spring_0", "spring_1"])) is None
