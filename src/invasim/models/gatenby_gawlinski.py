"""Gatenby–Gawlinski acid-mediated invasion (Cancer Res 1996; 56:5745), run in µm and minutes.

Contract:
    * Fields: normal tissue ``N`` and tumour ``T`` (fractions of their carrying capacities) and
      excess acid ``L`` (in units of its tumour-saturated level), no-flux walls.
    * Equations as implemented, with ``r1 = 1/time_scale_min`` and ``ℓ0 = length_scale_um``:

      - ``∂N/∂t = r1 N (1 − N) − r1 δ1 L N``
      - ``∂T/∂t = r1 ρ2 T (1 − T − α N) + ∇·[D_T (1 − N) ∇T]``,  ``D_T = Δ2 ℓ0² r1``
      - ``∂L/∂t = r1 δ3 (T − L) + D_L ∇²L``,  ``D_L = ℓ0² r1`` (= the acid's own D3)

      i.e. the paper's non-dimensional system (time in 1/r1, length in sqrt(D3/r1)) with the
      scales put back; ``α = 0`` (the default) is the original 1996 form without competition.
    * One step is Strang-split: half a step of reactions, a full step of transport (tumour:
      explicit, sub-stepped nonlinear diffusion; acid:
      :class:`~invasim.physics.diffusion.Diffusion`), half a step of reactions. Within the
      reaction half-steps each equation is solved exactly with the others frozen (logistic laws,
      linear relaxation of ``L`` towards ``T``), ``T → L → N`` in the first and ``N → L → T`` in
      the second, so the composition stays symmetric.
    * Metrics: ``front_um`` (tumour front at ``front_threshold``), ``gap_um`` (hypocellular gap at
      ``gap_threshold``; both in :mod:`invasim.analysis.fronts`), ``tumor_mass`` and
      ``normal_mass`` (∫ T dV, ∫ N dV, fraction × µm^dim), ``acid_max``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numba
import numpy as np
from numba import prange
from pydantic import BaseModel, ConfigDict, Field

from invasim.analysis.fronts import front_position, gap_width, mass
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
from invasim.physics.transport import nonlinear_diffusion_step

#: r1 = 1e-6 /s (Gatenby & Gawlinski 1996) -> time scale 1/r1 in minutes
TAU_MIN = 1.0e6 / 60.0
#: sqrt(D3 / r1) with D3 = 5e-6 cm²/s, r1 = 1e-6 /s -> sqrt(5) cm, in µm
ELL_UM = math.sqrt(5.0) * 1.0e4


@numba.njit(cache=True)
def _reactions_range(
    N: np.ndarray,
    T: np.ndarray,
    L: np.ndarray,
    r1: float,
    rho2: float,
    alpha: float,
    delta1: float,
    delta3: float,
    t: float,
    forward: bool,
    lo: int,
    hi: int,
) -> None:
    """Exact sub-steps of the kinetics over ``t`` (min) on flat arrays ``[lo, hi)``, in place.

    ``forward``: ``T → L → N``; otherwise ``N → L → T``. Densities are clipped at 0 first.
    """
    relax = math.exp(-delta3 * r1 * t)
    gT = rho2 * r1
    eT, fT = logistic_factors(gT, t)  # tumour growth factors when alpha == 0
    for i in range(lo, hi):
        n = max(N[i], 0.0)
        tt = max(T[i], 0.0)
        acid = L[i]
        if not forward:
            e, g = logistic_factors(r1 * (1.0 - delta1 * acid), t)
            n = n / (e + r1 * n * g)
        if alpha != 0.0:
            eT, fT = logistic_factors(gT * (1.0 - alpha * n), t)
        tt_new = tt / (eT + gT * tt * fT)
        if forward:
            tt = tt_new
            acid = tt + (acid - tt) * relax
            e, g = logistic_factors(r1 * (1.0 - delta1 * acid), t)
            n = n / (e + r1 * n * g)
        else:
            acid = tt + (acid - tt) * relax
            tt = tt_new
        N[i] = n
        T[i] = tt
        L[i] = acid


@numba.njit(cache=True, parallel=True)
def _reactions_parallel(N, T, L, r1, rho2, alpha, delta1, delta3, t, forward, chunks):
    """:func:`_reactions_range` over ``chunks`` blocks in parallel (elementwise: deterministic)."""
    size = N.size
    for c in prange(chunks):
        _reactions_range(
            N, T, L, r1, rho2, alpha, delta1, delta3, t, forward,
            c * size // chunks, (c + 1) * size // chunks,
        )  # fmt: skip


@numba.njit(cache=True)
def _tumour_mobility(coef: np.ndarray, N: np.ndarray, D: float) -> None:
    """``coef = D (1 − N)`` clipped to ``[0, D]``, flat arrays."""
    for i in range(N.size):
        coef[i] = D * min(1.0, max(0.0, 1.0 - N[i]))


class GGInitial(BaseModel):
    """Initial state: a tumour seed in normal tissue, no excess acid."""

    model_config = ConfigDict(extra="forbid")

    geometry: Geometry = Field(
        "planar",
        description="planar: tumour layer at the x = 0 wall, fronts along x; radial: disc/ball "
        "at the domain centre, fronts as distances from the centre",
    )
    size_um: float = Field(
        1000.0, gt=0, description="planar: thickness of the tumour layer; radial: its radius [µm]"
    )
    tumour: float = Field(1.0, gt=0, le=1, description="T inside the seed [fraction of K2]")
    normal: float = Field(
        1.0, gt=0, le=1, description="N outside the seed (0 inside) [fraction of K1]"
    )


class GatenbyGawlinskiParams(BaseModel):
    """Parameters: the paper's non-dimensional groups plus the two scales that restore units."""

    model_config = ConfigDict(extra="forbid")

    rho2: float = Field(
        1.0,
        gt=0,
        description="ρ2 = r2/r1, tumour/normal growth rate ratio [1]; Gatenby & Gawlinski "
        "1996; Martin et al. 2010 J Theor Biol, Table 1",
    )
    Delta2: float = Field(
        4.0e-5,
        gt=0,
        description="Δ2 = D2/D3, tumour diffusion relative to acid diffusion [1]; Gatenby & "
        "Gawlinski 1996; Martin et al. 2010, Table 1",
    )
    delta1: float = Field(
        12.5,
        ge=0,
        description="δ1, acid toxicity to normal tissue [1]; > 1 gives an interstitial gap, "
        "< 1 coexistence (Gatenby & Gawlinski 1996); 12.5 lies in the range 1-100 of Martin et "
        "al. 2010",
    )
    delta3: float = Field(
        70.0,
        gt=0,
        description="δ3 = d3/r1, acid production/clearance rate relative to r1 [1]; Martin et "
        "al. 2010, Table 1",
    )
    alpha: float = Field(
        0.0,
        ge=0,
        description="α, competition of normal tissue on tumour growth ρ2 T (1 − T − α N) [1]; 0 "
        "= the 1996 form (Martin et al. 2010 discuss α > 0)",
    )
    time_scale_min: float = Field(
        TAU_MIN,
        gt=0,
        description="τ = 1/r1 [min]; r1 = 1e-6 /s (Gatenby & Gawlinski 1996) gives 16667 min",
    )
    length_scale_um: float = Field(
        ELL_UM,
        gt=0,
        description="ℓ0 = sqrt(D3/r1) [µm]; D3 = 5e-6 cm²/s, r1 = 1e-6 /s (Gatenby & "
        "Gawlinski 1996) give sqrt(5) cm = 22361 µm",
    )
    front_threshold: float = Field(
        0.5, gt=0, lt=1, description="tumour density defining front_um [fraction of K2]"
    )
    gap_threshold: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="both N and T below this inside the interstitial gap [fraction of capacity]",
    )
    acid_scheme: Scheme = Field("lod-cn", description="diffusion scheme of the acid")
    initial: GGInitial = Field(default_factory=GGInitial, description="initial state")

    # dimensional coefficients ---------------------------------------------------------------
    @property
    def r1_per_min(self) -> float:
        """Normal tissue growth rate r1, 1/min."""
        return 1.0 / self.time_scale_min

    @property
    def D_acid_um2_per_min(self) -> float:
        """Acid diffusion coefficient D3 = ℓ0² r1, µm²/min."""
        return self.length_scale_um**2 / self.time_scale_min

    @property
    def D_tumour_um2_per_min(self) -> float:
        """Tumour diffusion coefficient D2 = Δ2 D3 (where normal tissue is absent), µm²/min."""
        return self.Delta2 * self.D_acid_um2_per_min

    @property
    def acid_length_um(self) -> float:
        """Reaction–diffusion length of the acid, ℓ0 / sqrt(δ3), µm."""
        return self.length_scale_um / math.sqrt(self.delta3)

    @property
    def tumour_front_width_um(self) -> float:
        """Width of a tumour front where normal tissue is gone, sqrt(D2 / (ρ2 r1)), µm."""
        return self.length_scale_um * math.sqrt(self.Delta2 / self.rho2)


@register
class GatenbyGawlinski(Model):
    """Acid-mediated tumour invasion with an interstitial gap."""

    name: ClassVar[str] = "gatenby-gawlinski"
    title: ClassVar[str] = "Gatenby–Gawlinski acid-mediated invasion (normal, tumour, acid)"
    Params: ClassVar[type[BaseModel]] = GatenbyGawlinskiParams
    metric_names: ClassVar[tuple[str, ...]] = (
        "front_um",
        "gap_um",
        "tumor_mass",
        "normal_mass",
        "acid_max",
    )
    references: ClassVar[tuple[str, ...]] = (
        "Gatenby RA, Gawlinski ET (1996) A reaction-diffusion model of cancer invasion. "
        "Cancer Res 56:5745-5753",
        "Martin NK, Gaffney EA, Gatenby RA, Maini PK (2010) Tumour-stromal interactions in "
        "acid-mediated invasion: a mathematical model. J Theor Biol 267:461-470",
        "Fasano A, Herrero MA, Rodrigo MR (2009) Slow and fast invasion waves in a model of "
        "acid-mediated tumour growth. Math Biosci 220:45-56",
    )

    def __init__(self, params: GatenbyGawlinskiParams, mesh: Mesh, dt: float) -> None:
        super().__init__(params, mesh, dt)
        p = params
        self._acid = Diffusion(
            mesh, p.D_acid_um2_per_min, 0.0, dt, Boundary("no-flux"), p.acid_scheme
        )
        self._coef = mesh.zeros()
        self._work = mesh.zeros()

    @classmethod
    def check(cls, params: GatenbyGawlinskiParams, mesh: Mesh, dt: float) -> list[str]:
        """Acid diffusion accuracy, reaction step size and tumour front resolution."""
        p = params
        problems = []
        # the acid is quasi-steady: it relaxes towards T at δ3 r1 (see diffusion_problem)
        msg = diffusion_problem(
            "the acid L",
            mesh,
            p.D_acid_um2_per_min,
            dt,
            p.acid_scheme,
            relax_per_min=p.delta3 * p.r1_per_min,
        )
        if msg:
            problems.append(msg)
        fastest = max(p.delta3, p.delta1, p.rho2, 1.0) * p.r1_per_min
        if fastest * dt > 0.5:
            problems.append(
                f"time.dt_min = {dt:g} exceeds the reaction accuracy limit "
                f"{0.5 / fastest:.4g} min (0.5 / max(δ3, δ1, ρ2, 1) r1)"
            )
        width = p.tumour_front_width_um
        if mesh.h > 0.5 * width:
            problems.append(
                f"mesh.voxel_um = {mesh.h:g} is too coarse for the tumour front width "
                f"ℓ0 sqrt(Δ2/ρ2) = {width:.4g} µm; need voxel_um <= {0.5 * width:.4g}"
            )
        return problems

    def field_specs(self) -> list[FieldSpec]:
        """Normal tissue ``N``, tumour ``T`` and excess acid ``L``."""
        p = self.params
        return [
            FieldSpec("N", "1 (fraction of K1)", "normal tissue density"),
            FieldSpec(
                "T",
                "1 (fraction of K2)",
                "tumour cell density (diffuses as D2 (1 − N))",
                diffusion_um2_per_min=p.D_tumour_um2_per_min,
            ),
            FieldSpec(
                "L",
                "1 (fraction of the tumour-saturated level)",
                "excess H+ (acid)",
                diffusion_um2_per_min=p.D_acid_um2_per_min,
                decay_per_min=p.delta3 * p.r1_per_min,
            ),
        ]

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Tumour seed (``T = tumour``, ``N = 0``) in normal tissue (``N = normal``); L = 0."""
        ini = self.params.initial
        inside = seed_distance(self.mesh, ini.geometry) < ini.size_um
        T = np.where(inside, ini.tumour, 0.0)
        N = np.where(inside, 0.0, ini.normal)
        return {
            "N": np.ascontiguousarray(N, dtype=np.float64),
            "T": np.ascontiguousarray(T, dtype=np.float64),
            "L": self.mesh.zeros(),
        }

    def _react(self, f: dict[str, np.ndarray], t: float, forward: bool) -> None:
        p = self.params
        args = (
            f["N"].reshape(-1),
            f["T"].reshape(-1),
            f["L"].reshape(-1),
            p.r1_per_min,
            p.rho2,
            p.alpha,
            p.delta1,
            p.delta3,
            t,
            forward,
        )
        size = args[0].size
        if size < PARALLEL_MIN_VOXELS:
            _reactions_range(*args, 0, size)
        else:
            _reactions_parallel(*args, 4 * numba.get_num_threads())

    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """Strang step: half reactions, tumour and acid transport, half reactions."""
        half = 0.5 * self.dt
        self._react(fields, half, True)
        _tumour_mobility(
            self._coef.reshape(-1), fields["N"].reshape(-1), self.params.D_tumour_um2_per_min
        )
        nonlinear_diffusion_step(fields["T"], self._coef, self.mesh, self.dt, self._work)
        self._acid.step(fields["L"])
        self._react(fields, half, False)

    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """Tumour front and gap (µm), tumour and normal masses, peak acid."""
        p = self.params
        geo = p.initial.geometry
        T, N = fields["T"], fields["N"]
        return {
            "front_um": front_position(T, self.mesh, p.front_threshold, geo),
            "gap_um": gap_width(T, N, self.mesh, p.gap_threshold, geo),
            "tumor_mass": mass(T, self.mesh),
            "normal_mass": mass(N, self.mesh),
            "acid_max": float(fields["L"].max()),
        }
