"""Anderson–Chaplain (J Theor Med 2000; 2:129): haptotaxis drives a leading front of cells.

Published behaviour: with haptotaxis (γ = 0.005) a cluster of cells runs ahead of the main mass
up the ECM gradient that the cells' own enzyme creates; the ECM is degraded behind the front and
intact ahead. Runs use the 2000 parameter set on the paper's length scale ℓ0 = 1 cm, in µm and
minutes (τ = ℓ0²/D, D = 1e-6 cm²/s).

Contract:
    * Cases (quick and full forms are the same, a few seconds together):
      ``anderson-chaplain front without haptotaxis is the heat solution``,
      ``anderson-chaplain haptotactic leading front 1-d``,
      ``anderson-chaplain leading ring 2-d``.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.core.mesh import Mesh
from invasim.models import get_model
from invasim.verify import Checks, Result, case, numba_threads

MECHANISM = "anderson-chaplain"
SOURCE = "Anderson & Chaplain, J Theor Med 2000; 2:129"
CLS = get_model("anderson-chaplain")
TAU = CLS.Params().time_scale_min
MESH_1D = Mesh.from_extent([10000.0], 25.0)  # the paper's unit interval, 400 voxels


def run(params: dict, mesh: Mesh, t_tau: float, dt: float = 50.0):
    """Run for ``t_tau`` τ: (model, initial fields, final fields, final metrics)."""
    p = CLS.Params.model_validate(params)
    problems = CLS.check(p, mesh, dt)
    if problems:
        raise ValueError("; ".join(problems))
    model = CLS(p, mesh, dt)
    fields = model.initial_fields(np.random.default_rng(0))
    initial = {k: v.copy() for k, v in fields.items()}
    steps = int(round(t_tau * TAU / dt))
    with numba_threads(1):
        for k in range(steps):
            model.step(fields, k * dt)
    return model, initial, fields, model.metrics(fields, steps * dt)


def peaks(u: np.ndarray) -> tuple[list[int], list[int]]:
    """Interior local maxima and minima of a 1-D profile."""
    i = np.arange(1, u.size - 1)
    maxima = i[(u[i] > u[i - 1]) & (u[i] >= u[i + 1])]
    minima = i[(u[i] < u[i - 1]) & (u[i] <= u[i + 1])]
    return list(maxima), list(minima)


@case("anderson-chaplain front without haptotaxis is the heat solution", MECHANISM,
      "exact solution of the heat equation (Anderson & Chaplain 2000 with gamma = 0)")
def no_haptotaxis(quick: bool) -> Result:
    """γ = 0: the front at n = 0.05 after 4 τ against the exact diffusing Gaussian, 0.5 %."""
    # γ = 0: n obeys the heat equation from exp(-x²/ε) at a no-flux wall, so
    # n = sqrt(ε/(ε+4 d_n t)) exp(-x²/(ε+4 d_n t)) (x, t in ℓ0, τ): the front at n = 0.05 is
    # known exactly. Tolerance 0.5 %: second-order mesh and time errors (measured 0.01 %);
    # a units slip in D_n = d_n ℓ0²/τ would move it by tens of percent.
    _, _, f, met = run({"gamma": 0.0, "initial": {"geometry": "planar"}}, MESH_1D, 4.0)
    s = 0.01 + 4 * 0.001 * 4.0
    exact = 1e4 * math.sqrt(s * math.log(math.sqrt(0.01 / s) / 0.05))
    chk = Checks()
    # monotone: no leading cluster
    chk.bound("largest rise of n along x", float(np.diff(f["n"].ravel()).max()), "<=", 1e-12)
    return chk.result(exact, met["front_um"], 0.005 * exact, "µm",
                      "1-D, 400 voxels of 25 µm, dt 50 min, front (n = 0.05) at 4 tau")


@case("anderson-chaplain haptotactic leading front 1-d", MECHANISM, SOURCE)
def leading_front(quick: bool) -> Result:
    """γ = 0.005 against γ = 0 at 4 τ: a front further ahead, a leading peak, degraded ECM."""
    params = {"initial": {"geometry": "planar"}}
    model, f0, f, met = run(params, MESH_1D, 4.0)
    _, _, _, met0 = run({**params, "gamma": 0.0}, MESH_1D, 4.0)
    chk = Checks()
    x = model.mesh.centers("x")
    n, ecm, ecm0 = f["n"].ravel(), f["f"].ravel(), f0["f"].ravel()
    # 2. a distinct leading peak of cells ahead of the main mass: an interior maximum beyond an
    #    interior minimum, higher by > 0.02 (measured n = 0.171 at 2.9 mm over 0.124 at 2.1 mm)
    maxima, minima = peaks(n)
    if chk.that("an interior maximum beyond an interior minimum",
                bool(maxima and minima and minima[0] < maxima[-1])):  # fmt: skip
        lead, trough = maxima[-1], minima[0]
        chk.bound("leading peak over the trough", n[lead] - n[trough], ">", 0.02)
        chk.bound("leading peak position", x[lead], ">", 2000.0, "µm")
        chk.bound("leading peak behind the front", x[lead], "<", met["front_um"], "µm")
    # 3. ECM degraded where the tumour has passed (initially 0.5-0.6 there, measured < 1e-5),
    #    intact ahead of the front (within 1 % of its initial value 1 mm beyond it)
    chk.bound("max ECM in the first mm", ecm[x < 1000.0].max(), "<",
              0.01 * ecm0[x < 1000.0].min())  # fmt: skip
    ahead = x > met["front_um"] + 1000.0
    chk.that("ECM intact (> 99 %) 1 mm ahead of the front", bool(np.all(ecm[ahead] > 0.99 *
                                                                      ecm0[ahead])))  # fmt: skip
    # 4. the cells are only moved, never made or lost (no proliferation in the 2000 model)
    chk.rel("tumour mass conserved", met["tumor_mass"], f0["n"].sum() * 25.0, 1e-12)
    # 1. haptotaxis carries the front further: measured 3682 µm against 2559 µm for γ = 0;
    #    required: at least 500 µm (20 voxels) further
    return chk.result(500.0, met["front_um"] - met0["front_um"], unit="µm", relation=">",
                      detail=f"front advance over gamma = 0 at 4 tau ({met['front_um']:.0f} vs "
                             f"{met0['front_um']:.0f} µm), 1-D, 25 µm voxels")  # fmt: skip


@case("anderson-chaplain leading ring 2-d", MECHANISM, SOURCE)
def leading_ring(quick: bool) -> Result:
    """Radial 2-D at 3 τ: the azimuthal mean shows a leading ring; the front is ahead of γ = 0."""
    # radial 2-D on the paper's grid spacing: the azimuthally averaged profile shows the leading
    # ring (an interior maximum beyond a trough) and the front is ahead of the γ = 0 front
    mesh = Mesh.from_extent([8000.0, 8000.0], 50.0)
    _, _, f, met = run({}, mesh, 3.0)
    _, _, _, met0 = run({"gamma": 0.0}, mesh, 3.0)
    x, y, _ = mesh.grids()
    r = np.sqrt((x - 4000.0) ** 2 + (y - 4000.0) ** 2).ravel()
    edges = np.arange(0.0, 3900.0, 100.0)
    which = np.digitize(r, edges)
    n = f["n"].ravel()
    profile = np.array([n[which == i].mean() for i in range(1, len(edges))])
    maxima, minima = peaks(profile)
    chk = Checks()
    if chk.that("an interior maximum beyond a trough of the azimuthal mean",
                bool(maxima and minima and minima[0] < maxima[-1])):  # fmt: skip
        # measured 0.101 vs 0.078
        chk.bound("ring over trough", profile[maxima[-1]] - profile[minima[0]], ">", 0.01)
    return chk.result(300.0, met["front_um"] - met0["front_um"], unit="µm", relation=">",
                      detail=f"front advance over gamma = 0 at 3 tau ({met['front_um']:.0f} vs "
                             f"{met0['front_um']:.0f} µm), 2-D, 50 µm voxels")  # fmt: skip
