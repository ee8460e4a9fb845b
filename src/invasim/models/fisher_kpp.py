"""Fisher–KPP tumour front: ``∂n/∂t = D ∇²n + r n (1 − n/K)``, dimensional (µm, min).

Contract:
    * One field ``n`` (tumour cell density, in the unit of ``K``), no-flux walls.
    * One step is Strang-split: half a step of logistic growth (solved exactly), a full step of
      diffusion (:class:`~invasim.physics.diffusion.Diffusion`, Crank–Nicolson LOD by default),
      half a step of growth. The scheme is second order in ``dt``; growth is exact, so the only
      time error is the splitting's and the diffusion scheme's.
    * Negative undershoots of the diffusion step (Crank–Nicolson rings at a sharp edge when
      ``D dt / h² > 1``) are set to 0 in the growth step: a density cannot be negative and the
      logistic law would amplify them.
    * Metrics: ``front_um`` (see :mod:`invasim.analysis.fronts`), ``tumor_mass`` (∫ n dV, density
      × µm^dim), ``n_max`` (largest density).

Also home of the small pieces the three continuum models share: the exact logistic kernel, the
seed geometry and the scheme choice.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import numba
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.analysis.fronts import domain_center, front_position, mass
from invasim.core.mesh import Mesh
from invasim.models.base import FieldSpec, Model, register
from invasim.physics.diffusion import (
    Boundary,
    Diffusion,
    accuracy_dt_limit,
    explicit_dt_limit,
)

#: diffusion schemes offered to scenarios (see :data:`invasim.physics.diffusion.SCHEMES`)
Scheme = Literal["lod-cn", "lod-be", "explicit"]
#: how the tumour is seeded and how its front is measured
Geometry = Literal["planar", "radial"]

#: below this many voxels the reaction kernels run serially (a parallel launch costs more)
PARALLEL_MIN_VOXELS = 32768


# -- shared kernels and helpers ----------------------------------------------------------------
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


def _logistic_field(n: np.ndarray, r: float, K: float, t: float) -> None:
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


# -- parameters --------------------------------------------------------------------------------
class FisherInitial(BaseModel):
    """Initial tumour seed of the Fisher–KPP model."""

    model_config = ConfigDict(extra="forbid")

    geometry: Geometry = Field(
        "planar",
        description="planar: tumour layer at the x = 0 wall, front measured along x; radial: "
        "ball at the domain centre, front = largest distance from the centre",
    )
    size_um: float = Field(
        500.0, gt=0, description="planar: thickness of the seeded layer; radial: its radius [µm]"
    )
    density: float = Field(
        1.0, gt=0, le=1, description="density inside the seed (compact support) [fraction of K]"
    )


class FisherKPPParams(BaseModel):
    """Parameters of the Fisher–KPP model (dimensional: µm, min)."""

    model_config = ConfigDict(extra="forbid")

    D_um2_per_min: float = Field(
        90.28,
        gt=0,
        description="tumour cell diffusion coefficient [µm²/min]; default 0.0013 cm²/day = "
        "0.13 mm²/day, glioma in grey matter (Swanson et al. 2000 Cell Prolif 33:317; confirm)",
    )
    r_per_min: float = Field(
        8.333e-6,
        gt=0,
        description="net proliferation rate [1/min]; default 0.012 /day, high-grade glioma "
        "(Swanson et al. 2000)",
    )
    K: float = Field(1.0, gt=0, description="carrying capacity [density unit of n]")
    front_threshold: float = Field(
        0.5, gt=0, lt=1, description="density defining the front [fraction of K]"
    )
    scheme: Scheme = Field("lod-cn", description="diffusion scheme (invasim.physics.diffusion)")
    initial: FisherInitial = Field(default_factory=FisherInitial, description="initial tumour seed")


@register
class FisherKPP(Model):
    """Fisher–KPP travelling front of tumour cells."""

    name: ClassVar[str] = "fisher-kpp"
    title: ClassVar[str] = "Fisher–KPP tumour front: diffusion + logistic growth (µm, min)"
    Params: ClassVar[type[BaseModel]] = FisherKPPParams
    metric_names: ClassVar[tuple[str, ...]] = ("front_um", "tumor_mass", "n_max")
    references: ClassVar[tuple[str, ...]] = (
        "Fisher RA (1937) The wave of advance of advantageous genes. Ann Eugen 7:355-369",
        "Kolmogorov A, Petrovsky I, Piskunov N (1937) Bull Moscow Univ Math Mech 1:1-26",
        "Bramson M (1983) Convergence of solutions of the Kolmogorov equation to travelling "
        "waves. Mem Am Math Soc 44(285)",
        "Swanson KR, Alvord EC Jr, Murray JD (2000) A quantitative model for differential "
        "motility of gliomas in grey and white matter. Cell Prolif 33:317-329",
    )

    def __init__(self, params: FisherKPPParams, mesh: Mesh, dt: float) -> None:
        super().__init__(params, mesh, dt)
        self._diff = Diffusion(
            mesh, params.D_um2_per_min, 0.0, dt, Boundary("no-flux"), params.scheme
        )

    @classmethod
    def check(cls, params: FisherKPPParams, mesh: Mesh, dt: float) -> list[str]:
        """Diffusion accuracy/stability, growth per step and front resolution."""
        p = params
        problems = []
        msg = diffusion_problem("n", mesh, p.D_um2_per_min, dt, p.scheme)
        if msg:
            problems.append(msg)
        # Strang splitting error grows like (r dt)²: measured, going from r dt = 0.01 to 0.1
        # moves the front speed by 0.04 % (3 voxels per width)
        if p.r_per_min * dt > 0.1:
            problems.append(
                f"time.dt_min = {dt:g} exceeds the growth accuracy limit 0.1/r = "
                f"{0.1 / p.r_per_min:.4g} min (r = {p.r_per_min:.4g} /min)"
            )
        # front speed error: +1.0 % at 2 voxels per front width, +0.25 % at 4, +0.05 % at 10
        width = math.sqrt(p.D_um2_per_min / p.r_per_min)
        if mesh.h > 0.5 * width:
            problems.append(
                f"mesh.voxel_um = {mesh.h:g} is too coarse for the front width sqrt(D/r) = "
                f"{width:.4g} µm; need voxel_um <= {0.5 * width:.4g}"
            )
        return problems

    def field_specs(self) -> list[FieldSpec]:
        """The tumour density ``n``."""
        return [
            FieldSpec(
                "n",
                "density (unit of K)",
                "tumour cell density",
                diffusion_um2_per_min=self.params.D_um2_per_min,
            )
        ]

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A compactly supported seed: ``density·K`` inside, 0 outside (deterministic)."""
        ini = self.params.initial
        d = seed_distance(self.mesh, ini.geometry)
        n = np.where(d < ini.size_um, ini.density * self.params.K, 0.0)
        return {"n": np.ascontiguousarray(n, dtype=np.float64)}

    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """Strang step: half growth, diffusion, half growth."""
        n = fields["n"]
        p = self.params
        half = 0.5 * self.dt
        _logistic_field(n, p.r_per_min, p.K, half)
        self._diff.step(n)
        _logistic_field(n, p.r_per_min, p.K, half)

    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """Front position (µm), tumour mass (density × µm^dim) and peak density."""
        n = fields["n"]
        p = self.params
        thr = p.front_threshold * p.K
        return {
            "front_um": front_position(n, self.mesh, thr, p.initial.geometry),
            "tumor_mass": mass(n, self.mesh),
            "n_max": float(n.max()),
        }
