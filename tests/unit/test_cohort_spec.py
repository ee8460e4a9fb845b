"""Cohort specs: strict validation (one ConfigError line each), sampling, arms' parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from invasim.cohort.patients import diagnosis_time
from invasim.cohort.spec import (
    builtin_cohort_names,
    load_cohort_spec,
    patient_params,
    quantiles,
    sample_table,
)
from invasim.errors import ConfigError


def base(**changes):
    data = {
        "name": "t",
        "patients": 50,
        "seed": 3,
        "follow_up_days": 365.0,
        "body": {"diagnosis_cells": 1e9},
        "sources": {"body.diagnosis_cells": "test"},
        "sample": {
            "shed_per_day": {"dist": "lognormal", "median": 3.2, "sigma": 1.0, "source": "s"},
            "a_per_day": {"dist": "uniform", "low": 0.002, "high": 0.004, "source": "s"},
        },
        "arms": {
            "untreated": {},
            "early": {"resection": {"at_primary_cells": 1e9}, "source": "s"},
            "shed-x3": {"scale": {"shed_per_day": 3.0}, "source": "s"},
        },
    }
    data.update(changes)
    return data


def error(data) -> str:
    with pytest.raises(ConfigError) as exc:
        load_cohort_spec(data)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_builtin_specs_load():
    names = builtin_cohort_names()
    assert {"resection-timing", "invasion-drugs"} <= set(names)
    for name in names:
        spec = load_cohort_spec(name)
        assert spec.arm_names[0] == "untreated"
        assert spec.follow_up_days == 3650.0


def test_arm_order_is_the_written_order():
    spec = load_cohort_spec(base())
    assert spec.arm_names == ["untreated", "early", "shed-x3"]


@pytest.mark.parametrize(
    "change, words",
    [
        ({"patientz": 3}, ["patientz", "patients"]),
        ({"patients": 0}, ["patients"]),
        ({"follow_up_days": float("inf")}, ["follow_up_days", "finite"]),
        ({"body": {"shed_per_dy": 1.0}, "sources": {}}, ["shed_per_dy", "shed_per_day"]),
        ({"body": {"dt_days": 2.0}}, ["body.dt_days", "no source"]),
        ({"sources": {"body.diagnosis_cells": "x", "body.other": "y"}}, ["body.other"]),
        ({"arms": {}}, ["no arms"]),
        ({"arms": {"a": {"shed_per_dy": 1.0, "source": "s"}}}, ["shed_per_dy", "shed_per_day"]),
        ({"arms": {"a": {"scale": {"shed_per_dy": 3.0}, "source": "s"}}}, ["scale.shed_per_dy"]),
        ({"arms": {"a": {"scale": {"shed_per_day": -1.0}, "source": "s"}}}, [">= 0"]),
        ({"arms": {"a": {"dt_days": 2.0}}}, ["without a source"]),
        ({"arms": {"a": {"shed_per_day": 2.0, "source": "s"}}}, ["sampled field", "scale"]),
        ({"arms": {"a": {"resection": {"at_dya": 3.0}, "source": "s"}}}, ["at_dya"]),
        ({"arms": {"a": {"treatments": [{"start": "never"}], "source": "s"}}}, ["start"]),
        ({"arms": {"a": {"detect_times_days": [1.0], "source": "s"}}}, ["detect_times_days"]),
    ],
)
def test_errors_name_the_key_and_what_is_allowed(change, words):
    msg = error(base(**change))
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize(
    "dist, words",
    [
        ({"dist": "gamma", "mean": 1.0, "source": "s"}, ["gamma", "lognormal", "loguniform"]),
        ({"dist": "lognormal", "median": 3.0, "source": "s"}, ["sigma"]),
        ({"dist": "uniform", "low": 1.0, "high": 2.0, "mean": 1.0, "source": "s"}, ["mean"]),
        ({"dist": "uniform", "low": 2.0, "high": 1.0, "source": "s"}, ["low < high"]),
        ({"dist": "loguniform", "low": 0.0, "high": 1.0, "source": "s"}, ["low > 0"]),
        ({"dist": "truncnormal", "mean": 1.0, "sd": 1.0, "source": "s"}, ["'low' or 'high'"]),
        ({"dist": "normal", "mean": 3.0, "sd": 2.0, "source": "s"}, ["low end", "truncate"]),
        ({"dist": "uniform", "low": 1.0, "high": 2.0}, ["source"]),
    ],
)
def test_distribution_errors(dist, words):
    data = base()
    data["sample"] = {"shed_per_day": dist}
    msg = error(data)
    for w in words:
        assert w in msg, msg


def test_sampled_field_must_be_numeric():
    data = base()
    data["sample"] = {"organs": {"dist": "uniform", "low": 1.0, "high": 2.0, "source": "s"}}
    assert "numeric BodyParams field" in error(data)


def test_set_overrides():
    spec = load_cohort_spec(base(), ["patients=7", "arms.early.resection.at_primary_cells=3e10"])
    assert spec.patients == 7
    assert spec.arms["early"]["resection"]["at_primary_cells"] == 3e10


def test_unknown_builtin_names_the_builtins():
    with pytest.raises(ConfigError, match="resection-timing"):
        load_cohort_spec("resection-timimg")


def test_sampling_is_reproducible_and_prefix_stable():
    spec = load_cohort_spec(base())
    a = sample_table(spec, 50)
    b = sample_table(spec, 50)
    c = sample_table(spec, 20)
    assert a.equals(b)
    assert a.iloc[:20].reset_index(drop=True).equals(c)
    # one field's stream does not depend on the others
    data = base()
    del data["sample"]["a_per_day"]
    d = sample_table(load_cohort_spec(data), 50)
    np.testing.assert_array_equal(d["shed_per_day"], a["shed_per_day"])
    np.testing.assert_array_equal(d["seed"], a["seed"])
    assert len(set(a["seed"])) == 50
    # another seed, other patients
    e = sample_table(load_cohort_spec(base(seed=4)), 50)
    assert not np.allclose(e["shed_per_day"], a["shed_per_day"])


def test_sampled_distributions_match_their_laws():
    """KS test of 4000 draws against scipy's distributions (alpha 1e-3: ~1/1000 false fails)."""
    data = base(patients=4000)
    data["sample"] = {
        "shed_per_day": {"dist": "lognormal", "median": 3.2, "sigma": 0.7, "source": "s"},
        "a_per_day": {"dist": "loguniform", "low": 1e-3, "high": 1e-2, "source": "s"},
        "alpha": {"dist": "truncnormal", "mean": 0.66, "sd": 0.1, "low": 0.5, "high": 0.8,
                  "source": "s"},
        "ctc_half_life_min": {"dist": "normal", "mean": 90.0, "sd": 10.0, "source": "s"},
    }
    t = sample_table(load_cohort_spec(data))
    laws = {
        "shed_per_day": stats.lognorm(0.7, scale=3.2),
        "a_per_day": stats.loguniform(1e-3, 1e-2),
        "alpha": stats.truncnorm(-1.6, 1.4, loc=0.66, scale=0.1),
        "ctc_half_life_min": stats.norm(90.0, 10.0),
    }
    for name, law in laws.items():
        assert stats.kstest(t[name], law.cdf).pvalue > 1e-3, name
    assert t["alpha"].between(0.5, 0.8).all()


def test_quantiles_by_hand():
    spec = load_cohort_spec(base())
    d = spec.sample["shed_per_day"]
    # lognormal: median at u = 0.5, median * e^sigma at Phi(1)
    assert quantiles(d, np.array([0.5]))[0] == pytest.approx(3.2)
    assert quantiles(d, np.array([0.8413447460685429]))[0] == pytest.approx(3.2 * math.e)
    u = spec.sample["a_per_day"]
    assert quantiles(u, np.array([0.25]))[0] == pytest.approx(0.0025)


def test_patient_params_apply_base_sample_arm_and_scale():
    spec = load_cohort_spec(base())
    row = {"shed_per_day": 2.0, "a_per_day": 0.003}
    p0 = patient_params(spec, "untreated", row)
    assert (p0.shed_per_day, p0.a_per_day, p0.resection) == (2.0, 0.003, None)
    p1 = patient_params(spec, "early", row)
    assert p1.resection.at_primary_cells == 1e9
    p3 = patient_params(spec, "shed-x3", row)
    assert p3.shed_per_day == pytest.approx(6.0)
    assert p3.a_per_day == 0.003


def test_diagnosis_time_is_the_gompertz_crossing():
    spec = load_cohort_spec(base())
    p = patient_params(spec, "untreated", {"shed_per_day": 3.2, "a_per_day": 0.00286})
    t = diagnosis_time(p)
    x = p.b_cells * math.exp(math.log(1.0 / p.b_cells) * math.exp(-p.a_per_day * t))
    assert x == pytest.approx(1e9, rel=1e-9)
    assert 600 < t < 630  # ~616 days from one cell at the default a and b
    assert diagnosis_time(p.model_copy(update={"diagnosis_cells": 1e11})) == math.inf


# -- a tissue run's calibrated shedding (invasim shedding -> shedding.toml) ----------------------
SHEDDING_TOML = """
[body]
shed_per_day = 2.5
alpha = 0.6666666666666666
cluster_fraction = 0.4

[sources]
"body.shed_per_day" = "calibrated by invasim shedding from 12 events of run R"
"body.alpha" = "2/3: shedding from the surface of a spherical primary"
"body.cluster_fraction" = "share of events of >= 2 cells in run R"
"""


def test_shedding_file_sets_the_centre_of_a_sampled_field_and_the_body_values(tmp_path):
    f = tmp_path / "shedding.toml"
    f.write_text(SHEDDING_TOML)
    data = base()
    data["sample"] = {"shed_per_day": {"dist": "lognormal", "median": 3.2, "sigma": 0.5,
                                       "source": "spread: stated"}}  # fmt: skip
    spec = load_cohort_spec(data, shedding=f)
    assert spec.sample["shed_per_day"].median == 2.5
    assert spec.sample["shed_per_day"].sigma == 0.5  # the spread is kept
    assert "12 events of run R" in spec.sample["shed_per_day"].source
    assert spec.body["alpha"] == pytest.approx(2 / 3) and spec.body["cluster_fraction"] == 0.4
    assert "run R" in spec.sources["body.cluster_fraction"]
    # --set comes after the file
    spec2 = load_cohort_spec(data, ["body.cluster_fraction=0.1"], shedding=f)
    assert spec2.body["cluster_fraction"] == 0.1
    # the sampled medians of the patients follow the calibration
    table = sample_table(spec, 4000)
    assert np.median(table["shed_per_day"]) == pytest.approx(2.5, rel=0.05)


def test_bad_shedding_files_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read it"):
        load_cohort_spec(base(), shedding=tmp_path / "missing.toml")
    f = tmp_path / "x.toml"
    f.write_text("[calibration]\nn_events = 3\n")
    with pytest.raises(ConfigError, match=r"no \[body\] table"):
        load_cohort_spec(base(), shedding=f)
    f.write_text(SHEDDING_TOML)
    data = base()
    data["sample"] = {"shed_per_day": {"dist": "uniform", "low": 1.0, "high": 5.0,
                                       "source": "stated"}}  # fmt: skip
    with pytest.raises(ConfigError, match="no centre to set"):
        load_cohort_spec(data, shedding=f)
