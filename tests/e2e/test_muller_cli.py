"""``invasim plot RUN --muller``: the Muller plot of a run's clones, as a user draws it."""

from __future__ import annotations

import tomli_w
from tests.conftest import assert_one_line_error, run_cli

from invasim.verify.cases.evolution import scenario

MUT = {"initial": 1.0, "lower": 0.0, "upper": 2.0, "mutation_rate": 0.3, "mutation_step": 0.1}


def test_muller_plot_of_a_run_with_clones(tmp_path):
    path = tmp_path / "clones.toml"
    path.write_bytes(tomli_w.dumps(scenario({"mmp": MUT}, 20, 240.0, output_min=60.0,
                                            new_clones=True)).encode())  # fmt: skip
    run = tmp_path / "run"
    p = run_cli("run", str(path), "--out", str(run), "--quiet")
    assert p.returncode == 0, p.stderr
    p = run_cli("plot", str(run), "--muller", "--top", "5")
    assert p.returncode == 0, p.stderr
    out = run / "muller.png"
    assert p.stdout.strip() == str(out) and out.stat().st_size > 5000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_one_line_error(run_cli("plot", str(run), "--muller", "--time", "60"), "--muller")
    assert_one_line_error(run_cli("plot", str(run), "--top", "3"), "--top goes with --muller")
