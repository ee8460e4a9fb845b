"""Calibration by ABC-SMC (pyabc) on a local Dask cluster: recovering Fisher–KPP D and r.

The observed readouts are the front positions (monthly over one year) of a Fisher–KPP run with
known D = 90.28 µm²/min and r = 8.333e-6 /min (the built-in scenario's glioma values), written
by an ordinary run (``metrics.csv`` of its run directory). The runs are shortened by the spec's
``set`` (a 6 cm slab of 250 µm voxels, dt = 200 min: ~0.1 s per simulation) and the priors are
log-uniform over a decade each, centred away from the truth (D in [20, 200], r in [4e-6, 4e-5]:
prior medians 63 and 1.26e-5, 30 % and 50 % off).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

import invasim
from invasim.errors import ConfigError
from invasim.study import load_study_spec
from invasim.study.calibrate import (
    ParticleModel,
    calibrate,
    posterior_summary,
    priors_from_spec,
    read_observed,
    simulate_readouts,
    weighted_quantile,
)

pytest.importorskip("pyabc")

TRUE = {"params.D_um2_per_min": 90.28, "params.r_per_min": 8.333e-6}

SPEC = """
name = "fisher-calibration"
scenario = "fisher-kpp"
seed = 3

[set]
"mesh.extent_um" = [60000.0]
"mesh.voxel_um" = 250.0
"time.dt_min" = 200.0
"time.end_min" = 525600.0
"time.output_interval_min" = 43800.0
"time.checkpoint_interval_min" = 525600.0

[design]                  # not used by calibrate; the same spec can run as an LHS study
kind = "lhs"
samples = 16

[vary."params.D_um2_per_min"]
bounds = [20.0, 200.0]
dist = "loguniform"

[vary."params.r_per_min"]
bounds = [4e-6, 4e-5]
dist = "loguniform"

[keep]
metrics = ["front_um"]
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The spec file and the observed readouts from an ordinary run with the true values."""
    root = tmp_path_factory.mktemp("calibration")
    spec_path = root / "fisher-calibration.toml"
    spec_path.write_text(SPEC)
    spec = load_study_spec(spec_path)
    base, base_dir = spec.base_data()
    config = invasim.config.loader.validate_scenario(base, "truth", base_dir)
    assert config.model_params.D_um2_per_min == TRUE["params.D_um2_per_min"]
    assert config.model_params.r_per_min == TRUE["params.r_per_min"]
    run = invasim.Simulation(config, seed=0).run(out=root / "truth", progress=False)
    observed = root / "observed.csv"
    # t = 0 is the seed, the same for every particle: leave it out
    run.metrics[run.metrics["time_min"] > 0].to_csv(observed, index=False)
    return spec, config, observed, root


# -- fast checks of the pieces -----------------------------------------------------------------
def test_weighted_quantile_equals_quantile_of_repeated_samples():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    k = rng.integers(1, 5, size=200)  # integer weights = repeating each sample k times
    rep = np.repeat(x, k)
    for q in (0.025, 0.5, 0.975):
        got = weighted_quantile(x, k.astype(float), q)
        # the weighted CDF steps at the same places as the repeated sample's: within one gap
        lo, hi = np.quantile(rep, [max(q - 3 / len(rep), 0), min(q + 3 / len(rep), 1)])
        assert lo <= got <= hi, (q, got, lo, hi)
    post = pd.DataFrame({"a": x, "weight": k / k.sum()})
    s = posterior_summary(post, ["a"]).loc["a"]
    assert s["mean"] == pytest.approx(rep.mean())
    assert s["sd"] == pytest.approx(rep.std())


def test_in_memory_readouts_equal_the_run_directory(setup):
    # the particle simulation steps exactly as `invasim run`: the same front at every time
    spec, config, observed, _ = setup
    obs = read_observed(observed, spec, config)
    got = simulate_readouts(config, 0, list(obs["time_min"]), ["front_um"])
    want = {f"front_um@{t:g}": v for t, v in zip(obs["time_min"], obs["front_um"], strict=True)}
    assert got.keys() == want.keys()
    # (metrics.csv holds 10 significant digits)
    np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-9)
    # and through the pyabc model, in pyabc's (log10) parameter space
    priors = priors_from_spec(spec)
    model = ParticleModel(spec, priors, obs)
    pars = {p.name: math.log10(TRUE[p.key]) for p in priors}
    np.testing.assert_allclose(list(model(pars).values()), list(want.values()), rtol=1e-9)


def test_priors_and_observed_errors(setup, tmp_path):
    spec, config, observed, _ = setup
    priors = priors_from_spec(spec)
    assert [(p.key, p.lo, p.hi, p.log) for p in priors] == [
        ("params.D_um2_per_min", 20.0, 200.0, True),
        ("params.r_per_min", 4e-6, 4e-5, True),
    ]
    bad = tmp_path / "bad.csv"
    cases = [
        ("t,front_um\n1,2\n", "needs a time_min column"),
        ("time_min,front_um\n100.5,2\n", "time_min = 100.5 is not a whole step"),
        ("time_min,front_um\n1e9,2\n", "within time.end_min"),
        ("time_min,front_um\n200,abc\n", "is not a number"),
        ("time_min,front_um\n200,\n", "no finite value"),
    ]
    for text, needle in cases:
        bad.write_text(text)
        with pytest.raises(ConfigError) as info:
            read_observed(bad, spec, config)
        assert needle in str(info.value) and "\n" not in str(info.value), str(info.value)
    with pytest.raises(ConfigError, match="no such file"):
        read_observed(tmp_path / "missing.csv", spec, config)
    nokeep = load_study_spec({**spec.to_data(), "keep": {}})
    bad.write_text("time_min,front_um,bogus\n200,1,2\n")
    with pytest.raises(ConfigError, match="column 'bogus' is not a metric of model fisher-kpp"):
        read_observed(bad, nokeep, config)


def test_a_prior_the_model_cannot_honour_fails_before_running(setup, tmp_path):
    # r up to 1e-4 /min is fine at the base D, but at the corner D = 20, r = 1e-4 the front
    # width sqrt(D/r) = 447 µm is under two voxels of 250 µm (FisherKPP.check refuses it)
    spec, _, observed, _ = setup
    data = spec.to_data()
    data["vary"]["params.r_per_min"]["bounds"] = [4e-6, 1e-4]
    with pytest.raises(ConfigError) as info:
        calibrate(load_study_spec(data), observed, tmp_path / "out", progress=False)
    msg = str(info.value)
    assert "the prior reaches a scenario that does not validate" in msg, msg
    assert "params.D_um2_per_min = 20" in msg and "mesh.voxel_um = 250 is too coarse" in msg, msg
    assert not (tmp_path / "out").exists()


# -- the recovery ------------------------------------------------------------------------------
@pytest.mark.slow
def test_abc_smc_recovers_fisher_kpp_D_and_r(setup):
    # 8 generations of 100 particles on 2 worker processes (~1800 simulations, ~90 s on a
    # shared 2-core machine). Stated tolerances, from two trial runs (posterior means within
    # 9 % of the truth, 95 % intervals 0.2-0.3 of the prior's log-width):
    #   * the true value inside the 95 % credible interval,
    #   * the posterior mean within 25 % of the truth,
    #   * the interval's log-width at most half the prior's (the data did narrow it).
    spec, _, observed, root = setup
    t0 = time.perf_counter()
    result = calibrate(
        spec, observed, root / "abc", populations=8, population_size=100, workers=2,
        progress=False,
    )
    wall = time.perf_counter() - t0
    print(f"ABC-SMC wall time {wall:.0f} s")
    print(result.summary.to_string())
    print(result.populations.to_string())
    for key, truth in TRUE.items():
        row = result.summary.loc[key]
        assert row["ci95_low"] <= truth <= row["ci95_high"], (key, row.to_dict())
        assert abs(row["mean"] / truth - 1) <= 0.25, (key, row.to_dict())
        prior = next(p for p in priors_from_spec(spec) if p.key == key)
        ratio = math.log10(row["ci95_high"] / row["ci95_low"]) / math.log10(prior.hi / prior.lo)
        assert ratio <= 0.5, (key, ratio)
    # the folder holds what the docs promise
    folder = result.folder
    for name in ("study.toml", "observed.csv", "abc.db", "abc_populations.csv", "posterior.csv",
                 "posterior_summary.csv", "posterior_marginals.png", "posterior_pairs.png"):
        assert (folder / name).is_file(), name
    post = pd.read_csv(folder / "posterior.csv")
    assert len(post) == 100 and post["weight"].sum() == pytest.approx(1.0)
    assert list(result.populations["t"]) == list(range(8))
    summary = pd.read_csv(folder / "posterior_summary.csv", index_col=0)
    pd.testing.assert_frame_equal(summary, result.summary, check_exact=False, rtol=1e-7)
