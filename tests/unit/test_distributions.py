"""Unit tests of invasim.rules.distributions: validation, exact moments, sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from pydantic import BaseModel, ValidationError

from invasim.errors import ConfigError
from invasim.rules.distributions import (
    MIN_MASS,
    Constant,
    LogNormal,
    LogUniform,
    Normal,
    PerCellValue,
    Uniform,
    parse_per_cell,
    sample_per_cell,
)

SPECS = [
    {"distribution": "constant", "value": 2.5},
    {"distribution": "uniform", "lower": 1.0, "upper": 3.0},
    {"distribution": "loguniform", "lower": 0.01, "upper": 10.0},
    {"distribution": "normal", "mu": 10.0, "sigma": 2.0},
    {"distribution": "normal", "mu": 10.0, "sigma": 2.0, "lower": 9.0, "upper": 16.0},
    {"distribution": "normal", "mu": 0.0, "sigma": 1.0, "lower": 2.9},  # far tail, mass 1.9e-3
    {"distribution": "lognormal", "mu": 7.8, "sigma": 0.3},
    {"distribution": "lognormal", "mu": 7.8, "sigma": 0.3, "lower": 2000.0, "upper": 3000.0},
    {"distribution": "lognormal", "mu": 0.0, "sigma": 1.5, "upper": 4.0},
]
IDS = [
    "-".join(f"{v}" for k, v in s.items() if k != "distribution").join(
        [s["distribution"] + "(", ")"]
    )
    for s in SPECS
]

# Sample checks: n = 40 000 draws, 5 seeds. The sample mean must lie within 4.5 standard errors
# (sqrt(var / n)) of the exact mean, the sample variance within 4.5 of its own standard error
# (sqrt((m4 - var^2) / n), m4 the sample's 4th central moment). With 90 such checks the chance of
# a false failure is below 1e-3 (each 7e-6 two-sided); the seeds are fixed, so the outcome is too.
N = 40_000
Z = 4.5


def test_moments_match_scipy_and_quadrature():
    for spec in SPECS:
        dist = parse_per_cell(spec, "p")
        mean, var = dist.moments()
        if isinstance(dist, Normal):
            a, b = (dist.lower - dist.mu) / dist.sigma, (dist.upper - dist.mu) / dist.sigma
            ref = scipy.stats.truncnorm(a, b, loc=dist.mu, scale=dist.sigma)
            assert (mean, var) == pytest.approx((ref.mean(), ref.var()), rel=1e-9)
        elif isinstance(dist, LogNormal | LogUniform):
            if isinstance(dist, LogNormal):
                base = scipy.stats.lognorm(dist.sigma, scale=math.exp(dist.mu))
            else:
                base = scipy.stats.loguniform(dist.lower, dist.upper)
            lo, hi = dist.support()
            hi = min(hi, base.ppf(1 - 1e-15))
            z = base.cdf(hi) - base.cdf(lo)
            pdf = base.pdf
            m1 = scipy.integrate.quad(lambda x, f=pdf: x * f(x), lo, hi, limit=200)[0] / z
            m2 = scipy.integrate.quad(lambda x, f=pdf: x * x * f(x), lo, hi, limit=200)[0] / z
            assert (mean, var) == pytest.approx((m1, m2 - m1 * m1), rel=1e-6)
        elif isinstance(dist, Uniform):
            assert (mean, var) == pytest.approx((2.0, 4.0 / 12.0))
        else:
            assert (mean, var) == (2.5, 0.0)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@pytest.mark.parametrize("seed", range(5))
def test_sample_moments_and_bounds(spec, seed):
    dist = parse_per_cell(spec, "p")
    x = dist.sample(np.random.default_rng(seed), N)
    assert x.shape == (N,) and x.dtype == np.float64
    lo, hi = dist.support()
    assert x.min() >= lo and x.max() <= hi
    mean, var = dist.moments()
    if var == 0.0:
        assert (x == mean).all()
        return
    assert abs(x.mean() - mean) <= Z * math.sqrt(var / N), (x.mean(), mean)
    m4 = np.mean((x - x.mean()) ** 4)
    s2 = x.var(ddof=1)
    assert abs(s2 - var) <= Z * math.sqrt(max(m4 - s2 * s2, 0.0) / N), (s2, var)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_deterministic_per_seed(spec):
    dist = parse_per_cell(spec, "p")
    a = dist.sample(np.random.default_rng(42), 1000)
    b = dist.sample(np.random.default_rng(42), 1000)
    c = dist.sample(np.random.default_rng(43), 1000)
    assert np.array_equal(a, b)
    assert isinstance(dist, Constant) or not np.array_equal(a, c)


def test_numbers_and_schema_use():
    assert parse_per_cell(3, "p") == 3.0 and isinstance(parse_per_cell(3, "p"), float)
    assert np.array_equal(sample_per_cell(3.0, np.random.default_rng(0), 4), np.full(4, 3.0))

    class CellType(BaseModel):
        volume: PerCellValue

    assert CellType(volume=2.0).volume == 2.0
    typed = CellType.model_validate({"volume": SPECS[6]})
    assert isinstance(typed.volume, LogNormal)
    again = parse_per_cell(typed.volume, "cell_types.tumor.volume", minimum=0.0)
    assert again is typed.volume
    with pytest.raises(ValidationError) as exc:  # the loader adds the key path in front
        CellType.model_validate({"volume": {"distribution": "normal", "mu": 1.0, "sd": 2.0}})
    assert "unknown key 'sd' (did you mean 'sigma'?)" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        CellType.model_validate({"volume": {"distribution": "normal", "mu": 1.0, "sigma": 0}})
    assert "sigma = 0: Input should be greater than 0" in str(exc.value)


def test_min_mass_rule():
    # 2.9 sigma keeps 1.9e-3 (accepted); 3.2 sigma keeps 6.9e-4 < MIN_MASS (refused)
    assert parse_per_cell(SPECS[5], "p").mass() == pytest.approx(scipy.stats.norm.sf(2.9))
    with pytest.raises(ConfigError) as exc:
        parse_per_cell({"distribution": "normal", "mu": 0.0, "sigma": 1.0, "lower": 3.2}, "p")
    assert f"at least {MIN_MASS:g}" in str(exc.value)


@pytest.mark.parametrize(
    ("value", "needles"),
    [
        ({"distribution": "lognormal", "mu": 7.8, "sigma": 0.0}, ["k.sigma = 0.0", "than 0"]),
        ({"distribution": "normal", "mu": 1.0, "sigma": -1.0}, ["k.sigma = -1.0"]),
        ({"distribution": "uniform", "lower": 2.0, "upper": 1.0}, ["lower < upper"]),
        ({"distribution": "normal", "mu": 1, "sigma": 1, "lower": 2, "upper": 2}, ["< upper"]),
        ({"distribution": "loguniform", "lower": 0.0, "upper": 1.0}, ["k.lower = 0.0"]),
        ({"distribution": "lognormal", "mu": 2500.0, "sigma": 0.2, "upper": 5000.0},
         ["keep 0", "median is exp(mu)"]),
        ({"distribution": "lognormla", "mu": 1.0, "sigma": 1.0}, ["did you mean 'lognormal'?"]),
        ({"mu": 1.0, "sigma": 1.0}, ["needs distribution = one of"]),
        ({"distribution": "normal", "mu": 1.0, "sd": 1.0}, ["unknown key 'sd'", "'sigma'"]),
        ({"distribution": "normal", "mu": 1.0}, ["normal needs 'sigma'"]),
        ({"distribution": "constant", "value": math.inf}, ["k.value = inf"]),
        ("big", ["k = 'big'", "a number or a distribution table"]),
        (True, ["k = True"]),
        (math.nan, ["finite"]),
    ],
)  # fmt: skip
def test_bad_specs_are_one_line_config_errors(value, needles):
    with pytest.raises(ConfigError) as exc:
        parse_per_cell(value, "k")
    msg = str(exc.value)
    assert "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_parameter_range_is_enforced_on_the_support():
    normal = {"distribution": "normal", "mu": 10.0, "sigma": 2.0}
    with pytest.raises(ConfigError) as exc:
        parse_per_cell(normal, "cell_types.tumor.radius", minimum=0.0, exclusive_minimum=True)
    assert "must be > 0" in str(exc.value) and "set lower" in str(exc.value)
    assert parse_per_cell({**normal, "lower": 1.0}, "r", minimum=0.0, exclusive_minimum=True)
    with pytest.raises(ConfigError) as exc:
        parse_per_cell({"distribution": "uniform", "lower": 0.5, "upper": 1.5}, "bias", maximum=1.0)
    assert "<= 1" in str(exc.value) and "set upper" in str(exc.value)
    with pytest.raises(ConfigError):
        parse_per_cell(-1.0, "rate", minimum=0.0)
    assert parse_per_cell({"distribution": "lognormal", "mu": 0, "sigma": 1}, "r", minimum=0.0)
