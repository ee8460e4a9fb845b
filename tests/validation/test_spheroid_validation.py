"""The agent model against theory: oxygen penetration into a packed disc; a necrotic core.

Penetration length. Cells of volume ``V_c`` packed hexagonally at spacing ``s`` in a 2-D domain
whose voxels are slabs ``h`` deep (BioFVM's 2-D convention, :mod:`invasim.physics.exchange`)
take up oxygen at ``q (V_c / V_voxel) u`` per voxel, so on scales above the spacing the uptake
is ``λ_eff u`` with ``λ_eff = q V_c / (A_c h)``, ``A_c = (√3/2) s²`` the area per cell, plus the
decay ``k``. The steady state inside a disc of radius ``R`` solves ``u'' + u'/r = u / L²`` with
``L = sqrt(D / (λ_eff + k))``: ``u = A I0(r / L)``. PhysiCell's numbers (D = 1e5 µm²/min,
q = 10/min, V_c = 2494 µm³, s = 16 µm, h = 20 µm) give λ_eff = 5.62/min and L = 133 µm. The
measured profile's ``L`` (a fit of ``A I0(r/L)`` to the voxels inside the disc, away from its
ragged edge) must match within 5 % (the voxel-scale variation of the cell count per voxel, one
to three cells, averages out over L / h ≈ 7 voxels; measured agreement is ~1 %).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import curve_fit
from scipy.special import i0

import invasim


def _scenario(radius_um: float, end_min: float, life: bool = True):
    sc = invasim.load_scenario("spheroid-2d")
    raw = sc.to_data()
    raw["params"]["initial"]["radius_um"] = radius_um
    raw["time"].update(
        end_min=end_min, output_interval_min=end_min, checkpoint_interval_min=end_min
    )
    if not life:
        t = raw["params"]["cell_types"]["tumor"]
        t["cycle"].update(model="live", rate_per_min=0.0)
        t["death"].update(apoptosis_rate_per_min=0.0, necrosis_max_rate_per_min=0.0)
    return invasim.load_scenario(raw)


def test_oxygen_penetration_length_in_packed_disc():
    R = 400.0
    sim = invasim.Simulation(_scenario(R, 12.0, life=False), seed=1)
    m = sim.model
    for k in range(2):  # relaxation takes ~1/λ = 0.2 min: 12 min is steady
        m.step(sim.fields, 6.0 * k)
    u = sim.fields["oxygen"][0]
    p = m.params
    ct = p.cell_types["tumor"]
    s, h = p.initial.spacing_um, m.mesh.h
    D = p.fields["oxygen"].diffusion_um2_per_min
    uptake, volume = ct.secretion.uptake_per_min["oxygen"], ct.volume.volume_um3
    lam = uptake * volume / (math.sqrt(3) / 2 * s * s * h)
    L_theory = math.sqrt(D / (lam + p.fields["oxygen"].decay_per_min))
    # cells barely moved (they start at rest)
    com = m.cells.position.mean(axis=0)
    assert np.linalg.norm(com[:2] - 500.0) < 1.0
    ny, nx = u.shape
    yy, xx = np.meshgrid((np.arange(ny) + 0.5) * h, (np.arange(nx) + 0.5) * h, indexing="ij")
    r = np.hypot(xx - com[0], yy - com[1])
    inside = r < R - 2 * h
    (A, L), _ = curve_fit(lambda r, A, L: A * i0(r / L), r[inside], u[inside], p0=(5.0, 100.0))
    assert abs(L / L_theory - 1) < 0.05, (L, L_theory)
    assert 125 < L_theory < 140


@pytest.mark.slow
def test_spheroid_grows_a_necrotic_core():
    sim = invasim.Simulation(_scenario(440.0, 1440.0), seed=2)
    m = sim.model
    n0 = m.cells.n
    for k in range(240):
        m.step(sim.fields, 6.0 * k)
    met = m.metrics(sim.fields, 1440.0)
    c = m.cells
    com = c.position.mean(axis=0)
    d = np.linalg.norm(c.position - com, axis=1)
    nec, live = c.dead == 2, c.dead == 0
    assert met["n_necrotic"] > 0 and met["necrotic_fraction"] > 0.01
    assert met["n_cells"] > n0  # the rim proliferates
    assert d[nec].mean() < 0.6 * d[live].mean()
    # a necrotic core, and an outer rim all alive
    assert np.mean(nec[d < 0.3 * d.max()]) > 5 * np.mean(nec)
    assert np.mean(live[d > d.max() - 100.0]) > 0.95
    # a hypoxic band: oxygen at the live cells spans 38 -> below 10 mmHg
    from invasim.physics.exchange import sample_values, voxel_of

    o2 = sample_values(sim.fields["oxygen"], voxel_of(c.position, m.mesh))
    assert o2[live].min() < 10.0 and o2[live].max() > 15.0
