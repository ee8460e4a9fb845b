"""The survival table (lifelines) on synthetic cohorts with known answers, and the KM figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from invasim.cohort.plot import plot_km
from invasim.cohort.survival import SURVIVAL_COLUMNS, format_survival, survival_table


def table(arms: dict[str, tuple[list[float], list[bool]]], extra=()) -> pd.DataFrame:
    rows = []
    for arm, (t, e) in arms.items():
        for i, (ti, ei) in enumerate(zip(t, e, strict=True)):
            rows.append({"arm": arm, "patient": i, "status": "diagnosed",
                         "survival_days": float(ti), "died": bool(ei)})
    rows.extend(extra)
    return pd.DataFrame(rows)


SMALL = {
    "a": ([1, 2, 3, 4, 5], [True] * 5),
    "b": ([2, 4, 6, 8, 10], [True, True, False, True, True]),
}


def logrank_by_hand(t1, e1, t2, e2) -> float:
    """Two-sample log-rank chi-square p (Mantel-Haenszel), by hand."""
    t1, e1, t2, e2 = map(np.asarray, (t1, e1, t2, e2))
    times = np.unique(np.concatenate([t1[e1], t2[e2]]))
    o_minus_e, var = 0.0, 0.0
    for t in times:
        n1, n2 = np.sum(t1 >= t), np.sum(t2 >= t)
        d1, d2 = np.sum((t1 == t) & e1), np.sum((t2 == t) & e2)
        n, d = n1 + n2, d1 + d2
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (n2 / n) * (n - d) / (n - 1)
    return float(stats.chi2.sf(o_minus_e**2 / var, 1))


def test_small_table_against_hand_arithmetic():
    extra = [{"arm": "b", "patient": 9, "status": "died before diagnosis",
              "survival_days": math.nan, "died": False},
             {"arm": "a", "patient": 8, "status": "not diagnosed",
              "survival_days": math.nan, "died": False}]  # fmt: skip
    s = survival_table(table(SMALL, extra), ["a", "b"])
    assert list(s.columns) == SURVIVAL_COLUMNS
    a, b = s.iloc[0], s.iloc[1]
    # KM by hand: a: S = .8, .6, .4 at t = 1, 2, 3 -> median 3;
    # b: S(2) = 4/5, S(4) = .8 * 3/4 = .6, censored at 6, S(8) = .6 * 1/2 = .3 -> median 8
    assert a["median_days"] == 3.0 and b["median_days"] == 8.0
    assert (a["n"], a["deaths"], a["censored"], a["not_diagnosed"]) == (5, 5, 0, 1)
    assert (b["n"], b["deaths"], b["censored"], b["died_before_diagnosis"]) == (5, 4, 1, 1)
    assert a["hr"] == 1.0 and math.isnan(a["logrank_p"]) and math.isnan(a["cox_p"])
    assert b["hr"] < 1.0  # b lives longer
    assert b["hr_ci_low"] < b["hr"] < b["hr_ci_high"]
    p = logrank_by_hand(*SMALL["b"], *SMALL["a"])
    assert b["logrank_p"] == pytest.approx(p, rel=1e-6)
    # two arms: the multivariate log-rank is the two-sample one
    assert b["logrank_p_all_arms"] == pytest.approx(p, rel=1e-6)
    text = format_survival(s)
    assert "ref" in text and "multivariate" in text


def test_exponential_arms_recover_the_hazard_ratio():
    """Exponential survival, rates 1 and 0.5 per 100 days, 1500 each, censored at 150 days.

    The Cox HR must be within its own 95 % CI of 0.5 and within 12 % (SE of log HR with ~1600
    deaths is ~0.05; 12 % is > 2 SE); the KM median of the reference is ln 2 × 100 within 8 %.
    """
    rng = np.random.default_rng(5)
    n = 1500
    ta = rng.exponential(100.0, n)
    tb = rng.exponential(200.0, n)
    arms = {"ref": (np.minimum(ta, 150.0), ta < 150.0), "slow": (np.minimum(tb, 150.0),
                                                               tb < 150.0)}  # fmt: skip
    s = survival_table(table(arms), ["ref", "slow"])
    slow = s.iloc[1]
    assert slow["hr_ci_low"] < 0.5 < slow["hr_ci_high"]
    assert slow["hr"] == pytest.approx(0.5, rel=0.12)
    assert slow["logrank_p"] < 1e-10 and slow["cox_p"] < 1e-10
    ref = s.iloc[0]
    assert ref["median_days"] == pytest.approx(100.0 * math.log(2.0), rel=0.08)
    assert ref["median_ci_low"] < ref["median_days"] < ref["median_ci_high"]
    assert ref["median_ci_high"] - ref["median_ci_low"] < 20.0
    assert math.isinf(slow["median_days"]) or slow["median_days"] > 120.0


def test_three_arms_and_an_arm_without_deaths():
    arms = {"a": ([1, 2, 3, 4, 5], [True] * 5), "b": ([2, 4, 6, 8, 10], [True] * 5),
            "c": ([10, 10, 10], [False] * 3)}  # fmt: skip
    s = survival_table(table(arms), ["a", "b", "c"])
    assert list(s["arm"]) == ["a", "b", "c"]
    assert math.isinf(s.iloc[2]["median_days"])  # not reached
    assert 0.0 <= s.iloc[0]["logrank_p_all_arms"] <= 1.0
    assert s["logrank_p_all_arms"].nunique() == 1


def test_no_deaths_at_all_gives_nan_tests():
    arms = {"a": ([10, 10], [False, False]), "b": ([10, 10], [False, False])}
    s = survival_table(table(arms), ["a", "b"])
    assert math.isnan(s.iloc[1]["hr"]) and math.isnan(s.iloc[1]["logrank_p"])


def test_km_figure_has_a_curve_per_arm_and_at_risk_counts():
    s = survival_table(table(SMALL), ["a", "b"])
    fig = plot_km(table(SMALL), s, ["a", "b"], "test")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("a:") and "reference" in lab for lab in labels)
    assert any(lab.startswith("b:") and "HR" in lab for lab in labels)
    assert len(fig.axes) >= 2  # lifelines' at-risk table is a twin axis


def test_only_the_named_arms_enter_every_statistic():
    three = {**SMALL, "c": ([50, 60, 70, 80, 90], [True] * 5)}
    two = survival_table(table(SMALL), ["a", "b"])
    sub = survival_table(table(three), ["a", "b"])
    pd.testing.assert_frame_equal(two, sub)
