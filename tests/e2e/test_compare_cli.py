"""invasim compare through the command line, as a user runs it."""

from __future__ import annotations

import pandas as pd
from tests.conftest import assert_one_line_error, run_cli

SHORT = ["--set", "time.end_min=9600", "--set", "time.output_interval_min=1920",
         "--set", "time.checkpoint_interval_min=9600"]


def test_compare_two_arms_and_errors(tmp_path):
    for name, extra in (("a", []), ("b", ["--set", "params.r_per_min=2e-05"])):
        p = run_cli("run", "fisher-kpp", *SHORT, *extra, "--out", str(tmp_path / name),
                    "--quiet")
        assert p.returncode == 0, p.stderr
    out = tmp_path / "cmp"
    p = run_cli("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "front_um",
                "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "arm 1: r_per_min=8.333e-06 (1 run)" in p.stdout
    assert "arm 2: r_per_min=2e-05 (1 run)" in p.stdout
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["arm"]) == {1, 2} and set(table["metric"]) == {"front_um"}
    assert (out / "comparison.png").stat().st_size > 10_000
    assert_one_line_error(run_cli("compare", str(tmp_path / "nope")), "does not exist")
    assert_one_line_error(
        run_cli("compare", str(tmp_path / "a"), "--metric", "speed", "--out", str(out)),
        "'speed' is not a metric of every run", "front_um",
    )
    assert_one_line_error(run_cli("compare"), "compare")
