"""invasim readouts through the command line, as a user runs it."""

from __future__ import annotations

import pandas as pd
from tests.conftest import assert_one_line_error, run_cli

SHORT = ["--until", "12", "--set", "time.output_interval_min=6",
         "--set", "time.checkpoint_interval_min=12"]
AGENT = ["n_cells", "tumor_radius_um", "n_apoptotic", "n_necrotic", "necrotic_fraction",
         "oxygen_min"]  # fmt: skip


def test_readouts_of_a_stored_run(tmp_path):
    run = tmp_path / "run"
    p = run_cli("run", "spheroid-2d", *SHORT, "--out", str(run), "--quiet")
    assert p.returncode == 0, p.stderr
    # every readout at every snapshot, as a table on stdout; the same as metrics.csv
    p = run_cli("readouts", str(run), "--out", str(tmp_path / "all.csv"))
    assert p.returncode == 0, p.stderr
    metrics = pd.read_csv(run / "metrics.csv")
    # the metrics' columns but front_um (pressure_max where the cell tables store a pressure)
    columns = [c for c in metrics.columns if c != "front_um"]
    assert {"time_min", *AGENT, "n_tumor"} <= set(columns) <= {*metrics.columns}
    lines = p.stdout.splitlines()
    # then the pathology readouts (analysis.pathology), which metrics.csv does not hold
    extra = lines[0].split()[len(columns):]
    assert {"n_buds", "invasion_pattern", "front_fractal_dim"} <= set(extra)
    assert lines[0].split()[: len(columns)] == columns and len(lines) == 1 + 3 + 1
    assert lines[-1] == f"wrote {tmp_path / 'all.csv'}"
    table = pd.read_csv(tmp_path / "all.csv")
    assert list(table.columns) == columns + extra and list(table["time_min"]) == [0.0, 6.0, 12.0]
    for col in columns:
        assert [f"{v:.10g}" for v in table[col]] == [f"{v:.10g}" for v in metrics[col]], col
    # chosen readouts at one time, to Parquet
    p = run_cli("readouts", str(run), "--name", "n_tumor", "--name", "tumor_radius_um",
                "--time", "6", "--out", str(tmp_path / "one.parquet"))
    assert p.returncode == 0, p.stderr
    one = pd.read_parquet(tmp_path / "one.parquet")
    assert list(one.columns) == ["time_min", "n_tumor", "tumor_radius_um"] and len(one) == 1
    assert one["n_tumor"].iloc[0] == metrics["n_tumor"].iloc[1]
    # the list: the registry, or what applies to the run
    p = run_cli("readouts", "--list")
    assert p.returncode == 0, p.stderr
    rows = {ln.split()[0]: ln.split(None, 2)[1:] for ln in p.stdout.splitlines()}
    assert rows["tumor_radius_um"][0] == "µm" and rows["n_<type>"][0] == "cells"
    assert "pressure_max" in rows and "front_um" not in rows
    p = run_cli("readouts", str(run), "--list")
    assert [ln.split()[0] for ln in p.stdout.splitlines()] == columns[1:] + extra
    # user errors: one line, exit 2, no traceback
    assert_one_line_error(run_cli("readouts", str(run), "--name", "tumour_radius_um"),
                          "unknown readout 'tumour_radius_um'", "did you mean 'tumor_radius_um'",
                          "allowed: n_cells, tumor_radius_um")
    assert_one_line_error(run_cli("readouts", str(run), "--name", "n_tumr"),
                          "unknown readout 'n_tumr'", "did you mean 'n_tumor'")
    assert_one_line_error(run_cli("readouts", str(run), "--time", "100"), "no snapshot at t = 100")
    assert_one_line_error(run_cli("readouts", str(run), "--out", str(tmp_path / "x.txt")),
                          "must end in .csv or .parquet")
    assert_one_line_error(run_cli("readouts"), "needs a run directory")
    assert_one_line_error(run_cli("readouts", str(tmp_path / "nope")), "not a run directory")
    assert not (tmp_path / "x.txt").exists()
