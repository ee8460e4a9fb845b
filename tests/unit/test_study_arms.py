"""Studies with named arms: the spec, its checks, the design's seeds, the summary and the figure.

Everything here runs without Dask (the end-to-end run is in tests/e2e/test_study_arms.py).
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli
from scipy import stats

from invasim.errors import ConfigError
from invasim.study import expand, load_study_spec
from invasim.study.calibrate import priors_from_spec
from invasim.study.design import describe, run_seed
from invasim.study.plot import plot_study
from invasim.study.results import ARM_SUMMARY_CSV, arm_summary, write_arm_summary
from invasim.study.runner import _spec_text
from invasim.study.spec import short_value, validate_study_data

HEAD = """
name = "t"
scenario = "fisher-kpp"
seed = 11
set = { "time.dt_min" = 50.0, "time.end_min" = 2000.0, "time.output_interval_min" = 500.0, \
"time.checkpoint_interval_min" = 1000.0 }
"""
D, R = "params.D_um2_per_min", "params.r_per_min"
ARMS = f"""
[arms."mmpi+rocki"]
description = "both"
set = {{ "params.front_threshold" = 0.4, "{R}" = 4e-6 }}

[arms.control]
set = {{}}

[arms.dense]
[arms.dense.set.params]
K = 2.0
"""


def load(tmp_path, body: str, overrides=None):
    path = tmp_path / "study.toml"
    path.write_text(HEAD + body)
    return load_study_spec(path, overrides)


# -- the spec ----------------------------------------------------------------------------------
def test_arms_keep_their_order_names_and_overrides(tmp_path):
    spec = load(tmp_path, "replicates = 2\n" + ARMS)
    assert spec.arm_names == ["mmpi+rocki", "control", "dense"]  # as written, not sorted
    assert spec.arms["mmpi+rocki"].description == "both"
    assert spec.arm_overrides("mmpi+rocki") == {"params.front_threshold": 0.4, R: 4e-6}
    assert spec.arm_overrides("control") == {}
    assert spec.arm_overrides("dense") == {"params.K": 2.0}  # a nested table, flattened
    assert spec.arm_overrides(None) == {}
    # the resolved spec (study.toml) reads back to the same spec, arms in order
    again = validate_study_data(tomllib.loads(_spec_text(spec)), "x", None)
    assert again.to_data() == spec.to_data()
    assert again.arm_names == spec.arm_names
    # a study without arms stores no [arms] table
    plain = load(tmp_path, "")
    assert "arms" not in plain.to_data() and "[arms" not in _spec_text(plain)
    # --set reaches into an arm
    spec = load(tmp_path, ARMS, overrides=["arms.control.set.params.K=3.0"])
    assert spec.arm_overrides("control") == {"params.K": 3.0}


BAD = [
    ('[arms.fast]\nset = { "params.D_um2_per_mn" = 45.0 }\n',
     ["arm 'fast': set 'params.D_um2_per_mn' = 45.0", "unknown key 'params.D_um2_per_mn'",
      "did you mean 'D_um2_per_min'"]),
    (f'[arms.control]\nset = {{}}\n[arms.neg]\nset = {{ "{D}" = -1.0, "{R}" = 1e-5 }}\n',
     ["arm 'neg': params.D_um2_per_min = -1.0: Input should be greater than 0"]),
    # dt 100 is fine with the base D (limit h²/D = 111 min), D 180 is fine with dt 50: not both
    (f'[arms.both]\nset = {{ "time.dt_min" = 100.0, "{D}" = 180.0 }}\n',
     ["arm 'both' (its keys 'time.dt_min', 'params.D_um2_per_min' together)",
      "accuracy limit"]),
    ('[arms.fast]\nsett = {}\n', ["unknown key 'arms.fast.sett'", "did you mean 'set'"]),
    ("[arms]\nfast = 3\n", ["arms.fast = 3: expected a table"]),
    ("arms = {}\n", ["arms is empty"]),
    ('[arms.""]\nset = {}\n', ["arm name '' is not allowed"]),
    (f'[arms.fast]\nset = {{ "{D}" = 45.0 }}\n[vary."{D}"]\nvalues = [50.0, 60.0]\n',
     ["arms.fast.set names 'params.D_um2_per_min', which [vary] varies"]),
    (f'[arms."a+b"]\nset = {{ "{R}" = 1e-5 }}\n[vary."{R}"]\nvalues = [5e-6]\n',
     ['arms."a+b".set names \'params.r_per_min\'']),
    (f'[design]\nkind = "sobol"\nn = 4\n[vary."{D}"]\nbounds = [40.0, 160.0]\n'
     f'[vary."{R}"]\nbounds = [4e-6, 2e-5]\n[arms.a]\nset = {{}}\n',
     ["arms go with grid and lhs designs, not sobol"]),
    # a varied value that is valid on the base but not in one arm
    (f'[arms.control]\nset = {{}}\n[arms.fast]\nset = {{ "{D}" = 180.0 }}\n'
     '[vary."time.dt_min"]\nvalues = [50.0, 100.0]\n',
     ["vary 'time.dt_min' = 100.0 in arm 'fast'", "accuracy limit"]),
]


@pytest.mark.parametrize(("body", "needles"), BAD, ids=[n[0][:30] for _, n in BAD])
def test_bad_arm_is_one_line_config_error(tmp_path, body, needles):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, body)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("study file ")
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_arm_messages_name_the_key_once_and_cut_long_values(tmp_path):
    with pytest.raises(ConfigError) as info:  # the scenario's message names key and value
        load(tmp_path, f'[arms.a]\nset = {{ "{D}" = -2.0 }}\n')
    assert str(info.value).count("params.D_um2_per_min") == 1, str(info.value)
    assert "arm 'a': params.D_um2_per_min = -2.0: " in str(info.value)
    # a key that breaks a check on another key: the arm's key and value are named first
    with pytest.raises(ConfigError) as info:
        load(tmp_path, f'[arms.a]\nset = {{ "{D}" = 1000.0 }}\n')
    assert "arm 'a': set 'params.D_um2_per_min' = 1000.0: time.dt_min = 50" in str(info.value)
    cut = short_value(list(range(100)))
    assert cut.endswith("...") and len(cut) == 60
    assert short_value([1.0, 2.0]) == "[1.0, 2.0]"


def test_cli_answers_a_bad_arm_with_one_line_and_status_2(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(HEAD + BAD[0][0])
    assert_one_line_error(run_cli("study", "show", str(path)), *BAD[0][1])
    proc = run_cli("study", "run", str(path), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, *BAD[0][1])
    assert not (tmp_path / "o").exists()


def test_calibration_refuses_arms(tmp_path):
    spec = load(tmp_path, ARMS + f'[design]\nkind = "lhs"\nsamples = 2\n[vary."{D}"]\n'
                "bounds = [40.0, 160.0]\n")
    with pytest.raises(ConfigError, match="calibration fits one scenario; this spec has arms"):
        priors_from_spec(spec)


# -- the design --------------------------------------------------------------------------------
def test_arms_cross_points_and_share_replicate_seeds(tmp_path):
    body = f'replicates = 3\n[vary."{D}"]\nvalues = [50.0, 60.0]\n'
    spec = load(tmp_path, body + ARMS)
    design = expand(spec)
    assert list(design.columns) == ["run_id", "arm", "point", "replicate", "seed", D]
    assert len(design) == 3 * 2 * 3
    assert design["run_id"].iloc[0] == "a00-p0000-r00"
    assert design["run_id"].iloc[-1] == "a02-p0001-r02"
    assert list(design["run_id"]) == sorted(design["run_id"])
    assert design["arm"].dtype == "category" and design["arm"].cat.ordered
    assert list(design["arm"].cat.categories) == ["mmpi+rocki", "control", "dense"]
    assert list(design["arm"].drop_duplicates()) == ["mmpi+rocki", "control", "dense"]
    # common random numbers across arms: (point, replicate) fixes the seed, the arm does not
    per_pair = design.groupby(["point", "replicate"])["seed"].nunique()
    assert (per_pair == 1).all()
    assert design.drop_duplicates(["point", "replicate"])["seed"].is_unique
    for row in design.itertuples():
        assert row.seed == run_seed(11, row.point, row.replicate)
    # the seeds are those of the same study without arms: adding arms changes no seed
    plain = expand(load(tmp_path, body))
    merged = design.merge(plain, on=["point", "replicate"], suffixes=("", "_plain"))
    assert (merged["seed"] == merged["seed_plain"]).all()
    line = describe(spec, design)
    assert "3 arms (mmpi+rocki, control, dense) × 2 points × 3 replicates = 18 runs" in line


def test_show_lists_the_arm_column(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(HEAD + "replicates = 2\n" + ARMS)
    proc = run_cli("study", "show", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "3 arms (mmpi+rocki, control, dense) × 2 replicates = 6 runs" in lines[0]
    assert lines[1:4] == [
        "  arm 'mmpi+rocki': params.front_threshold = 0.4, params.r_per_min = 4e-06  # both",
        "  arm 'control': the base",
        "  arm 'dense': params.K = 2.0",
    ]
    assert lines[4].split()[:3] == ["run_id", "arm", "point"]
    assert lines[5].split()[:2] == ["a00-p0000-r00", "mmpi+rocki"]


def test_builtin_arms_study_loads():
    spec = load_study_spec("fisher-arms")
    assert spec.arm_names == ["grey-matter", "white-matter"]
    assert spec.arm_overrides("white-matter") == {D: 451.4}
    assert len(expand(spec)) == 2 * spec.replicates


# -- the summary -------------------------------------------------------------------------------
def _table(values: dict[str, list[float]], times=(0.0, 10.0), fail=()) -> pd.DataFrame:
    """A study table: per arm, one run per replicate value (the metric ``m`` at the last time;
    half of it before), ``x`` = 2 m; runs in ``fail`` (arm, replicate) failed."""
    rows = []
    for a, (arm, vals) in enumerate(values.items()):
        for r, v in enumerate(vals):
            failed = (arm, r) in fail
            for t in times:
                k = 1.0 if t == times[-1] else 0.5
                rows.append({
                    "run_id": f"a{a:02d}-p0000-r{r:02d}", "arm": arm, "point": 0,
                    "replicate": r, "seed": 100 + r, "time_min": np.nan if failed else t,
                    "m": np.nan if failed else k * v, "x": np.nan if failed else 2 * k * v,
                    "status": "failed" if failed else "completed", "wall_s": 0.1,
                    "error": "boom" if failed else "",
                })
    table = pd.DataFrame(rows)
    table["arm"] = pd.Categorical(table["arm"], categories=list(values), ordered=True)
    return table


def test_summary_has_mean_sd_ci_and_paired_differences():
    values = {"ctrl": [1.0, 2.0, 4.0, 5.0], "drug": [2.0, 2.5, 6.0, 9.0], "none": [3.0]}
    table = _table(values, fail={("drug", 3)})
    s = arm_summary(table, list(values))
    assert list(s.columns) == ["arm", "metric", "time_min", "n", "mean", "sd", "ci95_low",
                               "ci95_high", "diff_mean", "diff_ci95_low", "diff_ci95_high"]
    assert list(s["arm"].astype(str)) == ["ctrl", "ctrl", "drug", "drug", "none", "none"]
    assert list(s["arm"].cat.categories) == list(values)
    assert list(s["metric"]) == ["m", "x"] * 3
    assert (s["time_min"] == 10.0).all()  # the last kept time, not the first
    ctrl, drug, none = (s[(s["arm"] == a) & (s["metric"] == "m")].iloc[0] for a in values)
    # independent arithmetic: mean ± t(0.975, n-1) sd / sqrt(n)
    x = np.array([1.0, 2.0, 4.0, 5.0])
    half = stats.t.ppf(0.975, 3) * x.std(ddof=1) / 2.0
    assert ctrl["n"] == 4 and ctrl["mean"] == pytest.approx(3.0)
    assert ctrl["sd"] == pytest.approx(math.sqrt(10.0 / 3.0))
    assert (ctrl["ci95_low"], ctrl["ci95_high"]) == pytest.approx((3.0 - half, 3.0 + half))
    assert math.isnan(ctrl["diff_mean"]) and math.isnan(ctrl["diff_ci95_low"])  # the reference
    # drug: its failed replicate 3 counts neither in n nor in the pairs
    assert drug["n"] == 3 and drug["mean"] == pytest.approx(3.5)
    d = np.array([2.0 - 1.0, 2.5 - 2.0, 6.0 - 4.0])  # paired by replicate
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    assert drug["diff_mean"] == pytest.approx(d.mean())
    assert (drug["diff_ci95_low"], drug["diff_ci95_high"]) == pytest.approx(
        (d.mean() - half, d.mean() + half))
    # one run: a mean and its one pair, no spread
    assert none["n"] == 1 and none["mean"] == 3.0 and math.isnan(none["sd"])
    assert math.isnan(none["ci95_low"]) and none["diff_mean"] == pytest.approx(2.0)
    assert math.isnan(none["diff_ci95_low"])
    x_row = s[(s["arm"] == "ctrl") & (s["metric"] == "x")].iloc[0]
    assert x_row["mean"] == pytest.approx(6.0)


def test_summary_of_an_arm_whose_runs_all_failed(tmp_path):
    table = _table({"ctrl": [1.0, 2.0], "bad": [1.0, 2.0]}, fail={("bad", 0), ("bad", 1)})
    s = write_arm_summary(tmp_path, table, ["ctrl", "bad"])
    bad = s[s["arm"] == "bad"]
    assert (bad["n"] == 0).all() and bad["mean"].isna().all() and bad["diff_mean"].isna().all()
    back = pd.read_csv(tmp_path / ARM_SUMMARY_CSV)
    assert list(back["arm"]) == ["ctrl", "ctrl", "bad", "bad"]
    assert back["mean"].iloc[0] == pytest.approx(1.5)


def test_summary_with_varied_parameters_is_per_arm_and_point(tmp_path):
    spec = load(tmp_path, f'replicates = 2\n[vary."{D}"]\nvalues = [50.0, 60.0]\n' + ARMS)
    design = expand(spec)
    table = design.assign(time_min=10.0, m=design["point"] * 10.0 + design["replicate"]
                          + design["arm"].cat.codes * 100.0, status="completed", wall_s=0.1,
                          error="")  # fmt: skip
    s = arm_summary(table, spec.arm_names, spec.varied)
    assert list(s.columns[:4]) == ["arm", "point", D, "metric"]
    assert len(s) == 3 * 2  # arms × points, one metric
    row = s[(s["arm"] == "dense") & (s["point"] == 1)].iloc[0]
    assert row[D] == 60.0 and row["mean"] == pytest.approx(210.5)
    assert row["diff_mean"] == pytest.approx(200.0)  # paired within the same point
    assert row["diff_ci95_low"] == pytest.approx(200.0)  # equal differences: no spread


# -- the figure --------------------------------------------------------------------------------
@pytest.mark.parametrize("times", [(10.0,), (0.0, 5.0, 10.0)], ids=["last", "all"])
def test_arms_figure_has_a_panel_per_metric_and_view(tmp_path, times):
    spec = load(tmp_path, "replicates = 4\n" + ARMS)
    values = {"mmpi+rocki": [1.0, 2.0, 3.0, 4.0], "control": [2.0, 3.0, 5.0, 4.0],
              "dense": [1.0, 1.0, 1.0, 1.0]}
    fig = plot_study(_table(values, times, fail={("dense", 0)}), spec)
    axes = fig.get_axes()
    assert len(axes) == 2 * len(times[1:] and [0, 1] or [0])  # metrics × (last[, over time])
    first = axes[0]
    assert [t.get_text() for t in first.get_xticklabels()] == list(values)
    assert "1 failed" in fig.get_suptitle() and "3 arms" in fig.get_suptitle()
    if len(times) > 1:
        over = axes[1]
        assert [ln.get_label() for ln in over.get_lines()] == list(values)
        assert over.get_xlabel() == "time [min]"
        assert len(over.collections) == 3  # a CI band per arm
    out = tmp_path / "f.png"
    fig.savefig(out)
    assert out.stat().st_size > 5000


def test_arms_figure_with_a_varied_parameter(tmp_path):
    spec = load(tmp_path, f'replicates = 2\n[vary."{D}"]\nvalues = [50.0, 60.0]\n' + ARMS)
    design = expand(spec)
    table = design.assign(time_min=10.0, m=design["replicate"] * 1.0, status="completed",
                          wall_s=0.1, error="")  # fmt: skip
    fig = plot_study(table, spec)
    (ax,) = fig.get_axes()
    assert ax.get_xlabel() == D
    assert [t.get_text() for t in ax.get_legend().get_texts()] == spec.arm_names
