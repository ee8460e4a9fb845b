"""The stroma-invasion scenario through the CLI, shortened to two days.

``invasim run stroma-invasion`` in a subprocess for 2 days (CAFs are activated and remodel the
stroma under the basement membrane, which still holds: it opens after ~2.5 days), then
the run directory, the metrics columns the scenario lists (the stroma readouts of
:mod:`invasim.analysis.stroma` among them) and ``invasim readouts`` on the stored run.

Needs the stroma readouts registered when ``invasim.analysis`` is imported (the scenario lists
them in ``params.readouts``, which the config checks at load time).
"""

from __future__ import annotations

import io
import subprocess
import sys

import pandas as pd

END_MIN = 2880.0
STROMA_COLUMNS = ["caf_fraction", "n_invading_strands", "frac_strand_tips_fibroblast",
                  "ecm_density_front", "ecm_density_far", "ecm_alignment_front",
                  "ecm_alignment_far", "front_permissive_fraction"]  # fmt: skip


def _invasim(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "invasim", *args], check=True,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_stroma_invasion_two_days(tmp_path):
    out = tmp_path / "stroma"
    _invasim("run", "stroma-invasion", "--out", str(out), "--quiet",
             "--set", f"time.end_min={END_MIN}", "--set", "time.output_interval_min=1440",
             "--set", f"time.checkpoint_interval_min={END_MIN}")  # fmt: skip
    for name in ("metrics.csv", "run.json", "fields.zarr", "cells"):
        assert (out / name).exists(), name
    assert len(list((out / "cells").glob("*.parquet"))) == 3  # 0, 1, 2 days
    m = pd.read_csv(out / "metrics.csv")
    assert m["time_min"].tolist() == [0.0, 1440.0, 2880.0]
    for col in [*STROMA_COLUMNS, "invasion_depth_um", "n_tumor", "n_fibroblast", "n_caf",
                "bm_first_breach_min", "proteolysis_degraded_ecm"]:  # fmt: skip
        assert col in m.columns, col
    first, last = m.iloc[0], m.iloc[-1]
    # all fibroblasts start resting; the carcinoma's TGF-beta has activated some by day 2
    assert first["caf_fraction"] == 0.0 and first["n_caf"] == 0
    assert 0.0 < last["caf_fraction"] < 1.0
    # the CAFs cut and align the stroma; the BM still holds the carcinoma (no protease)
    assert last["proteolysis_degraded_ecm"] > 0.0
    assert last["ecm_alignment_front"] > last["ecm_alignment_far"]
    assert last["bm_tumor_below"] == 0 and last["invasion_depth_um"] == 0.0
    assert last["n_invading_strands"] == 0
    # the stored run gives the same readouts
    res = _invasim("readouts", str(out), "--time", str(END_MIN), timeout=300)
    table = pd.read_csv(io.StringIO(res.stdout), sep=r"\s+")
    row = table.iloc[-1]
    assert row["caf_fraction"] == last["caf_fraction"]
    assert abs(row["ecm_alignment_front"] - last["ecm_alignment_front"]) < 1e-12
