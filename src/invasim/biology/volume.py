"""Cell volume: growth, apoptotic shrinkage and necrotic swelling.

Contract:
    * Two models, chosen per cell type. ``lumped`` (the default): one volume per cell. Each
      phenotype step of ``dt`` min, integrated exactly per state:

      - live: relaxes towards the type's ``target_volume`` at ``growth_rate`` (1/min),
        ``V ← V* + (V - V*) exp(-g dt)``;
      - apoptotic: ``V ← V exp(-apoptotic_shrink_rate dt)``;
      - necrotic swelling: ``V ← V exp(necrotic_swell_rate dt)``; lysed:
        ``V ← V exp(-lysed_shrink_rate dt)`` (rates from
        :class:`~invasim.biology.death.DeathParams`);

      then ``radius = sphere_radius(volume)``.
    * ``physicell`` (:class:`PhysiCellVolumeParams`, :func:`update_physicell_volumes`):
      PhysiCell's ``standard_volume_update_function``. Per cell a fluid volume ``F``, a
      nuclear solid ``N`` and a cytoplasmic solid ``C`` (µm³, columns :data:`COLUMNS`), with
      solid targets ``N*``, ``C*`` and, from the cell's state, a target fluid fraction ``f``,
      rates ``r_F``, ``r_N``, ``r_C`` (1/min) and a calcification rate::

          dN/dt = r_N (N* - N),   dC/dt = r_C (C* - C),   dF/dt = r_F (f (F + N + C) - F)

      The total ``V = F + N + C`` is ``cells.volume`` and the radius follows it. PhysiCell
      steps this with forward Euler at its phenotype dt; here it is integrated *exactly*
      over ``dt`` (the targets are constant within a step, so the system is linear with
      constant coefficients: ``N`` and ``C`` relax exponentially and ``F`` is their
      convolution, :func:`relax_exact`). That makes the result independent of ``dt`` and
      equal to PhysiCell's in the limit of its small steps; at PhysiCell's 6 min and a fluid
      rate of 0.05/min its Euler step differs by a few per cent in transients, never in the
      fixed points. The calcified fraction relaxes to 1 as ``1 - (1 - c) exp(-r dt)``.
    * Entries (PhysiCell's entry functions), detected at the start of the step after the
      event (PhysiCell applies them at the end of the event's step; its next volume update
      is the first to use them, so the timing is the same):

      - cycle: entering phase ``1 mod K`` of the type's model (Ki67+, Ki67+ premitotic, S,
        Cycling; Live at every division in the live model) doubles ``N*`` and ``C*``;
      - division (:mod:`invasim.biology.division`) halves ``F``, ``N``, ``C``, ``N*``, ``C*``
        (columns of mode ``split``) as it halves the volume, so both daughters get half;
      - death: apoptosis and necrosis set ``N* = C* = 0``; the rates and ``f`` are those of
        the death state (apoptotic: ``f = 0``; necrotic swelling: ``f = 1``; lysed ``f = 0``
        at the lysed fluid rate); a necrotic cell's rupture volume is its volume at death
        times ``relative_rupture_volume`` (column :data:`~invasim.biology.death.RUPTURE`),
        and :func:`~invasim.biology.death.advance_death` lyses it once ``V`` reaches it.
        ``f`` and the rates are not per-cell columns: PhysiCell's entry functions set them
        from the type's parameters only, so they are a function of (type, state), looked up
        in :class:`PhysiCellVolumeParams` each step.
    * A cell first seen (initial cells, interventions, a type that just switched model)
      gets the type's composition scaled to its volume, targets included (PhysiCell's
      ``set_total_volume``), and doubled targets if it sits between the doubling phase and
      the division; a volume changed by another process since the last step (engulfing,
      fusion) scales ``F``, ``N``, ``C`` in proportion and keeps the targets.

Division is :mod:`invasim.biology.division`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from invasim.biology.death import RUPTURE, DeathParams
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
                  scale, skip):  # fmt: skip
    """Update ``volume`` and ``radius`` (``[n]``) in place over one step.

    Args:
        volume, radius: ``[n]`` float64 µm³ / µm. dead, phase, ctype: ``[n]`` cell state.
        target: ``[T]`` target volumes. live_f, apo_f, swell_f, lysed_f: ``[T]`` factors
            ``exp(±rate dt)`` of the live relaxation and of the dead states.
        scale: ``[n]`` per-cell multiple of the target (a fused cell's nuclei), or empty: 1.
        skip: ``[T]`` uint8, 1 for the types another model updates, or empty: none.
    """
    c = 3.0 / (4.0 * math.pi)
    has_scale = scale.shape[0] > 0
    has_skip = skip.shape[0] > 0
    for i in range(volume.shape[0]):
        t = ctype[i]
        if has_skip and skip[t] != 0:
            continue
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
    skip: np.ndarray | None = None,
) -> None:
    """One phenotype step of the lumped model for all cells, in place (volume and radius).

    ``scale``: ``[n]`` per-cell multiple of the type's target volume (fused cells), or None.
    ``skip``: ``[T]`` bool, the types left alone (another volume model's), or None.
    """
    n_t = min(params.n_types, death.n_types)
    if cells.n and int(cells.type.max()) >= n_t:
        raise ValueError(f"cell type {cells.type.max()} >= {n_t} volume/death parameter sets")
    volume_kernel(
        cells.volume, cells.radius, cells.dead, cells.phase, cells.type, params.target_volume,
        np.exp(-params.growth_rate * dt), np.exp(-death.apoptotic_shrink_rate * dt),
        np.exp(death.necrotic_swell_rate * dt), np.exp(-death.lysed_shrink_rate * dt),
        np.zeros(0) if scale is None else np.ascontiguousarray(scale, dtype=np.float64),
        np.zeros(0, np.uint8) if skip is None else np.asarray(skip, dtype=np.uint8),
    )  # fmt: skip


# --- PhysiCell's volume model ---------------------------------------------------------------

#: per-cell columns of the physicell model (µm³ unless said)
FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID = (
    "volume_fluid", "volume_nuclear_solid", "volume_cytoplasmic_solid")  # fmt: skip
TARGET_NUCLEAR, TARGET_CYTOPLASMIC = (
    "volume_target_nuclear_solid", "volume_target_cytoplasmic_solid")  # fmt: skip
#: calcified fraction (dimensionless, PhysiCell's ``calcified_fraction``)
CALCIFIED = "volume_calcified_fraction"
#: the state the cell was in at its last update: its cycle phase (live) or -2 apoptotic,
#: -3 necrotic swelling, -4 lysed; :data:`FRESH` before its first (entry detection)
SEEN = "volume_seen_state"
#: 1 from a division to the next update (reset at division): re-entry of the live phase
DIVIDED = "volume_divided"
FRESH = -100.0
#: name -> (role, default, division mode); amounts and targets halve at division
COLUMNS: dict[str, tuple[str, float, str]] = {
    FLUID: ("internal", 0.0, "split"),
    NUCLEAR_SOLID: ("internal", 0.0, "split"),
    CYTOPLASMIC_SOLID: ("internal", 0.0, "split"),
    TARGET_NUCLEAR: ("internal", 0.0, "split"),
    TARGET_CYTOPLASMIC: ("internal", 0.0, "split"),
    CALCIFIED: ("state", 0.0, "copy"),
    RUPTURE: ("state", 0.0, "copy"),
    SEEN: ("state", FRESH, "copy"),
    DIVIDED: ("state", 1.0, "reset"),
}
#: cell states of the rate tables: live, apoptotic, necrotic swelling, lysed
LIVE, APOPTOSIS, SWELLING, LYSIS = 0, 1, 2, 3


def compartment_columns(cells: Cells, targets: bool = False) -> list[int]:
    """Indices among the internal columns of F, N, C (and ``targets``: N*, C*).

    What fusion and phagocytosis move between cells; [] without the physicell model's columns.
    """
    names = cells.names("internal")
    wanted = (FLUID, NUCLEAR_SOLID, CYTOPLASMIC_SOLID) + (
        (TARGET_NUCLEAR, TARGET_CYTOPLASMIC) if targets else ())
    if not all(x in names for x in wanted):
        return []
    return [names.index(x) for x in wanted]


def ensure_volume_columns(cells: Cells) -> None:
    """Add the physicell model's columns (:data:`COLUMNS`) if missing."""
    for name, (role, default, division) in COLUMNS.items():
        if cells.role_of(name) is None:
            cells.add_column(role, name, default, division)


def cycle_doubling(n_phases: int, division: int) -> tuple[int, tuple[bool, ...]]:
    """The phase whose entry doubles the solid targets, and the phases that have them doubled.

    PhysiCell's standard models double at the entry of the phase after phase 0 (Ki67+,
    Ki67+ premitotic, S, Cycling, and Live, re-entered at each division). A cell carries
    doubled targets from that phase to the division, unless the entry *is* the division
    (live: the doubling there only undoes the halving).

    Args:
        n_phases: ``K``. division: the phase whose exit divides.

    Returns:
        ``(grow, doubled)``: the phase index and ``K`` flags.
    """
    grow = 1 % n_phases
    if (grow - 1) % n_phases == division:
        return grow, (False,) * n_phases
    return grow, tuple(grow <= p <= division for p in range(n_phases))


@dataclass(frozen=True)
class PhysiCellVolumeParams:
    """Per-type parameters of PhysiCell's volume model (arrays over ``T`` types).

    Attributes:
        use: ``[T]`` bool, the types on this model.
        total: ``[T]`` the type's volume, µm³ (PhysiCell 2494).
        fluid_fraction: ``[T]`` (0.75). nuclear: ``[T]`` nuclear volume, µm³ (540).
        rates: ``[T, 4, 3]`` 1/min, the fluid, nuclear and cytoplasmic rates in each state
            (live, apoptotic, necrotic swelling, lysed).
        target_fluid: ``[T, 4]`` target fluid fraction per state (live: ``fluid_fraction``;
            PhysiCell's entry functions: 0, 1, 0).
        calcification: ``[T, 4]`` calcification rate per state, 1/min.
        calcified_fraction: ``[T]`` of a cell first seen.
        relative_rupture: ``[T]`` necrotic volume at lysis over volume at death.
        grow: ``[T]`` int64, the phase whose entry doubles the solid targets; -1: none.
        doubled: ``[T, K]`` bool, phases in which a cell first seen has doubled targets.
    """

    use: np.ndarray
    total: np.ndarray
    fluid_fraction: np.ndarray
    nuclear: np.ndarray
    rates: np.ndarray
    target_fluid: np.ndarray
    calcification: np.ndarray
    calcified_fraction: np.ndarray
    relative_rupture: np.ndarray
    grow: np.ndarray
    doubled: np.ndarray

    def __post_init__(self) -> None:
        t = np.size(self.use)
        for f, shape in (("total", (t,)), ("fluid_fraction", (t,)), ("nuclear", (t,)),
                         ("rates", (t, 4, 3)), ("target_fluid", (t, 4)),
                         ("calcification", (t, 4)), ("calcified_fraction", (t,)),
                         ("relative_rupture", (t,))):  # fmt: skip
            a = np.ascontiguousarray(getattr(self, f), dtype=np.float64)
            if a.shape != shape or not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"volume parameter {f} must be finite, >= 0 and of shape "
                                 f"{shape}, got {a}")  # fmt: skip
            object.__setattr__(self, f, a)
        if np.any(self.total <= 0) or np.any(self.nuclear > self.total):
            raise ValueError("volume: need 0 < nuclear volume <= total volume")
        if np.any(self.fluid_fraction > 1) or np.any(self.target_fluid > 1):
            raise ValueError("volume: fluid fractions must lie in [0, 1]")
        object.__setattr__(self, "use", np.ascontiguousarray(self.use, dtype=np.uint8))
        object.__setattr__(self, "grow", np.ascontiguousarray(self.grow, dtype=np.int64))
        d = np.asarray(self.doubled, dtype=np.uint8)
        object.__setattr__(self, "doubled", np.ascontiguousarray(d.reshape(t, -1)))

    @property
    def composition(self) -> np.ndarray:
        """``[T, 3]`` µm³: fluid, nuclear solid, cytoplasmic solid of a cell of ``total``.

        PhysiCell's ``Volume``: ``F = f V``, ``N = (1 - f) V_n``, ``C = (1 - f)(V - V_n)``.
        """
        f, v, vn = self.fluid_fraction, self.total, self.nuclear
        return np.stack([f * v, (1 - f) * vn, (1 - f) * (v - vn)], axis=1)


@njit(**_JIT)
def _g(z):
    """``(1 - exp(-z)) / z``, 1 at 0."""
    if abs(z) < 1e-8:
        return 1.0 - 0.5 * z
    return -math.expm1(-z) / z


@njit(**_JIT)
def relax_exact(fluid, nuc, cyt, t_nuc, t_cyt, ff, r_f, r_n, r_c, dt):
    """Exact solution over ``dt`` of the three-compartment system (module contract).

    ``N`` and ``C`` relax as ``X* + (X - X*) e^{-r dt}``; with ``a = r_F (1 - f)`` and
    ``b = r_F f``, ``F(dt) = F e^{-a dt} + b ∫_0^dt e^{-a(dt-s)} (N(s) + C(s)) ds``, each term
    written with ``(1 - e^{-z})/z`` so equal rates (and ``a = 0``) need no special case.

    Returns:
        ``(fluid, nuclear solid, cytoplasmic solid)`` after ``dt``, µm³.
    """
    en = math.exp(-r_n * dt)
    ec = math.exp(-r_c * dt)
    an = nuc - t_nuc
    ac = cyt - t_cyt
    a = r_f * (1.0 - ff)
    b = r_f * ff
    f1 = fluid * math.exp(-a * dt) + b * dt * (
        (t_nuc + t_cyt) * _g(a * dt) + an * en * _g((a - r_n) * dt) + ac * ec * _g((a - r_c) * dt)
    )
    return max(f1, 0.0), t_nuc + an * en, t_cyt + ac * ec


@njit(**_JIT)
def physicell_volume_kernel(volume, radius, dead, phase, ctype, fl, ns, cs, tn, tc, calc, rupture,
                            seen, divided, use, total, base, rates, target_fluid, calc_rate, calc0,
                            rel_rupture, grow, doubled, dt):  # fmt: skip
    """One step of the physicell model for the cells of the types ``use`` flags, in place.

    Args:
        volume, radius, dead, phase, ctype: ``[n]`` cell state.
        fl, ns, cs, tn, tc, calc, rupture, seen, divided: ``[n]`` the :data:`COLUMNS`.
        use, total, rates, target_fluid, calc_rate, calc0, rel_rupture, grow, doubled: the
            :class:`PhysiCellVolumeParams` arrays. base: its ``composition``. dt: min.
    """
    c = 3.0 / (4.0 * math.pi)
    k_max = doubled.shape[1]
    for i in range(volume.shape[0]):
        t = ctype[i]
        if use[t] == 0:
            continue
        d = dead[i]
        s = LIVE if d == 0 else (APOPTOSIS if d != NECROTIC else (
            SWELLING if phase[i] == 0 else LYSIS))
        code = float(phase[i]) if s == LIVE else -1.0 - s
        v = volume[i]
        if seen[i] == FRESH:  # set_total_volume: the type's composition at the cell's volume
            k = v / total[t]
            fl[i] = base[t, 0] * k
            ns[i] = base[t, 1] * k
            cs[i] = base[t, 2] * k
            m = 2.0 if s == LIVE and phase[i] < k_max and doubled[t, phase[i]] != 0 else 1.0
            tn[i] = base[t, 1] * k * m
            tc[i] = base[t, 2] * k * m
            calc[i] = calc0[t]
            entered = True
        else:
            tot = fl[i] + ns[i] + cs[i]
            if tot > 0.0 and abs(v - tot) > 1e-12 * max(v, tot):  # changed by another process
                k = v / tot
                fl[i] *= k
                ns[i] *= k
                cs[i] *= k
            entered = code != seen[i]
            if s == LIVE and phase[i] == grow[t] and (entered or divided[i] != 0.0):
                tn[i] *= 2.0
                tc[i] *= 2.0
        if entered and s != LIVE:  # PhysiCell's death entry functions
            tn[i] = 0.0
            tc[i] = 0.0
            if s == SWELLING:
                rupture[i] = (fl[i] + ns[i] + cs[i]) * rel_rupture[t]
        f1, n1, c1 = relax_exact(fl[i], ns[i], cs[i], tn[i], tc[i], target_fluid[t, s],
                                 rates[t, s, 0], rates[t, s, 1], rates[t, s, 2], dt)  # fmt: skip
        fl[i] = f1
        ns[i] = n1
        cs[i] = c1
        calc[i] = 1.0 - (1.0 - calc[i]) * math.exp(-calc_rate[t, s] * dt)
        v = f1 + n1 + c1
        volume[i] = v
        radius[i] = (c * v) ** (1.0 / 3.0)
        seen[i] = code
        divided[i] = 0.0


def update_physicell_volumes(cells: Cells, params: PhysiCellVolumeParams, dt: float) -> None:
    """One phenotype step of PhysiCell's volume model for the types ``params.use`` flags.

    Adds the :data:`COLUMNS` if missing; updates them, ``volume`` and ``radius`` in place.
    """
    if cells.n and int(cells.type.max()) >= params.use.shape[0]:
        raise ValueError(f"cell type {cells.type.max()} >= {params.use.shape[0]} volume sets")
    ensure_volume_columns(cells)
    col = [cells.column(name) for name in COLUMNS]
    physicell_volume_kernel(
        cells.volume, cells.radius, cells.dead, cells.phase, cells.type, *col, params.use,
        params.total, params.composition, params.rates, params.target_fluid,
        params.calcification, params.calcified_fraction, params.relative_rupture, params.grow,
        params.doubled, float(dt),
    )  # fmt: skip
