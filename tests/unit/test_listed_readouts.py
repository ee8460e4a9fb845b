"""``[params] readouts``: registered readouts a scenario lists land in metrics.csv."""

from __future__ import annotations

import math

import pytest

import invasim
from invasim.analysis.readouts import compute
from invasim.analysis.snapshot import Snapshot
from invasim.errors import ConfigError

SHORT = ["time.end_min=12", "time.output_interval_min=6", "params.initial.radius_um=60"]


def test_listed_readouts_are_metrics_and_nan_where_they_do_not_apply(tmp_path):
    sc = invasim.load_scenario("spheroid-2d", [
        *SHORT, 'params.readouts=["n_clusters", "front_fractal_dim", "frac_amoeboid"]'])
    run = invasim.Simulation(sc, seed=1).run(out=tmp_path / "run", progress=False)
    m = run.metrics
    assert {"n_clusters", "front_fractal_dim", "frac_amoeboid"} <= set(m.columns)
    assert (m["n_clusters"] == 0).all()  # one compact disc: no detached cluster
    # a disc's boundary; box counting over the small range of box sizes a 60 µm disc allows
    # reads high (1.26 measured here, 1.03-1.12 for discs of 120-330 µm)
    assert m["front_fractal_dim"].between(0.9, 1.35).all()
    assert m["frac_amoeboid"].isna().all()  # no migration-mode column in this scenario
    # the same numbers as the readout recomputed from the stored snapshot
    last = Snapshot.from_run(run)
    again = compute(last, ["n_clusters", "front_fractal_dim"])
    stored = m["front_fractal_dim"].iloc[-1]  # metrics.csv keeps 10 significant digits
    assert f"{again['front_fractal_dim']:.10g}" == f"{stored:.10g}"
    assert not math.isnan(again["front_fractal_dim"])


def test_an_unknown_listed_readout_is_a_one_line_error():
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario("spheroid-2d", ['params.readouts=["n_budz"]'])
    assert "\n" not in str(info.value) and "n_budz" in str(info.value)
    assert "n_buds" in str(info.value)
