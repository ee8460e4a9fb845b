"""Study specs and their designs: validation errors, design sizes, values and seeds."""

from __future__ import annotations

import itertools
import math
import tomllib

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli

from invasim.errors import ConfigError
from invasim.study import expand, load_study_spec, salib_problem
from invasim.study.design import problem_matrix, run_seed
from invasim.study.runner import _spec_text
from invasim.study.spec import builtin_study_names, validate_study_data

HEAD = """
name = "t"
scenario = "fisher-kpp"
seed = 11
set = { "time.dt_min" = 50.0, "time.end_min" = 2000.0, "time.output_interval_min" = 500.0, \
"time.checkpoint_interval_min" = 1000.0 }
"""
D, R = "params.D_um2_per_min", "params.r_per_min"


def spec_file(tmp_path, body: str, head: str = HEAD):
    path = tmp_path / "study.toml"
    path.write_text(head + body)
    return path


def load(tmp_path, body: str, head: str = HEAD, overrides=None):
    return load_study_spec(spec_file(tmp_path, body, head), overrides)


# -- errors ------------------------------------------------------------------------------------
GRID = f"""
[vary."{D}"]
range = [40.0, 160.0]
steps = 3
"""

BAD = [
    ("replicate = 2\n" + GRID, ["unknown key 'replicate'", "did you mean 'replicates'"]),
    (f'[vary."{D}"]\nvaluse = [1.0]\n', ["unknown key 'vary.params.D_um2_per_min.valuse'",
                                         "did you mean 'values'"]),
    (f'[vary."{D}"]\nrange = [50.0, 50.0]\nsteps = 3\n', ["range = [50.0, 50.0] is empty"]),
    (f'[vary."{D}"]\nrange = [80.0, 50.0]\nsteps = 3\n', ["is empty"]),
    (f'[vary."{D}"]\nvalues = []\n', ["values is empty"]),
    (f'[vary."{D}"]\nrange = [50.0, 80.0]\n', ["range needs steps"]),
    ('[vary."params.D_um2_per_mn"]\nvalues = [50.0]\n',
     ["unknown key 'params.D_um2_per_mn'", "did you mean 'D_um2_per_min'"]),
    (f'[vary."{D}"]\nvalues = [-1.0]\n', ["vary 'params.D_um2_per_min' = -1.0", "greater than 0"]),
    (f'[vary."{D}"]\nvalues = [1e6]\n', ["vary 'params.D_um2_per_min' = 1000000.0", "limit"]),
    (f'[design]\nkind = "sobol"\nn = 6\n[vary."{D}"]\nbounds = [40.0, 160.0]\n'
     f'[vary."{R}"]\nbounds = [4e-6, 2e-5]\n', ["design.n = 6 must be a power of 2", "4 or 8"]),
    (f'[design]\nkind = "sobol"\n[vary."{D}"]\nbounds = [40.0, 160.0]\n', ["needs design.n"]),
    ('[design]\nkind = "latin"\n', ["design.kind", "'grid', 'lhs', 'sobol' or 'morris'"]),
    ('[design]\nkind = "lhs"\n' + f'[vary."{D}"]\nbounds = [40.0, 160.0]\n',
     ["needs design.samples"]),
    ('[design]\nkind = "lhs"\nsamples = 4\n' + GRID, ["values, range and steps are for grids"]),
    (f'[vary."{D}"]\nbounds = [40.0, 160.0]\n', ["bounds and dist are for lhs"]),
    ('[design]\nkind = "grid"\nsamples = 4\n', ["design.samples applies to a lhs design"]),
    ('[design]\nkind = "morris"\ntrajectories = 4\nlevels = 3\n'
     f'[vary."{D}"]\nbounds = [40.0, 160.0]\n', ["levels = 3 must be even"]),
    ('[design]\nkind = "lhs"\nsamples = 4\n'
     f'[vary."{D}"]\nbounds = [0.0, 160.0]\ndist = "loguniform"\n', ["log scale needs low > 0"]),
    ('[keep]\nmetrics = ["front"]\n', ["keep.metrics names 'front'", "did you mean 'front_um'"]),
    ("[keep]\ntimes = [750.0]\n", ["750 min, which is not an output time"]),
    ('plugins = ["no_such_module_xyz"]\n', ["plugin 'no_such_module_xyz' cannot be imported"]),
]


@pytest.mark.parametrize(("body", "needles"), BAD, ids=[n[0][:40] for _, n in BAD])
def test_bad_spec_is_one_line_config_error(tmp_path, body, needles):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, body)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("study file ")
    for needle in needles:
        assert needle in msg, (needle, msg)


@pytest.mark.parametrize(
    ("body", "needles"),
    [BAD[0], BAD[2], BAD[6], BAD[9]],
    ids=["unknown-key", "empty-range", "unknown-parameter", "sobol-n"],
)
def test_cli_answers_a_bad_spec_with_one_line_and_status_2(tmp_path, body, needles):
    path = spec_file(tmp_path, body)
    if "sobol" in body:  # `study run` checks the spec before it starts anything
        proc = run_cli("study", "run", str(path), "--out", str(tmp_path / "o"))
        assert not (tmp_path / "o").exists()
    else:
        proc = run_cli("study", "show", str(path))
    assert_one_line_error(proc, *needles)


def test_unknown_builtin_study_and_missing_file_are_one_line():
    with pytest.raises(ConfigError, match="unknown study 'fisher-swep'.*mean 'fisher-sweep'"):
        load_study_spec("fisher-swep")
    with pytest.raises(ConfigError, match="does not exist"):
        load_study_spec("nowhere/study.toml")


# -- designs -----------------------------------------------------------------------------------
def test_grid_is_the_full_factorial_with_linear_and_log_spacing(tmp_path):
    spec = load(tmp_path, f"""replicates = 2
[vary."{D}"]
range = [40.0, 160.0]
steps = 3
scale = "log"
[vary."{R}"]
range = [4e-6, 1e-5]
steps = 4
""")
    design = expand(spec)
    assert len(design) == 3 * 4 * 2
    d_vals = sorted(design[D].unique())
    r_vals = sorted(design[R].unique())
    assert d_vals == pytest.approx([40.0, 80.0, 160.0], rel=1e-12)  # geometric
    assert np.diff(r_vals) == pytest.approx([2e-6] * 3, rel=1e-9)  # arithmetic
    pairs = design.drop_duplicates("point")[[D, R]].itertuples(index=False)
    assert sorted(map(tuple, pairs)) == sorted(itertools.product(d_vals, r_vals))
    assert list(design["point"]) == [p for p in range(12) for _ in range(2)]
    assert list(design["replicate"]) == [0, 1] * 12
    assert list(design["run_id"][:3]) == ["p0000-r00", "p0000-r01", "p0001-r00"]


def test_replicates_only_study_has_one_point():
    spec = load_study_spec("fisher-replicates", ["replicates=5"])
    design = expand(spec)
    assert list(design.columns) == ["run_id", "point", "replicate", "seed"]
    assert len(design) == 5 and set(design["point"]) == {0}


@pytest.mark.parametrize("second", [True, False])
def test_sobol_design_has_saltelli_size_and_structure(tmp_path, second):
    spec = load(tmp_path, f"""replicates = 2
[design]
kind = "sobol"
n = 8
calc_second_order = {str(second).lower()}
[vary."{D}"]
bounds = [40.0, 160.0]
dist = "loguniform"
[vary."{R}"]
bounds = [4e-6, 1e-5]
[vary."params.K"]
bounds = [0.5, 2.0]
""")
    design = expand(spec)
    n_d = 3
    per = 2 * n_d + 2 if second else n_d + 2
    assert design["point"].nunique() == 8 * per
    assert len(design) == 8 * per * 2
    x = problem_matrix(spec, design)
    problem = salib_problem(spec)
    b = np.asarray(problem["bounds"])
    assert np.all((x >= b[:, 0]) & (x <= b[:, 1]))
    assert problem["log10"] == [True, False, False]
    assert b[0] == pytest.approx(np.log10([40.0, 160.0]))
    # Saltelli's blocks: A, then A with column j from B (j = 0..D-1), ..., then B last
    for blk in x.reshape(8, per, n_d):
        a, bb = blk[0], blk[-1]
        for j in range(n_d):
            expect = a.copy()
            expect[j] = bb[j]
            assert blk[1 + j] == pytest.approx(expect)


def test_morris_and_lhs_sizes_and_lhs_strata(tmp_path):
    spec = load(tmp_path, f"""
[design]
kind = "morris"
trajectories = 5
[vary."{D}"]
bounds = [40.0, 160.0]
[vary."{R}"]
bounds = [4e-6, 1e-5]
""")
    assert len(expand(spec)) == 5 * (2 + 1)
    spec = load(tmp_path, f"""
[design]
kind = "lhs"
samples = 7
[vary."{D}"]
bounds = [40.0, 160.0]
dist = "loguniform"
[vary."{R}"]
bounds = [4e-6, 1e-5]
""")
    design = expand(spec)
    assert len(design) == 7
    u_d = (np.log(design[D]) - math.log(40.0)) / math.log(4.0)
    u_r = (design[R] - 4e-6) / 6e-6
    for u in (u_d, u_r):  # a Latin hypercube: one point in each of the 7 strata
        assert sorted(np.floor(u * 7).astype(int)) == list(range(7))


def test_seeds_are_stable_distinct_and_follow_the_study_seed(tmp_path):
    body = f'replicates = 3\n[vary."{D}"]\nvalues = [50.0, 60.0]\n'
    design = expand(load(tmp_path, body))
    again = expand(load(tmp_path, body))
    assert design.equals(again)
    assert design["seed"].is_unique
    assert ((design["seed"] >= 0) & (design["seed"] < 2**63)).all()
    for row in design.itertuples():
        ss = np.random.SeedSequence(11, spawn_key=(0, row.point, row.replicate))
        a, b = (int(v) for v in ss.generate_state(2, np.uint32))
        assert row.seed == ((a << 32) | b) & (2**63 - 1)
    other = expand(load(tmp_path, body, HEAD.replace("seed = 11", "seed = 12")))
    assert not set(other["seed"]) & set(design["seed"])
    crn = expand(load(tmp_path, "common_random_numbers = true\n" + body))
    by_rep = crn.groupby("replicate")["seed"].nunique()
    assert (by_rep == 1).all() and crn["seed"].nunique() == 3
    assert run_seed(11, 0, 0) != run_seed(11, 0, 0, common=True)


def test_run_ids_widen_and_sort_like_the_numbers(tmp_path):
    spec = load(tmp_path, f'replicates = 11\n[vary."{D}"]\nrange = [40.0, 160.0]\nsteps = 2\n')
    design = expand(spec)
    assert design["run_id"].iloc[-1] == "p0001-r10"
    assert list(design["run_id"]) == sorted(design["run_id"])


def test_nested_vary_keys_and_int_parameters(tmp_path):
    quoted = expand(load(tmp_path, f'[vary."{D}"]\nvalues = [50.0, 70.0]\n'))
    nested = expand(load(tmp_path, "[vary.params.D_um2_per_min]\nvalues = [50.0, 70.0]\n"))
    assert quoted.equals(nested)
    # an integer scenario value stays an integer when it is sampled from a range
    head = HEAD.replace('scenario = "fisher-kpp"', 'scenario = "spheroid-2d"').replace(
        "set = {", "set = { \"time.dt_min\" = 6.0, \"time.end_min\" = 12.0 } #")
    spheroid = load_study_spec(spec_file(tmp_path, "", head))
    from invasim.study.spec import coerce

    base, base_dir = spheroid.base_data()
    from invasim.config import validate_scenario

    scenario = validate_scenario(base, "s", base_dir)
    assert coerce(2.6, "mesh.dim", scenario) == 3
    assert coerce(2.6, "time.dt_min", scenario) == 2.6


def test_resolved_spec_round_trips_through_study_toml(tmp_path):
    spec = load(tmp_path, GRID + '[keep]\nmetrics = ["front_um"]\ntimes = [1000.0, 2000.0]\n')
    text = _spec_text(spec)
    again = validate_study_data(tomllib.loads(text), "x", None)
    assert again.to_data() == spec.to_data()
    assert expand(again).equals(expand(spec))
    assert "[vary.\"params.D_um2_per_min\"]" in text


def test_overrides_apply_to_the_spec(tmp_path):
    spec = load(tmp_path, GRID, overrides=["replicates=3", "seed=5"])
    assert (spec.replicates, spec.seed) == (3, 5)
    # a scenario value in `set` is reached through its dotted key, and replaced
    spec = load(tmp_path, GRID, overrides=["set.time.end_min=1500.0"])
    assert spec.set["time.end_min"] == 1500.0 and spec.set["time.dt_min"] == 50.0
    with pytest.raises(ConfigError, match="with --set overrides.*replicates"):
        load(tmp_path, GRID, overrides=["replicates=0"])


def test_builtin_studies_load_and_show(tmp_path):
    assert {"fisher-sweep", "fisher-replicates"} <= set(builtin_study_names())
    proc = run_cli("study", "show", "fisher-sweep", "--rows", "4")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "9 points × 1 replicate = 9 runs" in lines[0]
    assert lines[1].split()[:4] == ["run_id", "point", "replicate", "seed"]
    assert len(lines) == 1 + 1 + 4 + 1 and "5 more runs" in lines[-1]


def test_an_agent_study_keeps_its_processes_metrics_and_listed_readouts(tmp_path):
    # the agent model's own metrics, a process's (attachments) and a listed readout are kept;
    # a metric none of them reports is refused by name
    head = ('name = "agents-keep"\nscenario = "spheroid-2d"\nreplicates = 1\n'
            'set = { "params.processes" = ["secretion", "diffusion", "mechanics", "motility", '
            '"contacts", "volume", "death", "cycle", "division", "attachments"], '
            '"params.readouts" = ["invasion_distance_um"] }\n')  # fmt: skip
    keep = '[keep]\nmetrics = ["n_cells", "attachments_mean", "invasion_distance_um"]\n'
    spec = load(tmp_path, keep, head)
    assert spec.keep.metrics == ["n_cells", "attachments_mean", "invasion_distance_um"]
    with pytest.raises(ConfigError, match="keep.metrics names 'n_buds'"):
        load(tmp_path, '[keep]\nmetrics = ["n_buds"]\n', head)
