"""What the continuum models (Fisher–KPP, Gatenby–Gawlinski, Anderson–Chaplain) share.

The exact logistic kernel, the seed geometry, the scheme choice and the time-step check of a
diffusing field; no model lives here.
"""

from __future__ import annotations

import math
from typing import Literal

import numba
import numpy as np

from invasim.analysis.fronts import domain_center
from invasim.core.mesh import Mesh
from invasim.physics.diffusion import Boundary, accuracy_dt_limit, explicit_dt_limit

#: diffusion schemes offered to scenarios (see :data:`invasim.physics.diffusion.SCHEMES`)
Scheme = Literal["lod-cn", "lod-be", "explicit"]
#: how the tumour is seeded and how its front is measured
Geometry = Literal["planar", "radial"]

#: below this many voxels the reaction kernels run serially (a parallel launch costs more)
PARALLEL_MIN_VOXELS = 32768


# -- kernels and helpers ----------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def logistic_factors(a: float, t: float) -> tuple[float, float]:
    """``(e^{−at}, (1 − e^{−at}) / a)`` for the exact logistic step (one exponential)."""
    at = a * t
    e = math.exp(-at)
    if abs(at) < 1e-5:
        return e, t * (1.0 - 0.5 * at)  # series: relative error < 1e-10
    return e, (1.0 - e) / a


@numba.njit(cache=True, inline="always")
def logistic_exact(u0: float, a: float, b: float, t: float) -> float:
    """Exact solution at time ``t`` of ``du/dt = a u − b u²`` from ``u0 >= 0`` (any sign of a).

    Written as ``u0 / (e^{−at} + b u0 (1 − e^{−at}) / a)``, which neither overflows for large
    positive ``a t`` nor loses precision for small ``a t`` (``(1 − e^{−at}) / a → t``).
    """
    e, g = logistic_factors(a, t)
    return u0 / (e + b * u0 * g)


def logistic_field(n: np.ndarray, r: float, K: float, t: float) -> None:
    """In place: ``n ← exact logistic growth of max(n, 0)`` over ``t``.

    The coefficients are uniform, so ``e^{−rt}`` and ``(1 − e^{−rt})/r`` are computed once; the
    update is then ``n / (e^{−rt} + (r/K) g n)`` elementwise, vectorised NumPy (not hot).
    """
    e, g = logistic_factors(r, t)
    np.maximum(n, 0.0, out=n)
    np.divide(n, e + (r / K) * g * n, out=n)


def seed_distance(mesh: Mesh, geometry: str) -> np.ndarray:
    """Distance of every voxel centre from the seed, ``(nz, ny, nx)``, µm.

    ``planar``: the x coordinate (the seed is the ``x = 0`` wall); ``radial``: the distance from
    the domain centre.
    """
    x, y, z = mesh.grids()
    if geometry == "planar":
        d = np.broadcast_to(x, mesh.array_shape)
    else:
        cx, cy, cz = domain_center(mesh)
        d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2)
    return np.ascontiguousarray(d, dtype=np.float64)


def diffusion_problem(
    name: str, mesh: Mesh, D: float, dt: float, scheme: str, relax_per_min: float | None = None
) -> str | None:
    """One line if ``dt`` is unstable or inaccurate for diffusing ``name``, else ``None``.

    Walls are no-flux (all three continuum models). ``relax_per_min=None``: the field may hold
    features as narrow as a voxel, and the solver's
    :func:`~invasim.physics.diffusion.accuracy_dt_limit` applies. ``relax_per_min=k``: the field
    is *quasi-steady*, relaxing at rate ``k`` towards a slowly moving, smooth source (the acid of
    Gatenby–Gawlinski, the oxygen of Anderson–Chaplain). Its content then lives at wavelengths of
    its reaction–diffusion length ``ℓ = sqrt(D/k)`` and longer (shorter modes are suppressed as
    ``1/(1 + k²ℓ²)`` and are exact at steady state under Crank–Nicolson and backward Euler), so
    the time error is set by ``D dt/ℓ² = k dt``, which must stay <= 0.5 (measured: the
    Gatenby–Gawlinski gap moves by 1.5 % at ``k dt = 0.42``, 3 % at 0.84).
    """
    if scheme == "explicit":
        limit = explicit_dt_limit(mesh, D)
        if dt > limit:
            return (
                f"time.dt_min = {dt:g} exceeds the explicit stability limit {limit:.4g} min "
                f"for {name} (D = {D:.4g} µm²/min, h = {mesh.h:g} µm)"
            )
        return None
    if relax_per_min is None:
        limit = accuracy_dt_limit(mesh, D, scheme, Boundary("no-flux"))
        basis = f"D = {D:.4g} µm²/min, h = {mesh.h:g} µm"
    else:
        limit = 0.5 / relax_per_min if relax_per_min > 0 else math.inf
        basis = f"quasi-steady, 0.5 / relaxation rate {relax_per_min:.4g} /min"
    if dt > limit:
        return (
            f"time.dt_min = {dt:g} exceeds the {scheme} accuracy limit {limit:.4g} min for "
            f"{name} ({basis})"
        )
    return None
