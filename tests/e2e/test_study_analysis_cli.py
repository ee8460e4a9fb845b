"""``invasim study sensitivity`` and ``invasim study calibrate`` driven as a user would."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli


# -- sensitivity -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sobol_dir(tmp_path_factory):
    """A finished Sobol study of the Ishigami function, N = 8 (40 runs), run by the CLI."""
    out = tmp_path_factory.mktemp("study") / "ishigami"
    proc = run_cli(
        "study", "run", "ishigami-sobol", "--set", "design.n=8", "--out", str(out),
        "--workers", "2", "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
def test_sensitivity_writes_the_table_and_figure(sobol_dir):
    from invasim.study import load_study
    from invasim.study.sensitivity import sobol_indices

    # `study run` of a sobol design already wrote the indices of every kept metric
    auto = pd.read_csv(sobol_dir / "sensitivity_y.csv", index_col="parameter")
    proc = run_cli("study", "sensitivity", str(sobol_dir), "--metric", "y")
    assert proc.returncode == 0, proc.stderr
    for name in ("params.x1", "params.x2", "params.x3", "S1", "ST_conf"):
        assert name in proc.stdout, proc.stdout
    table = pd.read_csv(sobol_dir / "sensitivity_y.csv", index_col="parameter")
    want = sobol_indices(load_study(sobol_dir), "y")
    pd.testing.assert_frame_equal(table, want, check_exact=False, rtol=1e-5, atol=1e-6)
    pd.testing.assert_frame_equal(auto, table)
    png = (sobol_dir / "sensitivity_y.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    # the kept time, named explicitly, gives the same table
    again = run_cli("study", "sensitivity", str(sobol_dir), "--metric", "y", "--time", "1")
    assert again.returncode == 0, again.stderr
    assert again.stdout == proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--metric", "nope"], "'nope' is not a metric this study kept; kept: y"),
        (["--metric", "y", "--time", "5"], "--time 5 is not a kept time of this study"),
        (["--metric", "y", "--method", "morris"], "needs a study with design kind = 'morris'"),
    ],
)
def test_sensitivity_errors_are_one_line(sobol_dir, args, needle):
    assert_one_line_error(run_cli("study", "sensitivity", str(sobol_dir), *args), needle)


def test_sensitivity_of_a_folder_that_is_no_study(tmp_path):
    assert_one_line_error(
        run_cli("study", "sensitivity", str(tmp_path), "--metric", "y"), "is not a study folder"
    )


# -- calibrate ---------------------------------------------------------------------------------
CAL_SPEC = """
name = "ishigami-fit"
scenario = "ishigami"

[design]
kind = "lhs"
samples = 8

[vary."params.x2"]
bounds = [0.0, 1.5707963267948966]

[keep]
metrics = ["y"]
"""


@pytest.mark.slow
def test_calibrate_errors_are_one_line(tmp_path):
    spec = tmp_path / "fit.toml"
    spec.write_text(CAL_SPEC)
    assert_one_line_error(
        run_cli("study", "calibrate", str(spec), "--observed", str(tmp_path / "none.csv")),
        "no such file",
    )
    obs = tmp_path / "obs.csv"
    obs.write_text("time_min,y\n0.5,1.0\n")
    assert_one_line_error(
        run_cli("study", "calibrate", str(spec), "--observed", str(obs)),
        "time_min = 0.5 is not a whole step of time.dt_min = 1",
    )
    obs.write_text("time_min,z\n1,1.0\n")
    nokeep = tmp_path / "nokeep.toml"
    nokeep.write_text(CAL_SPEC.replace('[keep]\nmetrics = ["y"]\n', ""))
    assert_one_line_error(
        run_cli("study", "calibrate", str(nokeep), "--observed", str(obs)),
        "column 'z' is not a metric of model ishigami",
    )
    grid = tmp_path / "grid.toml"
    grid.write_text(
        CAL_SPEC.replace('kind = "lhs"\nsamples = 8', 'kind = "grid"').replace(
            "bounds = [0.0, 1.5707963267948966]", "values = [0.0, 1.0]"
        )
    )
    obs.write_text("time_min,y\n1,1.0\n")
    assert_one_line_error(
        run_cli("study", "calibrate", str(grid), "--observed", str(obs)),
        "calibration needs a continuous prior",
    )


@pytest.mark.slow
def test_calibrate_fits_one_ishigami_input(tmp_path):
    # y = 7 sin² x2 at x1 = x3 = 0, monotone in x2 on [0, π/2]: y(1.0) = 4.957 pins x2 = 1
    spec = tmp_path / "fit.toml"
    spec.write_text(CAL_SPEC)
    obs = tmp_path / "obs.csv"
    obs.write_text(f"time_min,y\n1,{7 * math.sin(1.0) ** 2!r}\n")
    out = tmp_path / "fit"
    proc = run_cli(
        "study", "calibrate", str(spec), "--observed", str(obs), "--out", str(out),
        "--populations", "4", "--population-size", "40", "--workers", "1", "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    assert "params.x2" in proc.stdout and "ci95_low" in proc.stdout
    summary = pd.read_csv(out / "posterior_summary.csv", index_col="parameter")
    row = summary.loc["params.x2"]
    assert row["ci95_low"] <= 1.0 <= row["ci95_high"], row.to_dict()
    assert row["ci95_high"] - row["ci95_low"] < 0.5 * math.pi / 2  # narrower than the prior
    for name in ("posterior.csv", "posterior_marginals.png", "posterior_pairs.png", "abc.db"):
        assert (out / name).is_file(), name
