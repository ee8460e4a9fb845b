"""A study with named arms, run end to end by the command line on a local Dask cluster.

The shipped ``fisher-arms`` spec (grey-matter and white-matter diffusion), shortened to four
weeks: 2 arms × 2 replicates. The table gets its ``arm`` column, ``summary.csv`` the per-arm
statistics (printed too), the figure is drawn, every run got its arm's overrides and the seed of
its replicate, and a resume has nothing to do.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

import invasim
from invasim.study import load_study, load_study_spec
from invasim.study.results import arm_summary

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHORT = ["--set", "set.time.end_min=40320.0", "--set", "set.time.checkpoint_interval_min=20160.0"]
ARMS = ["grey-matter", "white-matter"]
D = "params.D_um2_per_min"


@pytest.mark.slow
def test_arms_study_writes_table_summary_and_figure(tmp_path):
    out = tmp_path / "arms"
    proc = run_cli("study", "run", "fisher-arms", *SHORT, "--out", str(out), "--workers", "2",
                   "--csv")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "study fisher-arms: 4 runs, 0 failed" in proc.stdout
    assert "per arm at t = 40320 min" in proc.stdout and "paired difference from 'grey-matter'" \
        in proc.stdout
    printed = [ln.split() for ln in proc.stdout.splitlines() if ln.split()[:1] in (["grey-matter"],
               ["white-matter"])]  # fmt: skip
    assert [p[:3] for p in printed] == [["grey-matter", "front_um", "2"],
                                        ["grey-matter", "tumor_mass", "2"],
                                        ["white-matter", "front_um", "2"],
                                        ["white-matter", "tumor_mass", "2"]]
    # the table: an ordered arm column, every weekly record of every run
    table = load_study(out)
    assert list(table.columns[:6]) == ["run_id", "arm", "point", "replicate", "seed", "time_min"]
    assert list(table["arm"].cat.categories) == ARMS and table["arm"].cat.ordered
    assert (table["status"] == "completed").all()
    assert len(table) == 4 * 5 and sorted(table["time_min"].unique()) == [
        0.0, 10080.0, 20160.0, 30240.0, 40320.0]
    csv = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    assert list(csv["arm"].unique()) == ARMS
    # each arm ran with its own overrides, replicate r with one seed in both arms
    runs = {p.parent.name: json.loads(p.read_text()) for p in (out / "runs").glob("*/run.json")}
    assert sorted(runs) == ["a00-p0000-r00", "a00-p0000-r01", "a01-p0000-r00", "a01-p0000-r01"]
    assert {r["scenario"]["params"]["D_um2_per_min"] for k, r in runs.items()
            if k.startswith("a00")} == {90.28}  # fmt: skip
    assert {r["scenario"]["params"]["D_um2_per_min"] for k, r in runs.items()
            if k.startswith("a01")} == {451.4}  # fmt: skip
    for rep in ("r00", "r01"):
        assert runs[f"a00-p0000-{rep}"]["seed"] == runs[f"a01-p0000-{rep}"]["seed"]
    assert runs["a00-p0000-r00"]["seed"] != runs["a00-p0000-r01"]["seed"]
    # a row is what an independent run of that arm gives
    spec = load_study_spec("fisher-arms", [s for s in SHORT if s != "--set"])
    sets = [f"{k}={v!r}" for k, v in {**spec.set, **spec.arm_overrides("white-matter")}.items()]
    run = invasim.Simulation(invasim.load_scenario("fisher-kpp", sets), seed=1).run(
        out=tmp_path / "independent", progress=False)
    row = table[(table["run_id"] == "a01-p0000-r01") & (table["time_min"] == 40320.0)].iloc[0]
    assert row["front_um"] == pytest.approx(run.metrics.iloc[-1]["front_um"], rel=1e-9)
    # the summary: as arm_summary computes it from the table, by hand at the last time
    summary = pd.read_csv(out / "summary.csv")
    want = arm_summary(table, ARMS)
    assert list(summary["arm"]) == ["grey-matter"] * 2 + ["white-matter"] * 2
    pd.testing.assert_frame_equal(summary, want.assign(arm=want["arm"].astype(str)),
                                  check_exact=False, rtol=1e-9)  # fmt: skip
    last = table[table["time_min"] == 40320.0]
    for arm in ARMS:
        got = summary[(summary["arm"] == arm) & (summary["metric"] == "front_um")].iloc[0]
        assert got["mean"] == pytest.approx(last.loc[last["arm"] == arm, "front_um"].mean())
        assert got["n"] == 2
    fronts = last.groupby("arm", observed=True)["front_um"].mean()
    white = summary[(summary["arm"] == "white-matter") & (summary["metric"] == "tumor_mass")]
    # five times the diffusion spreads the tumour further (mass beyond the seeded layer)
    assert white["diff_mean"].iloc[0] > 0
    assert np.isfinite(fronts).all()
    # the figure; a resume has nothing to run and leaves the same summary
    assert (out / "study_summary.png").stat().st_size > 10_000
    before = (out / "summary.csv").read_text()
    again = run_cli("study", "run", "fisher-arms", *SHORT, "--out", str(out), "--resume",
                    "--quiet")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert (out / "summary.csv").read_text() == before
