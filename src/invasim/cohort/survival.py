"""Survival analysis of a cohort table with lifelines: Kaplan–Meier, Cox, log-rank.

Contract:
    * Input: the patients table (``arm``, ``status``, ``survival_days``, ``died``); only rows
      with ``status == "diagnosed"`` of the arms named enter the analysis (the others are
      counted).
    * :func:`survival_table` ``(patients, arms) -> DataFrame``, one row per arm in the given
      order (the first is the reference): ``arm``, ``n`` (diagnosed patients), ``deaths``,
      ``censored``, ``died_before_diagnosis``, ``not_diagnosed``; ``median_days`` and its 95 %
      CI ``median_ci_low``/``median_ci_high`` (Kaplan–Meier, lifelines'
      ``KaplanMeierFitter``: the median where the survival curve crosses 0.5, the CI where
      its exponential-Greenwood pointwise band crosses 0.5; ``inf``: not reached);
      ``hr``, ``hr_ci_low``, ``hr_ci_high``, ``cox_p``: the hazard ratio vs the first arm
      from a Cox proportional-hazards model of that arm and the first only, with an arm
      indicator (``CoxPHFitter``, Efron ties; Wald CI and p), so an arm's HR does not depend
      on which other arms the cohort has; ``logrank_p``: the
      two-arm log-rank test vs the first arm (``logrank_test``); ``logrank_p_all_arms``: the
      multivariate log-rank test over all arms (``multivariate_logrank_test``), the same
      value on every row. The reference row has hr 1 and NaN tests. A statistic lifelines
      cannot compute (no deaths anywhere, one arm) is NaN.
    * Every test treats the arms as independent samples; the cohort's arms are paired
      (common random numbers), which correlates them positively, so these p-values are
      conservative for the paired design.
    * :func:`km_fitters` gives the fitted ``KaplanMeierFitter`` of each arm (for the figure).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

#: columns of survival.csv
SURVIVAL_COLUMNS = ["arm", "n", "deaths", "censored", "died_before_diagnosis", "not_diagnosed",
                    "median_days", "median_ci_low", "median_ci_high", "hr", "hr_ci_low",
                    "hr_ci_high", "cox_p", "logrank_p", "logrank_p_all_arms"]  # fmt: skip


def _lifelines():
    import lifelines  # a core dependency; imported late: it takes ~1 s

    return lifelines


def diagnosed(patients: pd.DataFrame) -> pd.DataFrame:
    """The rows that enter the analysis (``status == "diagnosed"``)."""
    return patients[patients["status"] == "diagnosed"]


def km_fitters(patients: pd.DataFrame, arms: list[str], scale: float = 1.0) -> dict:
    """A fitted Kaplan–Meier estimator per arm (durations divided by ``scale``)."""
    ll = _lifelines()
    d = diagnosed(patients)
    out = {}
    for arm in arms:
        sub = d[d["arm"] == arm]
        kmf = ll.KaplanMeierFitter(label=arm)
        if len(sub):
            kmf.fit(sub["survival_days"].to_numpy(float) / scale,
                    sub["died"].to_numpy(bool), label=arm)  # fmt: skip
        out[arm] = kmf
    return out


def _median(kmf) -> tuple[float, float, float]:
    from lifelines.utils import median_survival_times

    if not hasattr(kmf, "survival_function_"):
        return (math.nan,) * 3
    ci = median_survival_times(kmf.confidence_interval_)
    return float(kmf.median_survival_time_), float(ci.iloc[0, 0]), float(ci.iloc[0, 1])


def _cox(d: pd.DataFrame, arms: list[str]) -> dict[str, tuple[float, float, float, float]]:
    """``(hr, low, high, p)`` of each arm vs the first: one two-arm Cox model per arm."""
    ll = _lifelines()
    out = {}
    for a in arms[1:]:
        sub = d[d["arm"].isin([arms[0], a])]
        if sub["died"].sum() == 0 or sub["arm"].nunique() < 2:
            continue
        df = pd.DataFrame({"T": sub["survival_days"].to_numpy(float),
                           "E": sub["died"].to_numpy(bool).astype(int),
                           "arm": (sub["arm"].to_numpy() == a).astype(float)})  # fmt: skip
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cph = ll.CoxPHFitter().fit(df, duration_col="T", event_col="E")
        except Exception:  # lifelines' convergence errors (e.g. an arm without deaths)
            continue
        r = cph.summary.loc["arm"]
        out[a] = (float(r["exp(coef)"]), float(r["exp(coef) lower 95%"]),
                  float(r["exp(coef) upper 95%"]), float(r["p"]))  # fmt: skip
    return out


def survival_table(patients: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """One row per arm: counts, KM median (95 % CI), HR vs the first arm, tests (see contract)."""
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    patients = patients[patients["arm"].isin(arms)]  # only these arms, in every statistic
    d = diagnosed(patients)
    fitters = km_fitters(patients, arms)
    cox = _cox(d, arms)
    p_all = math.nan
    if len(arms) > 1 and len(d) and d["died"].any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p_all = float(multivariate_logrank_test(
                d["survival_days"], d["arm"], d["died"]).p_value)  # fmt: skip
    ref = d[d["arm"] == arms[0]]
    rows = []
    for i, arm in enumerate(arms):
        sub = d[d["arm"] == arm]
        every = patients[patients["arm"] == arm]
        med, lo, hi = _median(fitters[arm])
        hr = (1.0, math.nan, math.nan, math.nan) if i == 0 else cox.get(arm, (math.nan,) * 4)
        p_lr = math.nan
        if i > 0 and len(sub) and len(ref) and (sub["died"].any() or ref["died"].any()):
            p_lr = float(logrank_test(sub["survival_days"], ref["survival_days"],
                                      sub["died"], ref["died"]).p_value)  # fmt: skip
        rows.append({
            "arm": arm, "n": len(sub), "deaths": int(sub["died"].sum()),
            "censored": int(len(sub) - sub["died"].sum()),
            "died_before_diagnosis": int((every["status"] == "died before diagnosis").sum()),
            "not_diagnosed": int((every["status"] == "not diagnosed").sum()),
            "median_days": med, "median_ci_low": lo, "median_ci_high": hi,
            "hr": hr[0], "hr_ci_low": hr[1], "hr_ci_high": hr[2], "cox_p": hr[3],
            "logrank_p": p_lr, "logrank_p_all_arms": p_all,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=SURVIVAL_COLUMNS)


def format_survival(table: pd.DataFrame) -> str:
    """The survival table as printed by the CLI (medians in months)."""
    lines = [f"{'arm':<22} {'n':>5} {'deaths':>6} {'median months (95% CI)':>26} "
             f"{'HR (95% CI)':>20} {'log-rank p':>10}"]  # fmt: skip

    def mo(v: float) -> str:
        return "NR" if not np.isfinite(v) else f"{v / 30.4375:.1f}"

    for r in table.itertuples():
        med = f"{mo(r.median_days)} ({mo(r.median_ci_low)}-{mo(r.median_ci_high)})"
        hr = "ref" if r.Index == 0 else (
            f"{r.hr:.2f} ({r.hr_ci_low:.2f}-{r.hr_ci_high:.2f})" if np.isfinite(r.hr) else "-")
        p = "" if r.Index == 0 else (f"{r.logrank_p:.2g}" if np.isfinite(r.logrank_p) else "-")
        lines.append(f"{r.arm:<22} {r.n:>5} {r.deaths:>6} {med:>26} {hr:>20} {p:>10}")
    if len(table) > 1:
        p_all = table["logrank_p_all_arms"].iloc[0]
        lines.append(f"multivariate log-rank over all arms: p = {p_all:.3g}")
    return "\n".join(lines)
