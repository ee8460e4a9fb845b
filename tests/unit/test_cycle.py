"""Unit tests of invasim.biology.cycle and invasim.biology.volume (growth, division)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invasim.biology import (
    CycleModel,
    CycleParams,
    DeathParams,
    VolumeParams,
    advance_cycle,
    divide,
    flow_cytometry_separated,
    growth_rate,
    live,
    o2_proliferation_factor,
    update_volumes,
)
from invasim.biology.cycle import (
    LIVE_RATE,
    STANDARD_MODELS,
    STREAM_CYCLE,
    phase_fractions,
    standard_model,
)
from invasim.core.cells import APOPTOTIC, DEFAULT_VOLUME, Cells, sphere_radius
from invasim.core.rng import uniforms


def make_cells(n, dim=3, capacity=None, **kw):
    cells = Cells(dim, capacity=capacity or max(n, 1), traits={"a": 1.0, "b": 2.0})
    rng = np.random.default_rng(0)
    pos = rng.uniform(50, 150, (n, 3))
    if dim == 2:
        pos[:, 2] = 0
    cells.add(n, position=pos, **kw)
    return cells


def test_models():
    m = live()
    assert m.rates == (LIVE_RATE,) and m.n_phases == 1 and m.fixed == (False,)
    assert m.division == (True,)
    f = flow_cytometry_separated()
    assert f.phases == ("G0/G1", "S", "G2", "M")
    assert np.allclose(np.array(f.rates) * [300, 480, 240, 60], 1)
    with pytest.raises(ValueError):
        CycleModel("bad", ("a", "b"), (1.0,))
    with pytest.raises(ValueError):
        CycleModel("bad", ("a",), (-1.0,))
    with pytest.raises(ValueError):
        CycleModel("bad", ("a", "b"), (1.0, 1.0), division=(True,))
    assert CycleModel("two", ("a", "b"), (1.0, 1.0)).division == (False, True)
    p = CycleParams.from_models([live(), f], pressure_threshold=[1.0, 2.0])
    assert p.rates.shape == (2, 4) and list(p.n_phases) == [1, 4]
    assert p.rates[0, 1] == 0 and p.pressure_threshold[1] == 2.0


def test_o2_factor():
    f = o2_proliferation_factor(np.array([0, 5, 21.5, 38, 100]), 5.0, 38.0)
    assert np.allclose(f, [0, 0, 0.5, 1, 1])
    assert o2_proliferation_factor(82.5) == pytest.approx(0.5)  # PhysiCell 5 .. 160
    with pytest.raises(ValueError):
        o2_proliferation_factor(1.0, 5.0, 5.0)


def reference_cycle(cells, params, dt, seed, step, mult, press, exits=None):
    """NumPy reference of one cycle step (exponential phases only)."""
    phase, tip = cells.phase.copy(), cells.time_in_phase.copy()
    live_ = cells.dead == 0
    tip[live_] += dt
    r = params.rates[cells.type, phase] * np.where(phase == 0, mult, 1.0)
    r = np.where((phase == 0) & (press > params.pressure_threshold[cells.type]), 0.0, r)
    for k, rate in (exits or {}).items():
        r = np.where(phase == k, rate, r)
    u = uniforms(seed, step, cells.id, STREAM_CYCLE)
    leave = live_ & (r > 0) & (u < -np.expm1(-r * dt))
    div = leave & params.division[cells.type, phase]
    nxt = np.where(phase + 1 >= params.n_phases[cells.type], 0, phase + 1)
    phase = np.where(leave, nxt, phase)
    tip = np.where(leave, 0.0, tip)
    return phase, tip, np.flatnonzero(div)


def test_kernel_matches_reference():
    n = 3000
    cells = make_cells(n, type=np.arange(n) % 2)
    rng = np.random.default_rng(1)
    cells.phase[:] = np.where(cells.type == 1, rng.integers(0, 4, n), 0)
    cells.dead[rng.random(n) < 0.1] = APOPTOTIC
    # fast rates so that many transitions happen in one step
    params = CycleParams.from_models(
        [live(0.05), flow_cytometry_separated((20, 30, 10, 5))], pressure_threshold=0.5
    )
    mult = rng.uniform(0, 2, n)
    press = rng.uniform(0, 1, n)
    ref = reference_cycle(cells, params, 6.0, 7, 3, mult, press)
    rows = advance_cycle(cells, params, 6.0, 7, 3, multiplier=mult, pressure=press)
    assert np.array_equal(cells.phase, ref[0])
    assert np.array_equal(cells.time_in_phase, ref[1])
    assert np.array_equal(rows, ref[2]) and len(rows) > 50


def test_kernel_matches_reference_with_division_inside_the_ring_and_exit_rates():
    """Advanced Ki67 (division at the premitotic exit) beside flow cytometry, per-cell exits."""
    n = 4000
    cells = make_cells(n, type=np.arange(n) % 2)
    rng = np.random.default_rng(2)
    cells.phase[:] = np.where(cells.type == 0, rng.integers(0, 3, n), rng.integers(0, 3, n))
    ki67 = standard_model("advanced_Ki67", (20, 30, 10), fixed=(False, False, False))
    params = CycleParams.from_models([ki67, standard_model("flow_cytometry", (15, 25, 8))])
    assert params.division.tolist() == [[False, True, False], [False, False, True]]
    exits = {1: rng.uniform(0, 0.3, n), 2: rng.uniform(0, 0.3, n)}
    ref = reference_cycle(cells, params, 6.0, 4, 9, np.ones(n), np.zeros(n), exits)
    rows = advance_cycle(cells, params, 6.0, 4, 9, exit_rates=exits)
    assert np.array_equal(cells.phase, ref[0])
    assert np.array_equal(cells.time_in_phase, ref[1])
    assert np.array_equal(rows, ref[2]) and len(rows) > 100
    # the advanced Ki67 mothers are now postmitotic, the flow cytometry ones in G0/G1
    assert set(cells.phase[rows][cells.type[rows] == 0]) == {2}
    assert set(cells.phase[rows][cells.type[rows] == 1]) == {0}
    with pytest.raises(ValueError, match="phases must lie in 1 .. 2"):
        advance_cycle(cells, params, 6.0, 4, 9, exit_rates={3: np.ones(n)})


def test_row_order_does_not_matter():
    params = CycleParams.from_models([live(0.05)])
    a = make_cells(500)
    b = make_cells(500)
    perm = np.random.default_rng(3).permutation(500)
    b.permute(perm)
    ra = advance_cycle(a, params, 6.0, 1, 1)
    rb = advance_cycle(b, params, 6.0, 1, 1)
    assert np.array_equal(np.sort(a.id[ra]), np.sort(b.id[rb]))


def test_fixed_duration_and_contact_inhibition():
    model = CycleModel("fixed", ("G1", "M"), (1 / 30, 1 / 12), (True, True))
    params = CycleParams.from_models([model], pressure_threshold=1.0)
    cells = make_cells(2)
    pressure = np.array([0.0, 2.0])
    events = []
    for step in range(20):
        rows = advance_cycle(cells, params, 6.0, 0, step, pressure=pressure)
        events.append((step, cells.phase.tolist(), rows.tolist()))
    # G1 lasts 30/6 = 5 steps, M 12/6 = 2 steps: division at steps 6, 13, ...
    divided = [s for s, _, r in events if r == [0]]
    assert divided == [6, 13]
    # the inhibited cell never leaves G1, but its clock runs
    assert all(ph[1] == 0 for _, ph, _ in events)
    assert cells.time_in_phase[1] == pytest.approx(120.0)
    # an inhibited cell past G1 finishes its cycle
    cells.phase[1] = 1
    cells.time_in_phase[1] = 0.0
    assert 1 not in advance_cycle(cells, params, 6.0, 0, 99, pressure=pressure)
    assert 1 in advance_cycle(cells, params, 6.0, 0, 100, pressure=pressure)


def test_zero_multiplier_blocks_entry_and_dead_cells_skip():
    params = CycleParams.from_models([live(1.0)])
    cells = make_cells(4)
    cells.dead[3] = APOPTOTIC
    rows = advance_cycle(cells, params, 6.0, 0, 0, multiplier=np.array([0.0, 1.0, 1.0, 1.0]))
    assert rows.tolist() == [1, 2]
    assert cells.time_in_phase[3] == 0.0


def test_growth_rate_theory():
    assert growth_rate(live()) == pytest.approx(LIVE_RATE, rel=1e-10)
    dt = 6.0
    assert growth_rate(live(), dt) == pytest.approx(math.log(2 - math.exp(-LIVE_RATE * dt)) / dt)
    f = flow_cytometry_separated()
    a = growth_rate(f)
    lam = np.array(f.rates)
    assert np.prod(lam / (lam + a)) == pytest.approx(0.5, rel=1e-10)
    # fixed phases: the sum of durations is the doubling time
    g = flow_cytometry_separated(fixed=(True,) * 4)
    assert growth_rate(g) == pytest.approx(math.log(2) / 1080, rel=1e-10)
    assert growth_rate(g, dt) == pytest.approx(math.log(2) / 1080, rel=1e-10)
    assert 0 < growth_rate(f, dt) < a


def test_volume_relaxation_and_radius():
    cells = make_cells(3, volume=[1000.0, 1000.0, 1000.0])
    cells.dead[1] = APOPTOTIC
    vp, dp = VolumeParams(growth_rate=0.01), DeathParams()
    update_volumes(cells, vp, dp, 6.0)
    target = DEFAULT_VOLUME + (1000 - DEFAULT_VOLUME) * math.exp(-0.06)
    assert cells.volume[0] == pytest.approx(target, rel=1e-14)
    assert cells.volume[1] == pytest.approx(1000 * math.exp(-6 / 60), rel=1e-14)
    assert np.allclose(cells.radius, sphere_radius(cells.volume), rtol=1e-14)
    for _ in range(5000):
        update_volumes(cells, vp, dp, 6.0)
    assert cells.volume[0] == pytest.approx(DEFAULT_VOLUME, rel=1e-12)


@pytest.mark.parametrize("dim", [2, 3])
def test_divide(dim):
    n = 6
    cells = make_cells(n, dim=dim, capacity=n, generation=np.arange(n), phase=0)
    cells.velocity[:] = 1.0
    rows = np.array([1, 4])
    before = cells.to_dict()
    next_id = cells.next_id
    s = divide(cells, rows, seed=5, step=2, trait_sd=None)
    assert cells.n == n + 2 and s == slice(n, n + 2)
    new = np.concatenate([rows, np.arange(s.start, s.stop)])
    mother = np.concatenate([rows, rows])
    assert sorted(cells.id[new]) == list(range(next_id, next_id + 4))
    assert len(set(cells.id.tolist())) == cells.n
    assert np.array_equal(cells.parent_id[new], before["id"][mother])
    assert np.array_equal(cells.clone_id[new], before["clone_id"][mother])
    assert np.array_equal(cells.generation[new], before["generation"][mother] + 1)
    assert np.allclose(cells.volume[new], before["volume"][mother] / 2, rtol=1e-15)
    assert np.allclose(cells.radius[new], sphere_radius(cells.volume[new]))
    assert np.array_equal(cells.traits[new], before["traits"][mother])
    assert np.all(cells.velocity[new] == 0) and np.all(cells.velocity_prev[new] == 0)
    xa, xb = cells.position[rows], cells.position[s]
    r = before["radius"][rows]
    assert np.allclose((xa + xb) / 2, before["position"][rows], atol=1e-12)
    assert np.allclose(np.linalg.norm(xb - xa, axis=1), 1.5 * r)
    if dim == 2:
        assert np.all(cells.position[:, 2] == 0)
    else:
        assert np.all(np.abs(xb[:, 2] - xa[:, 2]) > 0)
    untouched = np.setdiff1d(np.arange(n), rows)
    assert np.array_equal(cells.id[untouched], before["id"][untouched])


def test_divide_mutation_and_conserved():
    cells = make_cells(400)
    rows = np.arange(0, 400, 2)
    s = divide(cells, rows, 1, 1, trait_sd=np.array([0.0, 0.5]), conserved=np.array([1, 0], bool))
    new = np.concatenate([rows, np.arange(s.start, s.stop)])
    assert np.all(cells.trait("a")[new] == 0.5)
    noise = cells.trait("b")[new] - 2.0
    assert noise.std() == pytest.approx(0.5, rel=0.1) and abs(noise.mean()) < 0.1
    assert np.all(cells.trait("b")[1::2][:100] == 2.0)
    # deterministic: same seed, same noise
    again = make_cells(400)
    divide(again, rows, 1, 1, trait_sd=np.array([0.0, 0.5]), conserved=np.array([1, 0], bool))
    assert np.array_equal(again.traits, cells.traits)


def test_divide_rejects_bad_rows():
    cells = make_cells(3)
    with pytest.raises(ValueError):
        divide(cells, [0, 0], 0, 0)
    with pytest.raises(ValueError):
        divide(cells, [3], 0, 0)
    assert divide(cells, [], 0, 0) == slice(3, 3)


def test_divide_named_columns_follow_their_division_mode():
    cells = make_cells(6)  # traits a = 1, b = 2 (copy)
    cells.add_trait("protein", 8.0, division="split")
    cells.add_state("dx", 0.0)
    cells.add_state("since_contact_min", -1.0, division="reset")
    cells.add_internal("rac", 0.0)
    cells.add_internal("mrna", 0.0, division="split")
    for name in ("dx", "since_contact_min", "rac", "mrna"):
        cells.column(name)[:] = 3.0 + np.arange(6)
    rows = np.array([0, 3])
    s = divide(cells, rows, 2, 7, trait_sd=np.array([0.0, 0.0, 0.0]))
    for daughters in (rows, np.arange(s.start, s.stop)):
        assert np.array_equal(cells.trait("protein")[daughters], [4.0, 4.0])
        assert np.array_equal(cells.state("dx")[daughters], [3.0, 6.0])
        assert np.array_equal(cells.state("since_contact_min")[daughters], [-1.0, -1.0])
        assert np.array_equal(cells.internal("rac")[daughters], [3.0, 6.0])
        assert np.array_equal(cells.internal("mrna")[daughters], [1.5, 3.0])
    assert np.array_equal(cells.traits[:, :2], np.tile([1.0, 2.0], (8, 1)))


def test_divide_mutation_rate_and_bounds():
    rows = np.arange(0, 400, 2)
    sd = np.array([0.0, 0.5])
    plain = make_cells(400)
    divide(plain, rows, 1, 1, trait_sd=sd)
    always = make_cells(400)  # rate 1 is the behaviour without rates, bit for bit
    divide(always, rows, 1, 1, trait_sd=sd, mutation_rate=[1.0, 1.0])
    assert np.array_equal(always.traits, plain.traits)
    never = make_cells(400)
    divide(never, rows, 1, 1, trait_sd=sd, mutation_rate=[1.0, 0.0])
    assert np.all(never.traits == [1.0, 2.0])
    # bounds: values that mutate out of [1.5, 2.5] are reflected in, the others untouched
    bounded = make_cells(400)
    divide(bounded, rows, 1, 1, trait_sd=sd, lower=[-np.inf, 1.5], upper=[np.inf, 2.5])
    b, free = bounded.trait("b"), plain.trait("b")
    assert np.all((b >= 1.5) & (b <= 2.5))
    inside = (free >= 1.5) & (free <= 2.5)
    assert np.array_equal(b[inside], free[inside]) and np.any(~inside)
    once = (free > 2.5) & (free < 3.5)  # one reflection; farther ones fold again
    assert np.any(once) and np.allclose(b[once], 5.0 - free[once], rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        divide(make_cells(3), [0], 1, 1, trait_sd=sd, mutation_rate=[0.0, 1.5])
    with pytest.raises(ValueError, match="lower <= upper"):
        divide(make_cells(3), [0], 1, 1, lower=[0.0, 3.0], upper=[1.0, 2.0])


# -- PhysiCell's standard models ---------------------------------------------------------------
#: PhysiCell 1.14 core/PhysiCell_standard_models.cpp and PhysiCell_constants.cpp, read by hand:
#: name -> (PhysiCell code, phases, default exit rates 1/min, fixed phases, division phase)
PHYSICELL = {
    "advanced_Ki67": (0, ("Ki67-", "Ki67+ (premitotic)", "Ki67+ (postmitotic)"),
                      (1 / (3.62 * 60), 1 / (13.0 * 60), 1 / (2.5 * 60)), (False, True, True), 1),
    "basic_Ki67": (1, ("Ki67-", "Ki67+"), (1 / (4.59 * 60), 1 / (15.5 * 60)), (False, True), 1),
    "flow_cytometry": (2, ("G0/G1", "S", "G2/M"), (0.00324, 0.00208, 0.00333), (False,) * 3, 2),
    "live": (5, ("Live",), (0.0432 / 60,), (False,), 0),
    "flow_cytometry_separated": (6, ("G0/G1", "S", "G2", "M"),
                                 (0.00335, 0.00208, 0.00417, 0.0167), (False,) * 4, 3),
    "cycling_quiescent": (7, ("Quiescent", "Cycling"), (1 / (4.59 * 60), 1 / (15.5 * 60)),
                          (False, True), 1),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PHYSICELL))
def test_standard_models_are_physicells(name):
    code, phases, rates, fixed, div = PHYSICELL[name]
    s = STANDARD_MODELS[name]
    assert (s.code, s.phases, s.fixed, s.division) == (code, phases, fixed, div)
    assert s.rates == pytest.approx(rates, rel=1e-15)
    m = standard_model(name)
    assert m.phases == phases and m.fixed == fixed
    assert m.division == tuple(p == div for p in range(len(phases)))
    if name == "flow_cytometry_separated":  # invasim's rounded defaults (the frozen runs)
        assert m.rates == pytest.approx((1 / 300, 1 / 480, 1 / 240, 1 / 60), rel=1e-15)
    else:
        assert m.rates == pytest.approx(rates, rel=1e-15)
    assert standard_model(name, [math.inf] * len(phases)).rates == (0.0,) * len(phases)
    with pytest.raises(ValueError, match=f"has {len(phases)} phases"):
        standard_model(name, [60.0] * (len(phases) + 1))
    with pytest.raises(ValueError, match="known: advanced_Ki67, basic_Ki67"):
        standard_model("Ki67")


@pytest.mark.parametrize("name", list(PHYSICELL))
def test_daughters_start_the_phase_after_the_division_phase(name):
    """PhysiCell's division_at_phase_exit: both daughters in the next phase, clock at 0."""
    _, phases, _, _, div = PHYSICELL[name]
    k = len(phases)
    model = standard_model(name, [12.0] * k, [True] * k)  # every phase 2 steps
    params = CycleParams.from_models([model])
    cells = make_cells(3, phase=div, time_in_phase=[6.0, 6.0, 0.0])
    rows = advance_cycle(cells, params, 6.0, 1, 0)
    assert rows.tolist() == [0, 1]
    assert cells.phase.tolist() == [(div + 1) % k] * 2 + [div]
    s = divide(cells, rows, 1, 0)
    both = np.concatenate([rows, np.arange(s.start, s.stop)])
    assert np.all(cells.phase[both] == (div + 1) % k)
    assert np.all(cells.time_in_phase[both] == 0.0)
    # no other phase divides: a full turn of the ring gives one division per cell
    cells.remove([2])
    born = 0
    for step in range(1, 2 * k + 1):
        born += advance_cycle(cells, params, 6.0, 1, step).size
    assert born == cells.n and np.all(cells.phase == (div + 1) % k)


def test_exit_rates_set_fixed_durations_per_cell():
    """A fixed phase lasts 1/rate with a per-cell rate (PhysiCell's exit rate behaviour)."""
    model = standard_model("advanced_Ki67", (math.inf, 600.0, 150.0))  # phases 1, 2 fixed
    params = CycleParams.from_models([model])
    cells = make_cells(3, phase=2)
    rate = np.array([1 / 150, 1 / 60, 1 / 30])  # 25, 10 and 5 steps
    left = {}
    for step in range(30):
        advance_cycle(cells, params, 6.0, 0, step, exit_rates={2: rate})
        left.update({i: step + 1 for i in np.flatnonzero(cells.phase == 0) if i not in left})
    assert left == {0: 25, 1: 10, 2: 5}
    # a zero rate holds the cell in its phase (PhysiCell: 1/0, never)
    cells = make_cells(1, phase=2)
    for step in range(40):
        advance_cycle(cells, params, 6.0, 0, step, exit_rates={2: 0.0})
    assert cells.phase.tolist() == [2] and cells.time_in_phase[0] == pytest.approx(240.0)


def test_growth_rate_and_phase_fractions_closed_forms():
    l0, l1 = 1 / 200, 1 / 500
    # two exponential phases: (l0 + a)(l1 + a) = 2 l0 l1, wherever the division is
    a = (-(l0 + l1) + math.sqrt((l0 - l1) ** 2 + 8 * l0 * l1)) / 2
    late = CycleModel("x", ("a", "b"), (l0, l1), division=(False, True))
    early = CycleModel("x", ("a", "b"), (l0, l1), division=(True, False))
    assert growth_rate(late) == pytest.approx(a, rel=1e-10)
    assert growth_rate(early) == pytest.approx(a, rel=1e-10)
    # cells in a phase: its influx / (rate + a); a division before phase 1 doubles its influx
    f = phase_fractions(late)
    assert f[1] / f[0] == pytest.approx(l0 / (l1 + a), rel=1e-10)
    assert phase_fractions(early)[1] / phase_fractions(early)[0] == pytest.approx(
        2 * l0 / (l1 + a), rel=1e-10
    )
    # a fixed phase of tau: its influx (1 - exp(-a tau)) / a
    tau = 930.0
    ki = standard_model("basic_Ki67", (200.0, tau))
    b = growth_rate(ki)
    assert 2 * l0 / (l0 + b) * math.exp(-b * tau) == pytest.approx(1.0, rel=1e-10)
    g = phase_fractions(ki)
    assert g[1] / g[0] == pytest.approx(l0 * -math.expm1(-b * tau) / b, rel=1e-10)
    assert phase_fractions(live()).tolist() == [1.0]
    # small steps tend to continuous time
    for m in (late, ki, standard_model("advanced_Ki67")):
        assert growth_rate(m, 0.01) == pytest.approx(growth_rate(m), rel=1e-4)
        assert np.allclose(phase_fractions(m, 0.01), phase_fractions(m), rtol=0, atol=1e-4)


def test_discrete_fractions_are_the_mean_matrix_eigenvector():
    """Exponential phases in steps of dt: a multi-type branching process with mean matrix M."""
    dt = 6.0
    for name in ("flow_cytometry", "flow_cytometry_separated"):
        m = standard_model(name, fixed=[False] * len(PHYSICELL[name][1]))
        k = m.n_phases
        p = -np.expm1(-np.array(m.rates) * dt)
        mat = np.zeros((k, k))
        for i in range(k):
            mat[i, i] += 1 - p[i]
            mat[(i + 1) % k, i] += p[i] * (2 if m.division[i] else 1)
        w, v = np.linalg.eig(mat)
        j = np.argmax(w.real)
        vec = np.abs(v[:, j].real)
        assert growth_rate(m, dt) == pytest.approx(math.log(w[j].real) / dt, rel=1e-10)
        assert np.allclose(phase_fractions(m, dt), vec / vec.sum(), rtol=1e-10)
    with pytest.raises(ValueError, match="every rate > 0"):
        phase_fractions(standard_model("basic_Ki67", (math.inf, 900.0)))


# -- the scenario table and the process ------------------------------------------------------
def _scenario(cycle, rules=None, n=40):
    """A small 2-D agent scenario with only the cycle and division processes."""
    params = {"processes": ["cycle", "division"], "fields": {},
              "cell_types": {"tumor": {"cycle": cycle}},
              "initial": {"geometry": "ball", "n_cells": n}}  # fmt: skip
    if rules is not None:
        params["rules"] = rules
    return {"name": "cycle-test", "model": "agents", "seed": 3,
            "mesh": {"dim": 2, "extent_um": [600.0, 600.0], "voxel_um": 50.0},
            "time": {"end_min": 600.0, "dt_min": 6.0, "output_interval_min": 60.0,
                     "checkpoint_interval_min": 600.0},
            "params": params}  # fmt: skip


def _rule(behaviour, signal="volume", direction="increases", saturation=1.0, half_max=1.0,
          hill_power=1.0):  # fmt: skip
    return {"cell_type": "tumor", "signal": signal, "direction": direction,
            "behaviour": behaviour, "saturation": saturation, "half_max": half_max,
            "hill_power": hill_power}  # fmt: skip


@pytest.mark.parametrize("name", list(PHYSICELL))
def test_cycle_table_defaults_are_physicells(name):
    from invasim.processes.cycle import CycleCell, CycleProcess

    _, phases, _, fixed, div = PHYSICELL[name]
    cell = CycleCell(model=name)
    assert cell.cycle_model() == (live() if name == "live" else standard_model(name))
    assert cell.cycle_model().fixed == fixed
    base = CycleProcess.base_behaviours(type("T", (), {"cycle": cell})(), None)
    rates = cell.cycle_model().rates
    assert base == {"cycle entry": rates[0],
                    **{f"exit from cycle phase {k}": rates[k] for k in range(1, len(phases))}}
    # one flag for every phase, or one per phase; durations per phase (live: its rate)
    k = len(phases)
    assert CycleCell(model=name, fixed_durations=True).cycle_model().fixed == (True,) * k
    flags = [p % 2 == 0 for p in range(k)]
    assert CycleCell(model=name, fixed_durations=flags).cycle_model().fixed == tuple(flags)
    if name != "live":
        durs = [100.0 * (p + 1) for p in range(k)]
        m = CycleCell(model=name, durations_min=durs).cycle_model()
        assert m.rates == tuple(1 / d for d in durs) and m.fixed == fixed
        assert m.division == tuple(p == div for p in range(k))


def test_cycle_table_errors_name_what_is_allowed():
    from pydantic import ValidationError

    from invasim.processes.cycle import CycleCell

    with pytest.raises(ValidationError, match="'basic_Ki67', 'advanced_Ki67', 'flow_cytometry'"):
        CycleCell(model="Ki67")
    with pytest.raises(ValidationError, match=r"needs 3 durations > 0 min \(one per phase of "
                       r"advanced_Ki67: Ki67-, Ki67\+ \(premitotic\), Ki67\+ \(postmitotic\)"):
        CycleCell(model="advanced_Ki67", durations_min=[300.0, 480.0, 240.0, 60.0])
    with pytest.raises(ValidationError, match="needs 2 durations > 0 min"):
        CycleCell(model="cycling_quiescent", durations_min=[300.0, 0.0])
    with pytest.raises(ValidationError, match="needs 3 durations > 0 min"):
        CycleCell(model="flow_cytometry", durations_min=[300.0, float("nan"), 60.0])
    with pytest.raises(ValidationError, match="one flag, or 2 .*Quiescent, Cycling"):
        CycleCell(model="cycling_quiescent", fixed_durations=[True, False, True])
    # live reads rate_per_min; a scenario's durations of another model are left alone
    live_cell = CycleCell(model="live", rate_per_min=0.01, durations_min=[1.0, 2.0, 3.0, 4.0])
    assert live_cell.cycle_model().rates == (0.01,)
    never = CycleCell(model="basic_Ki67", durations_min=[math.inf, 900.0])
    assert never.cycle_model().rates[0] == 0


def test_rule_on_a_phase_the_model_lacks_is_a_config_error():
    import invasim
    from invasim.errors import ConfigError

    cyc = {"model": "advanced_Ki67"}
    with pytest.raises(ConfigError, match=r"'exit from cycle phase 3' of 'tumor': its cycle model "
                       r"advanced_Ki67 has phases 0 Ki67-, 1 Ki67\+ \(premitotic\), 2 Ki67\+ "
                       r"\(postmitotic\)"):
        invasim.load_scenario(_scenario(cyc, [_rule("exit from cycle phase 3")]))
    with pytest.raises(ConfigError, match=r"its cycle model live has phases 0 Live \(their "
                       r"exits: 'cycle entry'\); PhysiCell ignores such a rule"):
        invasim.load_scenario(_scenario({"model": "live"}, [_rule("exit from cycle phase 1")]))
    for k in (1, 2):  # the phases it has load
        invasim.load_scenario(_scenario(cyc, [_rule(f"exit from cycle phase {k}")]))


def test_phase_rule_sets_the_exit_rate_of_each_cell():
    """A volume rule on phase 2's exit: big cells leave the (fixed) postmitotic phase sooner.

    Advanced Ki67 with phase 0 never left; all cells start postmitotic (fixed 150 min =
    25 steps). The rule (Hill power 40, half-max 2000 µm³) gives the cells of 3000 µm³ the
    saturation rate 1/60 per min (10 steps) and leaves those of 1000 µm³ at 1/150.
    """
    import invasim

    cyc = {"model": "advanced_Ki67", "durations_min": [math.inf, 780.0, 150.0]}
    rule = _rule("exit from cycle phase 2", saturation=1 / 60, half_max=2000.0, hill_power=40.0)
    sim = invasim.Simulation(invasim.load_scenario(_scenario(cyc, [rule])), seed=3)
    proc = next(q for q in sim.model.processes if q.name == "cycle")
    c = sim.model.cells
    big = np.arange(c.n) % 2 == 1
    c.volume[:] = np.where(big, 3000.0, 1000.0)
    c.phase[:] = 2
    left = np.full(c.n, -1)
    for step in range(30):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
        left[(left < 0) & (sim.model.cells.phase == 0)] = step + 1
    assert proc.exits == [2]  # read per cell: a rule governs it
    col = sim.model.state.behaviours.column("exit from cycle phase 2")
    assert np.allclose(col[big], 1 / 60, rtol=1e-6) and np.allclose(col[~big], 1 / 150, rtol=1e-6)
    assert np.all(left[big] == 10) and np.all(left[~big] == 25)
    # without the rule the column is the type's rate and the kernel reads its table
    plain = invasim.Simulation(invasim.load_scenario(_scenario(cyc)), seed=3)
    plain.model.step(plain.fields, plain.time_min)
    assert next(q for q in plain.model.processes if q.name == "cycle").exits == []
