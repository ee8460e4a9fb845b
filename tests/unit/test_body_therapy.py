"""Therapy in the body model: resection, log-kill, drug factors, their clocks (body/patient.py).

The expected values are Gompertz's law solved by hand (``ln x(t) = ln b' − (ln b' − ln x0)
e^(−a t)``, with ``ln b' = ln b − δ/a`` under a log-kill rate ``δ``), not outputs of the code.
Tolerances: 1e-9 relative on exact flows (the kernel evaluates the same closed form in double
precision; only rounding differs).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from invasim.body import BodyParams, simulate_patient
from invasim.body.patient import Resection, Treatment

A, B = 0.00286, 7.3e10


def _flow(x0: float, t: float, a: float = A, lnb: float = math.log(B)) -> float:
    return math.exp(lnb - (lnb - math.log(x0)) * math.exp(-a * t))


def _crossing(x0: float, target: float, a: float = A, lnb: float = math.log(B)) -> float:
    return -math.log((lnb - math.log(target)) / (lnb - math.log(x0))) / a


def _same(r1, r2) -> bool:
    return (r1.died == r2.died and r1.cause == r2.cause
            and np.array_equal(r1.burden.values, r2.burden.values, equal_nan=True)
            and np.array_equal(r1.sizes, r2.sizes) and r1.ctc_shed == r2.ctc_shed)  # fmt: skip


def _primary_at(r, t_days: float) -> float:
    tab = r.burden
    row = tab.loc[np.isclose(tab["t_days"], t_days)]
    assert len(row) == 1, f"no row at {t_days} days"
    return float(row["primary"].iloc[0])


def test_neutral_treatments_change_nothing_bit_for_bit():
    base = simulate_patient(BodyParams(), 4, 1500.0)
    neutral = BodyParams(treatments=[
        Treatment(name="placebo", start="time", duration_days=1000.0),
        Treatment(name="never", start="resection", kill_per_day=1.0, shed_factor=0.0),
    ])  # the second waits for a resection that never comes
    assert _same(base, simulate_patient(neutral, 4, 1500.0))
    assert math.isnan(base.t_resection_days)


def test_diagnosis_at_the_exact_crossing_of_the_primary():
    r = simulate_patient(BodyParams(diagnosis_cells=3e9), 0, 1000.0)
    assert r.t_diagnosis_days == pytest.approx(_crossing(1.0, 3e9), rel=1e-9)
    big = simulate_patient(BodyParams(primary_cells_initial=5e9), 0, 10.0)
    assert big.t_diagnosis_days == 0.0
    never = simulate_patient(BodyParams(), 0, 100.0)  # 100 days: ~1e3 cells
    assert math.isnan(never.t_diagnosis_days)


def test_resection_by_size_at_the_crossing_and_the_residue_regrows_by_gompertz():
    p = BodyParams(resection=Resection(at_primary_cells=2e9, residual_fraction=0.01),
                   record_every_days=10.0)  # fmt: skip
    r = simulate_patient(p, 1, 900.0)
    t_res = _crossing(1.0, 2e9)
    assert r.t_resection_days == pytest.approx(t_res, rel=1e-9)
    for t in (700.0, 800.0, 900.0):
        assert _primary_at(r, t) == pytest.approx(_flow(2e7, t - t_res), rel=1e-9)
    # complete resection: the primary is gone and sheds nothing more
    full = simulate_patient(BodyParams(resection=Resection(at_primary_cells=2e9),
                                       record_every_days=10.0), 1, 900.0)  # fmt: skip
    assert _primary_at(full, 700.0) == 0.0 and _primary_at(full, 900.0) == 0.0
    untreated = simulate_patient(BodyParams(), 1, 900.0)
    assert full.ctc_shed < untreated.ctc_shed


def test_resection_by_time_and_the_first_of_two_triggers():
    r = simulate_patient(BodyParams(resection=Resection(at_day=500.25)), 0, 600.0)
    assert r.t_resection_days == pytest.approx(500.25, abs=1e-12)
    both = Resection(at_day=800.0, at_primary_cells=1e9)  # size comes first (616 days)
    r2 = simulate_patient(BodyParams(resection=both), 0, 900.0)
    assert r2.t_resection_days == pytest.approx(_crossing(1.0, 1e9), rel=1e-9)


def test_log_kill_follows_the_shifted_gompertz_law():
    delta, g = 0.004, 0.5
    p = BodyParams(treatments=[Treatment(kill_per_day=delta, growth_factor=g)],
                   record_every_days=10.0)  # fmt: skip
    r = simulate_patient(p, 0, 1500.0)
    a = A * g
    lnb = math.log(B) - delta / a
    for t in (500.0, 1000.0, 1500.0):
        assert _primary_at(r, t) == pytest.approx(_flow(1.0, t, a, lnb), rel=1e-9)


def test_a_treatment_window_starts_at_its_event_plus_delay_and_ends():
    start = _crossing(1.0, 1e9) + 20.0
    p = BodyParams(record_every_days=10.0, treatments=[
        Treatment(start="diagnosis", delay_days=20.0, duration_days=100.0, kill_per_day=0.05)])
    r = simulate_patient(p, 0, 900.0)
    t_on = math.ceil(start)  # the first one-day step at or after the start
    assert _primary_at(r, 630.0) == pytest.approx(_flow(1.0, 630.0), rel=1e-9)  # before
    x_on = _flow(1.0, t_on)
    lnb_k = math.log(B) - 0.05 / A
    assert _primary_at(r, 700.0) == pytest.approx(_flow(x_on, 700.0 - t_on, A, lnb_k),
                                                  rel=1e-9)  # fmt: skip
    x_off = _flow(x_on, 100.0, A, lnb_k)
    assert _primary_at(r, 800.0) == pytest.approx(_flow(x_off, 800.0 - t_on - 100.0),
                                                  rel=1e-9)  # fmt: skip


def test_drug_factors_act_on_shedding_and_extravasation():
    no_shed = simulate_patient(BodyParams(treatments=[Treatment(shed_factor=0.0)]), 2, 900.0)
    assert no_shed.ctc_shed == 0.0 and no_shed.n_started == 0 and no_shed.n_dormant == 0
    no_ext = simulate_patient(BodyParams(treatments=[Treatment(extravasation_factor=0.0)]),
                              2, 900.0)  # fmt: skip
    assert no_ext.ctc_shed > 0 and no_ext.n_started == 0 and no_ext.n_dormant == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chemotherapy_shrinks_colonies_and_delays_death(seed):
    """Direction, per seed: a strong log-kill from diagnosis for a year delays death."""
    base = simulate_patient(BodyParams(), seed, 4000.0)
    chemo = BodyParams(treatments=[Treatment(start="diagnosis", duration_days=365.0,
                                             kill_per_day=0.05)])  # fmt: skip
    r = simulate_patient(chemo, seed, 4000.0)
    assert base.died
    assert (not r.died) or r.t_death_days > base.t_death_days


def test_bad_therapy_input_is_refused():
    with pytest.raises(ValidationError):
        Treatment(start="surgery")
    with pytest.raises(ValidationError):
        Resection(residual_fraction=1.5)
    with pytest.raises(ValidationError):
        BodyParams(treatments=[{"name": "x", "kil_per_day": 1.0}])
