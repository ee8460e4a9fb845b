"""Pericellular proteolysis and matrix deposition: kernels against NumPy, the engine, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.conftest import run_and_resume

import invasim
import invasim.processes.matrix_degradation  # noqa: F401  (registers the process)
import invasim.processes.proteolysis  # noqa: F401  (registers the process)
from invasim.errors import ConfigError
from invasim.physics import proteolysis as kern
from invasim.verify.cases.proteolysis import run, scenario

V = 2494.0

# The whole chain (also /work/helper_docs/proteolysis_example.toml): tumour cells secrete MMP
# and deposit laminin-5; MMP and MT1-MMP degrade the ECM and cleave laminin into ln5_fragment;
# the fragment raises speed and persistence through two Hill rules.
EXAMPLE = """
name = "proteolysis-chain"
model = "agents"
seed = 3

[mesh]
dim = 2
extent_um = [400.0, 400.0]
voxel_um = 20.0

[time]
end_min = 1440.0
dt_min = 6.0
output_interval_min = 360.0
checkpoint_interval_min = 1440.0

[params]
processes = ["secretion", "diffusion", "mechanics", "motility", "volume",
             "matrix_degradation", "proteolysis"]
dt_diffusion_min = 0.05
dt_mechanics_min = 0.1

[params.fields.ecm]
kind = "matrix"
initial = 1.0
upper = 1.0

[params.fields.basement_membrane]
kind = "matrix"
initial = { kind = "layer", axis = "y", lo_um = 260.0, hi_um = 280.0, value = 1.0 }
upper = 1.0

[params.fields.laminin]
kind = "matrix"
initial = 0.0
upper = 1.0

[params.fields.mmp]
unit = "1"
diffusion_um2_per_min = 600.0
decay_per_min = 0.01
boundary = "dirichlet"
boundary_value = 0.0
initial = 0.0

[params.fields.ln5_fragment]
unit = "1"
diffusion_um2_per_min = 60.0
decay_per_min = 0.001
boundary = "dirichlet"
boundary_value = 0.0
initial = 0.0

[[params.matrix_degradation.reactions]]
matrix = "ecm"
enzyme = "mmp"
rate_per_unit_per_min = 0.06
source = "Anderson et al. 2000: eta = 10 over tau = 166.7 min (L = 1 mm)"

[[params.matrix_degradation.reactions]]
matrix = "basement_membrane"
enzyme = "mmp"
rate_per_unit_per_min = 0.03
source = "assumption: half the ECM rate"

[[params.matrix_degradation.reactions]]
matrix = "laminin"
enzyme = "mmp"
rate_per_unit_per_min = 0.06
product = "ln5_fragment"
source = "Giannelli et al. 1997; rate assumed equal to the ECM's"

[params.proteolysis]
matrices = { ecm = 1.0, basement_membrane = 0.5, laminin = 1.0 }
products = { laminin = { field = "ln5_fragment", stoichiometry = 1.0 } }
deposit_field = "laminin"

[params.cell_types.tumor.secretion]
uptake_per_min = {}
secretion_per_min = { mmp = 0.0006 }
secretion_target = { mmp = 1.0 }

[params.cell_types.tumor.proteolysis]
rate_per_min = 0.01
deposition_per_min = 0.001

[params.cell_types.tumor.motility]
speed_um_per_min = 0.1
persistence_time_min = 5.0

[params.initial]
geometry = "ball"
n_cells = 19

[[params.rules]]
cell_type = "tumor"
signal = "ln5_fragment"
direction = "increases"
behaviour = "migration speed"
saturation = 0.5
half_max = 0.01
hill_power = 2.0

[[params.rules]]
cell_type = "tumor"
signal = "ln5_fragment"
direction = "increases"
behaviour = "migration persistence time"
saturation = 15.0
half_max = 0.01
hill_power = 2.0
"""


# -- kernels -----------------------------------------------------------------------------------
def _reference(voxel, live, volume, k, r, inv_vv, n_vox):
    K = np.zeros(n_vox)
    D = np.zeros(n_vox)
    np.add.at(K, voxel[live], (k * volume * inv_vv)[live])
    np.add.at(D, voxel[live], (r * volume * inv_vv)[live])
    return K, D


def _kernel(voxel, live, volume, k, r, inv_vv, m, p, s, deposit, dt, upper, stoich):
    acc_k, acc_d = np.zeros(m.size), np.zeros(m.size)
    touched = np.empty(voxel.size, dtype=np.int64)
    nt = kern.accumulate(voxel, live, volume, k, r, inv_vv, acc_k, acc_d, touched)
    out = kern.react(m, p, acc_k, acc_d, touched, nt, s, deposit, dt, upper, stoich)
    kern.reset(acc_k, acc_d, touched, nt)
    assert not acc_k.any() and not acc_d.any()  # ready for the next step
    return out


def test_kernels_match_numpy_for_degradation_with_a_product():
    rng = np.random.default_rng(0)
    n, n_vox = 200, 50
    voxel = rng.integers(0, n_vox, n)
    live = rng.random(n) > 0.2
    volume = rng.uniform(1000, 4000, n)
    k = rng.uniform(0, 0.02, n)
    m0 = rng.uniform(0, 1, n_vox)
    m, p = m0.copy(), np.zeros(n_vox)
    degraded, _ = _kernel(voxel, live, volume, k, kern.empty(), 1 / 8000, m, p, 0.7, False,
                          6.0, math.inf, 2.0)  # fmt: skip
    K, _ = _reference(voxel, live, volume, k, np.zeros(n), 1 / 8000, n_vox)
    np.testing.assert_allclose(m, m0 * np.exp(-0.7 * K * 6.0), rtol=1e-13)
    np.testing.assert_allclose(p, 2.0 * (m0 - m), rtol=1e-12, atol=1e-16)
    assert degraded == pytest.approx(float((m0 - m).sum()), rel=1e-12)
    # dead cells' voxels (and voxels without cells) untouched
    assert np.all(m[K == 0] == m0[K == 0])


def _ode(m0, K, D, dt, upper, n=200_000):
    """Fine forward-Euler integration of dm/dt = D - K m capped at upper (a reference)."""
    h = dt / n
    m, lost = m0, 0.0
    for _ in range(n):
        lost += K * m * h
        m = min(m + (D - K * m) * h, upper)
    return m, lost


@pytest.mark.parametrize(("m0", "K", "D", "upper"), [
    (0.2, 0.01, 0.02, 1.0),      # towards D/K = 2 > cap: reaches the cap within the step
    (0.2, 0.01, 0.004, 1.0),     # towards D/K = 0.4 < cap
    (0.99, 0.0, 0.01, 1.0),      # no degradation: linear up to the cap
    (1.0, 0.01, 0.05, 1.0),      # at the cap, held there
    (0.5, 0.02, 0.0, 1.0),       # plain decay
])  # fmt: skip
def test_deposition_with_degradation_matches_a_fine_integration(m0, K, D, upper):
    m1, lost, added = kern._one(m0, K, D, 60.0, upper)
    ref_m, ref_lost = _ode(m0, K, D, 60.0, upper)
    assert m1 <= upper
    assert m1 == pytest.approx(ref_m, rel=1e-4, abs=1e-6)
    assert lost == pytest.approx(ref_lost, rel=1e-4, abs=1e-6)
    assert m1 - m0 == pytest.approx(added - lost, abs=1e-12)  # the amount balance


def test_the_amount_degraded_per_cell_does_not_depend_on_the_voxel_size():
    """A cell removes k V m per minute whatever h (to first order in K dt)."""
    k, m0, dt = 0.01, 0.8, 0.01
    for h in (10.0, 20.0, 40.0):
        m = np.full(4, m0)
        degraded, _ = _kernel(np.array([2]), np.array([True]), np.array([V]), np.array([k]),
                              kern.empty(), 1 / h**3, m, kern.empty(), 1.0, False, dt,
                              math.inf, 1.0)  # fmt: skip
        assert degraded * h**3 / dt == pytest.approx(k * V * m0, rel=2 * k * V / h**3 * dt)


def test_the_result_does_not_depend_on_the_order_of_the_cells():
    rng = np.random.default_rng(3)
    n, n_vox = 500, 30
    voxel = rng.integers(0, n_vox, n)
    live = np.ones(n, dtype=bool)
    volume, k, r = rng.uniform(1000, 4000, n), rng.uniform(0, 0.02, n), rng.uniform(0, 1e-3, n)
    m0 = rng.uniform(0, 0.5, n_vox)
    outs = []
    for perm in (np.arange(n), rng.permutation(n)):
        m = m0.copy()
        _kernel(voxel[perm], live[perm], volume[perm], k[perm], r[perm], 1 / 8000, m,
                kern.empty(), 1.0, True, 6.0, 1.0, 1.0)  # fmt: skip
        outs.append(m)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-14)


# -- the engine --------------------------------------------------------------------------------
def _one_cell(dim=2, **cells):
    h = 20.0
    fields = {"ecm": {"kind": "matrix", "initial": 1.0, "upper": 1.0}}
    data = scenario(fields, ["proteolysis"], {"proteolysis": cells}, h=h, extent=220.0,
                    proteolysis={"matrices": {"ecm": 1.0}})  # fmt: skip
    if dim == 3:
        data["mesh"]["dim"] = 3
        data["mesh"]["extent_um"] = [220.0, 220.0, 220.0]
        data["params"]["initial"]["center_um"] = [110.0, 110.0, 110.0]
    return data


@pytest.mark.parametrize("dim", [2, 3])
def test_one_cell_degrades_its_voxel_exactly_in_2d_and_3d(dim):
    sim = run(_one_cell(dim, rate_per_min=0.02), 5)
    ecm = sim.fields["ecm"].reshape(-1)
    want = math.exp(-0.02 * V / 20.0**3 * 30.0)
    assert ecm.min() == pytest.approx(want, rel=1e-13)
    assert (ecm < 1.0).sum() == 1
    degraded = sim.model.metrics(sim.fields, sim.time_min)["proteolysis_degraded_ecm"]
    assert degraded == pytest.approx((1 - want) * 20.0**3, rel=1e-12)


def test_dead_cells_and_cells_without_the_rate_do_nothing():
    sim = run(_one_cell(), 0)
    sim.model.cells.dead[:] = 1
    for _ in range(3):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    assert np.all(sim.fields["ecm"] == 1.0)
    sim = run(_one_cell(rate_per_min=0.0), 3)
    assert np.all(sim.fields["ecm"] == 1.0)


@pytest.mark.parametrize("kind", ["scale", "drug"])
def test_an_mmp_inhibitor_slows_pericellular_and_secreted_degradation(kind):
    """A scale of 0.1 on the behaviour, or the mmp_inhibitor drug with effect 0.9."""
    data = _one_cell(rate_per_min=0.02)
    data["params"]["processes"] = ["diffusion", "matrix_degradation", "proteolysis"]
    data["params"]["fields"]["mmp"] = {"unit": "1", "diffusion_um2_per_min": 600.0,
                                       "decay_per_min": 0.0, "boundary": "no-flux",
                                       "boundary_value": 0.0, "initial": 0.5}  # fmt: skip
    data["params"]["fields"]["collagen"] = {"kind": "matrix", "initial": 1.0}
    data["params"]["matrix_degradation"] = {"reactions": [
        {"matrix": "collagen", "enzyme": "mmp", "rate_per_unit_per_min": 0.01}]}  # fmt: skip
    if kind == "scale":
        iv = {"kind": "scale", "behaviour": "pericellular proteolysis", "value": 0.1}
    else:
        iv = {"kind": "drug", "drug": "mmp_inhibitor", "effect": 0.9,
              "enzyme_fields": ["mmp"]}  # fmt: skip
    data["params"]["interventions"] = [iv]
    sim = run(data, 5)
    ecm = sim.fields["ecm"].reshape(-1)
    assert ecm.min() == pytest.approx(math.exp(-0.1 * 0.02 * V / 20.0**3 * 30.0), rel=1e-13)
    if kind == "drug":
        want = math.exp(-0.1 * 0.01 * 0.5 * 30.0)
        np.testing.assert_allclose(sim.fields["collagen"], want, rtol=1e-12)


def test_the_drug_slows_a_diffusing_mmp_field():
    fields = {
        "ecm": {"kind": "matrix", "initial": 1.0},
        "mmp": {"unit": "1", "diffusion_um2_per_min": 600.0, "decay_per_min": 0.0,
                "boundary": "no-flux", "boundary_value": 0.0, "initial": 0.5},
    }  # fmt: skip
    reaction = {"matrix": "ecm", "enzyme": "mmp", "rate_per_unit_per_min": 0.01}
    data = scenario(fields, ["diffusion", "matrix_degradation"], extent=100.0,
                    matrix_degradation={"reactions": [reaction]},
                    interventions=[{"kind": "drug", "drug": "mmp_inhibitor", "effect": 0.75,
                                    "from_min": 12.0}])  # fmt: skip
    sim = run(data, 5)
    # 2 steps at full activity, 3 at a quarter
    want = math.exp(-0.01 * 0.5 * (12.0 + 0.25 * 18.0))
    np.testing.assert_allclose(sim.fields["ecm"], want, rtol=1e-12)


def test_the_whole_chain_raises_speed_and_persistence_where_the_fragment_is(tmp_path):
    path = tmp_path / "chain.toml"
    path.write_text(EXAMPLE)
    sim = invasim.Simulation(invasim.load_scenario(path), seed=3)
    for _ in range(10):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
    f = sim.fields
    assert f["ecm"].min() < 0.9 and f["laminin"].max() > 0.0 and f["mmp"].max() > 0.0
    m = sim.model.metrics(f, sim.time_min)
    assert m["proteolysis_deposited_laminin"] > m["proteolysis_degraded_laminin"] > 0.0
    s = sim.model.state
    sim.model.behaviours.fill(s, "motion", sim.time_min)
    frag = s.field_at_cells("ln5_fragment")
    assert frag.min() > 0.0
    hill = frag**2 / (0.01**2 + frag**2)
    speed = s.behaviours.column("migration speed")
    persistence = s.behaviours.column("migration persistence time")
    np.testing.assert_allclose(speed, 0.1 + (0.5 - 0.1) * hill, rtol=1e-12)
    np.testing.assert_allclose(persistence, 5.0 + (15.0 - 5.0) * hill, rtol=1e-12)
    assert speed.min() > 0.1 and persistence.min() > 5.0
    # more fragment, faster: the order of the cells by fragment is their order by speed
    order = np.argsort(frag)
    assert np.all(np.diff(speed[order]) >= 0)


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    """The running totals live in the state's counters, so a checkpoint carries them."""
    path = tmp_path / "chain.toml"
    path.write_text(EXAMPLE)
    sc = invasim.load_scenario(path, [
        "time.end_min=36", "time.output_interval_min=12", "time.checkpoint_interval_min=12",
        "mesh.extent_um=[200.0, 200.0]", "params.initial.n_cells=7",
        "params.dt_diffusion_min=0.1"])  # fmt: skip
    full, resumed = run_and_resume(sc, 3, tmp_path, until=30, end=36.0, keep=2,
                                   summary=False)
    for name in ("ecm", "laminin", "ln5_fragment"):
        np.testing.assert_array_equal(resumed.field(name), full.field(name))
    assert resumed.metrics.equals(full.metrics)
    assert full.metrics["proteolysis_deposited_laminin"].iloc[-1] > 0


# -- errors ------------------------------------------------------------------------------------
def _bad(**table):
    fields = {
        "ecm": {"kind": "matrix", "initial": 1.0, "upper": 1.0},
        "floor": {"kind": "matrix", "initial": 0.5, "lower": 0.1, "relaxation_target": 0.5},
        "mmp": {"unit": "1", "initial": 0.0, "boundary_value": 0.0},
    }
    return scenario(fields, ["proteolysis"], proteolysis=table)


@pytest.mark.parametrize(("table", "needles"), [
    ({"matrices": {"collagen": 1.0}},
     ["params.proteolysis.matrices = 'collagen' is not a field", "ecm, floor, mmp"]),
    ({"matrices": {"mmp": 1.0}}, ["'mmp' is a diffusing field", "kind = 'matrix'"]),
    ({"matrices": {"floor": 1.0}}, ["'floor', whose lower = 0.1 > 0"]),
    ({"matrices": {"ecm": 1.0}, "products": {"floor": {"field": "mmp"}}},
     ["products names 'floor', which is not in params.proteolysis.matrices"]),
    ({"matrices": {"ecm": 1.0}, "products": {"ecm": {"field": "fragment"}}},
     ["products.ecm.field = 'fragment' is not a field"]),
    ({"deposit_field": "mmp"}, ["deposit_field = 'mmp' is a diffusing field"]),
    ({"matrices": {"ecm": -1.0}}, ["susceptibilities must be finite and >= 0"]),
])  # fmt: skip
def test_bad_tables_are_one_line_config_errors(table, needles):
    with pytest.raises(ConfigError) as info:
        invasim.load_scenario(_bad(**table))
    msg = str(info.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg


def test_a_negative_rate_is_refused():
    data = _one_cell(rate_per_min=-0.1)
    with pytest.raises(ConfigError, match="proteolysis.rate_per_min"):
        invasim.load_scenario(data)
