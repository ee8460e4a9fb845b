"""Cell volume: growth, apoptotic shrinkage and necrotic swelling.

Contract:
    * One lumped volume per cell (PhysiCell splits it into fluid, nuclear and cytoplasmic
      parts; the lumped rates below are its dominant ones). Each phenotype step of ``dt`` min,
      integrated exactly per state:

      - live: relaxes towards the type's ``target_volume`` at ``growth_rate`` (1/min),
        ``V ← V* + (V - V*) exp(-g dt)``;
      - apoptotic: ``V ← V exp(-apoptotic_shrink_rate dt)``;
      - necrotic swelling: ``V ← V exp(necrotic_swell_rate dt)``; lysed:
        ``V ← V exp(-lysed_shrink_rate dt)`` (rates from
        :class:`~invasim.biology.death.DeathParams`);

      then ``radius = sphere_radius(volume)``.

Division is :mod:`invasim.biology.division`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from invasim.biology.death import DeathParams
from invasim.core.cells import DEFAULT_VOLUME, NECROTIC, Cells

_JIT = {"cache": True, "fastmath": False}


@dataclass(frozen=True)
class VolumeParams:
    """Per-type volume parameters (arrays ``[T]``; scalars broadcast to ``n_types``).

    Attributes:
        target_volume: µm³ (PhysiCell 2494).
        growth_rate: relaxation rate towards it, 1/min (PhysiCell's cytoplasmic biomass rate
            0.27/h; nuclear is 0.33/h).
        n_types: number of types the scalars broadcast to.
    """

    target_volume: np.ndarray | float = DEFAULT_VOLUME
    growth_rate: np.ndarray | float = 0.27 / 60.0
    n_types: int = 1

    def __post_init__(self) -> None:
        t = max(np.size(self.target_volume), np.size(self.growth_rate), 1)
        t = int(self.n_types) if t == 1 else t
        for f in ("target_volume", "growth_rate"):
            a = np.broadcast_to(np.asarray(getattr(self, f), dtype=np.float64), (t,)).copy()
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"volume parameter {f} must be finite and >= 0, got {a}")
            object.__setattr__(self, f, a)
        object.__setattr__(self, "n_types", t)


@njit(**_JIT)
def volume_kernel(volume, radius, dead, phase, ctype, target, live_f, apo_f, swell_f, lysed_f,
                  scale):  # fmt: skip
    """Update ``volume`` and ``radius`` (``[n]``) in place over one step.

    Args:
        volume, radius: ``[n]`` float64 µm³ / µm. dead, phase, ctype: ``[n]`` cell state.
        target: ``[T]`` target volumes. live_f, apo_f, swell_f, lysed_f: ``[T]`` factors
            ``exp(±rate dt)`` of the live relaxation and of the dead states.
        scale: ``[n]`` per-cell multiple of the target (a fused cell's nuclei), or empty: 1.
    """
    c = 3.0 / (4.0 * math.pi)
    has_scale = scale.shape[0] > 0
    for i in range(volume.shape[0]):
        t = ctype[i]
        d = dead[i]
        v = volume[i]
        if d == 0:
            tv = target[t] * scale[i] if has_scale else target[t]
            v = tv + (v - tv) * live_f[t]
        elif d == NECROTIC:
            v *= swell_f[t] if phase[i] == 0 else lysed_f[t]
        else:
            v *= apo_f[t]
        volume[i] = v
        radius[i] = (c * v) ** (1.0 / 3.0)


def update_volumes(
    cells: Cells,
    params: VolumeParams,
    death: DeathParams,
    dt: float,
    scale: np.ndarray | None = None,
) -> None:
    """One phenotype step of volume change for all cells, in place (volume and radius).

    ``scale``: ``[n]`` per-cell multiple of the type's target volume (fused cells), or None.
    """
    n_t = min(params.n_types, death.n_types)
    if cells.n and int(cells.type.max()) >= n_t:
        raise ValueError(f"cell type {cells.type.max()} >= {n_t} volume/death parameter sets")
    volume_kernel(
        cells.volume, cells.radius, cells.dead, cells.phase, cells.type, params.target_volume,
        np.exp(-params.growth_rate * dt), np.exp(-death.apoptotic_shrink_rate * dt),
        np.exp(death.necrotic_swell_rate * dt), np.exp(-death.lysed_shrink_rate * dt),
        np.zeros(0) if scale is None else np.ascontiguousarray(scale, dtype=np.float64),
    )  # fmt: skip
