"""Rac/Rho signalling: each cell's Rac1–RhoA switch and EMT state set its migration mode.

Contract:
    * Every live cell of an enabled type carries the internal state of
      :mod:`invasim.biology.rho_gtpase` (columns ``rac``, ``rho``, ``emt``: dimensionless,
      copied at division) and integrates it over each phenotype step with TR-BDF2
      (:func:`~invasim.biology.internal.integrate`, deterministic and thread independent),
      driven by four behaviours that cues set through the usual layers (cell type, traits,
      rules, interventions): ``rac activation`` ``b_R`` and ``rho activation`` ``b_ρ``
      (1/min), ``rock activity`` ``κ`` (1; a ROCK inhibitor scales it down, e.g. the
      ``rock_inhibitor`` drug) and ``emt induction`` ``s`` (1/min). Cues are held at their
      value at the step's start over the step.
    * The mode (state column ``mode``: 0 epithelial, 1 mesenchymal, 2 amoeboid) follows from
      the state at the end of each step (:func:`~invasim.biology.rho_gtpase.classify`); the
      state column ``rock_activity`` keeps the ``κ`` the cell was integrated with. Nothing
      sets a mode directly: it changes only when the cues move the state across the switch's
      folds (a rule "if MMP inhibitor then amoeboid" has no place here).
    * Layer 3 of the behaviour matrix (:meth:`RhoGTPase.internal_behaviours`): each mode has
      a table of behaviour values (``modes``) and factors (``mode_scales``) per cell type; the
      amoeboid ``migration speed`` is also multiplied by ``κ`` (actomyosin contractility
      needs ROCK; Sahai & Marshall, Nat Cell Biol 2003; 5:711). Rules and interventions
      (layers 4–5) still act on top. A column is written in the fill of its own phase only.
    * Clock: phenotype, order 60 (``ORDER["phenotype"]["rho_gtpase"]``): a sensing place,
      before the cell-life behaviours are filled, so that this step's new mode reaches the
      life fill of the same step (a mode table may set ``cycle entry`` or ``apoptosis``) and
      the motion fill of the next one (speed, persistence, adhesion); its cue behaviours
      are filled with the motion behaviours at the step's start.
    * Signals for rules: ``active rac``, ``active rho``, ``emt state`` and the 0/1 flags
      ``epithelial mode``, ``mesenchymal mode``, ``amoeboid mode``. Cell type sub-table
      ``[params.cell_types.<type>.rho_gtpase]``, scenario table ``[params.rho_gtpase]``.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, ClassVar, Literal

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invasim.agents.params import behaviour_table, dictionary
from invasim.agents.process import ORDER, Process, register_process
from invasim.biology.internal import integrate
from invasim.biology.rho_gtpase import AMOEBOID, MODE_NAMES, RHO_GTPASE, classify
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.rules.dictionary import register_behaviour, register_signal

RAC, RHO, EMT = "rac", "rho", "emt"
MODE, ROCK = "mode", "rock_activity"
CUES = ("rac activation", "rho activation", "rock activity", "emt induction")
SPEED = "migration speed"
Mode = Literal["epithelial", "mesenchymal", "amoeboid"]

# fmt: off
register_behaviour("rac activation", "1/min", "Rac1 activation rate b_R of the Rac/Rho switch "
                   "(cues: matrix, laminin-5 fragments, growth factors)", (), lower=0.0)
register_behaviour("rho activation", "1/min", "RhoA activation rate b_ρ of the Rac/Rho switch "
                   "(cues: confinement, matrix stiffness)", ("b_rho",), lower=0.0)
register_behaviour("rock activity", "dimensionless", "ROCK activity κ: 1 normal, below 1 "
                   "under a ROCK inhibitor (RhoA's hold on Rac1, amoeboid contractility)",
                   (), lower=0.0)
register_behaviour("emt induction", "1/min", "rate driving the cell's EMT state up (TGF-β, "
                   "loss of contacts, laminin-5 fragments)", (), lower=0.0)
register_signal("active rac", "dimensionless", "the cell's active Rac1 (Rac/Rho switch)",
                (), lower=0.0)
register_signal("active rho", "dimensionless", "the cell's active RhoA (Rac/Rho switch)",
                (), lower=0.0)
register_signal("emt state", "dimensionless", "the cell's EMT state, 0 epithelial to 1 "
                "mesenchymal", (), lower=0.0, upper=1.0)
for _m in MODE_NAMES:
    register_signal(f"{_m} mode", "0 or 1", f"1 if the cell migrates in the {_m} mode",
                    (), lower=0.0, upper=1.0)
del _m

#: default behaviours per mode (layer 3), each value with its source
DEFAULT_MODES: dict[str, dict[str, float]] = {
    "epithelial": {
        SPEED: 0.2,                          # collective sheets, slow (illustrative; confirm)
        "migration persistence time": 30.0,  # illustrative
        "cell-cell adhesion": 1.0,           # high, 2.5 × PhysiCell's 0.4 (illustrative)
    },
    "mesenchymal": {
        SPEED: 0.5,                          # 0.1–1 µm/min: Friedl & Wolf, Nat Rev Cancer 2003
        "migration persistence time": 15.0,  # elongated, persistent (illustrative; confirm)
        "cell-cell adhesion": 0.4,           # PhysiCell's default
    },
    "amoeboid": {
        SPEED: 4.0,                          # 2–25 µm/min: Friedl & Wolf 2003 (confirm)
        "migration persistence time": 3.0,   # rounded, blebbing, turns often (illustrative)
        "cell-cell adhesion": 0.1,           # weakly adhesive (illustrative)
    },
}  # fmt: skip
# fmt: on


class RhoGTPaseParams(BaseModel):
    """``[params.rho_gtpase]``: the integrator's tolerances."""

    model_config = ConfigDict(extra="forbid")

    rtol: float = Field(
        1e-6, gt=0, lt=1, description="TR-BDF2 relative tolerance per step [1] (global error "
        "~2e-5 at 1e-6 on Rac/Rho-type models: invasim.biology.internal)",
    )  # fmt: skip
    atol: float = Field(1e-9, gt=0, description="absolute tolerance [1]")


class RhoGTPaseCell(BaseModel):
    """``[params.cell_types.<type>.rho_gtpase]``: the type's switch, its EMT and its modes."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True, description="False: the type carries the columns but neither integrates them "
        "nor has its behaviours written",
    )  # fmt: skip
    b_rac_per_min: float = Field(
        3.0, ge=0, description="rac activation b_R [1/min] (model reference §5: ~3, the "
        "middle of the window 2.645–3.417; computed, not from a paper)",
    )  # fmt: skip
    b_rho_per_min: float = Field(3.0, ge=0, description="rho activation b_ρ [1/min] (§5: 3)")
    rock_activity: float = Field(1.0, ge=0, description="ROCK activity κ [1] (1: normal)")
    emt_induction_per_min: float = Field(
        0.0, ge=0, description="EMT induction s [1/min] (0: epithelial; EMT above 0.465 "
        "emt_decay_per_min with the default switch, MET below 0.25 of it)",
    )  # fmt: skip
    rac_total: float = Field(3.0, gt=0, description="total Rac1 R_T [1] (§5: 3)")
    rho_total: float = Field(3.0, gt=0, description="total RhoA ρ_T [1] (§5: 3)")
    hill: float = Field(3.0, ge=1, description="Hill power n of the mutual inhibition (§5: 3)")
    inactivation_per_min: float = Field(
        1.0, gt=0, description="GAP inactivation δ [1/min] (§5: 1; time unit of the switch, "
        "GTPase cycling takes seconds to minutes: illustrative)",
    )  # fmt: skip
    emt_feedback_per_min: float = Field(
        2.5 / 720.0, ge=0, description="EMT positive feedback k_fb [1/min] (illustrative: "
        "2.5 d, a reversible bistable switch)",
    )  # fmt: skip
    emt_half: float = Field(0.6, gt=0, description="EMT feedback half-max K [1] (illustrative)")
    emt_hill: float = Field(6.0, ge=1, description="EMT feedback Hill power h (illustrative)")
    emt_decay_per_min: float = Field(
        1.0 / 720.0, gt=0, description="EMT reversal rate d [1/min] (illustrative: 12 h, EMT "
        "takes about a day under strong induction)",
    )  # fmt: skip
    initial_rac: float = Field(2.0754, ge=0, description="initial active Rac1 [1] (Rac-high)")
    initial_rho: float = Field(0.6955, ge=0, description="initial active RhoA [1]")
    initial_emt: float = Field(0.0, ge=0, le=1, description="initial EMT state [1]")
    default_modes: bool = Field(
        True, description="start from the default mode tables (DEFAULT_MODES: Friedl & Wolf "
        "2003 speeds; adhesion and persistence illustrative); False: only `modes`",
    )  # fmt: skip
    modes: dict[Mode, dict[str, float]] = Field(
        default_factory=dict,
        description="per mode, behaviour (rules name) -> value it takes in that mode (layer "
        "3), over the defaults; e.g. modes.amoeboid = { 'migration speed' = 6.0 }",
    )
    mode_scales: dict[Mode, dict[str, float]] = Field(
        default_factory=dict,
        description="per mode, behaviour -> factor on the value the earlier layers give, e.g. "
        "mode_scales.amoeboid = { 'pericellular proteolysis' = 0.0 } (non-proteolytic)",
    )

    @field_validator("modes", "mode_scales")
    @classmethod
    def _finite(cls, v: dict) -> dict:
        for mode, table in v.items():
            for name, x in table.items():
                if not math.isfinite(x):
                    raise ValueError(f"{mode}.{name!r} = {x}: must be finite")
        return v

    @model_validator(mode="after")
    def _inside(self) -> RhoGTPaseCell:
        if self.initial_rac > self.rac_total or self.initial_rho > self.rho_total:
            raise ValueError(
                f"initial_rac {self.initial_rac:g} and initial_rho {self.initial_rho:g} must not "
                f"exceed rac_total {self.rac_total:g} and rho_total {self.rho_total:g}"
            )
        return self

    def parameter_row(self) -> list[float]:
        """The ODE's parameters in :data:`~invasim.biology.rho_gtpase.RHO_GTPASE` order."""
        return [self.rac_total, self.rho_total, self.hill, self.inactivation_per_min,
                self.emt_feedback_per_min, self.emt_half, self.emt_hill,
                self.emt_decay_per_min]  # fmt: skip

    def tables(self) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
        """``(values, factors)`` per mode: the defaults (if on) with ``modes`` over them."""
        values = {m: dict(DEFAULT_MODES[m]) if self.default_modes else {} for m in MODE_NAMES}
        for m, table in self.modes.items():
            values[m].update(table)
        return values, {m: dict(self.mode_scales.get(m, {})) for m in MODE_NAMES}


def mode_tables(params: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The behaviours the modes write and their tables, checked against the scenario.

    Returns:
        ``(names, values, factors)``: canonical behaviour names (those a listed process
        reads), ``values`` ``[K, 3 T + 1]`` (NaN: not set) and ``factors`` ``[K, 3 T + 1]``
        indexed by ``3 type + mode``; the last row is a no-op (dead cells, disabled types).

    Raises:
        ConfigError: a name that is not a behaviour (with the nearest), or one that the user
            gave but no listed process reads (defaults that none reads are dropped).
    """
    d = dictionary(params)
    read = {e.name for e in behaviour_table(params, d)[0]}
    cells = list(params.cell_types.items())
    entries: list[tuple[int, int, str, float, bool]] = []  # (type, mode, name, value, sets)
    for t, (tname, ct) in enumerate(cells):
        sub = ct.rho_gtpase
        if not sub.enabled:
            continue
        values, factors = sub.tables()
        for sets, tables in ((True, values), (False, factors)):
            key = "modes" if sets else "mode_scales"
            for m, table in tables.items():
                for name, x in table.items():
                    where = f"params.cell_types.{tname}.rho_gtpase.{key}.{m}: "
                    canon = d.behaviour(name, where).name  # ConfigError with the nearest
                    if canon not in read:
                        explicit = name in (sub.modes if sets else sub.mode_scales).get(m, {})
                        if explicit:
                            hint = difflib.get_close_matches(canon, sorted(read), n=1)
                            raise ConfigError(
                                f"{where}behaviour {canon!r} is not read by the listed processes"
                                f" ({', '.join(params.processes)})"
                                + (f"; nearest read: {hint[0]!r}" if hint else "")
                            )
                        continue
                    entries.append((t, MODE_NAMES.index(m), canon, float(x), sets))
    names = sorted({e[2] for e in entries})
    k_of = {n: k for k, n in enumerate(names)}
    width = 3 * len(cells) + 1
    values = np.full((len(names), width), np.nan)
    factors = np.ones((len(names), width))
    for t, m, name, x, sets in entries:
        (values if sets else factors)[k_of[name], 3 * t + m] = x
    return names, values, factors


@njit(cache=True)
def _gather(rows, values, cues, rac, rho, emt, types, param_rows, u, y, p) -> None:
    """Rows ``rows`` of the cells into ``u`` (cue behaviours), ``y`` (state), ``p`` (params)."""
    for k in range(rows.size):
        c = rows[k]
        for j in range(cues.size):
            u[k, j] = values[cues[j], c]
        y[k, 0] = rac[c]
        y[k, 1] = rho[c]
        y[k, 2] = emt[c]
        t = types[c]
        for j in range(p.shape[1]):
            p[k, j] = param_rows[t, j]


@njit(cache=True)
def _scatter(rows, y, rock_used, rac, rho, emt, rock) -> None:
    """The integrated state ``y`` and the ROCK activity back into rows ``rows`` of the cells."""
    for k in range(rows.size):
        c = rows[k]
        rac[c] = y[k, 0]
        rho[c] = y[k, 1]
        emt[c] = y[k, 2]
        rock[c] = rock_used[k]


@register_process
class RhoGTPase(Process):
    """Per-cell Rac1/RhoA switch and EMT state; the mode sets migration behaviours."""

    name: ClassVar[str] = "rho_gtpase"
    title: ClassVar[str] = "Rac1/RhoA switch and EMT state set each cell's migration mode"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["rho_gtpase"]
    Params: ClassVar[type[BaseModel]] = RhoGTPaseParams
    CellParams: ClassVar[type[BaseModel]] = RhoGTPaseCell
    signals: ClassVar[tuple[str, ...]] = (
        "active rac", "active rho", "emt state", *(f"{m} mode" for m in MODE_NAMES),
    )  # fmt: skip
    behaviours: ClassVar[tuple[str, ...]] = CUES
    metric_names: ClassVar[tuple[str, ...]] = tuple(f"frac_{m}" for m in MODE_NAMES)
    references: ClassVar[tuple[str, ...]] = (
        "Holmes WR, Edelstein-Keshet L (2016) Analysis of a minimal Rho-GTPase circuit "
        "regulating cell shape. Phys Biol 13:046001",
        "Rens EG, Edelstein-Keshet L (2021) Cellular tango: how extracellular matrix adhesion "
        "choreographs Rac-Rho signaling and cell movement. Phys Biol 18:066005",
        "Sanz-Moreno V et al. (2008) Rac activation and inactivation control plasticity of "
        "tumor cell movement. Cell 135:510-523",
        "Sahai E, Marshall CJ (2003) Differing modes of tumour cell motility and invasion. Nat "
        "Cell Biol 5:711-719",
        "Wolf K et al. (2003) Compensation mechanism in tumor cell migration: "
        "mesenchymal-amoeboid transition after blocking of pericellular proteolysis. J Cell "
        "Biol 160:267-277",
        "Friedl P, Wolf K (2003) Tumour-cell invasion and migration: diversity and escape "
        "mechanisms. Nat Rev Cancer 3:362-374",
    )

    def __init__(self, params: Any) -> None:
        """Validate the mode tables; ``writes`` is this scenario's written behaviours."""
        super().__init__(params)
        self.written, self.values, self.factors = mode_tables(params)
        self.writes = tuple(self.written)  # instance attribute: per scenario
        self.enabled = np.array([ct.enabled for ct in self.cell_tables])
        self.param_rows = np.ascontiguousarray([ct.parameter_row() for ct in self.cell_tables])
        self.initial = np.array([[ct.initial_rac, ct.initial_rho, ct.initial_emt,
                                  ct.rock_activity] for ct in self.cell_tables])  # fmt: skip

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """The mode tables name behaviours that exist and that a listed process reads."""
        try:
            mode_tables(params)
        except ConfigError as exc:
            return [str(exc)]
        return []

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's cue values."""
        r = cell.rho_gtpase
        return {"rac activation": r.b_rac_per_min, "rho activation": r.b_rho_per_min,
                "rock activity": r.rock_activity,
                "emt induction": r.emt_induction_per_min}  # fmt: skip

    # -- state ----------------------------------------------------------------------------------
    def setup(self, state) -> None:
        """Add the columns (NaN until a cell gets its type's initial state)."""
        c = state.cells
        for name in (RAC, RHO, EMT):
            if c.role_of(name) is None:
                c.add_internal(name, math.nan)
        for name in (MODE, ROCK):
            if c.role_of(name) is None:
                c.add_state(name, math.nan)
        self._initialise(state)

    def _initialise(self, state) -> None:
        """Cells without a state yet (new, added by an intervention) get their type's."""
        c = state.cells
        rac = c.internal(RAC)
        new = np.isnan(rac)
        if not new.any():
            return
        t = c.type[new]
        rac[new] = self.initial[t, 0]
        c.internal(RHO)[new] = self.initial[t, 1]
        c.internal(EMT)[new] = self.initial[t, 2]
        c.state(ROCK)[new] = self.initial[t, 3]
        c.state(MODE)[new] = classify(rac[new], c.internal(RHO)[new], c.internal(EMT)[new])

    def step(self, state, dt: float) -> None:
        """Integrate every live cell of an enabled type over ``dt``; update the modes."""
        c = state.cells
        if not c.n:
            return
        self._initialise(state)
        rows = np.flatnonzero((c.dead == 0) & self.enabled[c.type])
        if not rows.size:
            return
        beh = state.behaviours
        cues = np.array([beh.index[b] for b in CUES], np.int64)
        rac, rho, emt, rock = c.internal(RAC), c.internal(RHO), c.internal(EMT), c.state(ROCK)
        u = np.empty((rows.size, len(CUES)))
        y = np.empty((rows.size, 3))
        p = np.empty((rows.size, self.param_rows.shape[1]))
        _gather(rows, beh.values, cues, rac, rho, emt, c.type, self.param_rows, u, y, p)
        np.maximum(u, 0.0, out=u)
        integrate(RHO_GTPASE, y, dt, u, p, rtol=self.table.rtol, atol=self.table.atol)
        _scatter(rows, y, u[:, 2], rac, rho, emt, rock)
        c.state(MODE)[rows] = classify(y[:, 0], y[:, 1], y[:, 2])

    # -- layer 3 ----------------------------------------------------------------------------------
    def internal_behaviours(self, state, behaviours) -> None:
        """Each live cell of an enabled type: its mode's values, then factors (see contract).

        Only the columns of the phase being filled are written: the motion fill runs at the
        step's start (``state.t == state.step_start``), the life fill at its end.
        """
        c = state.cells
        if not c.n:
            return
        self._initialise(state)
        phase = "life" if state.t > state.step_start else "motion"
        mode = c.state(MODE).astype(np.int64)
        live = (c.dead == 0) & self.enabled[c.type]
        idx = np.where(live, 3 * c.type.astype(np.int64) + mode, self.values.shape[1] - 1)
        for k, name in enumerate(self.written):
            if not behaviours.has(name) or behaviours.phase[behaviours.index[name]] != phase:
                continue
            col = behaviours.column(name)
            v = self.values[k, idx]
            have = ~np.isnan(v)
            col[have] = v[have]
            col *= self.factors[k, idx]
            if name == SPEED:  # amoeboid contractility needs ROCK
                amoeboid = live & (mode == AMOEBOID)
                col[amoeboid] *= c.state(ROCK)[amoeboid]

    # -- signals and readouts ---------------------------------------------------------------------
    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """The state variables and the mode flags."""
        c = state.cells
        self._initialise(state)
        if template == "active rac":
            return c.internal(RAC).copy()
        if template == "active rho":
            return c.internal(RHO).copy()
        if template == "emt state":
            return c.internal(EMT).copy()
        m = MODE_NAMES.index(template.removesuffix(" mode"))
        return (c.state(MODE) == m).astype(np.float64)

    def metrics(self, state) -> dict[str, float]:
        """Shares of the live cells of the enabled types in each mode."""
        c = state.cells
        live = (c.dead == 0) & self.enabled[c.type] if c.n else np.zeros(0, bool)
        total = int(live.sum())
        mode = c.state(MODE)[live] if total else np.zeros(0)
        return {f"frac_{m}": float((mode == k).sum() / total) if total else 0.0
                for k, m in enumerate(MODE_NAMES)}  # fmt: skip
