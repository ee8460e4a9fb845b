"""The agent scenario's ``[params]``: a schema assembled from the processes it lists.

Contract:
    * ``params.processes`` names the processes (:data:`~invasim.agents.process.REGISTRY`);
      the schema of ``[params]`` is built for that list (:func:`params_schema`): each process
      with a ``Params`` schema adds the table ``[params.<process>]``, and each one with a
      ``CellParams`` schema adds the sub-table ``[params.cell_types.<type>.<process>]``
      (PhysiCell's phenotype split). A sub-table of a process that is not listed is an unknown
      key, named with the allowed ones. Every cell type also has ``volume`` (its size, which
      places the initial cells with or without the volume process).
    * The fields (``[params.fields.<name>]``, :mod:`invasim.agents.fields`) are the
      simulation's grids: ``kind = "diffusing"`` (the substrates of the rules dictionary) or
      ``"matrix"`` (no diffusion; static or relaxing on the phenotype clock).
    * Behaviour rules (``params.rules``) are parsed, checked against the signals the listed
      processes compute and the behaviours they read, and compiled once
      (:attr:`AgentParamsBase.rule_set`).
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    create_model,
    model_validator,
)

from invasim.agents.fields import DiffusingField, FieldTable
from invasim.agents.interventions import Intervention
from invasim.agents.placement import CellPlacement
from invasim.agents.process import REGISTRY, Process
from invasim.biology.traits import TraitSpec, value_support
from invasim.errors import ConfigError
from invasim.rules import (
    CompiledRules,
    RuleDictionary,
    RuleTable,
    compile_rules,
    parse_rules,
    parse_rules_csv,
)
from invasim.rules.distributions import PerCellValue

#: the processes of a scenario that does not list them (PhysiCell's standard cell)
DEFAULT_PROCESSES = (
    "secretion", "diffusion", "mechanics", "motility", "contacts", "volume", "death", "cycle",
    "division",
)  # fmt: skip
#: signals the engine itself computes (the processes add theirs)
CORE_SIGNALS = (
    "{substrate}", "{substrate} gradient", "volume", "dead", "apoptotic", "necrotic", "time",
    "live {cell_type} count",
)  # fmt: skip
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class VolumeCell(BaseModel):
    """``[params.cell_types.<type>.volume]``: the cell's size and how its volume changes.

    ``model = "lumped"`` (default): one volume relaxing to ``volume_um3`` at
    ``growth_rate_per_min``. ``model = "physicell"``: PhysiCell's fluid, nuclear and
    cytoplasmic compartments (:mod:`invasim.biology.volume`); the keys below
    ``fluid_fraction`` are read by that model only. The necrotic swelling (PhysiCell's
    necrosis ``unlysed_fluid_change_rate``) and rupture volume are the death sub-table's
    ``necrotic_swell_rate_per_min`` and ``relative_rupture_volume``.
    """

    model_config = ConfigDict(extra="forbid")

    model: Literal["lumped", "physicell"] = Field(
        "lumped",
        description="lumped: one volume relaxing to volume_um3; physicell: PhysiCell's fluid, "
        "nuclear and cytoplasmic volumes, doubling before division, death models' rates",
    )
    volume_um3: float = Field(
        2494.0, gt=0, description="target (and initial) cell volume [µm³] (PhysiCell 2494)"
    )
    growth_rate_per_min: float = Field(
        0.27 / 60.0,
        ge=0,
        description="lumped: relaxation rate of the volume to its target; physicell: the "
        "cytoplasmic biomass change rate [1/min] (PhysiCell cytoplasmic 0.27/h)",
    )
    initial_um3: PerCellValue | None = Field(
        None,
        description="volume of the initial cells [µm³], a number or a distribution table "
        "(PhysiCell's initial parameter distribution of volume); None: volume_um3. The cells "
        "then relax to volume_um3 (lumped) or keep their volume as target (physicell, "
        "PhysiCell's set_total_volume)",
    )
    fluid_fraction: float = Field(
        0.75, ge=0, le=1, description="physicell: fluid fraction of the volume (PhysiCell 0.75)"
    )
    nuclear_um3: float = Field(
        540.0, ge=0, description="physicell: nuclear volume [µm³] (PhysiCell 540)"
    )
    fluid_change_rate_per_min: float = Field(
        0.05, ge=0, description="physicell: fluid change rate [1/min] (PhysiCell 3/h)"
    )
    nuclear_biomass_change_rate_per_min: float = Field(
        0.33 / 60.0,
        ge=0,
        description="physicell: nuclear biomass change rate [1/min] (PhysiCell 0.33/h)",
    )
    calcified_fraction: float = Field(
        0.0, ge=0, le=1, description="physicell: initial calcified fraction (PhysiCell 0)"
    )
    calcification_rate_per_min: float = Field(
        0.0, ge=0, description="physicell: calcification rate of live cells [1/min] (0)"
    )
    relative_rupture_volume: float = Field(
        2.0,
        gt=0,
        description="physicell: PhysiCell's <volume> value, kept for the record: its death "
        "models replace it (necrosis: the death sub-table's relative_rupture_volume)",
    )
    apoptotic_fluid_change_rate_per_min: float = Field(
        0.05,
        ge=0,
        description="physicell: apoptosis unlysed_fluid_change_rate [1/min] (PhysiCell 3/h)",
    )
    apoptotic_cytoplasmic_biomass_change_rate_per_min: float = Field(
        1.0 / 60.0,
        ge=0,
        description="physicell: apoptosis cytoplasmic_biomass_change_rate [1/min] (1/h)",
    )
    apoptotic_nuclear_biomass_change_rate_per_min: float = Field(
        0.35 / 60.0,
        ge=0,
        description="physicell: apoptosis nuclear_biomass_change_rate [1/min] (0.35/h)",
    )
    apoptotic_calcification_rate_per_min: float = Field(
        0.0, ge=0, description="physicell: apoptosis calcification_rate [1/min] (0)"
    )
    necrotic_lysed_fluid_change_rate_per_min: float = Field(
        0.05 / 60.0,
        ge=0,
        description="physicell: necrosis lysed_fluid_change_rate [1/min] (PhysiCell 0.05/h)",
    )
    necrotic_cytoplasmic_biomass_change_rate_per_min: float = Field(
        0.0032 / 60.0,
        ge=0,
        description="physicell: necrosis cytoplasmic_biomass_change_rate [1/min] (0.0032/h)",
    )
    necrotic_nuclear_biomass_change_rate_per_min: float = Field(
        0.013 / 60.0,
        ge=0,
        description="physicell: necrosis nuclear_biomass_change_rate [1/min] (0.013/h)",
    )
    necrotic_calcification_rate_per_min: float = Field(
        0.0042 / 60.0,
        ge=0,
        description="physicell: necrosis calcification_rate [1/min] (PhysiCell 0.0042/h)",
    )

    @model_validator(mode="after")
    def _positive_initial(self) -> VolumeCell:
        if self.initial_um3 is not None:
            lo, _ = value_support(self.initial_um3)
            if not lo > 0:
                raise ValueError(f"initial_um3 must be > 0 µm³ for every cell; the "
                                 f"distribution reaches {lo:g}")  # fmt: skip
        if self.model == "physicell" and self.nuclear_um3 > self.volume_um3:
            raise ValueError(f"nuclear_um3 {self.nuclear_um3:g} must not exceed volume_um3 "
                             f"{self.volume_um3:g}")  # fmt: skip
        return self


class TraitTable(TraitSpec):
    """``[params.traits.<name>]``: a heritable per-cell trait (:mod:`invasim.biology.traits`)."""

    name: str = Field("", description="set from the table's key")
    scales: list[str] = Field(
        default_factory=list,
        description="behaviours (rules names) multiplied by the trait's value, per cell "
        "(layer 2 of the behaviour matrix); the value is then a dimensionless factor",
    )
    sets: list[str] = Field(
        default_factory=list,
        description="behaviours (rules names) set to the trait's value, per cell (layer 2; "
        "the value is then in the behaviour's unit): PhysiCell's initial parameter "
        "distributions",
    )
    cell_types: list[str] = Field(
        default_factory=list,
        description="the cell types whose behaviours the trait scales or sets (empty: every "
        "type); cells of other types carry the value without its effect",
    )

    def spec(self, name: str) -> TraitSpec:
        """The :class:`~invasim.biology.traits.TraitSpec` of the trait called ``name``."""
        data = {k: getattr(self, k) for k in TraitSpec.model_fields}
        data["name"] = name
        return TraitSpec.model_validate(data)


class CellTypeBase(BaseModel):
    """One cell type: its volume, and one sub-table per listed process."""

    model_config = ConfigDict(extra="forbid")

    volume: VolumeCell = Field(default_factory=VolumeCell, description="cell size")


@dataclass(frozen=True)
class RuleSet:
    """A scenario's rules ready to run.

    Attributes:
        table: the validated rules (canonical names).
        base: ``[n_types, n_behaviours]`` the cell types' values of every behaviour a listed
            process reads (0 elsewhere), in dictionary columns.
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


class AgentParamsBase(BaseModel):
    """Parameters of an agent scenario (µm, min); see the module contract."""

    model_config = ConfigDict(extra="forbid")

    processes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PROCESSES),
        description="the processes that run, by name (docs/agents.md lists them); their order "
        "on each clock is fixed by the engine",
    )
    dt_diffusion_min: float = Field(
        0.01,
        gt=0,
        description="diffusion time step [min] (PhysiCell 0.01; must also meet the "
        "solver's accuracy limit, checked)",
    )
    dt_mechanics_min: float = Field(
        0.1, gt=0, description="mechanics time step [min] (PhysiCell 0.1; stability checked)"
    )
    mechanics_scheme: Literal["ab2", "euler"] = Field(
        "ab2", description="motion integrator (PhysiCell: Adams–Bashforth 2)"
    )
    fields: dict[str, FieldTable] = Field(
        default_factory=lambda: {"oxygen": DiffusingField()},
        description="the fields by name: kind 'diffusing' (substrates: oxygen, MMPs, ...) or "
        "'matrix' (no diffusion: ECM density, basement membrane, deposited laminin)",
    )
    cell_types: dict[str, CellTypeBase] = Field(
        default_factory=dict, description="cell types by name; the order gives the type index"
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

    traits: dict[str, TraitTable] = Field(
        default_factory=dict,
        description="heritable per-cell traits by name: initial value or distribution, bounds, "
        "mutation rate and step at division, inheritance (copy or split), behaviours scaled",
    )
    readouts: list[str] = Field(
        default_factory=list,
        description="further registered readouts (invasim readouts --list: the pathology "
        "readouts invasion_depth_um, n_buds, front_fractal_dim ...) computed at every output "
        "into metrics.csv; NaN at an output where one does not apply",
    )
    interventions: list[Intervention] = Field(
        default_factory=list,
        description="scheduled changes: [[params.interventions]] tables of kind scale/set (a "
        "behaviour over a time window: a drug), remove (cells in a region: resection), "
        "add_cells, bolus (a field in a region); see docs/agents.md",
    )

    _rule_set: RuleSet | None = PrivateAttr(None)

    @property
    def rule_set(self) -> RuleSet | None:
        """The validated, compiled rules with the cell types' base values; None: no rules."""
        return self._rule_set

    def trait_specs(self) -> list[TraitSpec]:
        """The declared traits as :class:`~invasim.biology.traits.TraitSpec`, in order."""
        return [t.spec(name) for name, t in self.traits.items()]

    def listed(self) -> list[type[Process]]:
        """The listed process classes, in the scenario's order."""
        return [REGISTRY[p] for p in self.processes]

    @model_validator(mode="after")
    def _names(self) -> AgentParamsBase:
        if not self.cell_types:
            raise ValueError("cell_types needs at least one cell type")
        for kind, names in (("cell type", self.cell_types), ("field", self.fields),
                            ("trait", self.traits)):  # fmt: skip
            for name in names:
                if not _NAME.match(name):
                    raise ValueError(f"{kind} name {name!r} must be a letter then [A-Za-z0-9_]")
        for name, trait in self.traits.items():
            try:
                trait.spec(name)
            except ValueError as exc:  # a name taken by a cell column
                first = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
                raise ValueError(f"trait {name!r}: {first.removeprefix('Value error, ')}") from None
        known = sorted(self.fields)
        for tname, ct in self.cell_types.items():
            for proc in self.processes:
                sub = getattr(ct, proc, None)
                for key in REGISTRY[proc].field_keyed if sub is not None else ():
                    value = getattr(sub, key)
                    if set(value) - set(known):
                        raise ValueError(
                            f"cell type {tname!r}: {proc}.{key} names unknown field(s) "
                            f"{sorted(set(value) - set(known))}; fields: {known}"
                        )
        from invasim.analysis import readouts as rd  # registers every readout

        types, fields = list(self.cell_types), list(self.fields)

        def members(r) -> list[str]:
            ph = rd.placeholder(r.name)
            return ([r.name] if ph is None
                    else [r.name.replace(ph, x) for x in (types if ph == rd.TYPE else fields)])

        allowed = [n for r in rd.REGISTRY.values() for n in members(r)]
        for name in self.readouts:
            if name not in allowed:
                raise ValueError(f"readouts: {rd.unknown_name_error(name, allowed)}")
        ini = self.initial.cell_type
        if ini is not None and ini not in self.cell_types:
            raise ValueError(
                f"initial.cell_type {ini!r} is not a cell type; known: {list(self.cell_types)}"
            )
        return self

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> AgentParamsBase:
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


def check_process_names(names: Any) -> tuple[str, ...]:
    """The listed process names, checked: known, not repeated, with what they require."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"params.processes = {names!r}: expected a list of process names")
    for name in names:
        if name not in REGISTRY:
            hint = difflib.get_close_matches(name, list(REGISTRY), n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(
                f"params.processes: unknown process {name!r}{did}; known: "
                f"{', '.join(sorted(REGISTRY))}"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"params.processes = {names}: a process is listed twice")
    for name in names:
        missing = [r for r in REGISTRY[name].requires if r not in names]
        if missing:
            raise ConfigError(
                f"params.processes: process {name!r} needs {', '.join(map(repr, missing))} "
                f"in the list too"
            )
    return tuple(names)


@functools.cache
def params_schema(processes: tuple[str, ...]) -> type[AgentParamsBase]:
    """The ``[params]`` schema of a scenario listing ``processes`` (checked names)."""
    cell_fields: dict[str, Any] = {}
    table_fields: dict[str, Any] = {}
    for name in processes:
        proc = REGISTRY[name]
        if proc.CellParams is not None:
            cell_fields[name] = (
                proc.CellParams,
                Field(default_factory=proc.CellParams, description=f"{name}: {proc.title}"),
            )
        if proc.Params is not None:
            table_fields[name] = (
                proc.Params,
                Field(default_factory=proc.Params, description=f"{name}: {proc.title}"),
            )
    cell_type = create_model("CellType", __base__=CellTypeBase, **cell_fields)
    return create_model(
        "AgentParams",
        __base__=AgentParamsBase,
        cell_types=(
            dict[str, cell_type],
            Field(
                default_factory=lambda: {"tumor": cell_type()},
                description="cell types by name; the order gives the type index",
            ),
        ),
        **table_fields,
    )


# -- behaviour rules ---------------------------------------------------------------------------
def dictionary(params: AgentParamsBase) -> RuleDictionary:
    """The rules dictionary of a scenario: its diffusing fields and cell types."""
    subs = {s: f.unit for s, f in params.fields.items() if f.kind == "diffusing"}
    custom = getattr(getattr(params, "custom_data", None), "variables", None) or {}
    return RuleDictionary(subs, list(params.cell_types), custom)


def behaviour_table(params: AgentParamsBase, d: RuleDictionary) -> tuple[list, np.ndarray]:
    """The behaviours the listed processes read and every type's value of them.

    Returns:
        ``(entries, base)``: the dictionary entries in dictionary order, and
        ``[n_types, n_dictionary_behaviours]`` base values (0 where no process reads one).
    """
    base = np.zeros((len(params.cell_types), d.n_behaviours))
    entries = []
    for proc in params.listed():
        templates = set(proc.behaviours)
        entries += [b for b in d.behaviours if b.template in templates]
        for t, ct in enumerate(params.cell_types.values()):
            for name, value in proc.base_behaviours(ct, params).items():
                base[t, d.behaviour(name).index] = value
    entries.sort(key=lambda e: e.index)
    return entries, base


def build_rules(params: AgentParamsBase) -> RuleSet:
    """Parse, check and compile ``params.rules`` (a resolved CSV path or a list of tables).

    Raises:
        ConfigError: one line starting ``params.rules``: an unknown name (with the nearest),
            a conflict (naming both rules), a signal no listed process computes or a
            behaviour none reads, or an unreadable CSV.
    """
    d = dictionary(params)
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
    entries, base = behaviour_table(params, d)
    computed = (*CORE_SIGNALS, *(s for p in params.listed() for s in p.signals))
    applied = tuple(dict.fromkeys(b for p in params.listed() for b in p.behaviours))
    governed = np.zeros(base.shape, dtype=bool)
    for rule in table:
        sig = d.signal(rule.signal)
        if sig.template not in computed:
            raise ConfigError(
                f"{rule.origin}: signal {rule.signal!r} is not computed by the listed processes "
                f"({', '.join(params.processes)}); they compute "
                f"{', '.join(repr(x) for x in computed)} (per field or cell type)"
            )
        beh = d.behaviour(rule.behaviour)
        if beh.template not in applied:
            raise ConfigError(
                f"{rule.origin}: behaviour {rule.behaviour!r} is not read by the listed "
                f"processes ({', '.join(params.processes)}); they read "
                f"{', '.join(repr(x) for x in applied)} (per field)"
            )
        t = d.cell_type(rule.cell_type)
        if beh.name == "cycle entry" and not base[t, beh.index] > 0:
            raise ConfigError(
                f"{rule.origin}: cycle entry of {rule.cell_type!r} has base rate 0; rules scale "
                f"a positive base rate (give the cell type a cycle rate)"
            )
        governed[t, beh.index] = True
    return RuleSet(table, base, compile_rules(table, base), governed)

