"""PhysiCell's volume model (``volume.model = "physicell"``): columns, config, entries, division.

Exact comparisons are to 1e-12 relative (a few roundings of the same arithmetic); the closed
form is checked against SciPy's matrix exponential of the linear system, an independent
computation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from pydantic import ValidationError
from tests.conftest import run_and_resume

import invasim
from invasim.agents.params import VolumeCell
from invasim.biology.cycle import STANDARD_MODELS, CycleParams, advance_cycle, standard_model
from invasim.biology.death import RUPTURE, DeathParams, advance_death
from invasim.biology.division import divide
from invasim.biology.volume import (
    COLUMNS,
    CYTOPLASMIC_SOLID,
    FLUID,
    NUCLEAR_SOLID,
    TARGET_CYTOPLASMIC,
    TARGET_NUCLEAR,
    PhysiCellVolumeParams,
    VolumeParams,
    cycle_doubling,
    relax_exact,
    update_physicell_volumes,
    update_volumes,
)
from invasim.core.cells import APOPTOTIC, NECROTIC, Cells
from invasim.errors import ConfigError

DT = 6.0
#: PhysiCell's default rates (1/min) per state: live, apoptotic, necrotic swelling, lysed
RATES = [[0.05, 0.33 / 60, 0.27 / 60], [0.05, 0.35 / 60, 1 / 60],
         [0.67 / 60, 0.013 / 60, 0.0032 / 60], [0.05 / 60, 0.013 / 60, 0.0032 / 60]]  # fmt: skip


def params(model: str = "flow_cytometry_separated", use=(True,), **kw) -> PhysiCellVolumeParams:
    """PhysiCell's default cell on the model's doubling phases, for ``len(use)`` types."""
    t = len(use)
    s = STANDARD_MODELS[model]
    grow, flags = cycle_doubling(len(s.phases), s.division)
    doubled = np.zeros((t, 4), dtype=bool)
    doubled[:, : len(flags)] = flags
    p = dict(use=np.array(use), total=np.full(t, 2494.0), fluid_fraction=np.full(t, 0.75),
             nuclear=np.full(t, 540.0), rates=np.array([RATES] * t),
             target_fluid=np.array([[0.75, 0.0, 1.0, 0.0]] * t), calcification=np.zeros((t, 4)),
             calcified_fraction=np.zeros(t), relative_rupture=np.full(t, 2.0),
             grow=np.full(t, grow), doubled=doubled)  # fmt: skip
    p.update(kw)
    return PhysiCellVolumeParams(**p)


def cells_at(n: int, volume: float = 2494.0) -> Cells:
    c = Cells(2, capacity=n)
    c.add(n, position=np.zeros((n, 3)), volume=np.full(n, volume))
    return c


def parts(c: Cells, i=slice(None)) -> np.ndarray:
    return np.array([c.column(k)[i] for k in (FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID,
                                              TARGET_NUCLEAR, TARGET_CYTOPLASMIC)])  # fmt: skip


def test_columns_roles_and_initial_composition():
    """The columns exist with their roles; a new cell has PhysiCell's composition."""
    c = cells_at(2, 2494.0)
    update_physicell_volumes(c, params(), 0.0)
    for name, (role, _, mode) in COLUMNS.items():
        assert c.role_of(name) == role
        assert c.division_modes(role)[c.names(role).index(name)] == mode
    f, n, s, tn, ts = parts(c, 0)
    # PhysiCell's Volume(): F = 0.75 V, N = 0.25 * 540, C = 0.25 * (2494 - 540)
    np.testing.assert_allclose([f, n, s, tn, ts], [1870.5, 135.0, 488.5, 135.0, 488.5],
                               rtol=1e-12)  # fmt: skip
    assert c.volume[0] == f + n + s


def test_set_total_volume_scales_targets_and_doubled_phases():
    """A first-seen cell of another volume keeps it (targets scaled); in S its targets double."""
    c = cells_at(2, 1247.0)
    c.phase[1] = 1  # S of flow_cytometry_separated: between the doubling and the division
    update_physicell_volumes(c, params(), 0.0)
    np.testing.assert_allclose(parts(c, 0), [935.25, 67.5, 244.25, 67.5, 244.25], rtol=1e-12)
    np.testing.assert_allclose(parts(c, 1)[3:], [135.0, 488.5], rtol=1e-12)
    for _ in range(2000):
        update_physicell_volumes(c, params(), DT)
    np.testing.assert_allclose(c.volume, [1247.0, 2494.0], rtol=1e-9)


def test_config_errors():
    with pytest.raises(ValidationError, match="nuclear_um3"):
        VolumeCell(model="physicell", volume_um3=500.0, nuclear_um3=540.0)
    with pytest.raises(ValidationError, match="fluid_fraction"):
        VolumeCell(model="physicell", fluid_fraction=1.5)
    with pytest.raises(ValidationError, match="model"):
        VolumeCell(model="three_compartment")
    with pytest.raises(ValidationError, match="apoptotic_fluid_change_rate_per_min"):
        VolumeCell(model="physicell", apoptotic_fluid_change_rate_per_min=-1.0)
    VolumeCell(volume_um3=500.0, nuclear_um3=540.0)  # the lumped model does not read it
    data = _scenario().model_dump(mode="json")
    data["params"]["cell_types"]["tumor"]["volume"]["nuclear_um3"] = 5000.0
    with pytest.raises(ConfigError, match=r"params\.cell_types\.tumor\.volume: nuclear_um3"):
        invasim.load_scenario(data)
    with pytest.raises(ValueError, match="nuclear volume"):
        params(nuclear=np.array([3000.0]))
    with pytest.raises(ValueError, match="rates"):
        params(rates=np.ones((1, 3, 3)))


def _expm_reference(y0, targets, ff, rates, dt):
    """The same system as an affine ODE y' = A y + b, stepped by SciPy's matrix exponential."""
    rf, rn, rc = rates
    a = np.array([[-rf * (1 - ff), rf * ff, rf * ff], [0, -rn, 0], [0, 0, -rc]])
    b = np.array([0.0, rn * targets[0], rc * targets[1]])
    m = np.zeros((4, 4))
    m[:3, :3], m[:3, 3] = a, b
    return (scipy.linalg.expm(m * dt) @ np.append(y0, 1.0))[:3]


@pytest.mark.parametrize("case", [
    ((1870.5, 135.0, 488.5), (270.0, 977.0), 0.75, (0.05, 0.0055, 0.0045), 6.0),  # S entry
    ((1870.5, 135.0, 488.5), (0.0, 0.0), 0.0, (0.05, 0.35 / 60, 1 / 60), 6.0),  # apoptosis
    ((1870.5, 135.0, 488.5), (0.0, 0.0), 1.0, (0.67 / 60, 0.013 / 60, 0.0032 / 60), 60.0),
    ((100.0, 50.0, 20.0), (10.0, 30.0), 0.4, (0.03, 0.018, 0.018), 13.0),  # a == r_n == r_c
    ((100.0, 50.0, 20.0), (10.0, 30.0), 0.5, (0.0, 0.01, 0.02), 13.0),  # no fluid exchange
])  # fmt: skip
def test_relax_exact_is_the_matrix_exponential(case):
    y0, targets, ff, rates, dt = case
    got = relax_exact(*y0, *targets, ff, *rates, dt)
    np.testing.assert_allclose(got, _expm_reference(y0, targets, ff, rates, dt), rtol=1e-12)


def test_relax_exact_is_euler_in_the_limit():
    """PhysiCell's forward Euler converges to it at first order (error ∝ its step)."""
    y0, targets, ff, rates = (1870.5, 135.0, 488.5), (270.0, 977.0), 0.75, (0.05, 0.0055, 0.0045)
    exact = np.array(relax_exact(*y0, *targets, ff, *rates, 60.0))
    errs = []
    for h in (6.0, 0.6):
        y = np.array(y0, dtype=float)
        for _ in range(int(round(60.0 / h))):
            f, n, c = y
            y = y + h * np.array([rates[0] * (ff * y.sum() - f), rates[1] * (targets[0] - n),
                                  rates[2] * (targets[1] - c)])  # fmt: skip
        errs.append(np.abs(y - exact).max())
    assert 8.0 < errs[0] / errs[1] < 12.0, errs


EXPECTED = {  # PhysiCell: the phase with the doubling entry function, and who carries it
    "advanced_Ki67": (1, (False, True, False)),  # Ki67+ premitotic; divides at its exit
    "basic_Ki67": (1, (False, True)),
    "flow_cytometry": (1, (False, True, True)),  # S, then G2/M
    "live": (0, (False,)),  # re-entered at each division: undoes the halving
    "flow_cytometry_separated": (1, (False, True, True, True)),  # S, G2, M
    "cycling_quiescent": (1, (False, True)),
}


@pytest.mark.parametrize("model", sorted(STANDARD_MODELS))
def test_doubling_phase_of_each_standard_model(model):
    s = STANDARD_MODELS[model]
    assert cycle_doubling(len(s.phases), s.division) == EXPECTED[model]


@pytest.mark.parametrize("model", sorted(STANDARD_MODELS))
def test_targets_double_on_entry_and_halve_at_division(model):
    """Driven by the real cycle: every live cell's targets are base × 2 exactly in the phases
    between the doubling entry and the division, base elsewhere, and total volume is the sum.
    """
    s = STANDARD_MODELS[model]
    cyc = CycleParams.from_models([standard_model(model, [120.0 / len(s.phases)] * len(s.phases))])
    p = params(model)
    _, doubled = EXPECTED[model]
    c = cells_at(20)
    divisions = 0
    for step in range(150):
        update_physicell_volumes(c, p, DT)
        m = np.where(np.array(doubled)[c.phase], 2.0, 1.0)
        np.testing.assert_allclose(c.column(TARGET_NUCLEAR), 135.0 * m, rtol=1e-12)
        np.testing.assert_allclose(c.column(TARGET_CYTOPLASMIC), 488.5 * m, rtol=1e-12)
        np.testing.assert_allclose(c.volume, parts(c)[:3].sum(axis=0), rtol=1e-12)
        rows = advance_cycle(c, cyc, DT, 3, step)
        divisions += rows.size
        divide(c, rows, 3, step)
    assert divisions > 20


def test_division_halves_every_compartment():
    c = cells_at(3)
    c.phase[:] = 1
    p = params()
    for _ in range(50):
        update_physicell_volumes(c, p, DT)
    before = parts(c, 1).copy()
    v = c.volume[1]
    s = divide(c, np.array([1]), 0, 0)
    for row in (1, s.start):
        np.testing.assert_array_equal(parts(c, row), before / 2)
        assert c.volume[row] == v / 2 == parts(c, row)[:3].sum()


def test_death_entry_targets_rates_and_rupture():
    c = cells_at(3)
    p = params()
    update_physicell_volumes(c, p, DT)
    v0 = c.volume.copy()
    c.dead[1], c.dead[2] = APOPTOTIC, NECROTIC
    c.phase[1:] = 0
    update_physicell_volumes(c, p, 0.0)
    assert np.all(parts(c)[3:, 1:] == 0.0)
    np.testing.assert_allclose(c.state(RUPTURE), [0.0, 0.0, 2.0 * v0[2]], rtol=1e-12)
    # the apoptotic cell loses its fluid at 0.05/min: after 6 min F = F0 e^{-0.3}
    f0 = c.column(FLUID)[1]
    update_physicell_volumes(c, p, DT)
    np.testing.assert_allclose(c.column(FLUID)[1], f0 * math.exp(-0.3), rtol=1e-12)
    assert c.volume[2] > v0[2] and c.volume[1] < v0[1]


def test_necrotic_cell_lyses_at_its_rupture_volume():
    """advance_death lyses when the volume reaches the rupture column, not at ln 2 / k."""
    c = cells_at(1)
    p = params()
    dth = DeathParams(apoptosis_rate=0.0, necrosis_max_rate=0.0)
    update_physicell_volumes(c, p, DT)
    c.dead[0] = NECROTIC
    steps, before = 0, c.volume[0]
    while c.phase[0] == 0:
        before = c.volume[0]
        update_physicell_volumes(c, p, DT)
        advance_death(c, dth, DT, 0, steps)
        steps += 1
        assert steps < 200
    assert before < 2.0 * 2494.0 <= c.volume[0]  # the first step that ends above it
    assert steps * DT > 2 * dth.lysis_time[0]  # the lumped model's 62 min does not apply


def test_other_types_stay_lumped_and_external_changes_scale():
    c = cells_at(4)
    c.type[:] = [0, 1, 0, 1]
    c.volume[:] = 2000.0
    p = params(use=(False, True))
    ref = cells_at(4)
    ref.type[:], ref.volume[:] = c.type, 2000.0
    lumped = VolumeParams(n_types=2)
    dth = DeathParams(n_types=2)
    update_volumes(c, lumped, dth, DT, skip=p.use)
    update_physicell_volumes(c, p, DT)
    update_volumes(ref, lumped, dth, DT)
    np.testing.assert_array_equal(c.volume[[0, 2]], ref.volume[[0, 2]])
    assert np.all(c.volume[[1, 3]] != ref.volume[[1, 3]])
    # another process (engulfing) adds volume: compartments scale, targets stay
    t_before = parts(c, 1)[3:].copy()
    c.volume[1] *= 1.5
    f_before = parts(c, 1)[:3].copy()
    update_physicell_volumes(c, p, 0.0)
    np.testing.assert_allclose(parts(c, 1)[:3], 1.5 * f_before, rtol=1e-12)
    np.testing.assert_array_equal(parts(c, 1)[3:], t_before)


def _scenario(model: str = "physicell"):
    vol = {"model": model, "fluid_change_rate_per_min": 0.04}
    return invasim.load_scenario({
        "name": "volume-physicell", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [300.0, 300.0], "voxel_um": 30.0},
        "time": {"end_min": 60.0, "dt_min": 6.0, "output_interval_min": 12.0,
                 "checkpoint_interval_min": 12.0},
        "params": {
            "dt_diffusion_min": 0.01, "dt_mechanics_min": 0.1,
            "processes": ["mechanics", "volume", "death", "cycle", "division"],
            "cell_types": {
                "tumor": {"volume": vol, "cycle": {"model": "flow_cytometry_separated",
                                                   "durations_min": [12.0, 12.0, 12.0, 12.0]},
                          "death": {"apoptosis_rate_per_min": 0.005,
                                    "necrosis_oxygen_dependent": False,
                                    "necrosis_max_rate_per_min": 0.005}},
                "stroma": {"cycle": {"model": "live", "rate_per_min": 0.0}},
            },
            "initial": {"geometry": "ball", "n_cells": 30},
        },
    })  # fmt: skip


def test_engine_run_and_resume_equal(tmp_path):
    """The columns travel through checkpoints: a resumed run equals an uninterrupted one."""
    full, resumed = run_and_resume(_scenario(), 4, tmp_path, until=42, end=60.0, keep=4)
    a, b = resumed.cells(60.0), full.cells(60.0)
    assert a.equals(b)
    assert {FLUID, TARGET_NUCLEAR, RUPTURE} <= set(b.columns)
    tumour = b[b["type"] == 0]
    np.testing.assert_allclose(
        tumour["volume"], tumour[[FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID]].sum(axis=1),
        rtol=1e-12)  # fmt: skip
    assert b["generation"].max() > 0 and (b["dead"] != 0).any()
