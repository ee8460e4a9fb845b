"""The ``metastasis`` scenario and ``invasim shedding``, driven in subprocesses as a user would.

``invasim run metastasis`` (shortened to 4 h of tissue for the quick test; whole, 12 h, in the
slow one) writes ``body.png`` beside ``summary.png``, the body metrics and tables; the whole
run ends in a death time (the issue's done-criterion). ``invasim shedding RUN_DIR`` writes a
``shedding.toml`` whose ``[body]`` table is valid BodyParams and agrees with the run's own
events; a run without the intravasation process, or without events, exits 2 with one line.
"""

from __future__ import annotations

import math
import subprocess
import tomllib

import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli

from invasim.body import BodyParams

SHORT = ["--set", "time.end_min=240", "--set", "time.output_interval_min=120"]


def shedding_cli(*args: str) -> subprocess.CompletedProcess:
    """``invasim shedding ARGS`` in a subprocess."""
    return run_cli("shedding", *args)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("meta") / "run"
    proc = run_cli("run", "metastasis", "--out", str(out), "--quiet", *SHORT)
    assert proc.returncode == 0, proc.stderr
    return out


def test_run_writes_body_figure_metrics_and_tables(short_run):
    assert (short_run / "body.png").stat().st_size > 50_000
    assert (short_run / "summary.png").is_file()
    m = pd.read_csv(short_run / "metrics.csv")
    for col in ("body_t_death_days", "body_n_metastases", "body_n_detectable",
                "body_shed_per_day", "intravasation_events"):  # fmt: skip
        assert col in m
    last = m.iloc[-1]
    out = pd.read_parquet(sorted((short_run / "body_outcome").glob("*.parquet"))[-1]).iloc[0]
    burden = pd.read_parquet(sorted((short_run / "body_burden").glob("*.parquet"))[-1])
    assert {"t_days", "lungs", "liver", "brain", "bone", "total"} <= set(burden.columns)
    if out["died"]:
        assert last["body_t_death_days"] == pytest.approx(out["t_death_days"])
        assert burden["t_days"].iloc[-1] == pytest.approx(out["t_death_days"])
    else:
        assert math.isnan(last["body_t_death_days"])
    assert last["body_shed_per_day"] == pytest.approx(out["shed_per_day"])
    assert int(out["cal_n_events"]) == int(last["intravasation_events"])


def test_shedding_writes_a_body_table(short_run, tmp_path):
    target = tmp_path / "s.toml"
    proc = shedding_cli(str(short_run), "--out", str(target))
    assert proc.returncode == 0, proc.stderr
    assert "shed_per_day m =" in proc.stdout and "Butler & Gullino" in proc.stdout
    doc = tomllib.loads(target.read_text())
    body = BodyParams(**doc["body"])
    assert body.alpha == pytest.approx(2 / 3)
    assert doc["calibration"]["n_events"] == int(
        pd.read_csv(short_run / "metrics.csv")["intravasation_events"].iloc[-1])
    assert str(short_run) in doc["sources"]["body.shed_per_day"]
    assert doc["calibration"]["shed_per_day_lo"] <= body.shed_per_day
    assert body.shed_per_day <= doc["calibration"]["shed_per_day_hi"]
    # the default place: the run directory
    assert shedding_cli(str(short_run)).returncode == 0
    assert (short_run / "shedding.toml").is_file()


def test_shedding_without_events_or_process_exits_2(tmp_path):
    quiet = tmp_path / "quiet"
    # vessels that admit no one: the tumour type intravasates, but no event happens
    proc = run_cli("run", "metastasis", "--out", str(quiet), "--quiet", "--set",
                   "time.end_min=60", "--set", "time.output_interval_min=30",
                   "--set", "params.intravasation.vessel_factors.blood=0.0",
                   "--set", "params.intravasation.vessel_factors.lymph=0.0")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    m = pd.read_csv(quiet / "metrics.csv")
    assert m["intravasation_events"].iloc[-1] == 0
    assert math.isnan(m["body_t_death_days"].iloc[-1])  # no shedding: alive at ten years
    assert m["body_shed_per_day"].iloc[-1] == 0.0
    assert_one_line_error(shedding_cli(str(quiet)), "no intravasation events")
    assert not (quiet / "shedding.toml").exists()
    plain = tmp_path / "plain"
    proc = run_cli("run", "spheroid-2d", "--out", str(plain), "--quiet", "--set",
                   "time.end_min=12", "--set", "time.output_interval_min=6")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_one_line_error(shedding_cli(str(plain)), "no intravasation process")


@pytest.mark.slow
def test_whole_scenario_goes_from_invasion_to_death(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("run", "metastasis", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    m = pd.read_csv(out / "metrics.csv")
    assert m["intravasation_events"].iloc[-1] > 0
    assert math.isfinite(m["body_t_death_days"].iloc[-1])
    assert (out / "body.png").is_file()
