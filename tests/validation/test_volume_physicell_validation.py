"""Validation of PhysiCell's volume model (``volume.model = "physicell"``) against its theory.

Single cells are deterministic and compared with closed forms written here independently of
:func:`~invasim.biology.volume.relax_exact` (sums of exponentials), to 1e-10 relative: the
roundings of a few hundred exact steps. PhysiCell's own forward Euler (its equations, stepped
at its 6 min) is compared too, with margins that are its measured first-order error. The
population mean is statistical: 3 standard errors over seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from invasim.biology.cycle import STANDARD_MODELS, CycleParams, advance_cycle, standard_model
from invasim.biology.death import DeathParams, advance_death
from invasim.biology.division import divide
from invasim.biology.volume import (
    CYTOPLASMIC_SOLID,
    FLUID,
    NUCLEAR_SOLID,
    PhysiCellVolumeParams,
    cycle_doubling,
    relax_exact,
    update_physicell_volumes,
)
from invasim.core.cells import APOPTOTIC, NECROTIC, Cells

DT = 6.0
V0, FF, VN = 2494.0, 0.75, 540.0
F0, N0, C0 = FF * V0, (1 - FF) * VN, (1 - FF) * (V0 - VN)  # 1870.5, 135, 488.5
LIVE, APO, SWELL, LYSED = ((0.05, 0.33 / 60, 0.27 / 60), (0.05, 0.35 / 60, 1 / 60),
                           (0.67 / 60, 0.013 / 60, 0.0032 / 60),
                           (0.05 / 60, 0.013 / 60, 0.0032 / 60))  # fmt: skip


def params(model: str) -> PhysiCellVolumeParams:
    s = STANDARD_MODELS[model]
    grow, flags = cycle_doubling(len(s.phases), s.division)
    return PhysiCellVolumeParams(
        use=[True], total=[V0], fluid_fraction=[FF], nuclear=[VN],
        rates=[[LIVE, APO, SWELL, LYSED]], target_fluid=[[FF, 0.0, 1.0, 0.0]],
        calcification=[[0.0, 0.0, 0.0042 / 60, 0.0042 / 60]], calcified_fraction=[0.0],
        relative_rupture=[2.0], grow=[grow], doubled=[list(flags) + [False] * (4 - len(flags))],
    )  # fmt: skip


def one_cell(volume: float = V0) -> Cells:
    c = Cells(2, capacity=4)
    c.add(1, position=np.zeros((1, 3)), volume=np.array([volume]))
    return c


def live_closed_form(t, y0, targets, rates=LIVE, ff=FF):
    """F, N, C at t of a live cell from y0 with constant solid targets (sum of exponentials).

    With S(t) = T + A_n e^{-r_n t} + A_c e^{-r_c t} and a = r_F (1 - f), b = r_F f:
    F(t) = T b/a + A_n b/(a - r_n) e^{-r_n t} + A_c b/(a - r_c) e^{-r_c t} + K e^{-a t},
    K from F(0) = F0 (distinct rates, a > 0).
    """
    (rf, rn, rc), (tn, tc) = rates, targets
    an, ac = y0[1] - tn, y0[2] - tc
    a, b = rf * (1 - ff), rf * ff
    cn, cc, c_inf = b * an / (a - rn), b * ac / (a - rc), b * (tn + tc) / a
    k = y0[0] - c_inf - cn - cc
    f = c_inf + cn * np.exp(-rn * t) + cc * np.exp(-rc * t) + k * np.exp(-a * t)
    return np.array([f, tn + an * np.exp(-rn * t), tc + ac * np.exp(-rc * t)])


def parts(c: Cells) -> np.ndarray:
    return np.array([c.column(k)[0] for k in (FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID)])


def test_each_compartment_relaxes_as_the_closed_form():
    """A cell entering S (targets doubled): F, N and C over 600 min vs the sum of exponentials."""
    c = one_cell()
    c.phase[0] = 0
    p = params("flow_cytometry_separated")
    update_physicell_volumes(c, p, 0.0)
    c.phase[0] = 1  # enters S: the next update doubles the targets
    got = []
    for _ in range(100):
        update_physicell_volumes(c, p, DT)
        got.append(parts(c))
    t = DT * np.arange(1, 101)
    want = live_closed_form(t, (F0, N0, C0), (2 * N0, 2 * C0))
    np.testing.assert_allclose(np.array(got), want.T, rtol=1e-10)
    assert 0.95 * 2 * V0 < c.volume[0] < 2 * V0  # 600 min: e^{-2.7} of the solids left to grow


@pytest.mark.parametrize("model", ["live", "flow_cytometry_separated"])
def test_cycling_cell_grows_towards_twice_its_volume_and_divides_into_halves(model):
    """Fixed phase durations: deterministic. Each generation starts near V0/2 (live) or V0
    (flow cytometry) and reaches the closed form's volume at division, just under twice its
    birth volume (the relaxation is not complete); each division gives two exact halves.
    """
    s = STANDARD_MODELS[model]
    k = len(s.phases)
    durations = [1200.0] if model == "live" else [300.0, 480.0, 240.0, 60.0]
    cyc = CycleParams.from_models([standard_model(model, durations, [True] * k)])
    p = params(model)
    c = one_cell()
    births, at_division, t_life = [], [], 0.0
    for step in range(5 * int(sum(durations) / DT)):
        update_physicell_volumes(c, p, DT)
        t_life += DT
        rows = advance_cycle(c, cyc, DT, 1, step)
        if rows.size:
            before = c.volume[rows[0]]
            at_division.append(before)
            new = divide(c, rows, 1, step)
            assert c.volume[rows[0]] == c.volume[new.start] == before / 2
            births.append(before / 2)
            c.remove(np.arange(1, c.n))  # follow daughter A only
            t_life = 0.0
    assert len(at_division) >= 4
    # the closed form, generation after generation from the first cell's composition
    y, want = np.array([F0, N0, C0]), []
    for _ in at_division:
        if model == "live":  # targets V0: the halving undone by the re-entry of Live
            y = live_closed_form(1200.0, y, (N0, C0))
        else:  # G0/G1 (300 min) at base targets, then S, G2, M (780 min) at doubled ones
            y = live_closed_form(780.0, live_closed_form(300.0, y, (N0, C0)), (2 * N0, 2 * C0))
        want.append(y.sum())
        y = y / 2
    np.testing.assert_allclose(at_division, want, rtol=1e-10)
    np.testing.assert_allclose(births, np.array(want) / 2, rtol=1e-10)
    # the lineage settles at birth near V0/2 (live) or V0 (S doubles), growing to just under
    # its targets, twice that: measured 0.28 % (live) and 1.9 % short
    target = V0 if model == "live" else 2 * V0
    assert 0.97 * target < at_division[-1] < target
    assert at_division[-1] == pytest.approx(2 * births[-2], rel=1e-6)  # a periodic orbit


def _population_theory(model: str, durations) -> float:
    """Mean cell volume of the asynchronous population (expected sums, discrete steps).

    Per phase p: the number n_p and the sums X_p of (F, N, C). A step maps X_p to
    Φ X_p + n_p ψ(T_p) (the exact volume step is affine: Φ its linear part, ψ the response to
    the phase's targets, base or doubled), then moves a fraction q_p = 1 - e^{-dt/d_p} to the
    next phase; leaving the division phase doubles n and keeps the sums (two halves). The
    dominant eigenvector of this linear map is the asynchronous state: mean = ΣX / Σn.
    """
    s = STANDARD_MODELS[model]
    k = len(s.phases)
    _, doubled = cycle_doubling(k, s.division)
    q = [1 - math.exp(-DT / d) for d in durations]
    phi = np.array([relax_exact(*e, 0.0, 0.0, FF, *LIVE, DT) for e in np.eye(3)]).T
    m = np.zeros((4 * k, 4 * k))
    for ph in range(k):
        f = 2.0 if doubled[ph] else 1.0
        psi = np.array(relax_exact(0.0, 0.0, 0.0, f * N0, f * C0, FF, *LIVE, DT))
        nxt, born = (ph + 1) % k, 2.0 if ph == s.division else 1.0
        for dst, w, nw in ((ph, 1 - q[ph], 1 - q[ph]), (nxt, q[ph], q[ph] * born)):
            m[dst, ph] += nw
            m[k + 3 * dst: k + 3 * dst + 3, k + 3 * ph: k + 3 * ph + 3] += w * phi
            m[k + 3 * dst: k + 3 * dst + 3, ph] += w * psi
    w, v = np.linalg.eig(m)
    z = v[:, np.argmax(w.real)].real
    return float(z[k:].sum() / z[:k].sum())


@pytest.mark.parametrize("model", ["live", "flow_cytometry_separated"])
def test_population_mean_volume_is_the_asynchronous_theory(model):
    """300 cells at V0 grow for 3600 min (about 3000 cells, several generations) with
    exponential phases; the mean volume over 5 seeds is within 3 standard errors (seed-to-seed
    sd / sqrt 5) of the theory, and the theory is between V0/2 and 2 V0 as it must be.
    """
    durations = [60.0 / 0.0432] if model == "live" else [300.0, 480.0, 240.0, 60.0]
    theory = _population_theory(model, durations)
    cyc = CycleParams.from_models([standard_model(model, durations)])
    p = params(model)
    means = []
    for seed in range(5):
        c = Cells(2, capacity=4096)
        c.add(300, position=np.zeros((300, 3)), volume=np.full(300, V0))
        for step in range(600):
            update_physicell_volumes(c, p, DT)
            divide(c, advance_cycle(c, cyc, DT, seed, step), seed, step)
        means.append(c.volume.mean())
    se = np.std(means, ddof=1) / math.sqrt(len(means))
    assert abs(np.mean(means) - theory) < 3 * se, (means, theory, se)
    assert V0 / 2 < theory < 2 * V0


def _euler(y, rates, ff, targets, dt, steps):
    """PhysiCell's standard_volume_update_function equations, forward Euler (written here)."""
    out = [np.array(y, dtype=float)]
    f, n, c = y
    for _ in range(steps):
        f = max(f + dt * rates[0] * (ff * (f + n + c) - f), 0.0)
        n = max(n + dt * rates[1] * (targets[0] - n), 0.0)
        c = max(c + dt * rates[2] * (targets[1] - c), 0.0)
        out.append(np.array([f, n, c]))
    return np.array(out)


def test_apoptotic_shrinkage():
    """Apoptosis: every compartment decays to 0 at its rate (f = 0, targets 0), so
    V(t) = F0 e^{-r_F t} + N0 e^{-r_N t} + C0 e^{-r_C t}. PhysiCell's Euler at 6 min loses the
    fluid faster (factor 0.7 vs e^{-0.3} = 0.741 per step): its volume at 30 min is lower by
    a measured 13 %; both reach half the volume (exact: 17.9 min) in the same 6-min step.
    """
    c = one_cell()
    p = params("live")
    update_physicell_volumes(c, p, 0.0)
    c.dead[0] = APOPTOTIC
    vols = []
    for _ in range(86):  # 516 min, PhysiCell's apoptosis duration
        update_physicell_volumes(c, p, DT)
        vols.append(c.volume[0])
    t = DT * np.arange(1, 87)
    closed = F0 * np.exp(-APO[0] * t) + N0 * np.exp(-APO[1] * t) + C0 * np.exp(-APO[2] * t)
    np.testing.assert_allclose(vols, closed, rtol=1e-10)
    euler = _euler((F0, N0, C0), APO, 0.0, (0.0, 0.0), DT, 86).sum(axis=1)[1:]
    assert 0.83 < euler[4] / closed[4] < 0.90  # measured 0.866 at 30 min
    half = brentq(lambda x: F0 * math.exp(-APO[0] * x) + N0 * math.exp(-APO[1] * x)
                  + C0 * math.exp(-APO[2] * x) - V0 / 2, 0.0, 100.0)  # fmt: skip
    first = lambda v: DT * (1 + int(np.argmax(np.asarray(v) <= V0 / 2)))  # noqa: E731
    assert half <= first(vols) < half + DT
    assert abs(first(euler) - first(vols)) <= DT


def test_necrotic_swelling_to_rupture():
    """Necrosis: f = 1 so dF/dt = r_F (N + C): the cell swells almost linearly, and reaches
    twice its volume at t* with V(t*) = 2 V0,
    V(t) = F0 + N(t) + C(t) + r_F [N0 (1 - e^{-r_N t})/r_N + C0 (1 - e^{-r_C t})/r_C],
    about 6 h (PhysiCell's rates), not ln 2 / r_F = 62 min as a lumped exponential swelling
    would. The death process lyses the cell in the first step that ends at or above 2 V0
    (within one step after t*); PhysiCell's Euler reaches it within one step of that too
    (measured: t* = 366.9 min, lysis at 372 min, PhysiCell's Euler at 372 min).
    """
    rf, rn, rc = SWELL

    def vol(t):
        nn, cc = N0 * math.exp(-rn * t), C0 * math.exp(-rc * t)
        return F0 + nn + cc + rf * (N0 * -math.expm1(-rn * t) / rn + C0 * -math.expm1(-rc * t) / rc)

    t_star = brentq(lambda t: vol(t) - 2 * V0, 0.0, 2000.0)
    assert 340.0 < t_star < 380.0  # ≈ 1/(r_F (1 - f0)) = 358 min, slightly later as solids decay
    c = one_cell()
    p = params("live")
    dth = DeathParams(apoptosis_rate=0.0, necrosis_max_rate=0.0)
    update_physicell_volumes(c, p, 0.0)
    c.dead[0], c.phase[0] = NECROTIC, 0
    step, vols = 0, []
    while c.phase[0] == 0:
        update_physicell_volumes(c, p, DT)
        vols.append(c.volume[0])
        advance_death(c, dth, DT, 0, step)
        step += 1
        assert step < 500
    t_lysis = DT * step
    np.testing.assert_allclose(vols, [vol(DT * (i + 1)) for i in range(step)], rtol=1e-10)
    assert t_star <= t_lysis < t_star + DT
    euler = _euler((F0, N0, C0), SWELL, 1.0, (0.0, 0.0), DT, 200).sum(axis=1)
    t_euler = DT * int(np.argmax(euler >= 2 * V0))
    assert abs(t_euler - t_lysis) <= DT
    # lysed: fluid drains at the lysed rate towards f = 0, so the remnant shrinks
    v_rupt = c.volume[0]
    for _ in range(10):
        update_physicell_volumes(c, p, DT)
    assert c.volume[0] < v_rupt
    assert c.column("volume_calcified_fraction")[0] > 0.0


def test_fusion_and_phagocytosis_move_the_compartments_as_physicell():
    # fuse_cell adds the absorbed cell's compartments and targets; ingest_cell adds the prey's
    # fluid to the fluid and its solids to the cytoplasmic solid, targets unchanged
    from tests.validation.test_interactions import _pairs, _sim

    from invasim.biology.volume import (
        CYTOPLASMIC_SOLID,
        FLUID,
        NUCLEAR_SOLID,
        TARGET_CYTOPLASMIC,
        TARGET_NUCLEAR,
    )

    still = {"death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 1e6},
             "volume": {"model": "physicell"}}  # fmt: skip
    names = (FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID, TARGET_NUCLEAR, TARGET_CYTOPLASMIC)
    for proc, table in (("fusion", {"fusion": {"rates_per_min": {"b": 100.0}}}),
                        ("phagocytosis", {"phagocytosis": {"live_rates_per_min": {"b": 100.0}}})):
        sim = _sim([proc, "death", "volume"], {"a": {**still, **table}, "b": still})
        c = _pairs(sim, 5)
        by = {q.name: q for q in sim.model.processes}
        by["volume"].step(sim.model.state, 0.0)  # the columns from the volumes; no time
        before = {x: c.internal(x).copy() for x in names}
        ids = c.id.copy()
        sim.model.behaviours.fill(sim.model.state, "motion", 0.0)
        by[proc].step(sim.model.state, 0.1)  # rate x dt = 10: every pair at once
        c = sim.model.cells
        assert c.n == 5
        eater = np.searchsorted(ids, c.id)  # their rows before (ids are sorted there)
        prey = eater + 1  # _pairs: row 2k is type a, 2k + 1 its partner of type b
        after = {x: c.internal(x) for x in names}
        fl, ns, cs = (before[x] for x in (FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID))
        if proc == "fusion":
            for x in names:
                np.testing.assert_allclose(after[x], before[x][eater] + before[x][prey])
        else:
            np.testing.assert_allclose(after[FLUID], fl[eater] + fl[prey])
            np.testing.assert_allclose(after[CYTOPLASMIC_SOLID], cs[eater] + ns[prey] + cs[prey])
            np.testing.assert_allclose(after[NUCLEAR_SOLID], ns[eater])
            np.testing.assert_allclose(after[TARGET_NUCLEAR], before[TARGET_NUCLEAR][eater])
        total = after[FLUID] + after[NUCLEAR_SOLID] + after[CYTOPLASMIC_SOLID]
        np.testing.assert_allclose(total, c.volume, rtol=1e-12)
