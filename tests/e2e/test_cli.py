"""The command line driven in a subprocess, as a user would."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli

from invasim.io import rundir

# a short fisher-kpp run: 20 steps of 100 min, a record every 5 steps, a checkpoint every 10
FAST = ["--set", "time.dt_min=100", "--set", "time.end_min=2000",
        "--set", "time.output_interval_min=500", "--set", "time.checkpoint_interval_min=1000"]


def test_scenarios_lists_each_builtin_on_one_line():
    proc = run_cli("scenarios")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    names = [ln.split()[0] for ln in lines]
    assert {"fisher-kpp", "gatenby-gawlinski", "anderson-chaplain"} <= set(names)


def test_show_prints_resolved_toml_with_overrides():
    proc = run_cli("show", "anderson-chaplain", "--set", "time.end_min=1234")
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(proc.stdout)
    assert data["time"]["end_min"] == 1234.0
    assert data["model"] == "anderson-chaplain"


def test_validate_accepts_a_good_file_and_rejects_a_bad_one(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(run_cli("show", "fisher-kpp").stdout)
    ok = run_cli("validate", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("[time]", "[time]\nbogus = 1", 1))
    assert_one_line_error(run_cli("validate", str(bad)), "unknown key 'time.bogus'")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["run", "no-such-scenario"], ["unknown scenario 'no-such-scenario'"]),
        (["show", "fisher-kpp", "--set", "time.dt_min=fast"], ["time.dt_min", "fast"]),
        (["show", "fisher-kpp", "--set", "time.dt_min=-1"], ["time.dt_min", "greater than 0"]),
        (["show", "fisher-kpp", "--set", "params.bogus=1"], ["unknown key 'params.bogus'"]),
        (["show", "fisher-kpp", "--set", "novalue"], ["expected section.key=value"]),
        (["run", "fisher-kpp", "--seed", "x"], ["invalid int value"]),
        (["run"], ["needs a scenario"]),
        (["run", "--resume", "/nonexistent/run"], ["not a run directory"]),
        (["plot", "/nonexistent/run"], ["not a run directory"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needles):
    assert_one_line_error(run_cli(*args), *needles)


def test_malformed_toml_is_one_line(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("name = 'x'\n[mesh\n")
    assert_one_line_error(run_cli("validate", str(f)), "not valid TOML")


def test_unwritable_out_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = run_cli("run", "fisher-kpp", "--quiet", "--out", str(blocker / "sub"), *FAST)
    assert_one_line_error(proc, "cannot write")


def test_run_writes_the_run_directory(tmp_path):
    out = tmp_path / "r"
    proc = run_cli("run", "fisher-kpp", "--out", str(out), "--seed", "3", *FAST)
    assert proc.returncode == 0, proc.stderr
    assert "results in" in proc.stdout
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "completed"
    assert meta["seed"] == 3
    assert meta["time_min"] == pytest.approx(2000.0)
    for key in ("invasim_version", "platform", "started_at", "ended_at", "wall_s", "scenario"):
        assert key in meta
    import pandas as pd

    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics.columns[0] == "time_min"
    assert list(metrics["time_min"]) == [0, 500, 1000, 1500, 2000]
    assert {"front_um", "tumor_mass"} <= set(metrics.columns)
    assert (out / "summary.png").stat().st_size > 10_000
    assert len(rundir.list_checkpoints(out)) == 3
    # the Zarr store is an xarray Dataset with units and spacing
    import xarray as xr

    ds = xr.open_zarr(out / "fields.zarr", consolidated=False)
    assert ds.sizes["time"] == 5
    first = next(iter(ds.data_vars.values()))
    assert "units" in first.attrs and "voxel_um" in first.attrs
    # a non-empty --out is refused without --overwrite, accepted with it
    again = run_cli("run", "fisher-kpp", "--quiet", "--out", str(out), *FAST)
    assert_one_line_error(again, "not empty", "--overwrite")
    over = run_cli("run", "fisher-kpp", "--quiet", "--overwrite", "--out", str(out), *FAST)
    assert over.returncode == 0, over.stderr
    assert over.stdout.strip() == str(out)


def test_default_out_dir_is_under_runs(tmp_path):
    proc = run_cli("run", "fisher-kpp", "--quiet", *FAST, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    made = list((tmp_path / "runs").iterdir())
    assert len(made) == 1 and made[0].name.startswith("fisher-kpp-")


def test_branch_without_changes_equals_parent_and_with_changes_differs(tmp_path):
    parent = tmp_path / "parent"
    assert run_cli("run", "fisher-kpp", "--quiet", "--out", str(parent), *FAST).returncode == 0
    same = tmp_path / "same"
    proc = run_cli("run", "--from", str(parent), "--at", "1000", "--out", str(same), "--quiet")
    assert proc.returncode == 0, proc.stderr
    a, _ = rundir.read_checkpoint(rundir.list_checkpoints(parent)[-1])
    b, _ = rundir.read_checkpoint(rundir.list_checkpoints(same)[-1])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    meta = json.loads((same / "run.json").read_text())
    assert meta["branched_from"]["time_min"] == 1000.0
    bad_at = run_cli("run", "--from", str(parent), "--at", "777", "--out", str(tmp_path / "x"))
    assert_one_line_error(bad_at, "no checkpoint at that time", "1000")


def test_branch_with_changed_parameters_differs(tmp_path):
    parent = tmp_path / "parent"
    assert run_cli("run", "fisher-kpp", "--quiet", "--out", str(parent), *FAST).returncode == 0
    child = tmp_path / "child"
    proc = run_cli("run", "--from", str(parent), "--at", "1000", "--out", str(child), "--quiet",
                   "--set", "params.r_per_min=3e-5")
    assert proc.returncode == 0, proc.stderr
    import pandas as pd

    p = pd.read_csv(parent / "metrics.csv").set_index("time_min")
    c = pd.read_csv(child / "metrics.csv").set_index("time_min")
    assert list(c.index) == [1000, 1500, 2000]
    assert c.loc[1000, "tumor_mass"] == p.loc[1000, "tumor_mass"]
    assert c.loc[2000, "tumor_mass"] > p.loc[2000, "tumor_mass"]  # faster growth in the branch


# a 2-D fisher-kpp run long enough (seconds) to be killed between checkpoints
SLOW = ["--set", "mesh.dim=2", "--set", "mesh.extent_um=[60000.0, 4000.0]",
        "--set", "time.checkpoint_interval_min=20160.0", "--set", "time.end_min=241920.0"]


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    full = tmp_path / "full"
    proc = run_cli("run", "fisher-kpp", "--quiet", "--seed", "4", "--out", str(full), *SLOW)
    assert proc.returncode == 0, proc.stderr

    killed = tmp_path / "killed"
    p = subprocess.Popen(
        [sys.executable, "-m", "invasim", "run", "fisher-kpp", "--quiet", "--seed", "4",
         "--out", str(killed), *SLOW],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while len(rundir.list_checkpoints(killed)) < 4 and time.time() < deadline:
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    n_before = len(rundir.list_checkpoints(killed))
    assert 4 <= n_before < len(rundir.list_checkpoints(full)), "kill came too late to test resume"
    assert json.loads((killed / "run.json").read_text())["status"] == "running"

    resumed = run_cli("run", "--resume", str(killed), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    a, _ = rundir.read_checkpoint(rundir.list_checkpoints(full)[-1])
    b, _ = rundir.read_checkpoint(rundir.list_checkpoints(killed)[-1])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    import pandas as pd

    pd.testing.assert_frame_equal(pd.read_csv(full / "metrics.csv"),
                                  pd.read_csv(killed / "metrics.csv"))
    import xarray as xr

    fa = xr.open_zarr(full / "fields.zarr", consolidated=False).load()
    fb = xr.open_zarr(killed / "fields.zarr", consolidated=False).load()
    xr.testing.assert_identical(fa, fb)
    meta = json.loads((killed / "run.json").read_text())
    assert meta["status"] == "completed" and meta["resumed_at_min"]


def test_disk_full_is_one_line_and_leaves_no_partial_file(tmp_path):
    import subprocess

    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root); disk-full path not exercised")
    try:
        proc = run_cli("run", "fisher-kpp", "--quiet", "--out", str(mnt / "run"), *FAST)
        assert_one_line_error(proc, "disk full")
        leftovers = [p.name for p in (mnt / "run").rglob(".*tmp*")]
        assert leftovers == []
        # run.json is whole; it says "failed" unless the full disk refused even that update,
        # in which case it still holds the last whole version ("running")
        meta = json.loads((mnt / "run" / "run.json").read_text())
        assert meta["status"] in {"failed", "running"}
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
