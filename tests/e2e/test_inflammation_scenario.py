"""The inflammation scenario through the CLI, shortened to one day.

``invasim run inflammation`` in a subprocess for 1 day (output every 12 h): the run directory,
the metrics columns the scenario lists (macrophage and stroma readouts), macrophages recruited
from the stroma's lower edge, and the lumped inflammatory cytokine filled in from the walls.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from invasim import load_run

END_MIN = 1440.0
COLUMNS = ["frac_m2", "m1_m2_ratio", "n_macrophage_m1", "n_macrophage_m2", "caf_fraction",
           "invasion_depth_um", "bm_breached_um", "n_tumor", "n_fibroblast", "n_caf"]  # fmt: skip


def _invasim(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "invasim", *args], check=True,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_inflammation_one_day(tmp_path):
    out = tmp_path / "infl"
    _invasim("run", "inflammation", "--out", str(out), "--quiet",
             "--set", f"time.end_min={END_MIN}", "--set", "time.output_interval_min=720",
             "--set", f"time.checkpoint_interval_min={END_MIN}")  # fmt: skip
    for name in ("metrics.csv", "run.json", "fields.zarr", "cells"):
        assert (out / name).exists(), name
    m = pd.read_csv(out / "metrics.csv")
    assert m["time_min"].tolist() == [0.0, 720.0, 1440.0]
    for col in COLUMNS:
        assert col in m.columns, col
    first, last = m.iloc[0], m.iloc[-1]
    # no macrophages at the start; recruited through the stroma's edge by day 1
    assert first["n_macrophage_m1"] == 0 and first["n_macrophage_m2"] == 0
    assert last["n_macrophage_m1"] + last["n_macrophage_m2"] > 0
    assert 0.0 <= last["frac_m2"] <= 1.0
    # the lumped cytokine enters from the walls (far field 1) and fills the window
    run = load_run(out)
    inflam = np.asarray(run.field("inflam", END_MIN))
    assert 0.5 < float(inflam.mean()) <= 1.0
    # every macrophage entered at the lower edge and is in the window
    cells = run.cells(END_MIN)
    names = list(run.config.params["cell_types"])
    mac = cells[[names[k].startswith("macrophage") for k in cells["type"]]]
    assert len(mac) > 0
    assert (mac["y"] >= 0).all() and (mac["y"] <= 360).all()
