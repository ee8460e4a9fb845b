"""Behaviour rules in the agent model: validation, effects on cell life, resume equality."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from tests.conftest import run_and_resume

import invasim
from invasim.agents.params import DEFAULT_PROCESSES, params_schema
from invasim.errors import ConfigError
from invasim.processes.contacts import pressure_and_contacts


def _rule(signal, direction, behaviour, saturation, half_max, hill_power=4.0, **kw):
    return {
        "cell_type": "tumor",
        "signal": signal,
        "direction": direction,
        "behaviour": behaviour,
        "saturation": saturation,
        "half_max": half_max,
        "hill_power": hill_power,
        **kw,
    }


def _data(rules=None, end=60.0, **tables):
    """A small, fast 2-D scenario: a fast live cycle, no death, a fixed seed.

    ``tables``: the tumour's sub-tables per process, merged into these defaults.
    """
    ct = {
        "cycle": {"model": "live", "rate_per_min": 0.01},
        "death": {"apoptosis_rate_per_min": 0.0},
    }
    for key, table in tables.items():
        ct.setdefault(key, {}).update(table)
    params = {
        "dt_diffusion_min": 0.01,
        "dt_mechanics_min": 0.1,
        "cell_types": {"tumor": ct},
        "initial": {"geometry": "ball", "n_cells": 60},
    }
    if rules is not None:
        params["rules"] = rules
    return {
        "name": "agents-rules-test",
        "model": "agents",
        "seed": 5,
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 40.0},
        "time": {
            "end_min": end,
            "dt_min": 6.0,
            "output_interval_min": 12.0,
            "checkpoint_interval_min": 12.0,
        },
        "params": params,
    }


def _final_cells(data, steps=10):
    sim = invasim.Simulation(invasim.load_scenario(data), seed=5)
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    return sim.model.cells


def test_no_rules_means_no_rule_set():
    assert params_schema(DEFAULT_PROCESSES)().rule_set is None
    assert invasim.load_scenario(_data()).model_params.rule_set is None


def test_oxygen_decreases_cycle_entry_lowers_proliferation():
    free = _final_cells(_data())
    ruled = _final_cells(_data([_rule("oxygen", "decreases", "cycle entry", 0.0, 10.0)]))
    born_free = free.next_id - 60
    born_ruled = ruled.next_id - 60
    assert born_free > 20
    # oxygen ~38 mmHg >> half-max 10: entry falls to ~1/200 of its base
    assert born_ruled < 0.2 * born_free


def test_pressure_rule_is_contact_inhibition():
    # cells packed at the default spacing have pressures around 0.3-0.5 in 2-D
    free = _final_cells(_data())
    inhibited = _final_cells(_data([_rule("pressure", "decreases", "cycle entry", 0.0, 0.05)]))
    born_free = free.next_id - 60
    born_inhibited = inhibited.next_id - 60
    assert born_inhibited < 0.5 * born_free
    # an isolated cell (pressure 0) still divides at its full rate
    lone = _data([_rule("pressure", "decreases", "cycle entry", 0.0, 0.05)])
    lone["params"]["initial"] = {"geometry": "ball", "n_cells": 1}
    lone = _final_cells(lone, steps=6)
    assert lone.next_id >= 2


def test_apoptosis_and_uptake_rules_apply():
    data = _data(
        [
            _rule("time", "increases", "apoptosis", 0.05, 6.0),
            _rule("oxygen", "increases", "oxygen uptake", 0.0, 1.0),
        ],
        cycle={"rate_per_min": 0.0},
    )
    cells = _final_cells(data, steps=4)
    assert np.count_nonzero(cells.dead) > 20
    free = invasim.Simulation(invasim.load_scenario(_data(cycle={"rate_per_min": 0.0})), seed=5)
    ruled = invasim.Simulation(invasim.load_scenario(data), seed=5)
    for sim in (free, ruled):
        sim.model.step(sim.fields, sim.time_min)
    # the rule drives oxygen uptake towards 0 (oxygen >> half-max): far less oxygen consumed
    used_free = 38.0 - free.fields["oxygen"].min()
    used_ruled = 38.0 - ruled.fields["oxygen"].min()
    assert used_ruled < 0.2 * used_free


@pytest.mark.parametrize(
    ("rules", "needles"),
    [
        ([_rule("oxgen", "decreases", "cycle entry", 0.0, 10.0)], ["params.rules[0]", "oxygen"]),
        (
            [
                _rule("oxygen", "decreases", "cycle entry", 0.0, 10.0),
                _rule("oxygen", "increases", "cycle entry", 0.01, 10.0),
            ],
            ["params.rules[1]", "params.rules[0]", "conflicts"],
        ),
        (
            [_rule("oxygen", "decreases", "cell-cell adhesion elastic constant", 0.0, 10.0)],
            ["params.rules[0]", "not read by the listed processes", "'cell-cell adhesion'"],
        ),
        (
            [_rule("contact with tumour", "decreases", "cycle entry", 0.0, 1.0)],
            ["params.rules[0]", "unknown signal", "did you mean 'contact with tumor'"],
        ),
        ("no-such-rules.csv", ["params.rules", "cannot read rules file"]),
    ],
)
def test_rule_errors_are_one_line_config_errors(rules, needles):
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_data(rules))
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("scenario: ")
    for needle in needles:
        assert needle in msg


def test_cycle_entry_rule_needs_a_positive_base_rate():
    with pytest.raises(ConfigError, match="base rate 0"):
        invasim.load_scenario(
            _data([_rule("oxygen", "decreases", "cycle entry", 0.0, 10.0)],
                  cycle={"rate_per_min": 0.0})
        )


def test_csv_rules_resolve_beside_the_scenario_file(tmp_path):
    (tmp_path / "cell_rules.csv").write_text(
        "tumor,oxygen,decreases,cycle entry,0,10,4,0\ntumor,pressure,decreases,apoptosis,0,1,2,0\n"
    )
    data = _data("cell_rules.csv")
    lines = ['name = "csv-rules"', 'model = "agents"']
    for section in ("mesh", "time", "params"):
        lines.append(f"[{section}]")
        for k, v in data[section].items():
            if not isinstance(v, dict):
                lines.append(f"{k} = {json.dumps(v)}")
    lines += ["[params.cell_types.tumor.cycle]", 'model = "live"', "rate_per_min = 0.01"]
    lines += ["[params.initial]", 'geometry = "ball"', "n_cells = 10"]
    path = tmp_path / "scenario.toml"
    path.write_text("\n".join(lines) + "\n")
    sc = invasim.load_scenario(path)
    rs = sc.model_params.rule_set
    assert len(rs.table) == 2 and rs.governs("cycle entry") and rs.governs("apoptosis")
    assert sc.model_params.rules == str(tmp_path / "cell_rules.csv")


def test_resume_equals_uninterrupted_with_rules(tmp_path):
    rules = [
        _rule("oxygen", "decreases", "cycle entry", 0.001, 30.0),
        _rule("pressure", "increases", "apoptosis", 0.01, 0.5),
        _rule("oxygen", "decreases", "migration speed", 0.2, 30.0),
        _rule("volume", "increases", "oxygen uptake", 20.0, 2500.0),
        # contact signals (recounted at each step's start) and per-cell mechanics/chemotaxis
        _rule("contact with tumor", "decreases", "cycle entry", 0.001, 3.0),
        _rule("contact with live cell", "increases", "cell-cell adhesion", 1.0, 3.0),
        _rule("pressure", "increases", "cell-cell repulsion", 12.0, 0.5),
        _rule("oxygen", "decreases", "chemotactic response to oxygen", -1.0, 30.0),
    ]
    sc = invasim.load_scenario(
        _data(rules, motility={"speed_um_per_min": 0.5, "persistence_time_min": 5.0,
                               "migration_bias": 0.5})
    )
    full, resumed = run_and_resume(sc, 9, tmp_path, until=42, end=60.0, keep=4)
    assert resumed.meta["resumed_at_min"] == [36.0]
    np.testing.assert_array_equal(resumed.field("oxygen"), full.field("oxygen"))
    assert resumed.metrics.equals(full.metrics)
    for t in (48.0, 60.0):
        assert resumed.cells(t).equals(full.cells(t))


def test_a_signal_no_listed_process_computes_fails_with_one_line():
    # contacts are computed by the contacts process: without it, a contact rule cannot run
    data = _data([_rule("contact with tumor", "decreases", "cycle entry", 0.0, 1.0)])
    data["params"]["processes"] = ["secretion", "diffusion", "mechanics", "volume", "death",
                                   "cycle", "division"]  # fmt: skip
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(data)
    msg = str(info.value)
    assert "\n" not in msg and "not computed by the listed processes" in msg
    assert "'oxygen'" not in msg.split("compute")[0]
    assert "'volume'" in msg and "contact with" not in msg.split("they compute")[1]


# -- contact signals ---------------------------------------------------------------------------
def _two_types(rules, dim=2, n_cells=60, **params):
    """A scenario with types tumor (live cycle) and stroma; ``rules`` use both."""
    data = _data(rules)
    data["params"]["cell_types"]["stroma"] = {
        "cycle": {"model": "live", "rate_per_min": 0.005},
        "death": {"apoptosis_rate_per_min": 0.0},
    }
    data["params"]["initial"] = {"geometry": "ball", "n_cells": n_cells}
    data["params"].update(params)
    if dim == 3:
        data["mesh"] = {"dim": 3, "extent_um": [240.0] * 3, "voxel_um": 40.0}
    return data


def _random_packing(model, n, seed):
    """Replace the model's cells by ``n`` overlapping cells of both types, ~20 % dead."""
    from invasim.core.cells import Cells

    rng = np.random.default_rng(seed)
    dim = model.mesh.dim
    extent = np.asarray(model.mesh.extent, dtype=float)
    pos = np.zeros((n, 3))
    lo = 0.0 if dim == 2 else 0.2  # 3-D: a 120 µm box, dense enough for ~9 contacts each
    pos[:, :dim] = rng.uniform(lo, 1.0 if dim == 2 else 0.7, (n, dim)) * extent[:dim]
    cells = Cells(dim, capacity=n)
    cells.add(n, position=pos, radius=rng.uniform(4.0, 12.0, n), type=rng.integers(0, 2, n),
              dead=rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 1, 2], n))  # fmt: skip
    model.cells = cells
    return cells


def _brute_force_contacts(cells, n_types):
    """``[n, T + 2]`` neighbours with ``d < r_i + r_j`` by type, alive, dead: all pairs."""
    x = cells.position
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    touch = d < cells.radius[:, None] + cells.radius[None]
    out = np.zeros((cells.n, n_types + 2))
    for t in range(n_types):
        out[:, t] = (touch & (cells.type == t)[None]).sum(1)
    out[:, n_types] = (touch & (cells.dead == 0)[None]).sum(1)
    out[:, n_types + 1] = (touch & (cells.dead != 0)[None]).sum(1)
    return out, touch, d


CONTACT_RULES = [
    _rule("contact with stroma", "decreases", "cycle entry", 0.0, 1.5, 2.0),
    _rule("contact with dead cell", "increases", "apoptosis", 0.01, 1.0, 2.0),
    _rule("contact with live cell", "increases", "migration speed", 1.0, 3.0, 1.0),
]


@pytest.mark.parametrize("dim", [2, 3])
def test_contact_counts_match_brute_force(dim):
    sim = invasim.Simulation(invasim.load_scenario(_two_types(CONTACT_RULES, dim)), seed=1)
    m = sim.model
    n = 700 if dim == 2 else 900
    for seed in range(2):
        cells = _random_packing(m, n, seed)
        pressure, contacts = pressure_and_contacts(m.state, True)
        want, touch, d = _brute_force_contacts(cells, 2)
        assert want[:, :2].sum() > 2 * n and want[:, 3].sum() > 0.1 * n  # many contacts, dead
        np.testing.assert_array_equal(contacts, want)
        # the same traversal gives PhysiCell's simple pressure, as compute_pressure
        big_r = cells.radius[:, None] + cells.radius[None]
        q = np.where(touch, 1.0 - d / big_r, 0.0)
        np.testing.assert_allclose(pressure, (q**2).sum(1) / 0.027288, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(pressure_and_contacts(m.state, False)[0], pressure)
        assert pressure_and_contacts(m.state, False)[1] is None


@pytest.mark.skipif(__import__("numba").config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
def test_contact_counts_are_thread_independent():
    import numba

    sim = invasim.Simulation(invasim.load_scenario(_two_types(CONTACT_RULES)), seed=1)
    m = sim.model
    _random_packing(m, 3000, 4)
    old = numba.get_num_threads()
    runs = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            runs.append(pressure_and_contacts(m.state, True))
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_contact_rules_set_the_behaviours_from_the_counts():
    sim = invasim.Simulation(invasim.load_scenario(_two_types(CONTACT_RULES)), seed=1)
    m = sim.model
    cells = _random_packing(m, 500, 2)
    want, _, _ = _brute_force_contacts(cells, 2)
    m.state.pressure = pressure_and_contacts(m.state, False)[0]
    for phase in ("motion", "life"):
        m.behaviours.fill(m.state, phase, 0.0)
    beh = m.behaviours

    def hill(s, h, p):
        return s**p / (h**p + s**p)

    tumor, dead = cells.type == 0, cells.dead != 0
    live_tumor = tumor & ~dead
    entry = beh.column("cycle entry")
    np.testing.assert_allclose(entry[live_tumor],
                               0.01 * (1 - hill(want[live_tumor, 1], 1.5, 2)), rtol=1e-12)
    apo = beh.column("apoptosis")
    np.testing.assert_allclose(apo[live_tumor], 0.01 * hill(want[live_tumor, 3], 1.0, 2),
                               rtol=1e-12, atol=1e-300)
    speed = beh.column("migration speed")
    np.testing.assert_allclose(speed[live_tumor], hill(want[live_tumor, 2], 3.0, 1), rtol=1e-12)
    # rules that do not apply to dead cells leave them at the base; stroma has no rules
    assert np.all(entry[tumor & dead] == 0.01) and np.all(apo[tumor & dead] == 0.0)
    assert np.all(entry[~tumor] == 0.005) and np.all(speed[~tumor] == 0.0)
    # the signals are not all alike: the rules really vary across cells
    assert np.ptp(entry[live_tumor]) > 0.005 and np.ptp(apo[live_tumor]) > 0.003


def test_contact_with_tumor_decreases_cycle_entry():
    inhibition = [_rule("contact with tumor", "decreases", "cycle entry", 0.0, 0.5, 4.0)]
    free = _final_cells(_data())
    inhibited = _final_cells(_data(inhibition))
    # packed at 16 µm < 2 r = 16.8 µm, every cell touches 2 to 6 others: entry falls >= 257-fold
    assert free.next_id - 60 > 20
    assert inhibited.next_id - 60 < 0.2 * (free.next_id - 60)
    lone = _data(inhibition)
    lone["params"]["initial"] = {"geometry": "ball", "n_cells": 1}
    assert _final_cells(lone, steps=6).next_id >= 2  # no contacts: full rate


# -- per-cell mechanics ------------------------------------------------------------------------
def test_rules_on_repulsion_and_adhesion_set_the_rest_distance():
    # tumor: rules drive repulsion to 22.5 and adhesion to 1.6; stroma keeps its base 3.6 and
    # 0.1. Pair strengths sqrt(22.5 * 3.6) = 9 and sqrt(1.6 * 0.1) = 0.4 µm/min
    rules = [
        _rule("volume", "increases", "cell-cell repulsion", 22.5, 1.0),
        _rule("volume", "increases", "cell-cell adhesion", 1.6, 1.0),
    ]
    data = _two_types(rules, n_cells=2)
    types = data["params"]["cell_types"]
    types["tumor"]["cycle"]["rate_per_min"] = 0.0
    types["stroma"]["cycle"]["rate_per_min"] = 0.0
    types["stroma"]["mechanics"] = {"repulsion_um_per_min": 3.6, "adhesion_um_per_min": 0.1}
    data["params"]["fields"] = {"oxygen": {"diffusion_um2_per_min": 1000.0}}
    # repulsion up to 22.5 µm/min: the stability bound of a packed 2-D tissue is 0.062 min
    data["params"]["dt_mechanics_min"] = 0.05
    data["params"]["dt_diffusion_min"] = 0.05
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    m = sim.model
    m.cells.type[1] = 1
    for _ in range(40):  # 240 min; the pair relaxes with a time constant of ~6 min
        m.step(sim.fields, sim.time_min)
        sim.step_index += 1
    r = m.cells.radius
    big_r, s = r.sum(), 1.25 * r.sum()
    a, b = 3.0, math.sqrt(0.4)  # square roots of the pair strengths 9 and 0.4
    want = (a - b) / (a / big_r - b / s)
    d = np.linalg.norm(m.cells.position[1] - m.cells.position[0])
    assert m.cells.n == 2 and abs(d - want) < 1e-6 * want
    # the types' strengths alone would rest elsewhere
    a0, b0 = math.sqrt(math.sqrt(10 * 3.6)), math.sqrt(math.sqrt(0.4 * 0.1))
    assert abs((a0 - b0) / (a0 / big_r - b0 / s) - want) > 0.1


# -- chemotaxis --------------------------------------------------------------------------------
def _drift(rules=None, sensitivity=None, steps=1):
    """Mean displacement of a few far-apart cells after ``steps`` phenotype steps, with bias 1
    (every cell moves along the chemotactic direction), oxygen rising along x (0.05 mmHg/µm)
    and an attractant rising along y (0.1 /µm); fields frozen (no diffusion, decay, uptake)."""
    tumor = {
        "motility": {"speed_um_per_min": 0.5, "persistence_time_min": 0.0, "migration_bias": 1.0},
        "secretion": {"uptake_per_min": {}},
        "cycle": {"rate_per_min": 0.0},
    }
    if sensitivity is not None:
        tumor["motility"]["chemotactic_sensitivity"] = sensitivity
    data = _data(rules, **tumor)
    frozen = {"diffusion_um2_per_min": 0.0, "decay_per_min": 0.0, "boundary": "no-flux"}
    data["params"]["fields"] = {"oxygen": frozen, "attractant": {**frozen, "unit": "1"}}
    data["params"]["mechanics_scheme"] = "euler"
    data["params"]["initial"] = {"geometry": "layer", "spacing_um": 60.0,
                                 "lo_um": [140.0, 140.0], "hi_um": [261.0, 261.0]}  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    m = sim.model
    x = (np.arange(10) + 0.5) * 40.0
    sim.fields["oxygen"][:] = 20.0 + 0.05 * x[None, :]  # (y, x) arrays
    sim.fields["attractant"][:] = 0.1 * x[:, None]
    start = m.cells.position.copy()
    for _ in range(steps):
        m.step(sim.fields, sim.time_min)
        sim.step_index += 1
    assert m.cells.n >= 4 and m.cells.next_id == m.cells.n  # no births, no deaths
    return (m.cells.position - start).mean(0)[:2]


def _direction(v):
    return np.asarray(v, dtype=float) / np.linalg.norm(v)


def test_chemotactic_response_rules_turn_the_drift():
    # default: +1 towards oxygen alone -> along +x, at the full speed (0.5 µm/min × 6 min)
    v = _drift()
    np.testing.assert_allclose(v, [3.0, 0.0], atol=1e-9)
    # a rule raises the attractant's weight to 2 (volume >> half-max: saturated): the bias is
    # 1 × 0.05 x + 2 × 0.1 y, i.e. along (1, 4)
    attract = [_rule("volume", "increases", "chemotactic response to attractant", 2.0, 1.0)]
    np.testing.assert_allclose(_direction(_drift(attract)), _direction([1.0, 4.0]), atol=1e-9)
    # a rule driving the oxygen weight to -1 (repelled) with the attractant at 2
    both = attract + [_rule("volume", "decreases", "chemotactic response to oxygen", -1.0, 1.0)]
    np.testing.assert_allclose(_direction(_drift(both)), _direction([-1.0, 4.0]), atol=1e-9)


def test_chemotactic_sensitivity_of_the_type():
    v = _drift(sensitivity={"attractant": 1.0})  # oxygen no longer attracts
    np.testing.assert_allclose(v, [0.0, 3.0], atol=1e-9)
    v = _drift(sensitivity={"oxygen": -2.0, "attractant": 0.5})  # -0.1 x + 0.05 y
    np.testing.assert_allclose(_direction(v), _direction([-2.0, 1.0]), atol=1e-9)
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_data(motility={"chemotactic_sensitivity": {"glucose": 1.0}}))
    msg = str(info.value)
    assert "\n" not in msg and "unknown field" in msg and "oxygen" in msg
    assert "glucose" in msg


def test_check_bounds_the_mechanics_step_by_a_rule_raising_repulsion():
    # 12 µm/min (rule at line 182 of this file) is stable at 0.1 min; 400 µm/min is not
    ok = _data([_rule("pressure", "increases", "cell-cell repulsion", 12.0, 0.5)])
    invasim.load_scenario(ok)
    bad = _data([_rule("pressure", "increases", "cell-cell repulsion", 400.0, 0.5)])
    with pytest.raises(ConfigError, match=r"stability limit .* of cell type 'tumor' \(repulsion "
                                          r"up to 400 µm/min by the rule params.rules\[0\]"):
        invasim.load_scenario(bad)
    # a rule that only lowers repulsion cannot make the step unstable
    invasim.load_scenario(_data([_rule("pressure", "decreases", "cell-cell repulsion", 0.0,
                                       0.5)]))
