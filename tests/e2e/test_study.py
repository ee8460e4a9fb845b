"""Studies on a real local Dask cluster of worker processes, end to end.

One short Fisher–KPP grid (2 × 2 points, two kept times) is run on 1 worker as
the reference; the same study on 3 workers, through the command line on 2 workers, and killed
(SIGKILL) then resumed must give the very same table (``wall_s`` aside). A test plug-in model
whose runs sleep checks fault tolerance: a run that raises, and a worker killed mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli

import invasim
from invasim.errors import ConfigError, InvasimError
from invasim.study import expand, load_study, load_study_spec, run_study
from invasim.study.runner import build_jobqueue_cluster, parse_jobqueue_options

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FISHER = """
name = "fk"
scenario = "fisher-kpp"
seed = 3
replicates = 1
set = { "time.dt_min" = 50.0, "time.end_min" = 2000.0, "time.output_interval_min" = 500.0, \
"time.checkpoint_interval_min" = 1000.0 }

[vary."params.D_um2_per_min"]
values = [40.0, 90.0]

[vary."params.r_per_min"]
range = [5e-6, 2e-5]
steps = 2
scale = "log"

[keep]
times = [1000.0, 2000.0]
"""
N_RUNS = 4


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="wall_s"), b.drop(columns="wall_s"))


@pytest.fixture(scope="module")
def fisher_spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "fk.toml"
    path.write_text(FISHER)
    return path


@pytest.fixture(scope="module")
def reference(fisher_spec, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "study"
    return run_study(fisher_spec, out, workers=1, progress=False)


@pytest.mark.slow
def test_grid_study_end_to_end_on_one_worker(reference, fisher_spec):
    table = reference
    folder = table.attrs["folder"]
    design = expand(load_study_spec(fisher_spec))
    # one row per run and kept time, sorted, the design's columns first
    assert len(table) == N_RUNS * 2
    assert list(table.columns[:6]) == list(design.columns)
    assert list(table.columns[6:]) == ["time_min", "front_um", "tumor_mass", "n_max",
                                       "status", "wall_s", "error"]
    assert (table["status"] == "completed").all() and (table["error"] == "").all()
    assert list(table["time_min"]) == [1000.0, 2000.0] * N_RUNS
    assert table.drop_duplicates("run_id")[design.columns].reset_index(drop=True).equals(design)
    # each row is what an independent run of that point gives
    row = table[(table["run_id"] == "p0003-r00") & (table["time_min"] == 2000.0)].iloc[0]
    spec = load_study_spec(fisher_spec)
    sets = [f"{k}={v}" for k, v in spec.set.items()]
    cfg = invasim.load_scenario("fisher-kpp", [
        *sets, f"params.D_um2_per_min={float(row['params.D_um2_per_min'])!r}",
        f"params.r_per_min={float(row['params.r_per_min'])!r}",
    ])
    run = invasim.Simulation(cfg, seed=int(row["seed"])).run(
        out=f"{folder}/../independent", progress=False)
    last = run.metrics.iloc[-1]
    assert row["front_um"] == pytest.approx(last["front_um"], rel=1e-9)
    assert row["tumor_mass"] == pytest.approx(last["tumor_mass"], rel=1e-9)
    # the D, r effect has the sign theory gives: faster front for larger D and r
    end = table[table["time_min"] == 2000.0].groupby("point")["front_um"].mean()
    assert end[3] > end[0]
    # the study folder
    f = Path(folder)
    assert {p.name for p in f.iterdir()} >= {"study.toml", "design.parquet", "runs",
                                               "results.parquet", "study_summary.png"}
    assert sorted(p.name for p in (f / "runs").iterdir()) == list(design["run_id"])
    meta = json.loads((f / "runs" / "p0003-r00" / "run.json").read_text())
    assert meta["status"] == "completed" and meta["seed"] == int(row["seed"])
    again = load_study(folder)
    same_table(again, table)
    assert again.attrs["spec"]["name"] == "fk"
    assert pd.DataFrame(again.attrs["design"]).equals(design)
    assert invasim.load_study is load_study


@pytest.mark.slow
def test_three_workers_of_a_running_scheduler_give_the_same_table(
    reference, fisher_spec, tmp_path
):
    from distributed import LocalCluster

    with LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        table = run_study(fisher_spec, tmp_path / "s3", scheduler=cluster.scheduler_address,
                          progress=False)
        assert len(cluster.scheduler_info["workers"]) == 3
    same_table(table, reference)
    # a worker of one thread runs with one Numba thread
    assert {json.loads(p.read_text())["platform"]["numba_threads"]
            for p in (tmp_path / "s3" / "runs").glob("*/run.json")} == {1}
    # the reference's single local worker ran each run with every core (workers x threads)
    threads = {json.loads(p.read_text())["platform"]["numba_threads"]
               for p in Path(reference.attrs["folder"], "runs").glob("*/run.json")}
    assert threads == {len(os.sched_getaffinity(0))}


@pytest.mark.slow
def test_cli_run_writes_table_csv_and_figure(reference, fisher_spec, tmp_path):
    out = tmp_path / "cli"
    proc = run_cli("study", "run", str(fisher_spec), "--out", str(out), "--workers", "2",
                   "--csv")
    assert proc.returncode == 0, proc.stderr
    assert f"{N_RUNS} runs, 0 failed" in proc.stdout
    table = load_study(out)
    same_table(table, reference)
    csv = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    assert list(csv.columns) == list(table.columns)
    assert np.allclose(csv["front_um"], table["front_um"], rtol=1e-12)
    assert (out / "study_summary.png").stat().st_size > 10_000
    # a second run into the same folder is refused unless resumed; the resume has nothing to do
    assert_one_line_error(run_cli("study", "run", str(fisher_spec), "--out", str(out)),
                          "is not empty", "--resume")
    again = run_cli("study", "run", str(fisher_spec), "--out", str(out), "--resume", "--quiet")
    assert again.returncode == 0, again.stderr
    same_table(load_study(out), reference)


def _completed(folder) -> list[str]:
    done = []
    for p in sorted((folder / "runs").glob("*/run.json")):
        try:
            if json.loads(p.read_text()).get("status") == "completed":
                done.append(p.parent.name)
        except (OSError, ValueError):
            pass
    return done


@pytest.mark.slow
def test_killed_study_resumes_to_the_same_table(reference, fisher_spec, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "invasim", "study", "run", str(fisher_spec), "--out", str(out),
           "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while len(_completed(out)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker processes, at once
    finally:
        proc.wait(timeout=60)
    done = _completed(out)
    assert 2 <= len(done) < N_RUNS
    stamps = {r: (out / "runs" / r / "run.json").read_text() for r in done}
    again = run_cli("study", "run", str(fisher_spec), "--out", str(out), "--resume",
                    "--workers", "2")
    assert again.returncode == 0, again.stderr
    same_table(load_study(out), reference)
    for r, text in stamps.items():  # finished runs were kept, not run again
        assert (out / "runs" / r / "run.json").read_text() == text
    # resuming with another spec is refused
    other = tmp_path / "other.toml"
    other.write_text(FISHER.replace("seed = 3", "seed = 4"))
    assert_one_line_error(
        run_cli("study", "run", str(other), "--out", str(out), "--resume"), "spec differs"
    )


PLUGIN = '''
import os, time
import numpy as np
from pydantic import BaseModel, ConfigDict
from invasim.models.base import FieldSpec, Model, register

class SleepyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = 1.0
    sleep_s: float = 0.0
    fail_at_min: float = -1.0
    pid_dir: str = ""

@register
class Sleepy(Model):
    name = "test-sleepy"
    title = "a counter that sleeps at every step (tests)"
    Params = SleepyParams
    metric_names = ("value", "seed_mod")

    def field_specs(self):
        return [FieldSpec("u", "1", "rate x time")]

    def initial_fields(self, rng):
        if self.params.pid_dir and self.params.fail_at_min < 0:
            open(os.path.join(self.params.pid_dir, f"{self.seed}-{os.getpid()}"), "w").close()
        return {"u": np.zeros(self.mesh.array_shape)}

    def step(self, fields, t_min):
        time.sleep(self.params.sleep_s)
        if 0 <= self.params.fail_at_min <= t_min:
            raise RuntimeError(f"planned failure at t = {t_min:g} min")
        fields["u"] += self.params.rate * self.dt

    def metrics(self, fields, t_min):
        return {"value": float(fields["u"].flat[0]), "seed_mod": float(self.seed % 1000)}
'''

SLEEPY_SCENARIO = """
name = "sleepy"
model = "test-sleepy"
[mesh]
dim = 1
extent_um = [4.0]
voxel_um = 1.0
[time]
end_min = 10.0
dt_min = 1.0
output_interval_min = 5.0
checkpoint_interval_min = 10.0
[params]
sleep_s = 0.1
"""


@pytest.mark.slow
def test_failed_run_and_killed_worker(tmp_path):
    (tmp_path / "sleepy_plugin.py").write_text(PLUGIN)
    (tmp_path / "sleepy.toml").write_text(SLEEPY_SCENARIO)
    pids = tmp_path / "pids"
    pids.mkdir()
    (tmp_path / "study.toml").write_text(f"""
name = "sleepy-study"
scenario = "sleepy.toml"
plugins = ["sleepy_plugin.py"]
seed = 9
replicates = 2
set = {{ "params.pid_dir" = "{pids}" }}
[vary."params.rate"]
values = [1.0, 2.0]
[vary."params.fail_at_min"]
values = [-1.0, 3.0]
[keep]
times = "all"
""")
    killed: list[tuple[int, int]] = []

    def kill_first_worker() -> None:  # a worker process, SIGKILLed while its run sleeps
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            files = sorted(pids.iterdir())
            if files:
                seed, pid = (int(x) for x in files[0].name.split("-"))
                time.sleep(0.3)  # well into the run
                os.kill(pid, signal.SIGKILL)
                killed.append((seed, pid))
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_worker, daemon=True)
    killer.start()
    table = run_study(tmp_path / "study.toml", tmp_path / "out", workers=2, progress=False)
    killer.join(timeout=5)
    assert killed, "no worker was killed"
    # every run once, with its rows once: none lost, none counted twice
    assert table["run_id"].nunique() == 8
    assert not table.duplicated(["run_id", "time_min"]).any()
    good = table[table["params.fail_at_min"] < 0]
    bad = table[table["params.fail_at_min"] >= 0]
    assert (good["status"] == "completed").all() and len(good) == 4 * 3
    assert good["value"].to_numpy() == pytest.approx(good["params.rate"] * good["time_min"])
    assert (good["seed_mod"] == good["seed"] % 1000).all()
    # the runs that raise: one line in the table, the traceback in their folder
    assert (bad["status"] == "failed").all() and len(bad) == 4
    assert bad["error"].str.fullmatch(r"RuntimeError: planned failure at t = 3 min").all()
    assert bad["value"].isna().all()
    tb = (tmp_path / "out" / "runs" / bad["run_id"].iloc[0] / "error.txt").read_text()
    assert "Traceback" in tb and "planned failure" in tb
    # the killed run started twice, in two processes, and its folder is the retry's alone
    seed, pid = killed[0]
    starts = sorted(p.name for p in pids.iterdir() if p.name.startswith(f"{seed}-"))
    assert len(starts) == 2 and f"{seed}-{pid}" in starts
    rid = table.loc[table["seed"] == seed, "run_id"].iloc[0]
    assert table.loc[table["run_id"] == rid, "status"].eq("completed").all()
    metrics = pd.read_csv(tmp_path / "out" / "runs" / rid / "metrics.csv")
    assert list(metrics["time_min"]) == [0, 5, 10]


def test_jobqueue_cluster_is_built_with_the_options():
    opts = parse_jobqueue_options(["cores=4", "memory=8GB", "queue=short", "walltime=01:30:00",
                                   'job_extra_directives=["--gres=gpu:1"]'])
    assert opts == {"cores": 4, "memory": "8GB", "queue": "short", "walltime": "01:30:00",
                    "job_extra_directives": ["--gres=gpu:1"]}
    cluster = build_jobqueue_cluster("slurm", opts)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p short", "#SBATCH --cpus-per-task=4", "#SBATCH -t 01:30:00",
                 "#SBATCH --gres=gpu:1", "distributed.cli.dask_worker"):
        assert line in script, (line, script)
    pbs = build_jobqueue_cluster("pbs", {"cores": 2, "memory": "4GB", "queue": "batch"})
    try:
        assert "#PBS -q batch" in pbs.job_script()
    finally:
        pbs.close()
    with pytest.raises(ConfigError, match="unknown option 'queu'.*did you mean 'queue'"):
        build_jobqueue_cluster("slurm", {"cores": 4, "memory": "8GB", "queu": "x"})
    with pytest.raises(ConfigError, match="--jobqueue slurm: You must specify"):
        build_jobqueue_cluster("slurm", {"cores": 4})


def test_cli_rejects_bad_cluster_options(fisher_spec, tmp_path):
    out = ["--out", str(tmp_path / "o")]
    assert_one_line_error(
        run_cli("study", "run", str(fisher_spec), *out, "--jobqueue-opt", "cores=4"),
        "--jobqueue-opt needs --jobqueue",
    )
    assert_one_line_error(
        run_cli("study", "run", str(fisher_spec), *out, "--jobqueue", "slurm", "--jobqueue-opt",
                "queu=x", "--jobqueue-opt", "cores=2", "--jobqueue-opt", "memory=1GB"),
        "did you mean 'queue'",
    )
    assert not (tmp_path / "o").exists()
    with pytest.raises(InvasimError, match="--workers is for the local cluster"):
        run_study(fisher_spec, tmp_path / "o", scheduler="tcp://127.0.0.1:1", workers=2)
    with pytest.raises(InvasimError, match="exclude each other"):
        run_study(fisher_spec, tmp_path / "o", scheduler="tcp://127.0.0.1:1", jobqueue="slurm")
    assert not (tmp_path / "o").exists()
