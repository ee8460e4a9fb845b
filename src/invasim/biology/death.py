"""Cell death: apoptosis and oxygen-dependent necrosis, their progression and removal.

PhysiCell's death models (Ghaffarizadeh et al., PLoS Comput Biol 14:e1005991, 2018; defaults
from MODEL_REFERENCE §10 and PhysiCell's default cell).

Contract:
    * A live cell dies in a phenotype step of ``dt`` min with probability
      ``1 - exp(-(a + m) dt)``, ``a`` its apoptosis rate and ``m`` its necrosis rate (1/min);
      the kind is necrotic with probability ``m / (a + m)``. Draws come from
      :mod:`invasim.core.rng`, keyed ``(seed, step, cell id, STREAM_DEATH, 0 | 1)``. Death is
      irreversible. On death ``dead`` becomes :data:`APOPTOTIC` or :data:`NECROTIC`, and
      ``phase`` / ``time_in_phase`` restart at 0 and from then on count the *death* phase:
    * apoptotic (phase 0): shrinks (see :mod:`invasim.biology.volume`) and is removed once
      ``time_in_phase >= apoptosis_duration`` (PhysiCell 516 min);
    * necrotic, phase 0 "swelling": the volume grows as ``V0 exp(k t)`` (``k`` the swelling
      rate), so it reaches ``relative_rupture_volume × V0`` at ``t = ln(rupture) / k``
      (PhysiCell: 2×, k = 0.67/h, ≈ 62 min); then phase 1 "lysed": the remnant shrinks slowly
      and is removed after ``lysed_duration`` (PhysiCell 86400 min, i.e. the necrotic core
      stays visible; 0 removes the cell at rupture, leaving no debris). A cell with a
      rupture volume (column :data:`RUPTURE` > 0, PhysiCell's volume model) lyses instead
      in the first step that ends with its volume at or above it (PhysiCell's
      ``standard_necrosis_arrest_function``).
      Durations are rounded to whole steps (an event fires when ``t >= T - dt/2``).
    * Oxygen-dependent necrosis (:func:`necrosis_rate_o2`): rate 0 above ``threshold``
      (5 mmHg), rising linearly to ``max_rate`` (1/360 per min) at ``max_threshold``
      (2.5 mmHg) and below.
    * :func:`death_kernel` flags the rows to remove; :func:`advance_death` returns them; the
      caller removes them after any division of the same step (rows shift on removal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from invasim.core.cells import APOPTOTIC, NECROTIC, Cells
from invasim.core.rng import uniform

#: rng stream of the death events
STREAM_DEATH = 12
_JIT = {"cache": True, "fastmath": False}
#: necrotic death sub-phases
SWELLING, LYSED = 0, 1
#: per-cell ``state`` column of the volume at which a swelling necrotic cell lyses (µm³; 0 or
#: absent: the swelling time ``ln(rupture) / swell rate`` decides); PhysiCell's volume model
#: (:mod:`invasim.biology.volume`) sets it at necrotic death
RUPTURE = "volume_rupture_um3"

_FIELDS = (
    "apoptosis_rate", "apoptosis_duration", "apoptotic_shrink_rate", "necrosis_max_rate",
    "necrosis_threshold", "necrosis_max_threshold", "necrotic_swell_rate",
    "relative_rupture_volume", "lysed_shrink_rate", "lysed_duration",
)  # fmt: skip


@dataclass(frozen=True)
class DeathParams:
    """Per-type death parameters (each an array ``[T]``; scalars broadcast to ``T`` types).

    Attributes:
        apoptosis_rate: 1/min (PhysiCell 5.31667e-5).
        apoptosis_duration: min (516).
        apoptotic_shrink_rate: 1/min; the volume relaxes to 0 at this rate (one lumped
            compartment; PhysiCell's cytoplasmic rate 1/60).
        necrosis_max_rate: 1/min (1/360).
        necrosis_threshold: oxygen (mmHg) below which necrosis starts (5).
        necrosis_max_threshold: oxygen (mmHg) at and below which the rate is maximal (2.5).
        necrotic_swell_rate: 1/min, exponential swelling before rupture (0.67/h).
        relative_rupture_volume: volume at rupture over volume at death (2).
        lysed_shrink_rate: 1/min, shrinkage of the lysed remnant (PhysiCell's lysed fluid
            rate 0.05/h).
        lysed_duration: min a lysed cell stays before removal (86400; 0: at rupture).
        apoptosis_fixed: per type, True (default) if an apoptotic cell is removed exactly
            ``apoptosis_duration`` after death; False: at the rate ``1/apoptosis_duration``
            (exponential time, PhysiCell's ``fixed_duration="false"``).
        lysed_fixed: per type, True (default) if a lysed cell is removed exactly
            ``lysed_duration`` after rupture; False: at the rate ``1/lysed_duration``.
        n_types: number of types the scalars broadcast to.
    """

    apoptosis_rate: np.ndarray | float = 5.31667e-5
    apoptosis_duration: np.ndarray | float = 516.0
    apoptotic_shrink_rate: np.ndarray | float = 1.0 / 60.0
    necrosis_max_rate: np.ndarray | float = 1.0 / 360.0
    necrosis_threshold: np.ndarray | float = 5.0
    necrosis_max_threshold: np.ndarray | float = 2.5
    necrotic_swell_rate: np.ndarray | float = 0.67 / 60.0
    relative_rupture_volume: np.ndarray | float = 2.0
    lysed_shrink_rate: np.ndarray | float = 0.05 / 60.0
    lysed_duration: np.ndarray | float = 86400.0
    apoptosis_fixed: np.ndarray | bool = True
    lysed_fixed: np.ndarray | bool = True
    n_types: int = 1

    def __post_init__(self) -> None:
        sizes = {np.size(getattr(self, f)) for f in _FIELDS} - {1}
        t = sizes.pop() if len(sizes) == 1 else int(self.n_types)
        if sizes:
            raise ValueError(f"death parameters have inconsistent numbers of types: {self}")
        object.__setattr__(self, "n_types", t)
        for f in _FIELDS:
            a = np.broadcast_to(np.asarray(getattr(self, f), dtype=np.float64), (t,)).copy()
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"death parameter {f} must be finite and >= 0, got {a}")
            object.__setattr__(self, f, a)
        fixed = np.asarray(self.apoptosis_fixed, dtype=bool)
        if fixed.size not in (1, t):
            raise ValueError(f"apoptosis_fixed has {fixed.size} values for {t} types")
        object.__setattr__(self, "apoptosis_fixed", np.broadcast_to(fixed, (t,)).copy())
        lysed = np.asarray(self.lysed_fixed, dtype=bool)
        if lysed.size not in (1, t):
            raise ValueError(f"lysed_fixed has {lysed.size} values for {t} types")
        object.__setattr__(self, "lysed_fixed", np.broadcast_to(lysed, (t,)).copy())
        if np.any(self.relative_rupture_volume <= 1.0) or np.any(self.necrotic_swell_rate <= 0):
            raise ValueError("necrosis needs relative_rupture_volume > 1 and swell rate > 0")
        if np.any(self.necrosis_max_threshold >= self.necrosis_threshold):
            raise ValueError("necrosis_max_threshold must be below necrosis_threshold")

    @property
    def lysis_time(self) -> np.ndarray:
        """``[T]`` min from necrotic death to rupture, ``ln(rupture) / swell rate``."""
        return np.log(self.relative_rupture_volume) / self.necrotic_swell_rate

    def necrosis_rate(self, o2: np.ndarray, ctype: np.ndarray) -> np.ndarray:
        """Per-cell necrosis rate (1/min) from oxygen ``o2`` (mmHg) at cells of type ``ctype``."""
        return necrosis_rate_o2(
            o2, self.necrosis_max_rate[ctype], self.necrosis_threshold[ctype],
            self.necrosis_max_threshold[ctype],
        )  # fmt: skip


def necrosis_rate_o2(
    o2: np.ndarray | float,
    max_rate: np.ndarray | float = 1.0 / 360.0,
    threshold: np.ndarray | float = 5.0,
    max_threshold: np.ndarray | float = 2.5,
) -> np.ndarray:
    """PhysiCell's necrosis rate ``max_rate clip((thr - o2)/(thr - max_thr), 0, 1)``, 1/min."""
    o2 = np.asarray(o2, dtype=np.float64)
    return max_rate * np.clip((threshold - o2) / (np.subtract(threshold, max_threshold)), 0, 1)


@njit(**_JIT)
def death_kernel(
    dead, phase, time_in_phase, ctype, cid, apoptosis_rate, necrosis_rate, apoptosis_duration,
    lysis_time, lysed_duration, seed, step, dt, remove, apoptosis_fixed, volume, rupture,
    lysed_fixed,
):  # fmt: skip
    """New deaths and the progression of the dead over ``dt``; returns the removal count.

    Args:
        dead, phase, time_in_phase: ``[n]`` cell state, updated in place.
        ctype: ``[n]`` int32. cid: ``[n]`` int64 ids (rng keys).
        apoptosis_rate, necrosis_rate: ``[n]`` per-cell rates (1/min), or empty for 0.
        apoptosis_duration, lysis_time, lysed_duration: ``[T]`` min.
        seed, step: rng key words. dt: phenotype step, min.
        remove: ``[n]`` uint8 output, 1 for the rows to remove.
        apoptosis_fixed: ``[T]`` bool, False: apoptotic cells leave at the rate
            ``1/apoptosis_duration`` (draw ``(seed, step, id, STREAM_DEATH, 2)``).
        volume: ``[n]`` µm³. rupture: ``[n]`` the :data:`RUPTURE` column, or empty: none.
        lysed_fixed: ``[T]`` bool, False: lysed cells leave at the rate ``1/lysed_duration``
            (draw ``(seed, step, id, STREAM_DEATH, 3)``).
    """
    n = dead.shape[0]
    has_a = apoptosis_rate.shape[0] > 0
    has_m = necrosis_rate.shape[0] > 0
    has_r = rupture.shape[0] > 0
    count = 0
    half = 0.5 * dt
    for i in range(n):
        remove[i] = 0
        d = dead[i]
        t = ctype[i]
        if d == 0:
            a = apoptosis_rate[i] if has_a else 0.0
            m = necrosis_rate[i] if has_m else 0.0
            lam = a + m
            if lam > 0.0 and uniform(seed, step, cid[i], STREAM_DEATH, 0) < -math.expm1(-lam * dt):
                if uniform(seed, step, cid[i], STREAM_DEATH, 1) * lam < m:
                    dead[i] = NECROTIC
                else:
                    dead[i] = APOPTOTIC
                phase[i] = 0
                time_in_phase[i] = 0.0
            continue
        time_in_phase[i] += dt
        if d == APOPTOTIC:
            if apoptosis_fixed[t]:
                if time_in_phase[i] >= apoptosis_duration[t] - half:
                    remove[i] = 1
            elif apoptosis_duration[t] <= 0.0 or uniform(
                seed, step, cid[i], STREAM_DEATH, 2
            ) < -math.expm1(-dt / apoptosis_duration[t]):
                remove[i] = 1
        elif phase[i] == 0:
            if (volume[i] >= rupture[i] if has_r and rupture[i] > 0.0
                    else time_in_phase[i] >= lysis_time[t] - half):  # fmt: skip
                phase[i] = 1
                time_in_phase[i] = 0.0
                if lysed_duration[t] <= 0.0:
                    remove[i] = 1
        elif lysed_fixed[t]:
            if time_in_phase[i] >= lysed_duration[t] - half:
                remove[i] = 1
        elif uniform(seed, step, cid[i], STREAM_DEATH, 3) < -math.expm1(-dt / lysed_duration[t]):
            remove[i] = 1
        count += remove[i]
    return count


def advance_death(
    cells: Cells,
    params: DeathParams,
    dt: float,
    seed: int,
    step: int,
    o2: np.ndarray | None = None,
    apoptosis_rate: np.ndarray | None = None,
    necrosis_rate: np.ndarray | None = None,
) -> np.ndarray:
    """One phenotype step of death; returns the rows to remove (int64, ascending).

    Args:
        cells: the cells; ``dead``, ``phase``, ``time_in_phase`` are updated in place.
        params: per-type death parameters.
        dt: phenotype step, min.
        seed: run seed.
        step: phenotype step counter (rng key).
        o2: ``[n]`` oxygen at the cells (mmHg), for the necrosis rate; no necrosis if None
            (unless ``necrosis_rate`` is given).
        apoptosis_rate: ``[n]`` per-cell rates (1/min) overriding the types' (rules).
        necrosis_rate: ``[n]`` per-cell rates (1/min) overriding the oxygen dependence.
    """
    n = cells.n
    ct = cells.type
    if n and int(ct.max()) >= params.n_types:
        raise ValueError(f"cell type {ct.max()} >= {params.n_types} death parameter sets")
    a = params.apoptosis_rate[ct] if apoptosis_rate is None else apoptosis_rate
    if necrosis_rate is not None:
        m = necrosis_rate
    elif o2 is not None:
        m = params.necrosis_rate(o2, ct)
    else:
        m = np.empty(0)
    a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=np.float64), (n,)))
    if np.size(m):
        m = np.ascontiguousarray(np.broadcast_to(np.asarray(m, dtype=np.float64), (n,)))
    remove = np.empty(n, dtype=np.uint8)
    rupture = cells.state(RUPTURE) if cells.role_of(RUPTURE) is not None else np.empty(0)
    death_kernel(
        cells.dead, cells.phase, cells.time_in_phase, ct, cells.id, a, m,
        params.apoptosis_duration, params.lysis_time, params.lysed_duration,
        np.int64(seed), np.int64(step), float(dt), remove, params.apoptosis_fixed, cells.volume,
        rupture, params.lysed_fixed,
    )  # fmt: skip
    return np.flatnonzero(remove).astype(np.int64)
