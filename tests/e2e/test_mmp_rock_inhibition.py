"""The MMP-inhibitor scenario and the mmp-rock-inhibition study, run by the command line.

* ``mmp-inhibitor`` shortened to 6 h: at most 2 of 60 cells are amoeboid before the
  inhibitor's onset (1 h; a cell at the cavity's edge may flip until its MMP clears the
  voxel); after it, cells that step out of their cleared cavity into intact collagen turn
  amoeboid through their own Rac/Rho switch (the confinement cue), so the amoeboid share rises
  (the study's control arm checks that without the drug none stays amoeboid).
* ``mmp-rock-inhibition`` with one replicate (slow, ~1.5 min on 2 idle cores): the ordering of
  the four arms (Wolf et al. 2003, Sahai & Marshall 2003, Wolf et al. 2013).

Margins, from the full study (3 replicates, 24 h; replicate-by-replicate values at 24 h): the
farthest cell from the start centre was control 198/190/230 µm, mmpi 270/213/244, mmpi+rocki
135/144/151, mmpi-dense 87/102/94 (start rim 64); tumor_radius_um (95th percentile) control
160/164/195, mmpi 187/115/210, mmpi+rocki 123/124/121, mmpi-dense 83/83/91; the amoeboid share
under the MMP inhibitor alone 0.17/0.08/0.13 and 0 in the control and mmpi+rocki arms. The test
(replicate 0) asks for about half of the smallest gap seen over the three replicates. The 95th
percentile radius does NOT separate mmpi from mmpi+rocki reliably (one replicate in three has
mmpi below): the escaping amoeboid cells are a minority (8-17 %), so the test compares the
farthest cell for that pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ONSET = 60.0  # min, the scenario's MMP-inhibitor onset
CENTRE = 320.0  # µm, the lesion's start centre (x and y)
RIM = 64.0  # µm, the start lesion's radius (cell centres)
SHORT_RUN = ["--set", "time.end_min=360.0", "--set", "time.checkpoint_interval_min=360.0"]


def _metrics(run_dir) -> pd.DataFrame:
    return pd.read_csv(run_dir / "metrics.csv")


def test_amoeboid_share_rises_after_mmp_inhibitor_onset(tmp_path):
    drug = tmp_path / "mmpi"
    proc = run_cli("run", "mmp-inhibitor", "--out", str(drug), *SHORT_RUN)
    assert proc.returncode == 0, proc.stderr
    m = _metrics(drug).set_index("time_min")["frac_amoeboid"]
    # before the onset at most 2 of the 60 cells (a cell at the cavity's edge may flip for a
    # while until its MMP clears the voxel, as in the control: seen 0-2)
    assert m[m.index <= ONSET].max() <= 2 / 60, m
    # by 6 h at least 3 (seen 9 with the scenario's seed 1, 5-8 with the study's three seeds)
    assert m.iloc[-1] >= 3 / 60, m


def _farthest(run_dir) -> float:
    """Largest distance of a live cell from the lesion's start centre at the last snapshot."""
    from invasim.io.run import load_run

    run = load_run(run_dir)
    c = run.cells(run.times[-1])
    c = c[c["dead"] == 0]
    return float(np.hypot(c["x"] - CENTRE, c["y"] - CENTRE).max())


@pytest.mark.slow
def test_study_orders_the_four_arms(tmp_path):
    out = tmp_path / "study"
    proc = run_cli("study", "run", "mmp-rock-inhibition", "--out", str(out), "--workers", "2",
                   "--set", "replicates=1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "study mmp-rock-inhibition: 4 runs, 0 failed" in proc.stdout
    assert (out / "study_summary.png").is_file() and (out / "summary.csv").is_file()
    s = pd.read_csv(out / "summary.csv").set_index(["arm", "metric"])["mean"]
    arms = ("control", "mmpi", "mmpi+rocki", "mmpi-dense")
    radius = {a: s[a, "tumor_radius_um"] for a in arms}
    amoeboid = {a: s[a, "frac_amoeboid"] for a in arms}
    far = {a: _farthest(out / "runs" / f"a{i:02d}-p0000-r00") for i, a in enumerate(arms)}
    detail = f"radius {radius}, farthest {far}, amoeboid {amoeboid}"
    # compensation: under the MMP inhibitor alone cells turn amoeboid and invade far
    assert amoeboid["mmpi"] >= 0.05, detail
    assert amoeboid["control"] <= 0.02 and amoeboid["mmpi+rocki"] <= 0.02, detail
    assert far["mmpi"] - far["mmpi+rocki"] >= 30.0, detail
    # the control invades by proteolysis; both drugs together stop the cells
    assert radius["control"] - radius["mmpi+rocki"] >= 20.0, detail
    assert far["control"] - far["mmpi+rocki"] >= 20.0, detail
    # the physical limit: in dense matrix MMP inhibition alone stops them
    assert radius["mmpi+rocki"] - radius["mmpi-dense"] >= 15.0, detail
    assert far["mmpi+rocki"] - far["mmpi-dense"] >= 20.0, detail
    assert far["mmpi-dense"] <= RIM + 50.0, detail
