"""Fisher–KPP: the front speed tends to c = 2 sqrt(D r), with Bramson's logarithmic lag.

The checks are the verify cases of :mod:`invasim.verify.cases.fisher_kpp` (``invasim verify
-k fisher-kpp`` runs the same functions); their docstrings and comments give the tolerances.
"""

from __future__ import annotations

from invasim.verify.cases import fisher_kpp


def test_front_speed_matches_two_sqrt_Dr():
    res = fisher_kpp.front_speed.run(quick=False)
    assert res.passed, (res.detail, res.checks)


def test_bramson_lag_is_three_halves_of_the_width():
    res = fisher_kpp.bramson_lag.run(quick=False)
    assert res.passed, (res.detail, res.checks)
