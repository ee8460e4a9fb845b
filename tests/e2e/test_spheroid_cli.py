"""`invasim run spheroid-2d` as a user runs it: cell snapshots beside the fields."""

from __future__ import annotations

from conftest import run_cli

import invasim


def test_run_spheroid_2d_writes_cell_snapshots(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("run", "spheroid-2d", "--until", "12", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (out / "cells" / "000000.parquet").is_file()
    assert (out / "cells" / "000001.parquet").is_file()
    run = invasim.load_run(out)
    assert run.status == "completed"
    first, last = run.cells(0.0), run.cells(12.0)
    assert len(first) > 1000 and {"id", "type", "dead", "x", "y", "radius"} <= set(first)
    assert "z" not in first
    assert len(last) >= len(first) - 20
    assert run.cells().equals(last)
    assert run.metrics["n_cells"].iloc[0] == len(first)
    assert run.field("oxygen", 12.0).min() < 38.0
