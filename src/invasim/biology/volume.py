"""Cell volume (growth, apoptotic shrinkage, necrotic swelling) and division.

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
    * :func:`divide`: each dividing row becomes two daughters of half its volume, placed
      symmetrically at ``x ± (separation r / 2) e``, ``r`` the mother's radius and ``e`` a
      random unit vector (in the plane in 2-D) keyed ``(seed, step, mother id, STREAM_DIVISION,
      0 | 1)``. The default separation ``1.5 r`` is PhysiCell's (>= 1.10: the child at ``+r e``,
      the mother moved by ``-r e / 2``); here both move, so the centre of mass is kept. Daughters
      inherit type, clone id, state and traits, get ``generation + 1``, ``parent_id`` = the
      mother's id and two new ids (daughter A reuses the mother's row, daughter B is appended by
      :meth:`Cells.add`); their velocities are zeroed (Adams–Bashforth restarts). Optional hooks:
      traits flagged *conserved* are halved, and per-trait Gaussian noise (sd per trait) is
      added to each daughter, keyed ``(seed, step, daughter id, STREAM_MUTATION, trait column)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from invasim.biology.death import DeathParams
from invasim.core.cells import DEFAULT_VOLUME, NECROTIC, Cells, sphere_radius
from invasim.core.rng import normals, uniform

#: rng streams of division orientation and trait mutation
STREAM_DIVISION = 13
STREAM_MUTATION = 14
#: daughters' centre distance over the mother's radius (PhysiCell >= 1.10)
DIVISION_SEPARATION = 1.5
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
def volume_kernel(volume, radius, dead, phase, ctype, target, live_f, apo_f, swell_f, lysed_f):
    """Update ``volume`` and ``radius`` (``[n]``) in place over one step.

    Args:
        volume, radius: ``[n]`` float64 µm³ / µm. dead, phase, ctype: ``[n]`` cell state.
        target: ``[T]`` target volumes. live_f, apo_f, swell_f, lysed_f: ``[T]`` factors
            ``exp(±rate dt)`` of the live relaxation and of the dead states.
    """
    c = 3.0 / (4.0 * math.pi)
    for i in range(volume.shape[0]):
        t = ctype[i]
        d = dead[i]
        v = volume[i]
        if d == 0:
            v = target[t] + (v - target[t]) * live_f[t]
        elif d == NECROTIC:
            v *= swell_f[t] if phase[i] == 0 else lysed_f[t]
        else:
            v *= apo_f[t]
        volume[i] = v
        radius[i] = (c * v) ** (1.0 / 3.0)


def update_volumes(cells: Cells, params: VolumeParams, death: DeathParams, dt: float) -> None:
    """One phenotype step of volume change for all cells, in place (volume and radius)."""
    n_t = min(params.n_types, death.n_types)
    if cells.n and int(cells.type.max()) >= n_t:
        raise ValueError(f"cell type {cells.type.max()} >= {n_t} volume/death parameter sets")
    volume_kernel(
        cells.volume, cells.radius, cells.dead, cells.phase, cells.type, params.target_volume,
        np.exp(-params.growth_rate * dt), np.exp(-death.apoptotic_shrink_rate * dt),
        np.exp(death.necrotic_swell_rate * dt), np.exp(-death.lysed_shrink_rate * dt),
    )  # fmt: skip


@njit(**_JIT)
def division_directions(ids, seed, step, dim, out):
    """Random unit vectors ``out[k, 3]`` (z = 0 in 2-D), keyed by the mothers' ``ids``."""
    for k in range(ids.shape[0]):
        phi = 2.0 * math.pi * uniform(seed, step, ids[k], STREAM_DIVISION, 0)
        if dim == 3:
            z = 2.0 * uniform(seed, step, ids[k], STREAM_DIVISION, 1) - 1.0
            s = math.sqrt(max(0.0, 1.0 - z * z))
            out[k, 0] = s * math.cos(phi)
            out[k, 1] = s * math.sin(phi)
            out[k, 2] = z
        else:
            out[k, 0] = math.cos(phi)
            out[k, 1] = math.sin(phi)
            out[k, 2] = 0.0


def divide(
    cells: Cells,
    rows: np.ndarray,
    seed: int,
    step: int,
    separation: float = DIVISION_SEPARATION,
    trait_sd: np.ndarray | None = None,
    conserved: np.ndarray | None = None,
) -> slice:
    """Divide the cells at ``rows``; returns the slice of the appended daughters (B).

    Daughter A of ``rows[k]`` stays in row ``rows[k]``; daughter B is row ``slice.start + k``.

    Args:
        cells: the cells.
        rows: ``[k]`` row indices of the mothers (e.g. from
            :func:`~invasim.biology.cycle.advance_cycle`).
        seed: run seed.
        step: phenotype step counter (rng key).
        separation: daughters' centre distance over the mother's radius.
        trait_sd: ``[n_traits]`` standard deviation of the Gaussian noise added to each
            daughter's traits (mutation); None or zeros for exact copies.
        conserved: ``[n_traits]`` bool, traits split in half between the daughters.
    """
    rows = np.asarray(rows, dtype=np.int64)
    k = rows.shape[0]
    if k == 0:
        return slice(cells.n, cells.n)
    if np.any(rows < 0) or np.any(rows >= cells.n) or np.unique(rows).shape[0] != k:
        raise ValueError("division rows must be distinct live rows")
    mother = cells.id[rows].copy()
    e = np.empty((k, 3))
    division_directions(mother, np.int64(seed), np.int64(step), cells.dim, e)
    off = (0.5 * separation * cells.radius[rows])[:, None] * e
    x = cells.position[rows].copy()
    half = 0.5 * cells.volume[rows]
    traits = cells.traits[rows].copy()
    if conserved is not None:
        traits[:, np.asarray(conserved, dtype=bool)] *= 0.5
    # daughter A: the mother's row, with a new id (taken from the same counter as add's)
    ids_a = cells.new_ids(k)
    copied = {
        f: getattr(cells, f)[rows].copy()
        for f in ("type", "phase", "time_in_phase", "dead", "clone_id", "generation")
    }
    s = cells.add(
        k,
        position=x + off,
        volume=half,
        parent_id=mother,
        **{**copied, "generation": copied["generation"] + 1},
        **{name: traits[:, c] for c, name in enumerate(cells.trait_names)},
    )
    # views taken after add: the arrays may have been reallocated
    cells.position[rows] = x - off
    cells.volume[rows] = half
    cells.radius[rows] = sphere_radius(half)
    cells.id[rows] = ids_a
    cells.parent_id[rows] = mother
    cells.generation[rows] += 1
    cells.traits[rows] = traits
    for f in ("velocity", "velocity_prev"):
        getattr(cells, f)[rows] = 0.0
    if trait_sd is not None and np.any(np.asarray(trait_sd) > 0):
        sd = np.asarray(trait_sd, dtype=np.float64)
        cols = np.flatnonzero(sd > 0)
        for r_d, ids in ((rows, ids_a), (np.arange(s.start, s.stop), cells.id[s])):
            z = normals(seed, step, ids[:, None], STREAM_MUTATION, cols[None, :])
            cells.traits[r_d[:, None], cols[None, :]] += z * sd[cols]
    return s
