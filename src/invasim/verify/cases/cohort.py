"""Validation cases of the virtual cohorts (:mod:`invasim.cohort`): the direction of each effect.

The therapy parameters are imposed; the survival differences are emergent (they follow from
the metastases seeded before and after each intervention). Each case runs the shipped
``resection-timing`` cohort (its sampled patients, its seed) with a few arms, in this process,
and tests the direction of an effect with a log-rank test at p < 0.01 plus the sign of the
Cox hazard ratio. How many patients, and why (Schoenfeld: the log-rank statistic is about
``|ln HR| √(D/4)`` standard deviations from 0 with ``D`` deaths in two equal arms):

* ``cohort earlier resection longer survival``: arms untreated, resection at diagnosis
  (1e9 cells) and, in the full form, delayed resection (3e10 cells). Measured on 40–60
  patients a side: HR ≈ 0.4–0.46 (resection at diagnosis vs none), so with ~D = 110 deaths
  among 2 × 60 patients (quick) the expected z is ≈ 0.8 × √27 ≈ 4.1 (p ≈ 4e-5), 1.5 SD beyond
  the p = 0.01 line (z 2.58); the full form (200 a side) adds resection at diagnosis vs
  delayed resection (measured on 300 a side: p 2e-16). Delayed resection vs none is REPORTED
  (measured on 300 a side: HR 0.99, 0.85–1.17, p 0.95; survival unchanged in 92 % of pairs:
  the metastases that kill are seeded before the primary reaches 3e10 cells), not tested.
* ``cohort more shedding shorter survival``: the shedding coefficient ``shed_per_day``
  scaled by 10 (quick; measured HR ≈ 3–3.4 on 25–60 a side, so 30 a side: expected
  z ≈ 1.1 × √15 ≈ 4.3; ×10 rather than ×3 because ×3 needs ~10× the patients) or by 3
  (full; measured HR ≈ 1.5 on 60 a side, so 200 a side: z ≈ 0.41 × √100 ≈ 4.1; measured
  on 250 a side: HR 1.59, p 3e-7) against the
  untreated arm.

The arms are paired (common random numbers: patient ``i`` has the same parameters and seed
in every arm), which makes the independent-sample tests conservative; the share of pairs in
which the better arm lives longer, and its two-sided sign-test p, are reported in
``detail``. Both cases also check the clock: every patient of the untreated arm is
diagnosed at the exact Gompertz crossing of ``diagnosis_cells`` (relative 1e-9), and none
dies before diagnosis (counted; expected 0 at the default parameters, where the first
metastases need years to grow).

Contract:
    * Cases ``cohort earlier resection longer survival`` and ``cohort more shedding shorter
      survival``; quick forms ~15–30 s each (after compilation), full forms ~1.5–3 min each.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.cohort.patients import diagnosis_time
from invasim.cohort.runner import simulate_cohort
from invasim.cohort.spec import load_cohort_spec, patient_params, read_cohort_data
from invasim.cohort.survival import survival_table
from invasim.verify import Checks, Result, case

MECHANISM = "virtual cohorts: therapy and survival"
SRC_RESECTION = ("resection stops the primary's further seeding (emergent in the body model; "
                 "shedding: Butler & Gullino 1975)")  # fmt: skip
SRC_SHED = "CTC shedding and metastatic burden (Butler & Gullino 1975; Coumans et al. 2013)"
#: the significance level of every test
ALPHA = 0.01
SPEC = "resection-timing"


def _spec(patients: int, arms: dict):
    data, _ = read_cohort_data(SPEC)
    data["patients"] = patients
    data["arms"] = arms
    return load_cohort_spec(data)


def _pair(spec, table, better: str, worse: str, chk: Checks, label: str):
    """Test ``better`` lives longer than ``worse``: log-rank p < ALPHA and HR < 1."""
    s = survival_table(table, [worse, better]).iloc[1]
    chk.bound(f"{label}: log-rank p ({better} vs {worse})", float(s["logrank_p"]), "<", ALPHA)
    chk.bound(f"{label}: Cox HR of {better} vs {worse}", float(s["hr"]), "<", 1.0)
    a = table[table["arm"] == better].set_index("patient")["survival_days"]
    b = table[table["arm"] == worse].set_index("patient")["survival_days"]
    d = (a - b).dropna()
    share = float(np.mean(d > 0)) if len(d) else math.nan
    return s, share


def _sign_p(table, better: str, worse: str) -> float:
    """Paired sign test (two-sided) of longer survival in ``better``; ties dropped."""
    from scipy.stats import binomtest

    a = table[table["arm"] == better].set_index("patient")["survival_days"]
    b = table[table["arm"] == worse].set_index("patient")["survival_days"]
    d = (a - b).dropna()
    d = d[d != 0]
    return float(binomtest(int((d > 0).sum()), len(d)).pvalue) if len(d) else math.nan


def _clock(spec, table, chk: Checks) -> int:
    ref = table[table["arm"] == spec.arm_names[0]]
    exact = []
    for row in ref.itertuples():
        sample = {k: getattr(row, k) for k in spec.sample}
        exact.append(diagnosis_time(patient_params(spec, spec.arm_names[0], sample)))
    rel = np.abs(ref["t_diagnosis_days"].to_numpy() / np.array(exact) - 1.0)
    chk.bound("clock: diagnosis at the Gompertz crossing (worst relative error)",
              float(np.nanmax(rel)), "<", 1e-9)  # fmt: skip
    before = int((table["status"] == "died before diagnosis").sum())
    chk.that(f"clock: no patient dies before diagnosis ({before})", before == 0)
    return before


@case("cohort earlier resection longer survival", MECHANISM, SRC_RESECTION)
def earlier_resection(quick: bool) -> Result:
    """Resection at diagnosis vs none (and vs delayed resection): log-rank p < 0.01, HR < 1."""
    full, _ = read_cohort_data(SPEC)
    arms = {k: full["arms"][k] for k in (("untreated", "resect-early") if quick else
                                         ("untreated", "resect-early", "resect-late"))}
    n = 60 if quick else 200
    spec = _spec(n, arms)
    table = simulate_cohort(spec)
    chk = Checks()
    s, share = _pair(spec, table, "resect-early", "untreated", chk, "resection at diagnosis")
    detail = (f"{SPEC}, {n} patients per arm (paired); resection at diagnosis vs none: HR "
              f"{s['hr']:.2f} ({s['hr_ci_low']:.2f}-{s['hr_ci_high']:.2f}), log-rank p "
              f"{s['logrank_p']:.2g}, longer in {share:.0%} of pairs (paired sign test p "
              f"{_sign_p(table, 'resect-early', 'untreated'):.2g})")  # fmt: skip
    if not quick:
        s2, share2 = _pair(spec, table, "resect-early", "resect-late", chk, "early vs late")
        s3 = survival_table(table, ["untreated", "resect-late"]).iloc[1]
        detail += (f"; vs delayed resection (3e10 cells): HR {s2['hr']:.2f}, p "
                   f"{s2['logrank_p']:.2g}, longer in {share2:.0%}; delayed resection vs none "
                   f"(reported): HR {s3['hr']:.2f}, p {s3['logrank_p']:.2g}")  # fmt: skip
    before = _clock(spec, table, chk)
    detail += f"; died before diagnosis: {before}"
    return chk.result(ALPHA, float(s["logrank_p"]), 0.0, "", detail, relation="<")


@case("cohort more shedding shorter survival", MECHANISM, SRC_SHED)
def more_shedding(quick: bool) -> Result:
    """Shedding × 10 (quick) or × 3 (full) vs the untreated arm: log-rank p < 0.01, HR > 1."""
    factor, n = (10.0, 30) if quick else (3.0, 200)
    arm = f"shed-x{factor:g}"
    spec = _spec(n, {"untreated": {}, arm: {"scale": {"shed_per_day": factor},
                                            "source": "the validation case"}})  # fmt: skip
    table = simulate_cohort(spec)
    chk = Checks()
    s, share = _pair(spec, table, "untreated", arm, chk, f"shedding x{factor:g}")
    hr = 1.0 / float(s["hr"])  # HR of the shedding arm vs untreated
    before = _clock(spec, table, chk)
    detail = (f"{SPEC}'s patients, {n} per arm (paired), shed_per_day x{factor:g}: HR "
              f"{hr:.2f} vs untreated, log-rank p {s['logrank_p']:.2g}; the untreated arm "
              f"lives longer in {share:.0%} of pairs (paired sign test p "
              f"{_sign_p(table, 'untreated', arm):.2g}); died before diagnosis: {before}")
    return chk.result(ALPHA, float(s["logrank_p"]), 0.0, "", detail, relation="<")
