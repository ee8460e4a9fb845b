"""Anderson–Chaplain continuum invasion (Anderson et al. 2000; oxygen from Anderson 2005), µm/min.

Contract:
    * Fields: tumour cell density ``n``, ECM density ``f``, matrix-degrading enzyme ``m`` and
      oxygen ``c``, all in the papers' non-dimensional units; no-flux walls.
    * Equations as implemented, with ``1/τ = 1/time_scale_min`` and ``ℓ0 = length_scale_um``
      (the papers' non-dimensional groups × ``ℓ0²/τ`` for diffusion and taxis, × ``1/τ`` for
      rates):

      - ``∂n/∂t = D_n ∇²n − χ ∇·(n ∇f)``,        ``D_n = d_n ℓ0²/τ``, ``χ = γ ℓ0²/τ``
      - ``∂f/∂t = −(η/τ) m f + (μ/τ) f (1 − f)`` (``μ = 0``: no re-establishment, the 2000 set)
      - ``∂m/∂t = D_m ∇²m + (α/τ) n − (β/τ) m``,  ``D_m = d_m ℓ0²/τ``
      - ``∂c/∂t = D_c ∇²c + (ν/τ) f − (ω/τ) n − (φ/τ) c``, ``D_c = d_c ℓ0²/τ``; ``c`` does not
        act back on the cells in this continuum model (it is a readout), and is kept >= 0.

    * One step is Strang-split: half a step of kinetics (exact with the other fields frozen:
      ``m`` linear, ``f`` logistic/exponential decay, ``c`` linear; ``m → f → c`` then
      ``c → f → m``), then transport — haptotaxis half step (upwind, sub-stepped,
      :func:`~invasim.physics.transport.taxis_step`), diffusion of ``n``, haptotaxis half step,
      diffusion of ``m`` and ``c`` (:class:`~invasim.physics.diffusion.Diffusion`) — then the
      second half of the kinetics.
    * Metrics: ``front_um`` (leading edge of ``n`` at ``front_threshold``, see
      :mod:`invasim.analysis.fronts`), ``tumor_mass`` (∫ n dV, conserved: no proliferation in
      the 2000 model), ``ecm_min``, ``ecm_mass`` (∫ f dV), ``mmp_max``, ``oxygen_min``.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import numba
import numpy as np
from numba import prange
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy.ndimage import gaussian_filter

from invasim.analysis.fronts import front_position, mass
from invasim.core.mesh import Mesh
from invasim.models.base import FieldSpec, Model, register
from invasim.models.continuum import (
    PARALLEL_MIN_VOXELS,
    Geometry,
    Scheme,
    diffusion_problem,
    logistic_factors,
    seed_distance,
)
from invasim.physics.diffusion import Boundary, Diffusion
from invasim.physics.transport import taxis_step

#: τ = ℓ0² / D with ℓ0 = 1 cm and a reference D = 1e-6 cm²/s (Anderson et al. 2000): 1e6 s
TAU_MIN = 1.0e6 / 60.0
#: ℓ0 = 1 cm (Anderson et al. 2000 take 0.1-1 cm)
ELL_UM = 1.0e4


@numba.njit(cache=True)
def _kinetics_range(n, f, m, c, alpha, beta, eta, mu, nu, omega, phi, t, forward, lo, hi):
    """Exact kinetics sub-steps over ``t`` (min) on flat arrays ``[lo, hi)``, in place.

    Rates are dimensional (1/min). ``forward``: ``m → f → c``; otherwise ``c → f → m``.
    """
    em = math.exp(-beta * t)
    ec = math.exp(-phi * t)
    for i in range(lo, hi):
        ni = max(n[i], 0.0)
        fi = max(f[i], 0.0)
        mi = m[i]
        ci = c[i]
        for stage in range(3):
            which = stage if forward else 2 - stage
            if which == 0:  # MDE: production by cells, linear decay
                if beta > 0.0:
                    minf = alpha * ni / beta
                    mi = minf + (mi - minf) * em
                else:
                    mi += alpha * ni * t
            elif which == 1:  # ECM: degradation by MDE, optional logistic re-establishment
                e, g = logistic_factors(mu - eta * mi, t)
                fi = fi / (e + mu * fi * g)
            else:  # oxygen: produced with ECM, consumed by cells, linear decay
                cinf = (nu * fi - omega * ni) / phi
                ci = max(0.0, cinf + (ci - cinf) * ec)
        f[i] = fi
        m[i] = mi
        c[i] = ci


@numba.njit(cache=True, parallel=True)
def _kinetics_parallel(n, f, m, c, alpha, beta, eta, mu, nu, omega, phi, t, forward, chunks):
    """:func:`_kinetics_range` over ``chunks`` blocks in parallel (elementwise: deterministic)."""
    size = n.size
    for k in prange(chunks):
        _kinetics_range(
            n, f, m, c, alpha, beta, eta, mu, nu, omega, phi, t, forward,
            k * size // chunks, (k + 1) * size // chunks,
        )  # fmt: skip


class ACInitial(BaseModel):
    """Initial conditions of Anderson et al. 2000 (Gaussian cluster, ECM, MDE) and oxygen."""

    model_config = ConfigDict(extra="forbid")

    geometry: Geometry = Field(
        "radial",
        description="radial: cluster at the domain centre (the paper's 2-D runs); planar: "
        "cluster at the x = 0 wall (the paper's 1-D runs)",
    )
    epsilon: float = Field(
        0.01,
        gt=0,
        description="n = exp(−r²/ε), r in units of ℓ0 [1]; ε = 0.01 (Anderson et al. 2000)",
    )
    ecm_heterogeneity: float = Field(
        0.0,
        ge=0,
        le=1,
        description="relative standard deviation of a smooth random ECM pattern (seeded by the "
        "run's seed); 0 = homogeneous ECM f = 1 − 0.5 n [1]",
    )
    ecm_correlation_um: float = Field(
        200.0, gt=0, description="correlation length of the random ECM pattern [µm]"
    )
    oxygen: float | Literal["equilibrium"] = Field(
        "equilibrium",
        description="initial oxygen [1]: a uniform value (≥ 0), or 'equilibrium': the "
        "well-mixed steady state (ν·mean(f) − ω·mean(n))/φ, accurate because the oxygen "
        "diffusion length sqrt(d_c/φ) is several domain lengths",
    )

    @field_validator("oxygen")
    @classmethod
    def _non_negative(cls, v: float | str) -> float | str:
        if not isinstance(v, str) and not v >= 0:
            raise ValueError("initial oxygen must be >= 0 or 'equilibrium'")
        return v


class AndersonChaplainParams(BaseModel):
    """Parameters: the papers' non-dimensional values plus the scales that restore units."""

    model_config = ConfigDict(extra="forbid")

    d_n: float = Field(
        0.001, ge=0, description="tumour cell random motility [1]; Anderson et al. 2000"
    )
    gamma: float = Field(
        0.005, ge=0, description="haptotaxis coefficient γ [1]; Anderson et al. 2000"
    )
    eta: float = Field(10.0, ge=0, description="ECM degradation rate η [1]; Anderson et al. 2000")
    mu: float = Field(
        0.0,
        ge=0,
        description="ECM re-establishment μ f (1 − f) [1]; 0 in Anderson et al. 2000's runs",
    )
    d_m: float = Field(0.001, ge=0, description="MDE diffusion [1]; Anderson et al. 2000")
    alpha: float = Field(0.1, ge=0, description="MDE production α [1]; Anderson et al. 2000")
    beta: float = Field(0.0, ge=0, description="MDE decay β [1]; Anderson et al. 2000")
    d_c: float = Field(
        0.5, ge=0, description="oxygen diffusion [1]; Anderson 2005 Math Med Biol 22:163 (confirm)"
    )
    nu: float = Field(
        0.5, ge=0, description="oxygen production by the ECM ν [1]; Anderson 2005 (confirm)"
    )
    omega: float = Field(
        0.57, ge=0, description="oxygen consumption by cells ω [1]; Anderson 2005 (confirm)"
    )
    phi: float = Field(0.025, gt=0, description="oxygen decay φ [1]; Anderson 2005 (confirm)")
    time_scale_min: float = Field(
        TAU_MIN,
        gt=0,
        description="τ = ℓ0²/D [min]; ℓ0 = 1 cm and D = 1e-6 cm²/s (Anderson et al. 2000) "
        "give 1e6 s = 16667 min",
    )
    length_scale_um: float = Field(
        ELL_UM, gt=0, description="ℓ0 [µm]; 1 cm (Anderson et al. 2000: 0.1-1 cm)"
    )
    front_threshold: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="cell density defining front_um [1]; low, to catch the haptotactic leading "
        "cells (peak density about 0.15 in 1-D and less in 2-D, against 1 initially)",
    )
    scheme: Scheme = Field("lod-cn", description="diffusion scheme of n, m and c")
    initial: ACInitial = Field(default_factory=ACInitial, description="initial conditions")

    def diffusivity(self, d: float) -> float:
        """Dimensional coefficient (µm²/min) of a non-dimensional diffusion/taxis group ``d``."""
        return d * self.length_scale_um**2 / self.time_scale_min

    def rate(self, k: float) -> float:
        """Dimensional rate (1/min) of a non-dimensional rate ``k``."""
        return k / self.time_scale_min


@register
class AndersonChaplain(Model):
    """Haptotactic tumour invasion with ECM degradation by matrix-degrading enzymes."""

    name: ClassVar[str] = "anderson-chaplain"
    title: ClassVar[str] = "Anderson–Chaplain haptotactic invasion (cells, ECM, MDE, oxygen)"
    Params: ClassVar[type[BaseModel]] = AndersonChaplainParams
    metric_names: ClassVar[tuple[str, ...]] = (
        "front_um",
        "tumor_mass",
        "ecm_min",
        "ecm_mass",
        "mmp_max",
        "oxygen_min",
    )
    references: ClassVar[tuple[str, ...]] = (
        "Anderson ARA, Chaplain MAJ, Newman EL, Steele RJC, Thompson AM (2000) Mathematical "
        "modelling of tumour invasion and metastasis. J Theor Med 2:129-154",
        "Anderson ARA (2005) A hybrid mathematical model of solid tumour invasion: the "
        "importance of cell adhesion. Math Med Biol 22:163-186",
    )

    def __init__(self, params: AndersonChaplainParams, mesh: Mesh, dt: float) -> None:
        super().__init__(params, mesh, dt)
        p = params
        wall = Boundary("no-flux")
        self._dn = Diffusion(mesh, p.diffusivity(p.d_n), 0.0, dt, wall, p.scheme)
        self._dm = Diffusion(mesh, p.diffusivity(p.d_m), 0.0, dt, wall, p.scheme)
        self._dc = Diffusion(mesh, p.diffusivity(p.d_c), 0.0, dt, wall, p.scheme)
        self._chi = p.diffusivity(p.gamma)
        self._work = mesh.zeros()

    @classmethod
    def check(cls, params: AndersonChaplainParams, mesh: Mesh, dt: float) -> list[str]:
        """Diffusion accuracy of n, m, c; kinetics step; resolution of the initial cluster."""
        p = params
        problems = []
        for name, d, relax in (
            ("the cells n", p.d_n, None),
            ("the MDE m", p.d_m, None),
            # oxygen is a quasi-steady readout relaxing at φ/τ (see diffusion_problem)
            ("the oxygen c", p.d_c, p.rate(p.phi)),
        ):
            msg = diffusion_problem(name, mesh, p.diffusivity(d), dt, p.scheme, relax)
            if msg:
                problems.append(msg)
        # ECM degradation rate at an MDE level of 1 and the linear rates, per step
        fastest = p.rate(max(p.eta, p.mu, p.beta, p.phi))
        if fastest * dt > 0.5:
            problems.append(
                f"time.dt_min = {dt:g} exceeds the kinetics accuracy limit "
                f"{0.5 / fastest:.4g} min (0.5 τ / max(η, μ, β, φ))"
            )
        width = math.sqrt(p.initial.epsilon) * p.length_scale_um
        if mesh.h > 0.25 * width:
            problems.append(
                f"mesh.voxel_um = {mesh.h:g} is too coarse for the initial cluster width "
                f"sqrt(ε) ℓ0 = {width:.4g} µm; need voxel_um <= {0.25 * width:.4g}"
            )
        return problems

    def field_specs(self) -> list[FieldSpec]:
        """Cells ``n``, ECM ``f``, MDE ``m``, oxygen ``c``."""
        p = self.params
        return [
            FieldSpec(
                "n",
                "1 (relative to the initial peak)",
                "tumour cell density",
                diffusion_um2_per_min=p.diffusivity(p.d_n),
            ),
            FieldSpec("f", "1 (relative to intact ECM)", "extracellular matrix density"),
            FieldSpec(
                "m",
                "1 (non-dimensional)",
                "matrix-degrading enzyme (MMP)",
                diffusion_um2_per_min=p.diffusivity(p.d_m),
                decay_per_min=p.rate(p.beta),
            ),
            FieldSpec(
                "c",
                "1 (non-dimensional)",
                "oxygen",
                diffusion_um2_per_min=p.diffusivity(p.d_c),
                decay_per_min=p.rate(p.phi),
            ),
        ]

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n = exp(−r²/ε)``, ``f = (1 − 0.5 n)·pattern``, ``m = 0.5 n``, ``c`` uniform."""
        p = self.params
        ini = p.initial
        r = seed_distance(self.mesh, ini.geometry) / p.length_scale_um
        n = np.exp(-(r**2) / ini.epsilon)
        f = 1.0 - 0.5 * n
        if ini.ecm_heterogeneity > 0.0:
            f *= self._ecm_pattern(rng, ini.ecm_heterogeneity, ini.ecm_correlation_um)
        m = 0.5 * n
        if ini.oxygen == "equilibrium":
            c0 = max(0.0, (p.nu * float(f.mean()) - p.omega * float(n.mean())) / p.phi)
        else:
            c0 = float(ini.oxygen)
        c = np.full(self.mesh.array_shape, c0)
        out = {"n": n, "f": f, "m": m, "c": c}
        return {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in out.items()}

    def _ecm_pattern(self, rng: np.random.Generator, amp: float, corr_um: float) -> np.ndarray:
        """``max(0, 1 + amp·ξ)`` with ξ smoothed white noise of unit standard deviation."""
        noise = rng.standard_normal(self.mesh.array_shape)
        sigma = [corr_um / self.mesh.h if s > 1 else 0.0 for s in self.mesh.array_shape]
        xi = gaussian_filter(noise, sigma=sigma, mode="wrap")
        std = xi.std()
        xi = xi / std if std > 0 else xi
        return np.maximum(0.0, 1.0 + amp * xi)

    def _kinetics(self, fl: dict[str, np.ndarray], t: float, forward: bool) -> None:
        p = self.params
        args = (
            fl["n"].reshape(-1),
            fl["f"].reshape(-1),
            fl["m"].reshape(-1),
            fl["c"].reshape(-1),
            p.rate(p.alpha),
            p.rate(p.beta),
            p.rate(p.eta),
            p.rate(p.mu),
            p.rate(p.nu),
            p.rate(p.omega),
            p.rate(p.phi),
            t,
            forward,
        )
        size = args[0].size
        if size < PARALLEL_MIN_VOXELS:
            _kinetics_range(*args, 0, size)
        else:
            _kinetics_parallel(*args, 4 * numba.get_num_threads())

    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """Strang step: half kinetics, transport (taxis/diffusion/taxis; m, c), half kinetics."""
        half = 0.5 * self.dt
        n = fields["n"]
        self._kinetics(fields, half, True)
        taxis_step(n, self._chi, fields["f"], self.mesh, half, self._work)
        self._dn.step(n)
        taxis_step(n, self._chi, fields["f"], self.mesh, half, self._work)
        self._dm.step(fields["m"])
        self._dc.step(fields["c"])
        self._kinetics(fields, half, False)

    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """Leading front (µm), cell mass, ECM minimum and mass, peak MDE, minimum oxygen."""
        p = self.params
        n, f = fields["n"], fields["f"]
        return {
            "front_um": front_position(n, self.mesh, p.front_threshold, p.initial.geometry),
            "tumor_mass": mass(n, self.mesh),
            "ecm_min": float(f.min()),
            "ecm_mass": mass(f, self.mesh),
            "mmp_max": float(fields["m"].max()),
            "oxygen_min": float(fields["c"].min()),
        }
