"""The agent model: off-lattice cells (PhysiCell class) coupled to diffusing substrates.

Registered as ``"agents"``; its ``[params]`` name the substrates and the cell types, so every
agent scenario (``spheroid-2d``, ``spheroid-3d``, later ones) reuses it.

Contract:
    * Fields: one per substrate (``[params.substrates.<name>]``), diffusing with linear decay,
      walls Dirichlet (far field) or no-flux. Cells: :class:`~invasim.core.cells.Cells`, their
      type index is the position of the type in ``[params.cell_types]`` (TOML order).
    * Three time scales, as PhysiCell: one call of :meth:`AgentModel.step` is one phenotype
      step (``time.dt_min``) = ``dt / dt_mechanics`` mechanics steps, each of
      ``dt_mechanics / dt_diffusion`` diffusion steps (both ratios whole numbers, checked).
      Per mechanics step: bind the cells' secretion/uptake to their voxels (after the last
      move; volumes and rates are bound once per phenotype step, at its first mechanics
      step, as they change only in the phenotype step or its rules), then per diffusion
      step: secretion/uptake (implicit per voxel) then diffusion (LOD); then the mechanics
      (cell list, potentials, motility, Adams–Bashforth move).
      Dead cells neither secrete nor take up (PhysiCell zeroes both at death) nor move actively.
    * Phenotype step (:mod:`invasim.biology` order): volume → death (necrosis from the oxygen
      at the cell's voxel) → cycle (entry scaled by the oxygen proliferation factor, blocked
      where the cell's simple pressure exceeds its type's threshold) → divide → remove; then
      the rows are sorted by cell-list bin (locality; a function of the state).
    * Simple pressure (PhysiCell's): ``p_i = Σ_j (1 - d_ij/R_ij)² / 0.027288`` over the
      neighbours closer than ``R_ij = r_i + r_j``; the scale makes ``p ≈ 1`` for a cell in a
      compressed 3-D packing (PhysiCell's ``simple_pressure_scale``). Dimensionless.
      The same neighbours are the cell's contacts (rules' ``contact with ...`` signals),
      counted by type and by live/dead in the pressure's traversal.
    * Motility bias direction: ``Σ_s χ_s ∇s`` at the cell's voxel (PhysiCell's advanced
      chemotaxis), ``χ`` the type's ``chemotactic_sensitivity`` (default +1 for oxygen alone:
      the oxygen gradient) or the rules' ``chemotactic response to <s>``. Rules on cell-cell
      adhesion/repulsion give per-cell strengths
      (:func:`~invasim.physics.mechanics.compute_velocities`).
    * Random numbers are counter-based (:mod:`invasim.core.rng`), keyed by the run seed, the
      cell id and the step counter derived from ``t`` (phenotype: ``t/dt``; mechanics:
      ``t/dt_mechanics + k``), so results are independent of the thread count and a resumed
      run equals an uninterrupted one bit for bit. The cell-list grid is a function of the
      largest radius present (:meth:`~invasim.physics.mechanics.Mechanics.rebuild`), so the
      neighbour sums run in the same order after a resume.
    * Metrics: ``n_cells`` (live), ``tumor_radius_um`` (95th percentile of the live cells'
      distances from the centre of mass of all cells, µm), ``n_apoptotic``, ``n_necrotic``,
      ``necrotic_fraction`` (necrotic / all cells), ``oxygen_min`` (mmHg, the field's minimum),
      ``front_um`` (= ``tumor_radius_um``), ``pressure_max``, then ``n_<type>`` (live) per type.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, model_validator

from invasim.biology.cycle import (
    FLOW_CYTOMETRY_DURATIONS,
    LIVE_RATE,
    CycleParams,
    advance_cycle,
    flow_cytometry_separated,
    live,
)
from invasim.biology.death import DeathParams, advance_death
from invasim.biology.division import divide
from invasim.biology.volume import VolumeParams, update_volumes
from invasim.core import initial as placement
from invasim.core.cells import APOPTOTIC, DEFAULT_VOLUME, NECROTIC, Cells, sphere_radius
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.models.base import FieldSpec, Model, register
from invasim.physics.contacts import SIMPLE_PRESSURE_SCALE, contact_kernel
from invasim.physics.diffusion import (
    Boundary,
    Diffusion,
    accuracy_dt_limit,
    single_thread_if_small,
)
from invasim.physics.exchange import SecretionUptake, sample_gradients, sample_values, voxel_of
from invasim.physics.mechanics import (
    Mechanics,
    MechanicsParams,
    compute_velocities,
    max_stable_dt,
    move,
)
from invasim.physics.motility import DIRECTION_TRAITS, Motility, MotilityParams
from invasim.rules import (
    CompiledRules,
    RuleDictionary,
    RuleTable,
    compile_rules,
    evaluate_rules,
    parse_rules,
    parse_rules_csv,
)

#: the substrate whose value drives proliferation and necrosis
OXYGEN = "oxygen"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_WHOLE = 1e-9


# -- parameters --------------------------------------------------------------------------------
class Substrate(BaseModel):
    """One diffusing substrate (a field)."""

    model_config = ConfigDict(extra="forbid")

    unit: str = Field("mmHg", description="unit of the substrate's values")
    diffusion_um2_per_min: float = Field(
        1.0e5, ge=0, description="diffusion coefficient [µm²/min]; oxygen 1e5 (PhysiCell)"
    )
    decay_per_min: float = Field(
        0.1, ge=0, description="linear decay rate [1/min]; oxygen 0.1 (PhysiCell)"
    )
    boundary: Literal["dirichlet", "no-flux"] = Field(
        "dirichlet", description="wall condition: far-field value held at the walls, or closed"
    )
    boundary_value: float = Field(
        38.0, ge=0, description="Dirichlet value at the walls [unit]; oxygen 38 mmHg (PhysiCell)"
    )
    initial: float = Field(38.0, ge=0, description="initial uniform value [unit]")


class CellType(BaseModel):
    """One cell type: cycle, death, volume, mechanics, motility and substrate exchange."""

    model_config = ConfigDict(extra="forbid")

    cycle: Literal["live", "flow_cytometry_separated"] = Field(
        "flow_cytometry_separated", description="cycle model (PhysiCell's names)"
    )
    cycle_rate_per_min: float = Field(
        LIVE_RATE, ge=0, description="live model: division rate [1/min] (PhysiCell 0.0432/h)"
    )
    cycle_durations_min: list[float] = Field(
        default_factory=lambda: list(FLOW_CYTOMETRY_DURATIONS),
        description="flow_cytometry_separated: mean durations of G0/G1, S, G2, M [min] "
        "(PhysiCell 300, 480, 240, 60)",
    )
    cycle_fixed_durations: bool = Field(
        False, description="phases last exactly their duration (else exponential waiting times)"
    )
    proliferation_o2_threshold_mmHg: float = Field(
        5.0, ge=0, description="no cycle entry at or below this oxygen [mmHg] (PhysiCell 5)"
    )
    proliferation_o2_saturation_mmHg: float = Field(
        38.0,
        gt=0,
        description="full cycle-entry rate at or above this oxygen [mmHg] "
        "(PhysiCell samples 38; core default 160)",
    )
    pressure_threshold: float | None = Field(
        None,
        gt=0,
        description="contact inhibition: no cycle entry above this simple pressure "
        "[1, PhysiCell's scaled simple pressure]; None: no contact inhibition",
    )
    apoptosis_rate_per_min: float = Field(
        5.31667e-5, ge=0, description="apoptosis rate [1/min] (PhysiCell default cell)"
    )
    apoptosis_duration_min: float = Field(
        516.0, ge=0, description="time an apoptotic cell remains [min] (PhysiCell)"
    )
    necrosis_threshold_mmHg: float = Field(
        5.0, ge=0, description="necrosis starts below this oxygen [mmHg] (PhysiCell)"
    )
    necrosis_max_threshold_mmHg: float = Field(
        2.5,
        ge=0,
        description="necrosis rate is maximal at and below this oxygen [mmHg] (PhysiCell)",
    )
    necrosis_max_rate_per_min: float = Field(
        1.0 / 360.0, ge=0, description="maximal necrosis rate [1/min] (PhysiCell 1/360)"
    )
    necrotic_swell_rate_per_min: float = Field(
        0.67 / 60.0, gt=0, description="necrotic swelling rate [1/min] (PhysiCell 0.67/h)"
    )
    relative_rupture_volume: float = Field(
        2.0, gt=1, description="necrotic volume at lysis over volume at death (PhysiCell 2)"
    )
    lysed_duration_min: float = Field(
        86400.0, ge=0, description="time a lysed necrotic cell remains [min] (PhysiCell 60 d)"
    )
    volume_um3: float = Field(
        DEFAULT_VOLUME,
        gt=0,
        description="target (and initial) cell volume [µm³] (PhysiCell 2494)",
    )
    volume_growth_rate_per_min: float = Field(
        0.27 / 60.0,
        ge=0,
        description="relaxation rate of the volume to its target [1/min] "
        "(PhysiCell cytoplasmic 0.27/h)",
    )
    repulsion_um_per_min: float = Field(
        10.0, ge=0, description="cell–cell repulsion strength [µm/min] (PhysiCell)"
    )
    adhesion_um_per_min: float = Field(
        0.4,
        ge=0,
        description="cell–cell adhesion strength [µm/min] (PhysiCell); between "
        "types the geometric mean",
    )
    relative_max_adhesion_distance: float = Field(
        1.25, ge=1, description="adhesion reach over the radius [1] (PhysiCell)"
    )
    wall_repulsion_um_per_min: float = Field(
        100.0,
        ge=0,
        description="repulsion from the domain walls [µm/min] (PhysiCell's "
        "cell_BM_repulsion_strength)",
    )
    speed_um_per_min: float = Field(0.0, ge=0, description="motility speed [µm/min]")
    persistence_time_min: float = Field(1.0, ge=0, description="motility persistence [min]")
    migration_bias: float = Field(
        0.0,
        ge=0,
        le=1,
        description="bias of motility along the chemotactic direction (default up the oxygen "
        "gradient) [0..1]",
    )
    chemotactic_sensitivity: dict[str, float] = Field(
        default_factory=dict,
        description="chemotactic sensitivity per substrate [1]: the bias direction is "
        "sum_s chi_s grad(s), normalised (PhysiCell's advanced chemotaxis; negative repels); "
        "empty: +1 towards oxygen, 0 for the other substrates",
    )
    uptake_per_min: dict[str, float] = Field(
        default_factory=lambda: {OXYGEN: 10.0},
        description="uptake rate per substrate [1/min] (oxygen 10, PhysiCell samples)",
    )
    secretion_per_min: dict[str, float] = Field(
        default_factory=dict, description="secretion rate per substrate [1/min]"
    )
    secretion_target: dict[str, float] = Field(
        default_factory=dict, description="secretion target (saturation) per substrate [unit]"
    )

    @model_validator(mode="after")
    def _consistent(self) -> CellType:
        if len(self.cycle_durations_min) != 4 or any(d <= 0 for d in self.cycle_durations_min):
            raise ValueError("cycle_durations_min needs 4 positive durations (G0/G1, S, G2, M)")
        if self.necrosis_max_threshold_mmHg >= self.necrosis_threshold_mmHg:
            raise ValueError("necrosis_max_threshold_mmHg must be below necrosis_threshold_mmHg")
        if self.proliferation_o2_saturation_mmHg <= self.proliferation_o2_threshold_mmHg:
            raise ValueError("proliferation_o2_saturation_mmHg must exceed the threshold")
        for table in (self.uptake_per_min, self.secretion_per_min, self.secretion_target):
            if any(not (v >= 0 and math.isfinite(v)) for v in table.values()):
                raise ValueError("uptake, secretion rates and targets must be finite and >= 0")
        if any(not math.isfinite(v) for v in self.chemotactic_sensitivity.values()):
            raise ValueError("chemotactic sensitivities must be finite")
        return self

    def cycle_model(self):
        """The :class:`~invasim.biology.cycle.CycleModel` of this type."""
        if self.cycle == "live":
            return live(self.cycle_rate_per_min)
        fixed = (self.cycle_fixed_durations,) * 4
        return flow_cytometry_separated(self.cycle_durations_min, fixed)


class CellPlacement(BaseModel):
    """Initial cells (:mod:`invasim.core.initial`)."""

    model_config = ConfigDict(extra="forbid")

    geometry: Literal["ball", "layer", "table"] = Field(
        "ball",
        description="ball: a disc (2-D) or sphere (3-D) packed hexagonally/fcc; "
        "layer: a packed box; table: positions and types from a CSV or Parquet file",
    )
    n_cells: int | None = Field(None, ge=0, description="ball: number of cells")
    radius_um: float | None = Field(None, ge=0, description="ball: radius instead of n [µm]")
    spacing_um: float = Field(
        16.0,
        gt=0,
        description="lattice spacing [µm]; 16.0 = the zero-force distance "
        "0.952 (r_i + r_j) of the default potentials",
    )
    center_um: list[float] | None = Field(
        None, description="ball centre [µm]; default the domain centre"
    )
    lo_um: list[float] | None = Field(None, description="layer: lower corner [µm]")
    hi_um: list[float] | None = Field(None, description="layer: upper corner [µm]")
    path: str | None = Field(None, description="table: the file (PhysiCell's cells.csv loads)")
    origin: Literal["corner", "center"] = Field(
        "corner",
        description="table coordinates: from the domain corner, or from its centre "
        "(PhysiCell's centred domains)",
    )
    cell_type: str | None = Field(
        None, description="ball/layer: the cells' type (default the first type)"
    )

    @model_validator(mode="after")
    def _complete(self) -> CellPlacement:
        if self.geometry == "ball" and (self.n_cells is None) == (self.radius_um is None):
            raise ValueError("a ball needs exactly one of n_cells and radius_um")
        if self.geometry == "layer" and (self.lo_um is None or self.hi_um is None):
            raise ValueError("a layer needs lo_um and hi_um")
        if self.geometry == "table" and not self.path:
            raise ValueError("a table placement needs path")
        return self


class AgentParams(BaseModel):
    """Parameters of the agent model (µm, min; oxygen in mmHg)."""

    model_config = ConfigDict(extra="forbid")

    dt_diffusion_min: float = Field(
        0.01,
        gt=0,
        description="diffusion time step [min] (PhysiCell 0.01; must also meet the "
        "solver's accuracy limit, checked)",
    )
    dt_mechanics_min: float = Field(
        0.1, gt=0, description="mechanics time step [min] (PhysiCell 0.1; stability checked)"
    )
    diffusion_scheme: Literal["lod-cn", "lod-be"] = Field(
        "lod-cn", description="diffusion scheme (invasim.physics.diffusion)"
    )
    mechanics_scheme: Literal["ab2", "euler"] = Field(
        "ab2", description="motion integrator (PhysiCell: Adams–Bashforth 2)"
    )
    secretion_scheme: Literal["implicit", "exact"] = Field(
        "implicit", description="per-voxel secretion/uptake update (PhysiCell: implicit)"
    )
    substrates: dict[str, Substrate] = Field(
        default_factory=lambda: {OXYGEN: Substrate()}, description="diffusing substrates"
    )
    cell_types: dict[str, CellType] = Field(
        default_factory=lambda: {"tumor": CellType()},
        description="cell types by name; the order gives the type index",
    )
    initial: CellPlacement = Field(
        default_factory=lambda: CellPlacement(n_cells=100), description="initial cells"
    )
    rules: list[dict[str, Any]] | str = Field(
        default_factory=list,
        description="behaviour rules (docs/rules.md): [[params.rules]] tables with keys "
        "cell_type, signal, direction, behaviour, saturation, half_max, hill_power[, "
        "applies_to_dead], or the path of a PhysiCell-style cell_rules.csv (relative to the "
        "scenario file's folder; stored resolved)",
    )

    _rule_set: RuleSet | None = PrivateAttr(None)

    @property
    def rule_set(self) -> RuleSet | None:
        """The validated, compiled rules with the cell types' base values; None: no rules."""
        return self._rule_set

    @model_validator(mode="after")
    def _names(self) -> AgentParams:
        if not self.cell_types:
            raise ValueError("cell_types needs at least one cell type")
        for kind, names in (("cell type", self.cell_types), ("substrate", self.substrates)):
            for name in names:
                if not _NAME.match(name):
                    raise ValueError(f"{kind} name {name!r} must be a letter then [A-Za-z0-9_]")
        known = set(self.substrates)
        for tname, ct in self.cell_types.items():
            for table in (ct.uptake_per_min, ct.secretion_per_min, ct.secretion_target,
                          ct.chemotactic_sensitivity):  # fmt: skip
                unknown = sorted(set(table) - known)
                if unknown:
                    raise ValueError(
                        f"cell type {tname!r} names unknown substrate(s) {unknown}; "
                        f"substrates: {sorted(known)}"
                    )
        ini = self.initial.cell_type
        if ini is not None and ini not in self.cell_types:
            raise ValueError(
                f"initial.cell_type {ini!r} is not a cell type; known: {list(self.cell_types)}"
            )
        return self

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> AgentParams:
        # rule problems raise ConfigError (one line, origin "params.rules..."), which pydantic
        # passes through; the config loader prefixes the scenario's origin
        if isinstance(self.rules, str):
            base_dir = (info.context or {}).get("base_dir") if info is not None else None
            path = Path(self.rules).expanduser()
            if not path.is_absolute():
                path = Path(base_dir) / path if base_dir is not None else path
                path = path.absolute()
            self.rules = str(path)
        self._rule_set = build_rules(self) if self.rules else None
        return self


# -- behaviour rules ---------------------------------------------------------------------------
#: signal templates (rules dictionary) whose values the agent model computes per cell
RULE_SIGNALS = (
    "{substrate}", "{substrate} gradient", "pressure", "volume", "contact with {cell_type}",
    "contact with live cell", "contact with dead cell", "dead", "apoptotic", "necrotic", "time",
)  # fmt: skip
#: the contact signals: counted in the simple pressure's traversal (:meth:`compute_contacts`)
CONTACT_SIGNALS = ("contact with {cell_type}", "contact with live cell", "contact with dead cell")
#: behaviour templates the agent model applies; those used during the mechanics/diffusion
#: sub-steps are evaluated at the start of each phenotype step, the others at its end
RULE_SUBSTEP_BEHAVIOURS = (
    "{substrate} secretion", "{substrate} secretion target", "{substrate} uptake",
    "migration speed", "migration bias", "migration persistence time",
    "chemotactic response to {substrate}", "cell-cell adhesion", "cell-cell repulsion",
)  # fmt: skip
RULE_PHENOTYPE_BEHAVIOURS = ("cycle entry", "apoptosis", "necrosis")


@dataclass(frozen=True)
class RuleSet:
    """A scenario's rules ready to run.

    Attributes:
        table: the validated rules (canonical names).
        base: ``[n_types, n_behaviours]`` the cell types' base values of every behaviour
            the model applies (0 elsewhere).
        compiled: the compiled rules (:func:`~invasim.rules.compile_rules`).
        governed: ``[n_types, n_behaviours]`` bool, True where some rule sets the behaviour.
    """

    table: RuleTable
    base: np.ndarray
    compiled: CompiledRules
    governed: np.ndarray

    @property
    def dictionary(self) -> RuleDictionary:
        """The scenario's rules dictionary."""
        return self.table.dictionary

    def column(self, behaviour: str) -> int:
        """Behaviour column of a canonical name."""
        return self.dictionary.behaviour(behaviour).index

    def governs(self, behaviour: str) -> bool:
        """Whether any rule sets ``behaviour`` (canonical name) in any cell type."""
        return bool(self.governed[:, self.column(behaviour)].any())


def rule_base(params: AgentParams, d: RuleDictionary) -> np.ndarray:
    """``[n_types, n_behaviours]`` base values of the behaviours the model applies."""
    base = np.zeros((len(params.cell_types), d.n_behaviours))
    chi = chemotaxis_table(params)
    for t, ct in enumerate(params.cell_types.values()):
        row = base[t]
        row[d.behaviour("cycle entry").index] = ct.cycle_model().rates[0]
        row[d.behaviour("apoptosis").index] = ct.apoptosis_rate_per_min
        row[d.behaviour("necrosis").index] = ct.necrosis_max_rate_per_min
        row[d.behaviour("migration speed").index] = ct.speed_um_per_min
        row[d.behaviour("migration bias").index] = ct.migration_bias
        row[d.behaviour("migration persistence time").index] = ct.persistence_time_min
        row[d.behaviour("cell-cell adhesion").index] = ct.adhesion_um_per_min
        row[d.behaviour("cell-cell repulsion").index] = ct.repulsion_um_per_min
        for k, s in enumerate(params.substrates):
            row[d.behaviour(f"{s} secretion").index] = ct.secretion_per_min.get(s, 0.0)
            row[d.behaviour(f"{s} secretion target").index] = ct.secretion_target.get(s, 0.0)
            row[d.behaviour(f"{s} uptake").index] = ct.uptake_per_min.get(s, 0.0)
            row[d.behaviour(f"chemotactic response to {s}").index] = chi[t, k]
    return base


def chemotaxis_table(params: AgentParams) -> np.ndarray:
    """``[n_types, n_substrates]`` chemotactic sensitivities (substrates in field order).

    A type with an empty ``chemotactic_sensitivity`` has +1 for oxygen and 0 elsewhere (the
    bias up the oxygen gradient of the model before sensitivities); otherwise its table,
    0 for the substrates it does not name.
    """
    subs = list(params.substrates)
    out = np.zeros((len(params.cell_types), len(subs)))
    for t, ct in enumerate(params.cell_types.values()):
        table = ct.chemotactic_sensitivity or ({OXYGEN: 1.0} if OXYGEN in subs else {})
        for k, s in enumerate(subs):
            out[t, k] = table.get(s, 0.0)
    return out


def build_rules(params: AgentParams) -> RuleSet:
    """Parse, check and compile ``params.rules`` (a resolved CSV path or a list of tables).

    Raises:
        ConfigError: one line starting ``params.rules``: an unknown name (with the nearest),
            a conflict (naming both rules), a signal the model does not compute or a
            behaviour it does not apply yet, or an unreadable CSV.
    """
    d = RuleDictionary({s: sub.unit for s, sub in params.substrates.items()},
                       list(params.cell_types))  # fmt: skip
    if isinstance(params.rules, str):
        path = Path(params.rules)
        try:
            text = path.read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise ConfigError(
                f"params.rules: cannot read rules file {str(path)!r}: {reason}"
            ) from None
        table = parse_rules_csv(text, d, origin=f"params.rules ({path.name})")
    else:
        table = parse_rules(params.rules, d, origin="params.rules")
    base = rule_base(params, d)
    governed = np.zeros(base.shape, dtype=bool)
    applied = (*RULE_SUBSTEP_BEHAVIOURS, *RULE_PHENOTYPE_BEHAVIOURS)
    for rule in table:
        sig = d.signal(rule.signal)
        if sig.template not in RULE_SIGNALS:
            raise ConfigError(
                f"{rule.origin}: signal {rule.signal!r} is not computed by the agent model "
                f"yet; it computes {', '.join(repr(x) for x in RULE_SIGNALS)} (per substrate)"
            )
        beh = d.behaviour(rule.behaviour)
        if beh.template not in applied:
            raise ConfigError(
                f"{rule.origin}: behaviour {rule.behaviour!r} is not applied by the agent model "
                f"yet; it applies {', '.join(repr(x) for x in applied)} (per substrate)"
            )
        t = d.cell_type(rule.cell_type)
        if beh.name == "cycle entry" and not base[t, beh.index] > 0:
            raise ConfigError(
                f"{rule.origin}: cycle entry of {rule.cell_type!r} has base rate 0; rules scale "
                f"a positive base rate (give the cell type a cycle rate)"
            )
        governed[t, beh.index] = True
    return RuleSet(table, base, compile_rules(table, base), governed)


# -- kernels -----------------------------------------------------------------------------------
def _steps(a: float, b: float) -> int | None:
    """``a / b`` if it is a whole number (>= 1), else None."""
    k = a / b
    r = round(k)
    return int(r) if r >= 1 and abs(k - r) <= _WHOLE * max(1.0, k) else None


def initial_cells(params: AgentParams, mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Initial positions ``[n, 3]`` (µm) and type indices ``[n]`` of a scenario."""
    ini = params.initial
    names = list(params.cell_types)
    extent = tuple(float(e) for e in mesh.extent)
    dim = mesh.dim
    if ini.geometry == "table":
        pos, types = placement.read_table(ini.path, names, dim, extent, ini.origin)
    else:
        if ini.geometry == "ball":
            center = ini.center_um if ini.center_um is not None else [e / 2 for e in extent]
            if len(center) != dim:
                raise ValueError(f"initial.center_um needs {dim} values, got {center}")
            pos = placement.ball(dim, ini.spacing_um, center, ini.n_cells, ini.radius_um)
        else:
            pos = placement.layer(dim, ini.spacing_um, ini.lo_um, ini.hi_um)
        t = names.index(ini.cell_type) if ini.cell_type is not None else 0
        types = np.full(pos.shape[0], t, dtype=np.int32)
    placement.check_inside(pos, extent)
    return pos, types


# -- the model ---------------------------------------------------------------------------------
@register
class AgentModel(Model):
    """Off-lattice agents with mechanics, cell life and substrates (PhysiCell class)."""

    name: ClassVar[str] = "agents"
    title: ClassVar[str] = (
        "Agents: off-lattice cells (mechanics, cycle, death) coupled to diffusing substrates"
    )
    Params: ClassVar[type[BaseModel]] = AgentParams
    metric_names: ClassVar[tuple[str, ...]] = (
        "n_cells", "tumor_radius_um", "n_apoptotic", "n_necrotic", "necrotic_fraction",
        "oxygen_min", "front_um", "pressure_max",
    )  # fmt: skip
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A, Heiland R, Friedman SH, Mumenthaler SM, Macklin P (2018) PhysiCell: "
        "an open source physics-based cell simulator for 3-D multicellular systems. PLoS Comput "
        "Biol 14:e1005991",
        "Ghaffarizadeh A, Friedman SH, Macklin P (2016) BioFVM: an efficient, parallelized "
        "diffusive transport solver for 3-D biological simulations. Bioinformatics 32:1256-1258",
    )

    def __init__(self, params: AgentParams, mesh: Mesh, dt: float) -> None:
        super().__init__(params, mesh, dt)
        p = params
        if mesh.dim not in (2, 3):
            raise ValueError(f"the agent model needs a 2-D or 3-D mesh, got dim {mesh.dim}")
        self.type_names = list(p.cell_types)
        self.substrate_names = list(p.substrates)
        types = list(p.cell_types.values())
        self.metric_names = (
            *type(self).metric_names,
            *(f"n_{t}" for t in self.type_names if f"n_{t}" not in type(self).metric_names),
        )
        self.extent = tuple(float(e) for e in mesh.extent)
        self.n_mech = _steps(dt, p.dt_mechanics_min) or 1
        self.n_diff = _steps(p.dt_mechanics_min, p.dt_diffusion_min) or 1
        self.dt_mech = dt / self.n_mech
        self.dt_diff = self.dt_mech / self.n_diff
        # per-type tables
        col = lambda f: np.array([getattr(t, f) for t in types], dtype=np.float64)  # noqa: E731
        adh = col("adhesion_um_per_min")
        self.mech_params = MechanicsParams(
            col("repulsion_um_per_min"), np.sqrt(np.outer(adh, adh)),
            col("relative_max_adhesion_distance"), col("wall_repulsion_um_per_min"),
        )  # fmt: skip
        self.mechanics = Mechanics(self.mech_params, self.extent, p.mechanics_scheme)
        thr = [t.pressure_threshold if t.pressure_threshold is not None else math.inf
               for t in types]  # fmt: skip
        self.cycle_params = CycleParams.from_models([t.cycle_model() for t in types], thr)
        self.death_params = DeathParams(
            apoptosis_rate=col("apoptosis_rate_per_min"),
            apoptosis_duration=col("apoptosis_duration_min"),
            necrosis_max_rate=col("necrosis_max_rate_per_min"),
            necrosis_threshold=col("necrosis_threshold_mmHg"),
            necrosis_max_threshold=col("necrosis_max_threshold_mmHg"),
            necrotic_swell_rate=col("necrotic_swell_rate_per_min"),
            relative_rupture_volume=col("relative_rupture_volume"),
            lysed_duration=col("lysed_duration_min"),
            n_types=len(types),
        )
        self.volume_params = VolumeParams(
            col("volume_um3"), col("volume_growth_rate_per_min"), n_types=len(types)
        )
        # behaviour rules (None: none; then nothing below differs from a rule-free model)
        self.rule_set = p.rule_set
        rs = self.rule_set
        self._rules_substep = self._rules_phenotype = False
        if rs is not None:
            d = rs.dictionary
            self._rules_substep = any(
                rs.governed[:, b.index].any()
                for b in d.behaviours
                if b.template in RULE_SUBSTEP_BEHAVIOURS
            )
            self._rules_phenotype = any(rs.governs(b) for b in RULE_PHENOTYPE_BEHAVIOURS)
        self._beh: np.ndarray | None = None  # per-cell behaviours during the sub-steps
        # contact signals read by some rule: counted with the pressure (compute_contacts)
        self._contact_signals = rs is not None and any(
            rs.dictionary.signals[int(i)].template in CONTACT_SIGNALS
            for i in rs.compiled.used_signals
        )
        self._contacts: tuple[np.ndarray, np.ndarray] | None = None  # see compute_pressure
        # per-cell mechanics strengths from rules (compute_velocities' twin kernel)
        self._cell_mechanics = rs is not None and (
            rs.governs("cell-cell adhesion") or rs.governs("cell-cell repulsion")
        )
        self.motile = bool(np.any(col("speed_um_per_min") > 0)) or (
            rs is not None and rs.governs("migration speed")
        )
        self.motility = Motility(
            MotilityParams(
                col("speed_um_per_min"),
                col("persistence_time_min"),
                col("migration_bias"),
                n_types=len(types),
            )  # fmt: skip
        )
        # chemotaxis: bias direction sum_s chi_s grad(s) (motility normalises it); the
        # default table, +1 towards oxygen alone, keeps the plain oxygen gradient bit for bit
        self.chemotaxis = chemotaxis_table(p)
        chemo_ruled = rs is not None and any(
            rs.governs(f"chemotactic response to {s}") for s in self.substrate_names
        )
        self.biased = (
            bool(np.any(col("migration_bias") > 0))
            or (rs is not None and rs.governs("migration bias"))
        ) and (chemo_ruled or bool(np.any(self.chemotaxis != 0.0)))
        unit_o2 = np.array([float(s == OXYGEN) for s in self.substrate_names])
        self._oxygen_bias = (
            OXYGEN in p.substrates and not chemo_ruled and bool(np.all(self.chemotaxis == unit_o2))
        )
        self.prolif_thr = col("proliferation_o2_threshold_mmHg")
        self.prolif_sat = col("proliferation_o2_saturation_mmHg")
        self.uptake = {s: col_map(types, "uptake_per_min", s) for s in self.substrate_names}
        self.secretion = {s: col_map(types, "secretion_per_min", s) for s in self.substrate_names}
        self.target = {s: col_map(types, "secretion_target", s) for s in self.substrate_names}
        self.diffusion = {}
        self.exchange = {}
        for s, sub in p.substrates.items():
            bc = Boundary(sub.boundary, sub.boundary_value)
            self.diffusion[s] = Diffusion(
                mesh, sub.diffusion_um2_per_min, sub.decay_per_min, self.dt_diff, bc,
                p.diffusion_scheme,
            )  # fmt: skip
            self.exchange[s] = SecretionUptake(mesh, p.secretion_scheme)
        self.cells = Cells(mesh.dim, capacity=1024)
        if self.motile:
            for t in DIRECTION_TRAITS:
                self.cells.add_trait(t, 0.0)
        self.pressure = np.zeros(0)

    # -- checks ------------------------------------------------------------------------------
    @classmethod
    def check(cls, params: AgentParams, mesh: Mesh, dt: float) -> list[str]:
        """Time-step ratios, mechanics stability, diffusion accuracy, initial cells in the box."""
        p = params
        problems = []
        if mesh.dim not in (2, 3):
            return [f"mesh.dim = {mesh.dim}: the agent model needs a 2-D or 3-D mesh"]
        if _steps(dt, p.dt_mechanics_min) is None:
            problems.append(
                f"time.dt_min = {dt:g} must be a whole multiple of params.dt_mechanics_min = "
                f"{p.dt_mechanics_min:g}"
            )
        if _steps(p.dt_mechanics_min, p.dt_diffusion_min) is None:
            problems.append(
                f"params.dt_mechanics_min = {p.dt_mechanics_min:g} must be a whole multiple of "
                f"params.dt_diffusion_min = {p.dt_diffusion_min:g}"
            )
        for name, ct in p.cell_types.items():
            # the stiffest the type can get: rules that increase its repulsion saturate at
            # their saturation value (the response lies between base and saturations)
            rep, by = ct.repulsion_um_per_min, ""
            for rule in p.rule_set.table if p.rule_set is not None else ():
                if (
                    rule.cell_type == name
                    and rule.behaviour == "cell-cell repulsion"
                    and rule.direction == "increases"
                    and rule.saturation > rep
                ):
                    rep, by = rule.saturation, f" by the rule {rule.origin}"
            mp = MechanicsParams.single_type(
                rep, ct.adhesion_um_per_min,
                ct.relative_max_adhesion_distance, ct.wall_repulsion_um_per_min,
            )  # fmt: skip
            r = float(sphere_radius(ct.volume_um3))
            limit = max_stable_dt(mp, r, mesh.dim, p.mechanics_scheme)
            if p.dt_mechanics_min > limit:
                problems.append(
                    f"params.dt_mechanics_min = {p.dt_mechanics_min:g} exceeds the mechanics "
                    f"stability limit {limit:.4g} min of cell type {name!r} "
                    f"(repulsion {'up to ' if by else ''}{rep:g} µm/min{by}, radius {r:.3g} µm, "
                    f"{p.mechanics_scheme})"
                )
        for name, sub in p.substrates.items():
            bc = Boundary(sub.boundary, sub.boundary_value)
            D = sub.diffusion_um2_per_min
            limit = accuracy_dt_limit(mesh, D, p.diffusion_scheme, bc)
            if p.dt_diffusion_min > limit * (1 + 1e-12):
                h_min = math.sqrt(p.dt_diffusion_min * D / (limit * D / mesh.h**2))
                problems.append(
                    f"params.dt_diffusion_min = {p.dt_diffusion_min:g} exceeds the "
                    f"{p.diffusion_scheme} accuracy limit {limit:.4g} min for {name} "
                    f"(D = {D:.4g} µm²/min, h = {mesh.h:g} µm, {sub.boundary} walls); use "
                    f"dt_diffusion_min <= {limit:.4g} or mesh.voxel_um >= {h_min:.4g}"
                )
        try:
            initial_cells(p, mesh)
        except ValueError as exc:
            problems.append(f"params.initial: {exc}")
        return problems

    # -- state -------------------------------------------------------------------------------
    def field_specs(self) -> list[FieldSpec]:
        """One field per substrate."""
        return [
            FieldSpec(s, sub.unit, f"substrate {s}", sub.diffusion_um2_per_min, sub.decay_per_min)
            for s, sub in self.params.substrates.items()
        ]

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Uniform substrates; places the initial cells (deterministic, no random numbers)."""
        pos, types = initial_cells(self.params, self.mesh)
        vol = self.volume_params.target_volume[types]
        self.cells = Cells(self.mesh.dim, capacity=max(1024, 2 * len(types)))
        if self.motile:
            for t in DIRECTION_TRAITS:
                self.cells.add_trait(t, 0.0)
        self.cells.add(len(types), position=pos, type=types, volume=vol)
        if self.cells.n:
            self.mechanics.sort(self.cells)
        self.pressure = np.zeros(self.cells.n)
        return {
            s: np.full(self.mesh.array_shape, sub.initial, dtype=np.float64)
            for s, sub in self.params.substrates.items()
        }

    def extra_state(self) -> dict[str, np.ndarray]:
        """The cells' arrays and counters (``Cells.to_dict``) and the last pressures."""
        d = self.cells.to_dict()
        out = {}
        for k, v in d.items():
            if k == "trait_names":
                out[k] = np.array(v, dtype=str) if v else np.zeros(0, dtype="<U1")
            elif k == "trait_defaults":
                out[k] = np.asarray(v, dtype=np.float64)
            else:
                out[k] = np.asarray(v)
        out["pressure"] = self.pressure.copy()
        return out

    def restore_extra_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Rebuild the cells from :meth:`extra_state`."""
        d = dict(arrays)
        self.pressure = np.asarray(d.pop("pressure", np.zeros(0)), dtype=np.float64).copy()
        d["trait_names"] = [str(t) for t in np.atleast_1d(d["trait_names"])]
        d["trait_defaults"] = [float(t) for t in np.atleast_1d(d["trait_defaults"])]
        self.cells = Cells.from_dict(d)

    def snapshot_tables(self) -> dict[str, pd.DataFrame]:
        """``{"cells": one row per cell}`` (:meth:`Cells.to_frame`)."""
        return {"cells": self.cells.to_frame()}

    # -- dynamics ----------------------------------------------------------------------------
    def _bind(self) -> None:
        c = self.cells
        alive = c.dead == 0
        beh = self._beh
        for s in self.substrate_names:
            t = c.type
            if beh is None:
                sec, tgt, upt = self.secretion[s][t], self.target[s][t], self.uptake[s][t]
            else:
                rs = self.rule_set
                sec = beh[:, rs.column(f"{s} secretion")]
                tgt = beh[:, rs.column(f"{s} secretion target")]
                upt = beh[:, rs.column(f"{s} uptake")]
            self.exchange[s].bind(
                c.position, c.volume,
                np.where(alive, sec, 0.0), tgt, np.where(alive, upt, 0.0),
            )  # fmt: skip

    def _rebind(self) -> None:
        """Re-bin the cells by voxel after they moved (rates as bound at the step's start)."""
        for s in self.substrate_names:
            self.exchange[s].bind_positions(self.cells.position)

    def rule_signals(
        self, fields: dict[str, np.ndarray], t_min: float, pressure: np.ndarray
    ) -> np.ndarray:
        """``[n, n_signals]`` the signals the rules read, per cell (other columns 0).

        Contact counts come from the traversal that computed ``pressure`` when it is the array
        :meth:`compute_pressure` just returned, else from a new one over the current state.
        """
        rs = self.rule_set
        c = self.cells
        d = rs.dictionary
        out = np.zeros((c.n, d.n_signals))
        vox = None
        contacts = None
        n_types = len(self.type_names)
        for col in rs.compiled.used_signals:
            entry = d.signals[int(col)]
            kind = entry.template
            if kind in ("{substrate}", "{substrate} gradient") and vox is None:
                vox = voxel_of(c.position, self.mesh)
            if kind in CONTACT_SIGNALS and contacts is None:
                cached = self._contacts
                if cached is not None and cached[0] is pressure:
                    contacts = cached[1]
                else:
                    contacts = self.compute_contacts()[1]
            if kind == "{substrate}":
                out[:, col] = sample_values(fields[entry.target], vox)
            elif kind == "{substrate} gradient":
                g = sample_gradients(fields[entry.target], self.mesh, vox)
                out[:, col] = np.sqrt(np.einsum("ij,ij->i", g, g))
            elif kind == "pressure":
                out[:, col] = pressure
            elif kind == "volume":
                out[:, col] = c.volume
            elif kind == "contact with {cell_type}":
                out[:, col] = contacts[:, d.cell_type(entry.target)]
            elif kind == "contact with live cell":
                out[:, col] = contacts[:, n_types]
            elif kind == "contact with dead cell":
                out[:, col] = contacts[:, n_types + 1]
            elif kind == "dead":
                out[:, col] = c.dead != 0
            elif kind == "apoptotic":
                out[:, col] = c.dead == APOPTOTIC
            elif kind == "necrotic":
                out[:, col] = c.dead == NECROTIC
            elif kind == "time":
                out[:, col] = t_min
            else:  # pragma: no cover - build_rules admits only RULE_SIGNALS
                raise AssertionError(f"signal {entry.name!r} not computed")
        self._contacts = None  # used once, by the evaluation that follows compute_pressure
        return out

    def rule_behaviours(
        self, fields: dict[str, np.ndarray], t_min: float, pressure: np.ndarray
    ) -> np.ndarray:
        """``[n, n_behaviours]`` every cell's behaviours.

        The rules' values where they govern, the cell type's base values elsewhere.
        """
        rs = self.rule_set
        c = self.cells
        signals = self.rule_signals(fields, t_min, pressure)
        return evaluate_rules(rs.compiled, signals, rs.base, c.type, c.dead != 0)

    def _mechanics_step(self, fields: dict[str, np.ndarray], step: int) -> None:
        c = self.cells
        mech = self.mechanics
        mech.rebuild(c)
        rs, beh = self.rule_set, self._beh
        rep = adh = None
        if beh is not None and self._cell_mechanics:
            if rs.governs("cell-cell repulsion"):
                rep = beh[:, rs.column("cell-cell repulsion")]
            if rs.governs("cell-cell adhesion"):
                adh = beh[:, rs.column("cell-cell adhesion")]
        # sorted scratch: x, y, z, r (+ per-cell repulsion, adhesion for the twin kernel)
        cols = 4 if rep is None and adh is None else 6
        compute_velocities(
            c, mech.cell_list, self.mech_params, self.extent, mech.scratch(c.n, cols),
            repulsion=rep, adhesion=adh,
        )  # fmt: skip
        if self.motile:
            bias = self._bias_directions(fields) if self.biased else None
            if beh is None:
                self.motility.step(c, self.dt_mech, self.seed, step, bias)
            else:
                self.motility.step(
                    c, self.dt_mech, self.seed, step, bias,
                    speed=np.ascontiguousarray(beh[:, rs.column("migration speed")]),
                    persistence_time=np.ascontiguousarray(
                        beh[:, rs.column("migration persistence time")]
                    ),
                    bias=np.ascontiguousarray(beh[:, rs.column("migration bias")]),
                )  # fmt: skip
        move(c, self.dt_mech, self.params.mechanics_scheme)

    def _bias_directions(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        """``[n, 3]`` chemotactic directions ``Σ_s χ_s ∇s`` at the cells' voxels (unnormalised).

        ``χ`` per cell: the rules' ``chemotactic response to <s>`` during a ruled step, else the
        type's sensitivity; the default (oxygen alone, +1) is the oxygen gradient itself.
        """
        c = self.cells
        vox = voxel_of(c.position, self.mesh)
        if self._oxygen_bias:
            return sample_gradients(fields[OXYGEN], self.mesh, vox)
        rs, beh = self.rule_set, self._beh
        g = np.zeros((c.n, 3))
        for k, s in enumerate(self.substrate_names):
            if beh is not None:
                chi = beh[:, rs.column(f"chemotactic response to {s}")]
            else:
                chi = self.chemotaxis[c.type, k]
            if np.any(chi != 0.0):
                g += chi[:, None] * sample_gradients(fields[s], self.mesh, vox)
        return g

    def compute_pressure(self) -> np.ndarray:
        """``[n]`` PhysiCell simple pressure of every cell (dimensionless), from the positions.

        When rules read contact signals, the same traversal counts the contacts; the next
        :meth:`rule_signals` given this very array uses them.
        """
        pressure, contacts = self.compute_contacts(self._contact_signals)
        self._contacts = (pressure, contacts) if contacts is not None else None
        return pressure

    def compute_contacts(self, counts: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Simple pressure and contact counts of every cell, in one cell-list traversal.

        A neighbour is in contact when its centre is closer than ``r_i + r_j`` (the cells
        overlap; the same neighbours as the simple pressure).

        Args:
            counts: also count the contacts (else only the pressure).

        Returns:
            ``([n] pressure, [n, T + 2] contacts)``: the dimensionless simple pressure, and the
            number of neighbours in contact of each type (columns ``0..T-1``, dead or alive),
            alive (column ``T``) and dead (column ``T + 1``), as float64; None without
            ``counts``.
        """
        c = self.cells
        out = np.zeros(c.n)
        contacts = np.zeros((c.n, len(self.type_names) + 2)) if counts else np.zeros((1, 2))
        if c.n:
            self.mechanics.rebuild(c)
            cl = self.mechanics.cell_list
            # overlap needs d < r_i + r_j <= 2 r_max: search no further than that (the grid
            # may be coarser); the sums are bit-identical, only empty candidates are skipped
            search = min(cl.cutoff, 2.0 * float(c.radius.max()))
            contact_kernel(c.position, c.radius, c.type, c.dead, cl.order, cl.bin_start, cl.nb,
                            cl.w, cl.inv_w, cl.tol, search, counts, out, contacts)  # fmt: skip
        return out / SIMPLE_PRESSURE_SCALE, contacts if counts else None

    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """One phenotype step: mechanics and diffusion sub-steps, then cell life."""
        mech0 = int(round(t_min / self.dt_mech))
        pheno = int(round(t_min / self.dt))
        if self._rules_substep and self.cells.n:
            # behaviours of the sub-steps, from the state at the start of the step
            press = self.pressure if self.pressure.shape[0] == self.cells.n else None
            if press is None:
                press = np.zeros(self.cells.n)
            self._beh = self.rule_behaviours(fields, t_min, press)
        try:
            self._substeps(fields, mech0)
        finally:
            self._beh = None
        if self.cells.n:
            self._phenotype(fields, pheno, t_min + self.dt)

    def _substeps(self, fields: dict[str, np.ndarray], mech0: int) -> None:
        c = self.cells
        for k in range(self.n_mech):
            if c.n:
                if k == 0:  # volumes and rates change only between phenotype steps
                    self._bind()
                else:
                    self._rebind()
            # small meshes: the diffusion sub-steps on one thread, switched once per mechanics
            # step (see single_thread_if_small); the mechanics choose by the cell count
            with single_thread_if_small(self.mesh):
                for _ in range(self.n_diff):
                    for s in self.substrate_names:
                        u = fields[s]
                        if c.n:
                            self.exchange[s].step(u, self.dt_diff)
                        self.diffusion[s].step(u)
            if c.n:
                self._mechanics_step(fields, mech0 + k)

    def _phenotype(self, fields: dict[str, np.ndarray], step: int, t_end: float) -> None:
        c = self.cells
        dt = self.dt
        pressure = self.compute_pressure()
        vox = voxel_of(c.position, self.mesh)
        o2 = sample_values(fields[OXYGEN], vox) if OXYGEN in fields else None
        beh = None
        if self._rules_phenotype:
            beh = self.rule_behaviours(fields, t_end, pressure)
        update_volumes(c, self.volume_params, self.death_params, dt)
        if beh is None:
            remove = advance_death(c, self.death_params, dt, self.seed, step, o2=o2)
        else:
            remove = self._rule_death(beh, o2, step)
        mult = None
        if o2 is not None:
            t = c.type
            # PhysiCell's factor clip((o2 - thr)/(sat - thr), 0, 1), per type
            mult = np.clip((o2 - self.prolif_thr[t]) / (self.prolif_sat[t] - self.prolif_thr[t]),
                           0.0, 1.0)  # fmt: skip
        if beh is not None and self.rule_set.governs("cycle entry"):
            # rules replace the oxygen factor in the types whose cycle entry they govern
            rs = self.rule_set
            b = rs.column("cycle entry")
            t = c.type
            ruled = rs.governed[t, b]
            base = np.where(ruled, rs.base[t, b], 1.0)
            by_rule = beh[:, b] / base
            mult = np.where(ruled, by_rule, 1.0 if mult is None else mult)
        rows = advance_cycle(c, self.cycle_params, dt, self.seed, step, mult, pressure)
        divide(c, rows, self.seed, step)
        keep_pressure = np.concatenate([pressure, pressure[rows]])
        if remove.size:
            mask = np.zeros(c.n, dtype=bool)
            mask[remove] = True
            c.remove(mask)
            keep_pressure = keep_pressure[~mask]
        self.pressure = keep_pressure
        if c.n:
            order = self._sort_order()
            c.permute(order)
            self.pressure = self.pressure[order]

    def _rule_death(self, beh: np.ndarray, o2: np.ndarray | None, step: int) -> np.ndarray:
        """:func:`advance_death` with the rules' rates where they govern.

        A governed necrosis rate replaces the oxygen dependence of its type.
        """
        c = self.cells
        rs = self.rule_set
        t = c.type
        apo = nec = None
        if rs.governs("apoptosis"):
            apo = np.ascontiguousarray(beh[:, rs.column("apoptosis")])
        if rs.governs("necrosis"):
            b = rs.column("necrosis")
            o2_rate = self.death_params.necrosis_rate(o2, t) if o2 is not None else 0.0
            nec = np.where(rs.governed[t, b], beh[:, b], o2_rate)
        return advance_death(c, self.death_params, self.dt, self.seed, step, o2=o2,
                             apoptosis_rate=apo, necrosis_rate=nec)  # fmt: skip

    def _sort_order(self) -> np.ndarray:
        self.mechanics.rebuild(self.cells)
        return self.mechanics.cell_list.order.astype(np.int64)

    # -- readouts ----------------------------------------------------------------------------
    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """Counts, tumour radius, necrotic fraction, oxygen minimum (see the module contract)."""
        c = self.cells
        dead = c.dead
        alive = dead == 0
        n_all = c.n
        n_live = int(alive.sum())
        n_nec = int((dead == NECROTIC).sum())
        radius = 0.0
        if n_live:
            com = c.position.mean(axis=0)
            d = np.linalg.norm(c.position[alive] - com, axis=1)
            radius = float(np.percentile(d, 95))
        o2min = float(fields[OXYGEN].min()) if OXYGEN in fields else math.nan
        out = {
            "n_cells": float(n_live),
            "tumor_radius_um": radius,
            "n_apoptotic": float(n_all - n_live - n_nec),
            "n_necrotic": float(n_nec),
            "necrotic_fraction": n_nec / n_all if n_all else 0.0,
            "oxygen_min": o2min,
            "front_um": radius,
            "pressure_max": float(self.pressure.max()) if self.pressure.size else 0.0,
        }
        counts = np.bincount(c.type[alive], minlength=len(self.type_names))
        for i, t in enumerate(self.type_names):
            out[f"n_{t}"] = float(counts[i])
        return out


def col_map(types: list[CellType], field: str, substrate: str) -> np.ndarray:
    """``[T]`` per-type values of ``field[substrate]`` (0 where a type does not name it)."""
    return np.array([getattr(t, field).get(substrate, 0.0) for t in types], dtype=np.float64)
