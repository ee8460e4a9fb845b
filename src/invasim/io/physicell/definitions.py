"""PhysiCell's cell definitions as ``initialize_cell_definition_from_pugixml`` builds them.

Contract:
    * :func:`read_cell_definitions` reproduces ``initialize_cell_definition_from_pugixml``
      (``core/PhysiCell_cell.cpp``): the definition named ``default`` or with ``ID="0"`` is
      PhysiCell's ``cell_defaults`` (PhysiCell's built-in defaults below it), every other one
      starts as a copy of its ``parent_type`` or of ``cell_defaults`` (with the April 2022
      fix that zeroes motility, secretion, interactions and transformations of an implicit
      copy), then its own elements override. Cycle phase ``fixed_duration`` flags and the
      death models' phase durations belong to PhysiCell's shared model objects, so the last
      definition that writes one sets it for every type (:class:`SharedModels`).
    * Every value carries where it came from (:class:`~invasim.io.physicell.xml.V`):
      ``"line N"``, ``"inherited from 'X'"`` or ``"PhysiCell default"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from invasim.biology.cycle import STANDARD_MODELS
from invasim.errors import InvasimError
from invasim.io.physicell.xml import Node, V, as_bool, as_double, as_int, num

#: PhysiCell's standard cycle models: code -> (invasim name, phase names, PhysiCell's default
#: exit rates 1/min, phases with a fixed duration) (core/PhysiCell_standard_models.cpp, as
#: :data:`invasim.biology.cycle.STANDARD_MODELS` holds them)
CYCLE_MODELS: dict[int, tuple[str, tuple[str, ...], tuple[float, ...], frozenset[int]]] = {
    s.code: (s.name, s.phases, s.rates, frozenset(p for p, f in enumerate(s.fixed) if f))
    for s in STANDARD_MODELS.values()
}
#: PhysiCell's cycle and death model names (``cycle_model_codes``, looked up in lower case)
MODEL_CODES = {
    **{s.physicell.lower(): s.code for s in STANDARD_MODELS.values()},
    "apoptosis": 100, "necrosis": 101,
}  # fmt: skip
APOPTOSIS, NECROSIS = 100, 101

#: PhysiCell's built-in cell (``cell_defaults`` before the XML; the Phenotype constructors and
#: ``initialize_default_cell_definition``)
_DEFAULTS: dict[str, float | bool] = {
    "volume.total": 2494.0, "volume.fluid_fraction": 0.75, "volume.nuclear": 540.0,
    "volume.fluid_change_rate": 3.0 / 60, "volume.cytoplasmic_biomass_change_rate": 0.27 / 60,
    "volume.nuclear_biomass_change_rate": 0.33 / 60, "volume.calcified_fraction": 0.0,
    "volume.calcification_rate": 0.0, "volume.relative_rupture_volume": 2.0,
    "mechanics.cell_cell_adhesion_strength": 0.4, "mechanics.cell_BM_adhesion_strength": 4.0,
    "mechanics.cell_cell_repulsion_strength": 10.0, "mechanics.cell_BM_repulsion_strength": 100.0,
    "mechanics.relative_maximum_adhesion_distance": 1.25,
    "mechanics.attachment_elastic_constant": 0.01, "mechanics.attachment_rate": 0.0,
    "mechanics.detachment_rate": 0.0, "mechanics.maximum_number_of_attachments": 12.0,
    "motility.speed": 1.0, "motility.persistence_time": 1.0, "motility.migration_bias": 0.0,
    "motility.enabled": False, "motility.use_2D": False, "motility.chemotaxis": False,
    "motility.chemotaxis_direction": 1.0, "motility.advanced_chemotaxis": False,
    "motility.normalize_each_gradient": False,
    "interactions.apoptotic_phagocytosis_rate": 0.0,
    "interactions.necrotic_phagocytosis_rate": 0.0,
    "interactions.other_dead_phagocytosis_rate": 0.0,
    "interactions.attack_damage_rate": 1.0, "interactions.attack_duration": 30.0,
    "integrity.damage_rate": 0.0, "integrity.damage_repair_rate": 0.0,
    "death.100.rate": 0.00319 / 60, "death.101.rate": 0.0,
}  # fmt: skip
#: the death models' parameters (Death_Parameters) by model code
_DEATH_PARAMETERS = {
    APOPTOSIS: {"unlysed_fluid_change_rate": 3.0 / 60, "lysed_fluid_change_rate": 0.0,
                "cytoplasmic_biomass_change_rate": 1.0 / 60,
                "nuclear_biomass_change_rate": 0.35 / 60, "calcification_rate": 0.0,
                "relative_rupture_volume": 2.0},
    NECROSIS: {"unlysed_fluid_change_rate": 0.67 / 60, "lysed_fluid_change_rate": 0.05 / 60,
               "cytoplasmic_biomass_change_rate": 0.0032 / 60,
               "nuclear_biomass_change_rate": 0.013 / 60, "calcification_rate": 0.0042 / 60,
               "relative_rupture_volume": 2.0},
}  # fmt: skip


@dataclass
class CellDef:
    """One cell definition as PhysiCell holds it after reading the XML.

    ``values`` maps dotted names (``"volume.total"``, ``"cycle.rate.0"``, ``"death.100.rate"``,
    ``"secretion.oxygen.uptake_rate"``, ``"interactions.attack.<type>"``, ...) to :class:`V`.
    """

    name: str
    type_id: int
    node: Node
    values: dict[str, V] = field(default_factory=dict)
    custom: dict[str, tuple[V, str, bool]] = field(default_factory=dict)
    vector_custom: dict[str, Node] = field(default_factory=dict)
    distributions: list[Node] = field(default_factory=list)
    intracellular: Node | None = None
    asymmetric: Node | None = None
    inherits: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (``default`` if unset)."""
        v = self.values.get(key)
        return default if v is None else v.value

    def keys(self, prefix: str) -> list[str]:
        """The keys starting with ``prefix``, in insertion order."""
        return [k for k in self.values if k.startswith(prefix)]


@dataclass
class SharedModels:
    """PhysiCell's shared model state, written by whichever definition comes last.

    ``fixed``: ``{cycle code: {phase: V(bool)}}`` (phase ``fixed_duration`` flags);
    ``death``: ``{(death code, phase): V(rate)}`` and ``death_fixed`` likewise (the death
    models' phase exit rates and fixed flags); ``writers`` counts the distinct values written,
    to say when types disagreed.
    """

    fixed: dict[int, dict[int, V]] = field(default_factory=dict)
    death: dict[tuple[int, int], V] = field(default_factory=dict)
    death_duration: dict[tuple[int, int], V] = field(default_factory=dict)
    death_fixed: dict[tuple[int, int], V] = field(default_factory=dict)
    written: dict[tuple, set] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for code, (_, _, _, fixed) in CYCLE_MODELS.items():
            self.fixed[code] = {p: V(True) for p in fixed}
        self.death = {(APOPTOSIS, 0): V(1.0 / (8.6 * 60.0)), (NECROSIS, 0): V(9e9),
                      (NECROSIS, 1): V(1.0 / (60.0 * 24.0 * 60.0))}  # fmt: skip
        self.death_fixed = {(APOPTOSIS, 0): V(True), (NECROSIS, 1): V(True)}

    def note(self, key: tuple, value: Any) -> None:
        """Record one write of a shared value."""
        self.written.setdefault(key, set()).add(value)


def model_code(node: Node) -> int:
    """A cycle or death ``<model>``/``<cycle>`` code from ``code`` or ``name`` (-1: unknown)."""
    code = node.attr("code")
    if code.strip():
        return as_int(code)
    return MODEL_CODES.get(node.attr("name").strip().lower(), -1)


def read_cell_definitions(
    root: Node, substrates: list[str], use_2d: bool
) -> tuple[list[CellDef], SharedModels, list[str]]:
    """The cell definitions in PhysiCell's order, the shared model state, and notes.

    Raises:
        InvasimError: a cycle or death model PhysiCell does not know (PhysiCell stops too).
    """
    shared = SharedModels()
    notes: list[str] = []
    defs: list[CellDef] = []
    node = root.child("cell_definitions")
    if node is None:
        return defs, shared, notes
    node.use()
    base = CellDef("default", 0, node)
    base.values = {k: V(v) for k, v in _DEFAULTS.items()}
    base.values["cycle.code"] = V(0)
    for p, r in enumerate(CYCLE_MODELS[0][2]):
        base.values[f"cycle.rate.{p}"] = V(r)
    for code, params in _DEATH_PARAMETERS.items():
        for k, v in params.items():
            base.values[f"death.{code}.{k}"] = V(v)
    names = [cd.attr("name") for cd in node.all("cell_definition")]
    for cd_node in node.all("cell_definition"):
        cd_node.use()
        name = cd_node.attr("name")
        is_default = name == "default" or cd_node.attr("ID") == "0"
        parent_name = cd_node.attr("parent_type")
        parent = next((d for d in defs if d.name == parent_name), None) if parent_name else None
        implicit = parent is None and not is_default
        if parent is None:
            parent = base
        cd = CellDef(name, as_int(cd_node.attr("ID", "-1")), cd_node)
        cd.values = dict(parent.values)
        cd.custom = dict(parent.custom)
        cd.vector_custom = dict(parent.vector_custom)
        cd.intracellular = None
        if parent in defs:  # a definition of the file (not PhysiCell's built-in cell)
            cd.inherits = parent.name
            cd.values = {k: V(v.value, f"inherited from {parent.name!r}") if v.where.startswith(
                "line") else v for k, v in cd.values.items()}  # fmt: skip
        if implicit:
            _april_2022_fix(cd, substrates, names)
        if use_2d:
            cd.values["motility.use_2D"] = V(True, "domain use_2D")
        pheno = cd_node.child("phenotype")
        if pheno is not None:
            pheno.use()
            _cycle(cd, pheno, shared)
            _death(cd, pheno, shared, fresh_parameters=is_default)
            _volume(cd, pheno)
            _mechanics(cd, pheno, names)
            _motility(cd, pheno, substrates, use_2d)
            _secretion(cd, pheno, substrates, notes)
            _interactions(cd, pheno, names, notes)
            _transformations(cd, pheno, names)
            _integrity(cd, pheno)
            cd.intracellular = pheno.child("intracellular")
        _custom_data(cd, cd_node)
        dist = cd_node.child("initial_parameter_distributions")
        if dist is not None:
            dist.use_all()
            if as_bool(dist.attr("enabled", "true")):  # absent: enabled (PhysiCell)
                cd.distributions = [d for d in dist.all("distribution")
                                    if as_bool(d.attr("enabled", "true"))]  # fmt: skip
        if is_default and defs:
            notes.append(f"<cell_definition name={name!r}> (line {cd_node.line}) is PhysiCell's "
                         f"cell_defaults but not the first definition")  # fmt: skip
        if is_default:
            base = cd
        defs.append(cd)
    return defs, shared, notes


def _april_2022_fix(cd: CellDef, substrates: list[str], names: list[str]) -> None:
    """What PhysiCell zeroes in an implicit copy of ``cell_defaults``."""
    z = "PhysiCell default (implicit copy of cell_defaults)"
    for k in list(cd.values):
        if k.startswith(("secretion.", "interactions.live_phagocytosis.", "interactions.attack.",
                         "interactions.fusion.", "transformation.", "motility.sensitivity.")):
            cd.values[k] = V(0.0, z)
    cd.values["motility.enabled"] = V(False, z)
    cd.values["motility.chemotaxis"] = V(False, z)
    cd.values["motility.advanced_chemotaxis"] = V(False, z)
    for k in ("apoptotic", "necrotic", "other_dead"):
        cd.values[f"interactions.{k}_phagocytosis_rate"] = V(0.0, z)
    cd.values["interactions.attack_damage_rate"] = V(1.0, z)


def _cycle(cd: CellDef, pheno: Node, shared: SharedModels) -> None:
    node = pheno.child("cycle")
    if node is None:
        return
    node.use()
    code = model_code(node)
    if code < 0 or (code not in CYCLE_MODELS and code not in (3, 4)):
        raise InvasimError(
            f"<cell_definition name={cd.name!r}><phenotype><cycle> (line {node.line}): unknown "
            f"cycle model code={node.attr('code')!r} name={node.attr('name')!r} (PhysiCell "
            f"stops too); known codes: 0, 1, 2, 5, 6, 7"
        )
    if node.attr("code").strip():  # PhysiCell sets the model only when the code is given
        if code in (3, 4):
            cd.values["cycle.substituted"] = V(code, node.where())
            code = 5
        old = cd.get("cycle.code")
        cd.values["cycle.code"] = V(code, node.where())
        if old != code:
            for k in cd.keys("cycle.rate.") + cd.keys("cycle.duration."):
                del cd.values[k]
            for p, r in enumerate(CYCLE_MODELS[code][2]):
                cd.values[f"cycle.rate.{p}"] = V(r)
    code = cd.get("cycle.code")
    rates = node.child("phase_transition_rates") or node.child("transition_rates")
    for r in rates.all("rate") if rates is not None else ():
        start = as_int(r.attr("start_index"))
        cd.values[f"cycle.rate.{start}"] = num(r)
        cd.values.pop(f"cycle.duration.{start}", None)
        _shared_fixed(shared, code, start, r, cd)
    durations = node.child("phase_durations")
    for d in durations.all("duration") if durations is not None else ():
        start = as_int(d.attr("index"))
        value = d.double()
        cd.values[f"cycle.duration.{start}"] = V(value, d.where())
        cd.values[f"cycle.rate.{start}"] = V(1.0 / (value + 1e-16), d.where())
        _shared_fixed(shared, code, start, d, cd)
    asym = node.child("standard_asymmetric_division")
    if asym is not None:
        asym.use_all()
        if as_bool(asym.attr("enabled")):
            cd.asymmetric = asym


def _shared_fixed(shared: SharedModels, code: int, phase: int, node: Node, cd: CellDef) -> None:
    fixed = as_bool(node.attr("fixed_duration")) if "fixed_duration" in node.attrib else False
    shared.fixed.setdefault(code, {})[phase] = V(fixed, f"{cd.name!r}, line {node.line}")
    shared.note(("cycle", code, phase), fixed)


def _death(cd: CellDef, pheno: Node, shared: SharedModels, fresh_parameters: bool) -> None:
    """Death rates and parameters.

    ``fresh_parameters``: PhysiCell's parentless definition, whose death parameters start from
    the ``Death_Parameters`` constructor, not from a copy.
    """
    node = pheno.child("death")
    if node is None:
        return
    node.use()
    for model in node.all("model"):
        model.use()
        code = model_code(model)
        if code == 102:
            cd.values["death.autophagy"] = V(True, model.where())
            continue
        if code not in (APOPTOSIS, NECROSIS):
            raise InvasimError(
                f"<cell_definition name={cd.name!r}><phenotype><death><model> (line "
                f"{model.line}): unknown death model code={model.attr('code')!r} "
                f"name={model.attr('name')!r} (PhysiCell stops too); known: 100 apoptosis, "
                f"101 necrosis"
            )
        rate = model.child("death_rate") or model.child("rate")
        cd.values[f"death.{code}.rate"] = num(rate) if rate is not None else V(0.0, model.where())
        if fresh_parameters:
            for k, v in _DEATH_PARAMETERS[APOPTOSIS].items():
                cd.values[f"death.{code}.{k}"] = V(v if k != "lysed_fluid_change_rate"
                                                   else 0.05 / 60)  # fmt: skip
        params = model.child("parameters")
        for p in params.children if params is not None else ():
            if p.tag in _DEATH_PARAMETERS[code]:
                cd.values[f"death.{code}.{p.tag}"] = num(p)
        where = f"{cd.name!r}, line"
        rates = model.child("phase_transition_rates") or model.child("transition_rates")
        for r in rates.all("rate") if rates is not None else ():
            start = as_int(r.attr("start_index"))
            shared.death[(code, start)] = V(r.double(), f"{where} {r.line}")
            shared.death_duration.pop((code, start), None)
            fixed = as_bool(r.attr("fixed_duration")) if "fixed_duration" in r.attrib else False
            shared.death_fixed[(code, start)] = V(fixed, f"{where} {r.line}")
            shared.note(("death", code, start), (r.double(), fixed))
        durations = model.child("phase_durations")
        for d in durations.all("duration") if durations is not None else ():
            start = as_int(d.attr("index"))
            value = d.double()
            shared.death[(code, start)] = V(1.0 / (value + 1e-16), f"{where} {d.line}")
            shared.death_duration[(code, start)] = V(value, f"{where} {d.line}")
            fixed = as_bool(d.attr("fixed_duration")) if "fixed_duration" in d.attrib else False
            shared.death_fixed[(code, start)] = V(fixed, f"{where} {d.line}")
            shared.note(("death", code, start), (1.0 / (value + 1e-16), fixed))


def _volume(cd: CellDef, pheno: Node) -> None:
    node = pheno.child("volume")
    for c in node.children if node is not None else ():
        if f"volume.{c.tag}" in _DEFAULTS:
            cd.values[f"volume.{c.tag}"] = num(c)


def _mechanics(cd: CellDef, pheno: Node, names: list[str]) -> None:
    node = pheno.child("mechanics")
    if node is None:
        return
    for c in node.children:
        if f"mechanics.{c.tag}" in _DEFAULTS:
            cd.values[f"mechanics.{c.tag}"] = num(c)
    aff = node.child("cell_adhesion_affinities")
    for a in aff.all("cell_adhesion_affinity") if aff is not None else ():
        if a.attr("name") in names:
            cd.values[f"mechanics.affinity.{a.attr('name')}"] = num(a)
    opts = node.child("options")
    if opts is None:
        return
    rel, ab = opts.child("set_relative_equilibrium_distance"), opts.child(
        "set_absolute_equilibrium_distance")  # fmt: skip
    for opt, absolute in ((rel, False), (ab, True)):
        if opt is None:
            continue
        opt.use_all()
        if not as_bool(opt.attr("enabled")):
            continue
        s = opt.double()
        if absolute:  # relative to the radius of the type's volume (geometry.update)
            s /= (3.0 * cd.get("volume.total") / (4.0 * math.pi)) ** (1.0 / 3.0)
        s = min(s, 2.0)
        smax = cd.get("mechanics.relative_maximum_adhesion_distance")
        factor = ((1.0 - s / 2.0) / (1.0 - s / (2.0 * smax))) ** 2
        rep = cd.get("mechanics.cell_cell_repulsion_strength")
        cd.values["mechanics.cell_cell_adhesion_strength"] = V(
            rep * factor, f"line {opt.line} ({opt.tag} = {opt.text})"
        )


def _motility(cd: CellDef, pheno: Node, substrates: list[str], use_2d: bool) -> None:
    node = pheno.child("motility")
    if node is None:
        return
    for tag, key in (("speed", "speed"), ("persistence_time", "persistence_time"),
                     ("migration_bias", "migration_bias")):  # fmt: skip
        c = node.child(tag)
        if c is not None:
            cd.values[f"motility.{key}"] = num(c)
    opts = node.child("options")
    if opts is None:
        return
    for tag in ("enabled", "use_2D"):
        c = opts.child(tag)
        if c is not None:
            cd.values[f"motility.{tag}"] = V(c.flag(), c.where())
    if use_2d:
        cd.values["motility.use_2D"] = V(True, "domain use_2D")
    chemo = opts.child("chemotaxis")
    if chemo is not None:
        chemo.use_all()
        if as_bool(chemo.child("enabled").text if chemo.child("enabled") else ""):
            cd.values["motility.chemotaxis"] = V(True, chemo.where())
        sub = chemo.child("substrate")
        cd.values["motility.chemotaxis_substrate"] = V(sub.text if sub else "", chemo.where())
        d = chemo.child("direction")
        cd.values["motility.chemotaxis_direction"] = V(
            float(as_int(d.text)) if d is not None else 0.0, chemo.where())  # fmt: skip
    adv = opts.child("advanced_chemotaxis")
    if adv is not None:
        adv.use()
        en = adv.child("enabled")
        if en is not None and en.flag():
            cd.values["motility.advanced_chemotaxis"] = V(True, en.where())
            norm = adv.child("normalize_each_gradient")
            cd.values["motility.normalize_each_gradient"] = V(
                norm is not None and norm.flag(), norm.where() if norm else en.where())
        elif adv.child("normalize_each_gradient") is not None:
            adv.child("normalize_each_gradient").use()
        sens = adv.child("chemotactic_sensitivities")
        for s in sens.all("chemotactic_sensitivity") if sens is not None else ():
            if s.attr("substrate") in substrates:
                cd.values[f"motility.sensitivity.{s.attr('substrate')}"] = num(s)
            else:
                s.use()  # PhysiCell warns and ignores an unknown substrate


def _secretion(cd: CellDef, pheno: Node, substrates: list[str], notes: list[str]) -> None:
    node = pheno.child("secretion")
    if node is None:
        return
    for sub in node.all("substrate"):
        name = sub.attr("name")
        if name not in substrates:
            raise InvasimError(
                f"<cell_definition name={cd.name!r}><phenotype><secretion> (line {sub.line}): "
                f"substrate {name!r} is not in <microenvironment_setup> (PhysiCell stops too); "
                f"substrates: {', '.join(substrates)}"
            )
        for c in sub.children:
            if c.tag in ("secretion_rate", "secretion_target", "uptake_rate", "net_export_rate"):
                cd.values[f"secretion.{name}.{c.tag}"] = num(c)


def _interactions(cd: CellDef, pheno: Node, names: list[str], notes: list[str]) -> None:
    node = pheno.child("cell_interactions")
    if node is None:
        return
    node.use()
    dead = node.child("dead_phagocytosis_rate")
    rate = num(dead) if dead is not None else V(0.0, f"line {node.line}")
    for k in ("apoptotic", "necrotic", "other_dead"):
        c = node.child(f"{k}_phagocytosis_rate")
        cd.values[f"interactions.{k}_phagocytosis_rate"] = num(c) if c is not None else rate
    for group, tag, key in (("live_phagocytosis_rates", "phagocytosis_rate", "live_phagocytosis"),
                            ("attack_rates", "attack_rate", "attack"),
                            ("fusion_rates", "fusion_rate", "fusion")):  # fmt: skip
        g = node.child(group)
        for c in g.all(tag) if g is not None else ():
            if c.attr("name") in names:
                cd.values[f"interactions.{key}.{c.attr('name')}"] = num(c)
            else:
                c.use()
                notes.append(f"{c.path()} (line {c.line}) names cell type {c.attr('name')!r}, "
                             f"which is not defined (PhysiCell ignores it too)")  # fmt: skip
    imm = node.child("immunogenicities")
    if imm is not None:
        imm.use_all()
        notes.append(f"{imm.path()} (line {imm.line}): PhysiCell 1.14 does not read it (every "
                     f"immunogenicity is 1 there, as in the import)")  # fmt: skip
    # PhysiCell reads these two unconditionally: an absent element reads 0
    for tag in ("attack_damage_rate", "attack_duration"):
        c = node.child(tag)
        cd.values[f"interactions.{tag}"] = num(c) if c is not None else V(
            0.0, f"line {node.line} (element absent: PhysiCell reads 0)")  # fmt: skip


def _transformations(cd: CellDef, pheno: Node, names: list[str]) -> None:
    node = pheno.child("cell_transformations")
    g = node.child("transformation_rates") if node is not None else None
    for c in g.all("transformation_rate") if g is not None else ():
        target = c.attr("name")
        c.use()
        if target in names and not (target == cd.name and c.double() > 1e-16):
            cd.values[f"transformation.{target}"] = num(c)


def _integrity(cd: CellDef, pheno: Node) -> None:
    node = pheno.child("cell_integrity")
    for tag in ("damage_rate", "damage_repair_rate"):
        c = node.child(tag) if node is not None else None
        if c is not None:
            cd.values[f"integrity.{tag}"] = num(c)


def _custom_data(cd: CellDef, cd_node: Node) -> None:
    node = cd_node.child("custom_data")
    for c in node.children if node is not None else ():
        c.use()
        parts = [p for p in c.text.split(",") if p.strip()]
        if len(parts) <= 1:
            value = as_double(c.text)
            cd.custom[c.tag] = (V(value, c.where()), c.attr("units"),
                                as_bool(c.attr("conserved")))  # fmt: skip
        else:
            cd.vector_custom[c.tag] = c

