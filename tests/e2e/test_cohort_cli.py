"""``invasim cohort`` end to end in a subprocess, as a user would run it.

The shipped ``resection-timing`` cohort, shortened (12 patients per arm, 5 years of
follow-up), on a local Dask cluster of 2 workers: the four outputs are written, the table is
the one the same spec gives in this process (reproducible whatever the workers and chunks),
a second run into the same folder is refused without ``--force``, ``--show`` runs nothing,
and a bad spec exits 2 with one line. Until the lead wires ``cohort`` into ``invasim.cli``
the commands go through the module's own entry point (``python -m invasim.cohort.cli``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from conftest import run_cli

from invasim.cohort import load_cohort_spec, simulate_cohort

SHORT = ["--set", "patients=12", "--set", "follow_up_days=1825.0"]


def cohort_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    from invasim import cli

    if "cohort" in getattr(cli, "_COMMANDS", {}):
        return run_cli("cohort", *args, cwd=cwd)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "invasim.cohort.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)  # fmt: skip


def test_cohort_run_writes_the_outputs_reproducibly(tmp_path):
    out = tmp_path / "rt"
    proc = cohort_cli("resection-timing", *SHORT, "--out", str(out), "--workers", "2",
                      "--chunk", "5")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "cohort resection-timing: 12 patients × 3 arms" in proc.stdout
    assert "multivariate log-rank" in proc.stdout
    for name in ("patients.csv", "patients.parquet", "survival.csv", "km.png", "cohort.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "patients.csv")
    assert list(table.columns[:13]) == [
        "arm", "patient", "seed", "status", "survival_days", "died", "cause",
        "t_diagnosis_days", "t_resection_days", "t_death_days", "n_metastases",
        "n_detectable_1y", "ctc_shed"]  # fmt: skip
    assert {"shed_per_day", "a_per_day", "ctc_half_life_min"} <= set(table.columns)
    assert list(table["arm"].unique()) == ["untreated", "resect-early", "resect-late"]
    assert len(table) == 36
    # paired design: the same sampled parameters and seed in every arm
    by_arm = {a: g.set_index("patient") for a, g in table.groupby("arm")}
    for a in ("resect-early", "resect-late"):
        assert (by_arm[a]["seed"] == by_arm["untreated"]["seed"]).all()
        np.testing.assert_array_equal(by_arm[a]["shed_per_day"],
                                      by_arm["untreated"]["shed_per_day"])
    # the same table in this process, in one chunk: workers and chunks change nothing
    spec = load_cohort_spec("resection-timing", SHORT[1::2])
    here = simulate_cohort(spec, chunk=100)
    pd.testing.assert_frame_equal(table, here, check_dtype=False, rtol=1e-12)
    surv = pd.read_csv(out / "survival.csv")
    assert list(surv["arm"]) == ["untreated", "resect-early", "resect-late"]
    assert surv["n"].sum() + surv["died_before_diagnosis"].sum() + surv["not_diagnosed"].sum() \
        == 36
    record = json.loads((out / "cohort.json").read_text())
    assert record["spec"]["patients"] == 12 and record["wall_s"] > 0
    assert {"invasim", "lifelines", "numpy"} <= set(record["versions"])
    assert (out / "km.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a non-empty folder is refused without --force (and left as it was)
    again = cohort_cli("resection-timing", *SHORT, "--out", str(out), "--workers", "1")
    assert again.returncode == 2 and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert pd.read_csv(out / "patients.csv").equals(table)


def test_show_runs_nothing(tmp_path):
    proc = cohort_cli("invasion-drugs", "--show", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for word in ("untreated (reference)", "mmp-inhibitor", "resection+adjuvant",
                 "shed_per_day", "lognormal"):  # fmt: skip
        assert word in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_bad_specs_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\npatients = 3\n[arms.a]\n[arms.b]\nshed_per_dy = 2.0\n'
                   'source = "x"\n')  # fmt: skip
    for args in (["resection-timing", "--set", "patients=0"], [str(bad)], ["no-such-cohort"]):
        proc = cohort_cli(*args, "--out", str(tmp_path / "o"), cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("invasim: error:"), proc.stderr
        assert "Traceback" not in proc.stderr
        assert not (tmp_path / "o").exists()
