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
from invasim.biology.cycle import LIVE_RATE, STREAM_CYCLE
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
    f = flow_cytometry_separated()
    assert f.phases == ("G0/G1", "S", "G2", "M")
    assert np.allclose(np.array(f.rates) * [300, 480, 240, 60], 1)
    with pytest.raises(ValueError):
        CycleModel("bad", ("a", "b"), (1.0,))
    with pytest.raises(ValueError):
        CycleModel("bad", ("a",), (-1.0,))
    p = CycleParams.from_models([live(), f], pressure_threshold=[1.0, 2.0])
    assert p.rates.shape == (2, 4) and list(p.n_phases) == [1, 4]
    assert p.rates[0, 1] == 0 and p.pressure_threshold[1] == 2.0


def test_o2_factor():
    f = o2_proliferation_factor(np.array([0, 5, 21.5, 38, 100]), 5.0, 38.0)
    assert np.allclose(f, [0, 0, 0.5, 1, 1])
    assert o2_proliferation_factor(82.5) == pytest.approx(0.5)  # PhysiCell 5 .. 160
    with pytest.raises(ValueError):
        o2_proliferation_factor(1.0, 5.0, 5.0)


def reference_cycle(cells, params, dt, seed, step, mult, press):
    """NumPy reference of one cycle step (exponential phases only)."""
    phase, tip = cells.phase.copy(), cells.time_in_phase.copy()
    live_ = cells.dead == 0
    tip[live_] += dt
    r = params.rates[cells.type, phase] * np.where(phase == 0, mult, 1.0)
    r = np.where((phase == 0) & (press > params.pressure_threshold[cells.type]), 0.0, r)
    u = uniforms(seed, step, cells.id, STREAM_CYCLE)
    leave = live_ & (r > 0) & (u < -np.expm1(-r * dt))
    last = phase + 1 >= params.n_phases[cells.type]
    div = leave & last
    phase = np.where(leave, np.where(last, 0, phase + 1), phase)
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
