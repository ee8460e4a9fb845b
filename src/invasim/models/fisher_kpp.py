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

The pieces the three continuum models share are in :mod:`invasim.models.continuum`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.analysis.fronts import front_position, mass
from invasim.core.mesh import Mesh
from invasim.models.base import FieldSpec, Model, register
from invasim.models.continuum import (
    Geometry,
    Scheme,
    diffusion_problem,
    logistic_field,
    seed_distance,
)
from invasim.physics.diffusion import Boundary, Diffusion


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
        logistic_field(n, p.r_per_min, p.K, half)
        self._diff.step(n)
        logistic_field(n, p.r_per_min, p.K, half)

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
